# Two commands matter: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint check-py37 system-deps twilio-oai package bench bench-smoke clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: setup
	$(VENV)/bin/ue-twilio demo

system-deps:
	bash scripts/install-system-deps.sh

lint: setup
	$(VENV)/bin/ruff check src tests scripts benchmarks
	$(VENV)/bin/ruff format --check src tests scripts benchmarks
	$(PY) scripts/gen_template.py --check

check-py37: setup
	bash scripts/check_py37.sh $(VENV)/bin/vermin

# Twilio's OpenAPI descriptions (pinned npm package, sha256-checked) for the
# conformance tests; downloads only when missing or changed.
twilio-oai: setup
	$(PY) scripts/fetch_twilio_oai.py

test: setup system-deps lint check-py37 twilio-oai
	$(PY) -m pytest

package: setup
	$(PY) scripts/build_package.py

bench: setup
	$(PY) benchmarks/run.py

bench-smoke: setup
	$(PY) benchmarks/run.py --smoke

clean:
	rm -rf $(VENV) dist build .pytest_cache .cache
