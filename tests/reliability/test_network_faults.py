"""The network failing before Twilio is reached: DNS, proxy down, proxy 407, TLS.

Each ends the run at once with exit 10 and one CONNECTION_ERROR sentence that
names the failed hop and what to check; the probe recipient is counted failed
(its line on STDERR carries the same sentence), the rest not sent, and the
sandbox never saw a request. Real parts throughout: the system resolver, a
closed port, a real squid, real TLS with certificates from a test CA.
"""

from __future__ import annotations

import pytest
from reliability_kit import ACTIONS, PROXY_USER, THREE, assert_counts

from support.runner import cli_env, fields_for, run_cli, run_task
from support.squid import free_port

UNRESOLVABLE = "http://nonexistent.invalid"


def _assert_stopped_at_probe(run, words):
    assert run.rc == 10, run.stderr
    status = run.output["status_description"]
    assert status.startswith("CONNECTION_ERROR: "), status
    for word in words:  # a tuple: the library's words differ by version
        alternatives = word if isinstance(word, tuple) else (word,)
        assert any(one in status for one in alternatives), status
    assert run.output["changed"] is False
    assert_counts(run, 3, queued=0, not_sent=3)
    # the recipient's line carries the status's sentence, without its final "."
    assert "Not queued: {}: {}".format(
        THREE[0], status[len("CONNECTION_ERROR: ") : -1]
    ) in (run.stderr)
    # the probe never left either: all three are "not sent"
    assert "Failed, not sent (3): {}".format(", ".join(THREE)) in run.stderr


# -- DNS --------------------------------------------------------------------
@pytest.mark.parametrize("action", ACTIONS)
def test_unresolvable_api_host_exits_10(sandbox, action):
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    run = run_task(fields, UNRESOLVABLE)
    _assert_stopped_at_probe(
        run,
        ["Cannot resolve nonexistent.invalid (DNS): check the network or the API URL"],
    )


def test_unresolvable_api_host_through_the_cli(sandbox):
    run = run_cli(fields_for(sandbox, recipients=", ".join(THREE)), UNRESOLVABLE)
    _assert_stopped_at_probe(run, ["Cannot resolve nonexistent.invalid (DNS)"])
    assert "Traceback" not in run.stderr


def test_unresolvable_proxy_host_exits_10(sandbox, proxy_password):
    fields = fields_for(
        sandbox,
        recipients=", ".join(THREE),
        proxy_type=["HTTP_WITH_CREDENTIALS"],
        proxy="http://proxy.nonexistent.invalid:3128",
        proxy_credentials={"user": PROXY_USER, "password": proxy_password},
    )
    run = run_task(fields, sandbox.url)
    _assert_stopped_at_probe(run, ["Cannot resolve the proxy host", "check the Proxy"])
    assert sandbox.journal == []


# -- proxy down -------------------------------------------------------------
@pytest.mark.parametrize("action", ACTIONS)
def test_proxy_down_exits_10(sandbox, proxy_password, action):
    port = free_port()  # nobody listens there
    fields = fields_for(
        sandbox,
        action=action,
        recipients=", ".join(THREE),
        proxy_type=["HTTP_WITH_CREDENTIALS"],
        proxy="http://127.0.0.1:{}".format(port),
        proxy_credentials={"user": PROXY_USER, "password": proxy_password},
    )
    run = run_task(fields, sandbox.url)
    _assert_stopped_at_probe(
        run,
        [
            "Cannot connect to the proxy 127.0.0.1:{}: connection refused".format(port),
            "that the proxy is running",
        ],
    )
    assert sandbox.journal == []


# -- proxy 407 --------------------------------------------------------------
def _through_squid(box, squid, pki, action, listener, **proxy_fields):
    https = listener.startswith("https")
    bundle = pki.both_ca_file if https else pki.api_ca_file
    return fields_for(
        box,
        action=action,
        recipients=", ".join(THREE),
        proxy=squid.url(listener),
        proxy_ca_bundle_file=bundle,
        **proxy_fields,
    )


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("listener", ["http_auth", "https_auth"])
def test_proxy_407_without_credentials_exits_10(
    squid, pki, tls_sandbox, action, listener
):
    box = tls_sandbox(pki.api)
    proxy_type = "HTTPS" if listener.startswith("https") else "HTTP"
    fields = _through_squid(box, squid, pki, action, listener, proxy_type=[proxy_type])
    mark = squid.mark()
    run = run_task(fields, box.url)
    _assert_stopped_at_probe(
        run,
        [
            "requires credentials (407 Proxy Authentication Required)",
            "choose a Proxy Type 'With Credentials'",
        ],
    )
    assert box.journal == []
    statuses = [e.status for e in squid.entries_since(mark)]
    assert statuses == ["TCP_DENIED/407"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("listener", ["http_auth", "https_auth"])
def test_proxy_407_wrong_password_exits_10(
    squid, pki, tls_sandbox, secret_guard, action, listener
):
    box = tls_sandbox(pki.api)
    wrong = "Wr0ng:p@ss/word%"
    secret_guard.add_pair(PROXY_USER, wrong)
    proxy_type = "HTTPS" if listener.startswith("https") else "HTTP"
    fields = _through_squid(
        box,
        squid,
        pki,
        action,
        listener,
        proxy_type=[proxy_type + "_WITH_CREDENTIALS"],
        proxy_credentials={"user": PROXY_USER, "password": wrong},
    )
    run = run_task(fields, box.url)
    _assert_stopped_at_probe(
        run,
        [
            "refused the credentials (407 Proxy Authentication Required)",
            "check the user and password of Proxy Credentials",
        ],
    )
    assert box.journal == []


# -- TLS to the API ---------------------------------------------------------
TLS_CASES = {
    "expired": ("has expired or is not yet valid", "certificate has expired"),
    "wrong_host": (
        "does not match its host name",
        # urllib3 1.26 checks the name itself; urllib3 2 leaves it to ssl
        ("doesn't match 'wrong.example", "certificate is not valid for '127.0.0.1'"),
    ),
    "untrusted_ca": ("is not trusted", "add the CA that issued it to the trust store"),
}


def _cert_for(pki, case):
    if case == "expired":
        return pki.expired_cert()
    if case == "wrong_host":
        return pki.wrong_host_cert()
    return pki.proxy  # valid for 127.0.0.1, but from a CA the client does not trust


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("case", sorted(TLS_CASES))
def test_bad_api_certificate_exits_10(pki, tls_sandbox, monkeypatch, action, case):
    box = tls_sandbox(_cert_for(pki, case))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.api_ca_file)
    fields = fields_for(box, action=action, recipients=", ".join(THREE))
    run = run_task(fields, box.url)
    host = "127.0.0.1:{}".format(box.port)
    _assert_stopped_at_probe(run, ("The certificate of " + host,) + TLS_CASES[case])
    assert box.journal == []


@pytest.mark.parametrize("action", ACTIONS)
def test_good_api_certificate_control(pki, tls_sandbox, monkeypatch, action):
    """The same HTTPS sandbox with a valid certificate works: the failures above
    come from the certificates, not from the set-up."""
    box = tls_sandbox(pki.api)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.api_ca_file)
    run = run_task(fields_for(box, action=action, recipients=", ".join(THREE)), box.url)
    assert run.rc == 0, run.output["status_description"]
    assert_counts(run, 3, queued=3)


def test_expired_api_certificate_through_the_cli(pki, tls_sandbox):
    box = tls_sandbox(pki.expired_cert())
    env = cli_env(box.url, REQUESTS_CA_BUNDLE=pki.api_ca_file)
    run = run_cli(fields_for(box, recipients=", ".join(THREE)), env=env)
    _assert_stopped_at_probe(run, TLS_CASES["expired"])
    assert "Traceback" not in run.stderr
