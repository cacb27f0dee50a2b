"""Fault injection: scripted faults, latency, error rate, concurrency cap."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sandbox_helpers import Api, assert_twilio_error

from support.servers import wait_until
from ue_twilio.sandbox import FAULT_KINDS


def test_fault_kinds_are_the_documented_ones():
    assert set(FAULT_KINDS) == {
        "reset_before",
        "reset_after",
        "stall",
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
    box.faults.stall_seconds = 0.6
    box.script("stall")
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(
            api.base + "/Messages.json",
            data={"To": "+15558675310", "From": "+15017122661", "Body": "x"},
            timeout=0.2,
        )
    assert time.monotonic() - started < 0.55
    assert box.messages == {}
    assert wait_until(lambda: len(box.messages) == 1, timeout=5)
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
    started = time.monotonic()
    box.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 3 and not thread.is_alive()
    assert errors and box.messages == {}


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
