"""Fault injection: scripted faults, latency, error rate, concurrency cap."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from sandbox_helpers import RECIPIENT, SENDER, Api, assert_twilio_error

from support.servers import wait_until
from ue_twilio.sandbox import FAULT_KINDS


def test_fault_kinds_are_the_documented_ones():
    assert set(FAULT_KINDS) == {
        "reset_before",
        "reset_after",
        "stall",
        "lost_body",
        "stall_body",
        "malformed_json",
        "html_error",
        "no_sid",
        "huge_body",
        "http_500",
        "http_503",
        "rate_limited",
    }


def test_reset_before_drops_the_connection_and_creates_nothing(box, api):
    box.script("reset_before")
    with pytest.raises(requests.ConnectionError):
        api.sms()
    assert box.messages == {}
    (entry,) = box.journal
    assert entry.status == 0 and entry.created_sid is None
    assert api.sms().status_code == 201  # consumed: the next one is normal


def test_reset_after_creates_then_drops(box, api):
    box.script("reset_after")
    with pytest.raises(requests.ConnectionError):
        api.sms()
    (sid,) = box.messages
    (entry,) = box.journal
    assert entry.status == 0 and entry.created_sid == sid
    assert len(box.creates()) == 1


def test_stall_answers_after_the_client_gave_up_and_still_creates(box, api):
    box.faults.stall_seconds = 3.0
    box.script("stall")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(
            api.base + "/Messages.json",
            data={"To": "+15558675310", "From": "+15017122661", "Body": "x"},
            timeout=0.2,
        )
    assert box.messages == {}  # the client gave up while the stall went on
    assert wait_until(lambda: len(box.messages) == 1, timeout=10)
    assert wait_until(lambda: box.journal[0].status == 201)


def test_stop_interrupts_a_stall(make_sandbox):
    box = make_sandbox()
    box.script("stall")  # default 30 s
    errors = []

    def client():
        try:
            Api(box).sms()
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    assert wait_until(lambda: len(box.journal) == 1)
    box.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()  # not after the 30 s stall
    assert errors and box.messages == {}


def _raw_create(box, timeout: float = 5.0):
    """POST a Messages create over a plain socket; returns (head, body bytes,
    how the read ended: 'eof', 'reset' or 'timeout')."""
    form = urlencode({"To": RECIPIENT, "From": SENDER, "Body": "raw"}).encode()
    auth = requests.auth._basic_auth_str(*box.credentials)
    path = f"/2010-04-01/Accounts/{box.account_sid}/Messages.json"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: {auth}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    parts = urlsplit(box.url)
    received, ended = b"", "eof"
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        sock.settimeout(timeout)
        try:
            for _ in range(1000):  # bounded; the answers here are < 4 kB
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            ended = "reset"
        except socket.timeout:
            ended = "timeout"
    head, _, body = received.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body, ended


def _content_length(head: str) -> int:
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


def test_reset_before_is_a_request_dropped_unprocessed(box):
    box.script("reset_before")
    head, body, ended = _raw_create(box)
    assert head == "" and body == b"" and ended in ("eof", "reset")
    assert box.messages == {} and box.creates() == []


def test_reset_after_is_created_but_never_answered(box):
    box.script("reset_after")
    head, body, ended = _raw_create(box)
    assert head == "" and body == b"" and ended in ("eof", "reset")
    (sid,) = box.messages
    assert [e.created_sid for e in box.creates()] == [sid]


def test_lost_body_sends_201_then_half_the_body_then_closes(box):
    box.script("lost_body")
    head, body, ended = _raw_create(box)
    assert head.startswith("HTTP/1.1 201 Created") and ended == "eof"
    assert 0 < len(body) < _content_length(head)
    (sid,) = box.messages
    assert body.startswith(b"{") and box.journal[0].created_sid == sid


def test_lost_body_through_requests_is_a_short_201(box, api):
    """urllib3 1.26 does not enforce Content-Length: requests hands over a 201
    whose body is shorter than announced (urllib3 2 raises instead)."""
    box.script("lost_body")
    try:
        response = api.sms()
    except requests.exceptions.ChunkedEncodingError:  # urllib3 >= 2
        response = None
    if response is not None:
        assert response.status_code == 201
        assert len(response.content) < int(response.headers["Content-Length"])
        with pytest.raises(ValueError):
            response.json()
    assert len(box.messages) == 1 and box.journal[0].status == 201
    assert api.sms().status_code == 201  # the next create is answered whole


def test_stall_body_times_out_mid_body_and_still_created(box):
    box.faults.stall_seconds = 30
    box.script("stall_body")
    head, body, ended = _raw_create(box, timeout=0.3)
    assert head.startswith("HTTP/1.1 201 Created") and ended == "timeout"
    assert 0 < len(body) < _content_length(head)
    (sid,) = box.messages
    assert box.creates()[0].created_sid == sid


def test_stall_body_through_requests_is_a_read_timeout(box, api):
    box.faults.stall_seconds = 30
    box.script("stall_body")
    with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
        api.session.post(
            api.base + "/Messages.json",
            data={"To": RECIPIENT, "From": SENDER, "Body": "x"},
            timeout=0.3,
        )
    assert len(box.messages) == 1


def test_stall_body_ends_when_the_stall_does(box):
    box.faults.stall_seconds = 0.2
    box.script("stall_body")
    head, body, ended = _raw_create(box, timeout=10)
    assert ended == "eof" and len(body) < _content_length(head)


def test_stop_interrupts_a_stall_body(make_sandbox):
    box = make_sandbox()
    box.script("stall_body")  # default 30 s
    outcome = []
    thread = threading.Thread(
        target=lambda: outcome.append(_raw_create(box, timeout=20)), daemon=True
    )
    thread.start()
    assert wait_until(lambda: len(box.messages) == 1)
    box.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    head, body, ended = outcome[0]
    assert head.startswith("HTTP/1.1 201") and ended in ("eof", "reset")


def test_malformed_json_is_a_created_201_without_json(box, api):
    box.script("malformed_json")
    response = api.sms()
    assert response.status_code == 201
    with pytest.raises(ValueError):
        response.json()
    assert len(box.messages) == 1


def test_html_error_is_a_502_page_and_creates_nothing(box, api):
    box.script("html_error")
    response = api.sms()
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text
    assert box.messages == {}


def test_no_sid_is_a_created_201_without_sid(box, api):
    box.script("no_sid")
    response = api.sms()
    assert response.status_code == 201
    assert "sid" not in response.json() and response.json()["status"] == "queued"
    assert len(box.messages) == 1


def test_huge_body_is_a_created_10mb_201(box, api):
    box.script("huge_body")
    response = api.sms()
    assert response.status_code == 201
    assert len(response.content) > 10_000_000
    assert response.json()["sid"] in box.messages


@pytest.mark.parametrize(
    "kind,status,code", [("http_500", 500, 20500), ("http_503", 503, 20503)]
)
def test_scripted_server_errors_create_nothing(box, api, kind, status, code):
    box.script(kind)
    assert_twilio_error(api.sms(), status, code)
    assert box.messages == {}


def test_scripted_rate_limit(box, api):
    box.faults.retry_after = 2
    box.script("rate_limited")
    response = api.sms()
    assert_twilio_error(response, 429, 20429)
    assert response.headers["Retry-After"] == "2"
    assert box.messages == {}


def test_script_count_order_and_scope(box, api):
    box.script("http_500", count=2)
    box.script("http_503")
    assert api.get(".json").status_code == 200  # reads do not consume scripts
    statuses = [api.sms().status_code, api.call().status_code, api.sms().status_code]
    assert statuses == [500, 500, 503]
    assert api.call().status_code == 201
    with pytest.raises(ValueError):
        box.script("meteor_strike")


def test_clear_script(box, api):
    box.script("http_500", count=5)
    box.clear_script()
    assert api.sms().status_code == 201


def test_error_rate_one_refuses_every_create(box, api):
    box.faults.error_rate = 1.0
    statuses = {api.sms().status_code for _ in range(20)}
    assert statuses <= {500, 503} and box.messages == {}
    assert api.get(".json").status_code == 200


def test_error_rate_half_mixes_answers(box, api):
    box.faults.error_rate = 0.5
    statuses = [api.sms().status_code for _ in range(60)]
    created = statuses.count(201)
    assert 0 < created < 60
    assert len(box.messages) == created
    assert set(statuses) <= {201, 500, 503}


def test_latency_and_jitter(box, api):
    box.faults.latency = 0.2
    started = time.monotonic()
    assert api.sms().status_code == 201
    assert time.monotonic() - started >= 0.2
    box.faults.latency, box.faults.jitter = 0.0, 0.15
    delays = [box.faults.delay() for _ in range(50)]
    assert all(0 <= d <= 0.15 for d in delays) and len(set(delays)) > 1


def _concurrent_creates(box, count: int) -> list:
    def one(_):
        client = Api(box)
        try:
            return client.sms()
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrency_cap_answers_429_with_retry_after(box):
    box.faults.concurrency_cap = 2
    box.faults.retry_after = 1
    box.faults.latency = 0.5
    responses = _concurrent_creates(box, 6)
    ok = [r for r in responses if r.status_code == 201]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(limited) == 6
    assert 1 <= len(ok) <= 4 and limited
    for response in limited:
        assert_twilio_error(response, 429, 20429)
        assert response.headers["Retry-After"] == "1"
    assert box.max_in_flight <= 2
    assert len(box.messages) == len(ok)


def test_concurrency_cap_without_retry_after_header(box, api):
    box.faults.concurrency_cap = 0
    response = api.sms()
    assert_twilio_error(response, 429, 20429)
    assert "Retry-After" not in response.headers
    assert api.get(".json").status_code == 429  # the cap covers every request
    box.faults.concurrency_cap = None
    assert api.sms().status_code == 201
