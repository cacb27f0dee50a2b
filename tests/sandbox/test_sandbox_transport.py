"""Connections: keep-alive reuse, many concurrent clients, HTTPS, stopping."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import trustme
from sandbox_helpers import RECIPIENT, SENDER, Api


def _connections(api: Api) -> int:
    """Connections the session opened, over all its pools: urllib3 2 keys a
    pool by more than the URL, so ``connection_from_url`` may make a new one."""
    pools = api.session.get_adapter(api.base).poolmanager.pools
    return sum(pools[key].num_connections for key in pools.keys())


def test_keep_alive_reuses_one_connection(box, api):
    for index in range(30):
        assert api.sms(to=f"+1555867{index:04d}").status_code == 201
        assert api.get(".json").status_code == 200
    assert _connections(api) == 1
    assert box.connections_accepted == 1


@pytest.mark.nonconforming_requests
def test_error_answers_keep_the_connection_too(box, api):
    api.sms(to="+15005550001")  # 400
    Api(box, auth=(box.account_sid, "bad")).sms()  # 401 on another session
    api.get("/Nope.json")  # 404
    api.sms()
    assert _connections(api) == 1


def test_fifty_concurrent_connections(box):
    box.faults.latency = 0.3
    clients = [Api(box) for _ in range(60)]

    def burst(client):
        return [client.sms().status_code for _ in range(2)]

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        results = list(pool.map(burst, clients))
    assert all(codes == [201, 201] for codes in results)
    assert box.max_in_flight >= 50  # in parallel, not one after another
    assert box.connections_accepted == 60
    assert len(box.messages) == 120
    for client in clients:
        client.close()


def test_three_hundred_sequential_requests_on_one_session(box, api):
    """Keep-alive holds over many requests; how fast is measured by the
    benchmarks (scenario 2 runs 2,000 sends through the sandbox)."""
    codes = [api.get(".json").status_code for _ in range(300)]
    assert codes == [200] * 300
    assert len(box.journal) == 300


def test_stop_closes_idle_keep_alive_connections(make_sandbox):
    box = make_sandbox()
    api = Api(box)
    assert api.sms().status_code == 201
    box.stop()
    with pytest.raises(requests.ConnectionError):
        api.sms()
    with pytest.raises(requests.ConnectionError):
        requests.get(box.url, timeout=2)


def test_context_manager_and_restart_errors():
    from ue_twilio.sandbox import Sandbox

    with Sandbox() as box:
        assert box.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError):
            box.start()
    with pytest.raises(requests.ConnectionError):
        requests.get(box.url, timeout=2)


def _raw_request(box, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", box.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_chunked_and_oversized_bodies_are_refused(box):
    path = f"/2010-04-01/Accounts/{box.account_sid}/Messages.json"
    chunked = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n"
    ).encode()
    assert _raw_request(box, chunked).startswith(b"HTTP/1.1 411 ")
    huge = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"
    assert _raw_request(box, huge.encode()).startswith(b"HTTP/1.1 413 ")
    assert box.messages == {}


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A trustme CA, a server certificate for 127.0.0.1, and a foreign CA."""
    directory = tmp_path_factory.mktemp("sandbox-tls")
    ca, other_ca = trustme.CA(), trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    files = {
        "certfile": directory / "server.crt",
        "keyfile": directory / "server.key",
        "ca": directory / "ca.pem",
        "other_ca": directory / "other-ca.pem",
    }
    leaf.cert_chain_pems[0].write_to_path(str(files["certfile"]))
    leaf.private_key_pem.write_to_path(str(files["keyfile"]))
    ca.cert_pem.write_to_path(str(files["ca"]))
    other_ca.cert_pem.write_to_path(str(files["other_ca"]))
    return {name: str(path) for name, path in files.items()}


def test_https_with_trusted_ca(make_sandbox, tls):
    box = make_sandbox(certfile=tls["certfile"], keyfile=tls["keyfile"])
    assert box.url.startswith("https://127.0.0.1:")
    api = Api(box, verify=tls["ca"])
    for _ in range(5):
        response = api.send_message(To=RECIPIENT, From=SENDER, Body="over TLS")
        assert response.status_code == 201
    assert _connections(api) == 1
    assert box.connections_accepted == 1
    assert len(box.creates()) == 5


def test_https_rejects_an_untrusted_ca_and_plain_http(make_sandbox, tls):
    box = make_sandbox(certfile=tls["certfile"], keyfile=tls["keyfile"])
    with pytest.raises(requests.exceptions.SSLError):
        Api(box, verify=tls["other_ca"]).sms()
    plain = box.url.replace("https://", "http://")
    with pytest.raises(requests.ConnectionError):
        requests.get(plain + "/2010-04-01/Accounts.json", timeout=5)
    assert box.creates() == []
    assert Api(box, verify=tls["ca"]).sms().status_code == 201  # still serving


def test_stalled_tls_handshake_does_not_block_others(make_sandbox, tls):
    box = make_sandbox(certfile=tls["certfile"], keyfile=tls["keyfile"])
    with socket.create_connection(("127.0.0.1", box.port), timeout=5):
        # a client that connects but never says hello
        assert Api(box, verify=tls["ca"]).sms().status_code == 201
