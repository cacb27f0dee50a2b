"""prepare_session through a real squid: both TLS hops, tunnels, environment.

These run requests in-process (no CLI) so each property of the session is
checked on its own: which trust store each hop uses, that the configured proxy
beats the environment, that TLS inside a TLS tunnel works.
"""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import requests

from support.squid import PROXY_PASSWORD, PROXY_USER, free_port
from ue_twilio.exceptions import ProxyTLSError
from ue_twilio.inputs.proxy import ProxyConfig
from ue_twilio.transport.adapter import prepare_session

# urllib3 1.26 reports a failed TLS handshake with the proxy as SSLError,
# urllib3 2 as ProxyError; either way ProxyTLSError is in the chain.
PROXY_TLS_FAILURE = (requests.exceptions.SSLError, requests.exceptions.ProxyError)
LISTENER_TYPES = {
    "http": "HTTP",
    "https": "HTTPS",
    "http_auth": "HTTP_WITH_CREDENTIALS",
    "https_auth": "HTTPS_WITH_CREDENTIALS",
}


def proxy_for(squid, listener, bundle, password=PROXY_PASSWORD):
    proxy_type = LISTENER_TYPES[listener]
    creds = (PROXY_USER, password) if listener.endswith("_auth") else (None, None)
    return ProxyConfig(proxy_type, squid.url(listener), bundle, *creds)


def account_url(box):
    return "{}/2010-04-01/Accounts/{}.json".format(box.url, box.account_sid)


def fetch(session, box):
    """GET the sandbox account; returns the status and releases the response.

    The response must not outlive the call: it holds the tunnel's socket, and
    squid logs a CONNECT only once the tunnel is closed.
    """
    response = session.get(account_url(box), auth=box.credentials, timeout=(5, 10))
    try:
        return response.status_code
    finally:
        response.close()


def get_account(box, proxy, pool_size=2, session=None):
    """One authenticated GET of the sandbox account through a fresh session."""
    session = session or requests.Session()
    prepare_session(session, proxy, pool_size)
    try:
        return fetch(session, box)
    finally:
        session.close()


def chain(exc):
    found, todo = [], [exc]
    while todo:
        item = todo.pop()
        if isinstance(item, BaseException) and item not in found:
            found.append(item)
            todo += list(item.args) + [getattr(item, "reason", None), item.__cause__]
    return found


@pytest.mark.parametrize("listener", sorted(LISTENER_TYPES))
def test_each_listener_tunnels_once_with_the_bundle(
    squid, pki, https_sandbox, proxy_secret, listener
):
    mark = squid.mark()
    status = get_account(https_sandbox, proxy_for(squid, listener, pki.both_ca_file))
    assert status == 200
    entries = squid.entries_since(mark, expect=1)
    assert [(e.listener, e.method, e.status) for e in entries] == [
        (listener, "CONNECT", "TCP_TUNNEL/200")
    ]
    assert entries[0].target == "127.0.0.1:{}".format(https_sandbox.port)
    assert entries[0].user == (PROXY_USER if "auth" in listener else "-")
    assert len(https_sandbox.journal) == 1


def test_https_proxy_hop_uses_the_bundle(squid, pki, https_sandbox):
    """A bundle without the proxy's CA fails at the proxy, tagged as such."""
    with pytest.raises(PROXY_TLS_FAILURE) as info:
        get_account(https_sandbox, proxy_for(squid, "https", pki.api_ca_file))
    assert any(isinstance(e, ProxyTLSError) for e in chain(info.value))
    assert https_sandbox.journal == []


@pytest.mark.parametrize("listener", ["http", "https"])
def test_tunnelled_hop_uses_the_bundle(squid, pki, https_sandbox, listener):
    """A bundle without the API CA: the tunnel opens, TLS to the API fails."""
    mark = squid.mark()
    with pytest.raises(requests.exceptions.SSLError) as info:
        get_account(https_sandbox, proxy_for(squid, listener, pki.proxy_ca_file))
    assert not any(isinstance(e, ProxyTLSError) for e in chain(info.value))
    assert [e.status for e in squid.entries_since(mark)] == ["TCP_TUNNEL/200"]
    assert https_sandbox.journal == []


def test_session_defaults_cannot_weaken_the_configured_proxy(squid, pki, https_sandbox):
    session = requests.Session()
    session.verify = False
    session.proxies = {"https": "http://127.0.0.1:{}".format(free_port())}
    with pytest.raises(requests.exceptions.SSLError):
        get_account(
            https_sandbox, proxy_for(squid, "http", pki.proxy_ca_file), session=session
        )


def test_environment_cannot_override_the_configured_proxy(
    squid, pki, https_sandbox, monkeypatch
):
    dead = "http://127.0.0.1:{}".format(free_port())
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.proxy_ca_file)
    monkeypatch.setenv("CURL_CA_BUNDLE", pki.proxy_ca_file)
    mark = squid.mark()
    status = get_account(https_sandbox, proxy_for(squid, "https", pki.both_ca_file))
    assert status == 200
    assert [e.listener for e in squid.entries_since(mark)] == ["https"]


def test_without_proxy_type_the_environment_applies(
    squid, pki, https_sandbox, monkeypatch
):
    """Documented behaviour: no Proxy Type -> requests honours the environment."""
    monkeypatch.setenv("HTTPS_PROXY", squid.url("http"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.api_ca_file)
    mark = squid.mark()
    assert get_account(https_sandbox, None) == 200
    assert [e.listener for e in squid.entries_since(mark)] == ["http"]


def test_requests_reuse_one_tunnel(squid, pki, https_sandbox):
    session = requests.Session()
    prepare_session(session, proxy_for(squid, "https", pki.both_ca_file), 1)
    mark = squid.mark()
    for _ in range(3):
        assert fetch(session, https_sandbox) == 200
    session.close()
    assert len(squid.entries_since(mark)) == 1
    assert len(https_sandbox.journal) == 3


def test_wrong_password_is_a_407_proxy_error(squid, pki, https_sandbox, proxy_secret):
    mark = squid.mark()
    with pytest.raises(requests.exceptions.ProxyError) as info:
        get_account(
            https_sandbox, proxy_for(squid, "https_auth", pki.both_ca_file, "wrong")
        )
    assert "407" in str(info.value)
    assert [e.status for e in squid.entries_since(mark)] == ["TCP_DENIED/407"]
    assert https_sandbox.journal == []


class OneShotTLS:
    """A TLS listener presenting ``cert`` that answers nothing (a broken proxy)."""

    def __init__(self, cert):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert.certfile, cert.keyfile)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                try:
                    self.context.wrap_socket(conn, server_side=True).close()
                except (ssl.SSLError, OSError):
                    pass
        except OSError:
            pass

    def close(self):
        self.sock.close()
        self.thread.join(10)


@pytest.mark.parametrize(
    "fault, words", [("wrong_host", "match"), ("expired", "expired")]
)
def test_proxy_certificate_is_checked_for_host_and_validity(
    pki, https_sandbox, fault, words
):
    cert = (
        pki.wrong_host_cert("proxy")
        if fault == "wrong_host"
        else pki.expired_cert("proxy")
    )
    server = OneShotTLS(cert)
    try:
        proxy = ProxyConfig(
            "HTTPS", "https://127.0.0.1:{}".format(server.port), pki.both_ca_file
        )
        with pytest.raises(PROXY_TLS_FAILURE) as info:
            get_account(https_sandbox, proxy)
    finally:
        server.close()
    tagged = [e for e in chain(info.value) if isinstance(e, ProxyTLSError)]
    assert tagged and words in str(tagged[0]).lower()
