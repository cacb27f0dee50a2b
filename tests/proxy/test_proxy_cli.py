"""Issue 3's matrix: ``ue-twilio run`` through a real squid, for SMS and voice.

The sandbox serves HTTPS with a certificate from the API CA; the HTTPS proxy
listeners present a certificate from a separate proxy CA, so a bundle must
really hold both. Every success is proven twice: squid logged exactly one
CONNECT for the run, and the sandbox journal holds exactly one create.
"""

from __future__ import annotations

import base64
import time

import pytest

from support.runner import cli_env, fields_for, run_cli
from support.squid import PROXY_PASSWORD, PROXY_USER, free_port

ACTIONS = ["sms_message", "voice_message"]
RESOURCE = {"sms_message": "Messages.json", "voice_message": "Calls.json"}
LISTENER = {
    "HTTP": "http",
    "HTTPS": "https",
    "HTTP_WITH_CREDENTIALS": "http_auth",
    "HTTPS_WITH_CREDENTIALS": "https_auth",
}


def proxy_fields(box, action, proxy_type, proxy, bundle="", creds=None, **extra):
    fields = fields_for(box, action=action, recipients="+15558675310", **extra)
    fields["proxy_type"] = [proxy_type]
    fields["proxy"] = proxy
    fields["proxy_ca_bundle_file"] = bundle
    if creds is not None:
        fields["proxy_credentials"] = {"user": creds[0], "password": creds[1]}
    return fields


def run(fields, box, env=None):
    return run_cli(fields, box.url, env=env if env is not None else cli_env(box.url))


def assert_no_proxy_secret(result):
    seen = result.stdout + result.stderr
    pair = "{}:{}".format(PROXY_USER, PROXY_PASSWORD).encode("utf-8")
    assert PROXY_PASSWORD not in seen
    assert base64.b64encode(pair).decode() not in seen


def assert_failed(result, code, *words):
    assert result.rc == code, result.stderr
    status = result.output["status_description"]
    prefix = {10: "CONNECTION_ERROR: ", 20: "DATA_VALIDATION_ERROR: "}[code]
    assert status.startswith(prefix)
    for word in words:
        assert word in status
    assert_no_proxy_secret(result)
    return status


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("proxy_type", sorted(LISTENER))
def test_every_proxy_type_delivers_through_the_proxy_once(
    squid, pki, https_sandbox, proxy_secret, proxy_type, action
):
    listener = LISTENER[proxy_type]
    creds = (PROXY_USER, PROXY_PASSWORD) if "CREDENTIALS" in proxy_type else None
    fields = proxy_fields(
        https_sandbox, action, proxy_type, squid.url(listener), pki.both_ca_file, creds
    )
    mark = squid.mark()
    result = run(fields, https_sandbox)
    assert result.rc == 0, result.stderr
    assert result.stats["msg_queued_count"] == 1
    entries = squid.entries_since(mark)
    assert [(e.listener, e.method, e.target, e.status) for e in entries] == [
        (
            listener,
            "CONNECT",
            "127.0.0.1:{}".format(https_sandbox.port),
            "TCP_TUNNEL/200",
        )
    ]
    assert entries[0].user == (PROXY_USER if creds else "-")
    assert len(https_sandbox.creates(RESOURCE[action])) == 1
    assert len(https_sandbox.journal) == 1
    echoed = result.output["invocation"]["fields"]
    assert echoed["proxy"] == squid.url(listener)
    assert echoed["proxy_type"] == proxy_type
    assert echoed["proxy_ca_bundle_file"] == pki.both_ca_file
    assert echoed["proxy_credentials_user"] == ("****" if creds else None)
    assert echoed["proxy_credentials_password"] == ("****" if creds else None)
    assert "via proxy " + squid.display[listener] in result.stderr
    assert_no_proxy_secret(result)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "proxy_type", ["HTTP_WITH_CREDENTIALS", "HTTPS_WITH_CREDENTIALS"]
)
def test_wrong_proxy_password_is_a_connection_error(
    squid, pki, https_sandbox, proxy_secret, proxy_type, action
):
    listener = LISTENER[proxy_type]
    wrong = PROXY_PASSWORD[::-1]
    fields = proxy_fields(
        https_sandbox,
        action,
        proxy_type,
        squid.url(listener),
        pki.both_ca_file,
        (PROXY_USER, wrong),
    )
    mark = squid.mark()
    result = run(fields, https_sandbox)
    assert_failed(result, 10, "refused the credentials", squid.display[listener])
    assert wrong not in result.stdout + result.stderr
    assert [e.status for e in squid.entries_since(mark)] == ["TCP_DENIED/407"]
    assert https_sandbox.journal == []


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "creds",
    [None, (PROXY_USER, ""), ("", PROXY_PASSWORD)],
    ids=["none", "no-pw", "no-user"],
)
def test_missing_proxy_credentials_is_a_validation_error(
    squid, pki, https_sandbox, proxy_secret, creds, action
):
    fields = proxy_fields(
        https_sandbox,
        action,
        "HTTPS_WITH_CREDENTIALS",
        squid.url("https_auth"),
        pki.both_ca_file,
        creds,
    )
    mark = squid.mark()
    result = run(fields, https_sandbox)
    assert_failed(result, 20, "Proxy Credentials")
    assert squid.entries_since(mark, expect=0) == []
    assert https_sandbox.journal == []


@pytest.mark.parametrize("action", ACTIONS)
def test_bundle_without_the_proxy_ca(squid, pki, https_sandbox, action):
    fields = proxy_fields(
        https_sandbox, action, "HTTPS", squid.url("https"), pki.api_ca_file
    )
    result = run(fields, https_sandbox)
    assert_failed(result, 10, "TLS to the proxy", "not trusted", pki.api_ca_file)
    assert https_sandbox.journal == []


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("proxy_type", ["HTTP", "HTTPS"])
def test_bundle_without_the_api_ca(squid, pki, https_sandbox, proxy_type, action):
    listener = LISTENER[proxy_type]
    fields = proxy_fields(
        https_sandbox, action, proxy_type, squid.url(listener), pki.proxy_ca_file
    )
    mark = squid.mark()
    result = run(fields, https_sandbox)
    assert_failed(result, 10, "certificate presented for", "TLS-intercepting")
    assert [e.status for e in squid.entries_since(mark)] == ["TCP_TUNNEL/200"]
    assert https_sandbox.journal == []


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("proxy_type", ["HTTP", "HTTPS_WITH_CREDENTIALS"])
def test_proxy_not_running_fails_promptly(
    pki, https_sandbox, proxy_secret, proxy_type, action
):
    scheme = "https" if proxy_type.startswith("HTTPS") else "http"
    address = "127.0.0.1:{}".format(free_port())
    fields = proxy_fields(
        https_sandbox,
        action,
        proxy_type,
        "{}://{}".format(scheme, address),
        pki.both_ca_file,
        (PROXY_USER, PROXY_PASSWORD),
    )
    started = time.monotonic()
    result = run(fields, https_sandbox)
    elapsed = time.monotonic() - started
    assert_failed(result, 10, "Cannot connect to the proxy " + address, "refused")
    assert elapsed < 8, "a refused proxy must fail at once, not after the timeouts"
    assert https_sandbox.journal == []


BAD_URLS = [
    ("HTTP", "ftp://127.0.0.1:3128"),
    ("HTTP", "http://127.0.0.1"),
    ("HTTP", "http://127.0.0.1 :3128"),
    ("HTTP", "http://127.0.0.1:3128/proxy"),
    ("HTTPS", "http://127.0.0.1:3129"),
    ("HTTP", "https://127.0.0.1:3128"),
    ("HTTP_WITH_CREDENTIALS", "http://{}:{}@127.0.0.1:3128"),
]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("proxy_type, url", BAD_URLS)
def test_bad_proxy_urls_are_validation_errors(
    pki, https_sandbox, proxy_secret, proxy_type, url, action
):
    url = url.format(PROXY_USER, PROXY_PASSWORD)
    fields = proxy_fields(
        https_sandbox,
        action,
        proxy_type,
        url,
        pki.both_ca_file,
        (PROXY_USER, PROXY_PASSWORD),
    )
    result = run(fields, https_sandbox)
    assert_failed(result, 20, "Proxy: ")
    assert https_sandbox.journal == []


def test_bundle_that_does_not_exist_is_a_validation_error(
    squid, https_sandbox, tmp_path
):
    missing = str(tmp_path / "missing.pem")
    fields = proxy_fields(
        https_sandbox, "sms_message", "HTTPS", squid.url("https"), missing
    )
    result = run(fields, https_sandbox)
    assert_failed(result, 20, "Proxy CA Bundle File", "does not exist")


@pytest.mark.parametrize("action", ACTIONS)
def test_environment_does_not_override_the_configured_proxy(
    squid, pki, https_sandbox, action
):
    dead = "http://127.0.0.1:{}".format(free_port())
    env = cli_env(
        https_sandbox.url,
        HTTPS_PROXY=dead,
        https_proxy=dead,
        ALL_PROXY=dead,
        NO_PROXY="*",
        REQUESTS_CA_BUNDLE=pki.proxy_ca_file,
        CURL_CA_BUNDLE=pki.proxy_ca_file,
    )
    fields = proxy_fields(
        https_sandbox, action, "HTTPS", squid.url("https"), pki.both_ca_file
    )
    mark = squid.mark()
    result = run(fields, https_sandbox, env=env)
    assert result.rc == 0, result.stderr
    assert [e.listener for e in squid.entries_since(mark)] == ["https"]
    assert len(https_sandbox.journal) == 1


def test_without_proxy_type_the_environment_proxy_is_used(squid, pki, https_sandbox):
    """Documented in docs/proxy.md: no Proxy Type -> HTTPS_PROXY etc. apply."""
    env = cli_env(
        https_sandbox.url,
        HTTPS_PROXY=squid.url("http"),
        REQUESTS_CA_BUNDLE=pki.api_ca_file,
    )
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    fields = fields_for(https_sandbox, recipients="+15558675310")
    mark = squid.mark()
    result = run(fields, https_sandbox, env=env)
    assert result.rc == 0, result.stderr
    assert result.output["invocation"]["fields"]["proxy_type"] is None
    assert [e.listener for e in squid.entries_since(mark)] == ["http"]
    assert len(https_sandbox.journal) == 1
