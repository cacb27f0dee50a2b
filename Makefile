# Two commands matter: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Stonebranch's uip-cli lives in its own venv (it needs urllib3 2.x for itself).
UIP_VENV ?= .venv-uip
UIP_STAMP := $(UIP_VENV)/.installed-stamp
# mypy and the requests stubs live in their own venv (the stubs need urllib3 2.x).
TYPE_VENV ?= .venv-typecheck
TYPE_STAMP := $(TYPE_VENV)/.installed-stamp
# The newest requests and urllib3 2 (what `pip install` of the CLI gets), for
# the tests of everything that touches the transport, proxies and the client.
U3_VENV ?= .venv-u3
U3_STAMP := $(U3_VENV)/.installed-stamp
U3_TESTS := tests/transport tests/proxy tests/reliability/test_tls_always_verified.py \
	tests/reliability/test_secret_hygiene.py tests/reliability/test_network_faults.py \
	tests/sandbox/test_sandbox_transport.py

.PHONY: setup uip-setup demo test test-u3 lint typecheck check-py37 system-deps twilio-oai \
	package uip-package bench bench-smoke clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

uip-setup: $(UIP_STAMP)

$(UIP_STAMP): requirements-uip.txt
	$(PYTHON) -m venv $(UIP_VENV)
	$(UIP_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-uip.txt
	touch $(UIP_STAMP)

$(TYPE_STAMP): requirements-typecheck.txt
	$(PYTHON) -m venv $(TYPE_VENV)
	$(TYPE_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-typecheck.txt
	touch $(TYPE_STAMP)

$(U3_STAMP): requirements-u3.txt pyproject.toml setup.py
	$(PYTHON) -m venv $(U3_VENV)
	$(U3_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-u3.txt
	$(U3_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(U3_STAMP)

# The transport, proxy and client tests again on urllib3 2 (requirements-u3.txt).
test-u3: $(U3_STAMP) system-deps twilio-oai
	$(U3_VENV)/bin/python -m pytest -q $(U3_TESTS)

# mypy, strict, on the core (configuration in pyproject.toml).
typecheck: $(TYPE_STAMP)
	$(TYPE_VENV)/bin/mypy

demo: setup
	$(VENV)/bin/ue-twilio demo

system-deps:
	bash scripts/install-system-deps.sh

lint: setup
	$(VENV)/bin/ruff check src tests scripts benchmarks setup.py
	$(VENV)/bin/ruff format --check src tests scripts benchmarks setup.py
	$(PY) scripts/gen_template.py --check

check-py37: setup
	bash scripts/check_py37.sh $(VENV)/bin/vermin

# Twilio's OpenAPI descriptions (pinned npm package, sha256-checked) for the
# conformance tests; downloads only when missing or changed.
twilio-oai: setup
	$(PY) scripts/fetch_twilio_oai.py

test: setup uip-setup system-deps lint typecheck check-py37 twilio-oai
	$(PY) -m pytest
	$(MAKE) test-u3

package: setup
	$(PY) scripts/build_package.py

# The same package built by Stonebranch's tool: dist/package_build/unv_tmplt_*.zip
uip-package: uip-setup
	$(UIP_VENV)/bin/uip build -a

bench: setup
	$(PY) benchmarks/run.py

bench-smoke: setup
	$(PY) benchmarks/run.py --smoke

clean:
	rm -rf $(VENV) $(UIP_VENV) $(TYPE_VENV) $(U3_VENV) dist build 3pp .pytest_cache .cache
