"""describe_connection_error on real failures: the hop is named, secrets are not.

Each failure is produced for real (squid, the HTTPS sandbox, closed ports) and
the one-line description is checked for what a user needs to act on.
"""

from __future__ import annotations

import base64
import socket
import threading
from urllib.parse import quote

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from support.squid import PROXY_PASSWORD, PROXY_USER, free_port
from ue_twilio.inputs.proxy import ProxyConfig
from ue_twilio.transport.adapter import prepare_session
from ue_twilio.transport.diagnose import describe_connection_error


def failure(url, proxy, verify=None, timeout=(5, 5)):
    """The exception requests raises for one GET (the test fails if none)."""
    session = requests.Session()
    prepare_session(session, proxy, 1)
    kwargs = {} if verify is None else {"verify": verify}
    try:
        with pytest.raises(requests.exceptions.RequestException) as info:
            session.get(url, timeout=timeout, **kwargs).close()
    finally:
        session.close()
    return info.value


def describe(url, proxy, **kwargs):
    text = describe_connection_error(failure(url, proxy, **kwargs), proxy)
    assert "\n" not in text
    assert "object at 0x" not in text
    return text


def assert_no_secret(text):
    pair = "{}:{}".format(PROXY_USER, PROXY_PASSWORD).encode()
    for form in (
        PROXY_PASSWORD,
        quote(PROXY_PASSWORD, safe=""),
        base64.b64encode(pair).decode(),
    ):
        assert form not in text


def creds_proxy(squid, listener, bundle, password=PROXY_PASSWORD):
    proxy_type = (
        "HTTPS_WITH_CREDENTIALS" if "https" in listener else "HTTP_WITH_CREDENTIALS"
    )
    return ProxyConfig(proxy_type, squid.url(listener), bundle, PROXY_USER, password)


def test_proxy_not_running(https_sandbox):
    proxy = ProxyConfig("HTTP", "http://127.0.0.1:{}".format(free_port()))
    text = describe(https_sandbox.url, proxy)
    assert text.startswith("Cannot connect to the proxy " + proxy.display)
    assert "connection refused" in text


def test_proxy_host_unknown(https_sandbox):
    proxy = ProxyConfig("HTTP", "http://proxy.name.invalid:3128")
    text = describe(https_sandbox.url, proxy)
    assert "Cannot resolve the proxy host" in text and "proxy.name.invalid" in text


@pytest.mark.parametrize("listener", ["http_auth", "https_auth"])
def test_wrong_proxy_password(squid, pki, https_sandbox, listener):
    proxy = creds_proxy(squid, listener, pki.both_ca_file, PROXY_PASSWORD + "x")
    text = describe(https_sandbox.url, proxy)
    assert "refused the credentials (407 Proxy Authentication Required)" in text
    assert proxy.display in text
    assert_no_secret(text)


def test_proxy_wants_credentials_none_given(squid, pki, https_sandbox):
    proxy = ProxyConfig("HTTP", squid.url("http_auth"), pki.both_ca_file)
    text = describe(https_sandbox.url, proxy)
    assert "requires credentials" in text and "With Credentials" in text


def test_proxy_certificate_not_trusted(squid, pki, https_sandbox):
    proxy = ProxyConfig("HTTPS", squid.url("https"), pki.api_ca_file)
    text = describe(https_sandbox.url, proxy)
    assert text.startswith("TLS to the proxy {} failed".format(proxy.display))
    assert "not trusted" in text and pki.api_ca_file in text


def test_api_certificate_not_trusted_through_the_proxy(squid, pki, https_sandbox):
    proxy = ProxyConfig("HTTPS", squid.url("https"), pki.proxy_ca_file)
    text = describe(https_sandbox.url, proxy)
    target = "127.0.0.1:{}".format(https_sandbox.port)
    assert text.startswith("The certificate presented for " + target)
    assert "through the proxy " + proxy.display in text
    assert "TLS-intercepting" in text and pki.proxy_ca_file in text


def test_https_type_on_a_plain_http_proxy(squid, pki, https_sandbox):
    proxy = ProxyConfig(
        "HTTPS", "https://127.0.0.1:{}".format(squid.ports["http"]), pki.both_ca_file
    )
    assert "does not speak TLS" in describe(https_sandbox.url, proxy)


def test_http_type_on_a_tls_proxy(squid, pki, https_sandbox):
    proxy = ProxyConfig(
        "HTTP", "http://127.0.0.1:{}".format(squid.ports["https"]), pki.both_ca_file
    )
    text = describe(https_sandbox.url, proxy)
    assert "HTTPS Proxy Type" in text and proxy.display in text


def test_proxy_cannot_reach_the_target(squid, pki):
    proxy = ProxyConfig("HTTP", squid.url("http"), pki.both_ca_file)
    dead = "127.0.0.1:{}".format(free_port())
    text = describe("https://" + dead, proxy)
    assert "refused to open a tunnel to " + dead in text and "503" in text


@pytest.mark.parametrize(
    "fault, words", [("expired", "has expired"), ("host", "host name")]
)
def test_api_certificate_faults_through_the_proxy(squid, pki, sandboxes, fault, words):
    cert = pki.expired_cert() if fault == "expired" else pki.wrong_host_cert()
    box = sandboxes.start(certfile=cert.certfile, keyfile=cert.keyfile)
    proxy = ProxyConfig("HTTP", squid.url("http"), pki.both_ca_file)
    text = describe(box.url, proxy)
    assert words in text and "through the proxy" in text


def test_direct_failures_name_the_target(pki, https_sandbox):
    dead = "127.0.0.1:{}".format(free_port())
    assert describe("https://" + dead, None) == "Connection to {} refused".format(dead)
    text = describe(https_sandbox.url, None)
    assert "is not trusted" in text and "REQUESTS_CA_BUNDLE" in text
    assert "Cannot resolve nothing.invalid (DNS)" in describe(
        "https://nothing.invalid", None
    )


def test_read_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held = []
    thread = threading.Thread(
        target=lambda: held.append(listener.accept()), daemon=True
    )
    thread.start()
    try:
        url = "http://127.0.0.1:{}/".format(listener.getsockname()[1])
        text = describe(url, None, timeout=(2, 0.3))
    finally:
        thread.join(5)
        for conn, _ in held:
            conn.close()
        listener.close()
    assert text.startswith("No answer from 127.0.0.1:") and "read timeout" in text


def test_connect_timeout_with_a_proxy_names_the_proxy():
    proxy = ProxyConfig("HTTP", "http://10.9.8.7:3128")
    request = requests.Request("POST", "https://api.twilio.com/x").prepare()
    reason = ConnectTimeoutError(None, "Connection to 10.9.8.7 timed out.")
    exc = requests.exceptions.ConnectTimeout(
        MaxRetryError(None, "/x", reason), request=request
    )
    text = describe_connection_error(exc, proxy)
    assert "No answer from the proxy 10.9.8.7:3128 within the connect timeout" in text
    assert "api.twilio.com:443" in text
    assert describe_connection_error(exc, None).startswith(
        "Timed out connecting to api.twilio.com:443"
    )


def test_credentials_inside_library_messages_are_scrubbed():
    proxy = ProxyConfig(
        "HTTP_WITH_CREDENTIALS", "http://p:3128", None, "ops", PROXY_PASSWORD
    )
    encoded = quote(PROXY_PASSWORD, safe="")
    token = base64.b64encode(("ops:" + PROXY_PASSWORD).encode()).decode()
    message = "boom via http://ops:{}@p:3128 raw={} header=Basic {} other=http://u:v@h:1".format(
        encoded, PROXY_PASSWORD, token
    )
    text = describe_connection_error(
        requests.exceptions.ConnectionError(message), proxy
    )
    assert_no_secret(text)
    assert token not in text and "u:v@" not in text
    token_text = describe_connection_error(
        requests.exceptions.ConnectionError("auth tok-1234567890 leaked"),
        None,
        secrets=["tok-1234567890"],
    )
    assert "tok-1234567890" not in token_text


def test_environment_proxy_is_named_without_credentials(monkeypatch):
    port = free_port()
    monkeypatch.setenv("HTTPS_PROXY", "http://envuser:envpw@127.0.0.1:{}".format(port))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = requests.Session()  # trust_env on: the environment proxy applies
    with pytest.raises(requests.exceptions.ProxyError) as info:
        session.get("https://api.twilio.com/x", timeout=(5, 5))
    session.close()
    text = describe_connection_error(info.value, None)
    assert "127.0.0.1:{} (from the environment)".format(port) in text
    assert "envpw" not in text
