"""Statuses advance over time; resources keep Twilio's shape while they do."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest
from sandbox_helpers import RECIPIENT, SENDER, Api

from support.servers import wait_until
from ue_twilio.sandbox.resources import Store, num_segments, rfc2822

PARAMS = {"To": [RECIPIENT], "From": [SENDER], "Body": ["hi"]}
CALL_PARAMS = {"To": [RECIPIENT], "From": [SENDER], "Twiml": ["<Response/>"]}


def observed_statuses(fetch, final: str, timeout: float = 5.0) -> list:
    """Distinct statuses seen, in order, polling until ``final`` (bounded)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = fetch()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == final:
            break
        time.sleep(0.01)
    return seen


def is_ordered_subsequence(seen: list, path: list) -> bool:
    iterator = iter(path)
    return all(status in iterator for status in seen)


def test_message_status_path_is_computed_from_elapsed_time():
    store = Store("AC" + "0" * 32, status_interval=1.0)
    message = store.create_message(PARAMS)
    record = store._messages[message["sid"]]
    t0 = record["created"]
    states = [
        store.render_message(record, now=t0 + dt)["status"] for dt in (0, 1, 2, 9)
    ]
    assert states == ["queued", "sent", "delivered", "delivered"]
    early = store.render_message(record, now=t0 + 0.5)
    assert early["date_sent"] is None and early["price"] is None
    done = store.render_message(record, now=t0 + 2.5)
    assert done["date_sent"] == rfc2822(t0 + 1) and done["error_code"] is None


def test_call_status_path_and_times():
    store = Store("AC" + "0" * 32, status_interval=1.0)
    call = store.create_call(CALL_PARAMS)
    record = store._calls[call["sid"]]
    t0 = record["created"]
    states = [store.render_call(record, now=t0 + dt)["status"] for dt in range(5)]
    assert states == ["queued", "ringing", "in-progress", "completed", "completed"]
    done = store.render_call(record, now=t0 + 4)
    # start_time: when dialled (ringing); duration: answered until the end.
    assert done["start_time"] == rfc2822(t0 + 1) and done["end_time"] == rfc2822(t0 + 3)
    assert done["duration"] == "1" and done["answered_by"] is None
    assert store.render_call(record, now=t0)["start_time"] is None


def test_messages_advance_over_the_api(make_sandbox):
    box = make_sandbox(status_interval=0.1)
    api = Api(box)
    sid = api.sms().json()["sid"]
    seen = observed_statuses(lambda: api.message(sid), "delivered")
    assert seen[0] == "queued" and seen[-1] == "delivered"
    assert is_ordered_subsequence(seen, ["queued", "sent", "delivered"])
    assert box.messages[sid]["status"] == "delivered"


def test_calls_advance_over_the_api(make_sandbox):
    box = make_sandbox(status_interval=0.1)
    api = Api(box)
    sid = api.call().json()["sid"]
    seen = observed_statuses(lambda: api.fetch_call(sid), "completed")
    assert seen[0] == "queued" and seen[-1] == "completed"
    assert is_ordered_subsequence(
        seen, ["queued", "ringing", "in-progress", "completed"]
    )
    assert box.calls[sid]["duration"] is not None


def test_status_interval_zero_is_final_at_once(make_sandbox):
    box = make_sandbox(status_interval=0)
    api = Api(box)
    created = api.sms().json()
    assert created["status"] == "delivered"
    assert api.call().json()["status"] == "completed"


@pytest.mark.parametrize(
    "outcome,kind", [("undelivered", "message"), ("read", "message"), ("busy", "call")]
)
def test_set_outcome_forces_the_final_status(make_sandbox, outcome, kind):
    box = make_sandbox(status_interval=0)
    box.set_outcome(RECIPIENT, outcome)
    api = Api(box)
    resource = api.sms().json() if kind == "message" else api.call().json()
    assert resource["status"] == outcome
    box.set_outcome(RECIPIENT, None)
    assert api.sms().json()["status"] == "delivered"


def test_set_outcome_applies_per_kind_and_to_whatsapp(make_sandbox):
    box = make_sandbox(status_interval=0)
    box.set_outcome("whatsapp:" + RECIPIENT, "failed")
    api = Api(box)
    wa = api.send_message(
        To="whatsapp:" + RECIPIENT, From="whatsapp:" + SENDER, Body="x"
    )
    assert wa.json()["status"] == "failed" and wa.json()["error_code"] == 30008
    assert api.call().json()["status"] == "failed"
    box.set_outcome(RECIPIENT, "no-answer")  # a call outcome: messages unaffected
    assert api.sms().json()["status"] == "delivered"
    with pytest.raises(ValueError):
        box.set_outcome(RECIPIENT, "exploded")


def test_wait_until_is_bounded():
    assert wait_until(lambda: False, timeout=0.05) is False


def test_dates_are_rfc2822_gmt():
    stamp = rfc2822(0)
    assert stamp == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert parsedate_to_datetime(rfc2822(1_700_000_000)).timestamp() == 1_700_000_000


@pytest.mark.parametrize(
    "body,segments",
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("é" * 160, 1),
        ("ł" * 70, 1),
        ("ł" * 71, 2),
        ("👍" * 35, 1),
        ("👍" * 36, 2),
    ],
)
def test_num_segments(body, segments):
    assert num_segments(body) == segments
