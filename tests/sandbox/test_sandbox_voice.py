"""Voice: call update (cancel, hang up), MachineDetection and answered_by."""

from __future__ import annotations

import pytest
from sandbox_helpers import RECIPIENT, Api, assert_twilio_error

from support import oai
from ue_twilio.sandbox.resources import ANSWERED_BY_MAGIC

SLOW = 60.0  # seconds per status step: nothing advances during a test
MACHINE, PERSON, NO_ANSWER, BUSY = (
    "+15005550013",
    "+15005550014",
    "+15005550011",
    "+15005550012",
)


def _age(box, sid: str, steps: int) -> None:
    """Move a call ``steps`` status steps along (backdate its creation)."""
    box._app.store._calls[sid]["created"] -= steps * SLOW


def _update(api: Api, sid: str, **params):
    oai.check_request(
        "POST", f"/2010-04-01/Accounts/{api.box.account_sid}/Calls/{sid}.json", params
    )
    return api.session.post(f"{api.base}/Calls/{sid}.json", data=params, timeout=10)


@pytest.fixture
def slow_api(make_sandbox) -> Api:
    return Api(make_sandbox(status_interval=SLOW))


@pytest.mark.parametrize("steps,before", [(0, "queued"), (1, "ringing")])
def test_cancel_ends_a_queued_or_ringing_call(slow_api, steps, before):
    sid = slow_api.call().json()["sid"]
    _age(slow_api.box, sid, steps)
    assert slow_api.fetch_call(sid)["status"] == before
    response = _update(slow_api, sid, Status="canceled")
    assert response.status_code == 200
    oai.check_resource("call", response.json())
    assert response.json()["status"] == "canceled"
    fetched = slow_api.fetch_call(sid)
    assert fetched["status"] == "canceled" and fetched["end_time"] is None
    assert fetched["duration"] is None and fetched["answered_by"] is None
    assert (fetched["start_time"] is None) == (before == "queued")


def test_cancel_leaves_a_call_in_progress_alone(slow_api):
    sid = slow_api.call().json()["sid"]
    _age(slow_api.box, sid, 2)
    response = _update(slow_api, sid, Status="canceled")
    assert response.status_code == 200 and response.json()["status"] == "in-progress"
    _age(slow_api.box, sid, 1)
    assert slow_api.fetch_call(sid)["status"] == "completed"


def test_cancel_leaves_a_final_call_alone(make_sandbox):
    api = Api(make_sandbox(status_interval=0))
    sid = api.call(to=BUSY).json()["sid"]
    response = _update(api, sid, Status="canceled")
    assert response.status_code == 200 and response.json()["status"] == "busy"


def test_completed_hangs_up_a_call_in_progress(slow_api):
    sid = slow_api.call().json()["sid"]
    _age(slow_api.box, sid, 2)
    response = _update(slow_api, sid, Status="completed")
    assert response.status_code == 200
    call = slow_api.fetch_call(sid)
    assert call["status"] == "completed" and call["end_time"] is not None
    assert call["duration"] is not None
    oai.check_resource("call", call)


def test_completed_on_a_ringing_call_cancels_it(slow_api):
    sid = slow_api.call().json()["sid"]
    _age(slow_api.box, sid, 1)
    assert _update(slow_api, sid, Status="completed").json()["status"] == "canceled"


@pytest.mark.nonconforming_requests
def test_update_errors(slow_api):
    sid = slow_api.call().json()["sid"]
    bad = slow_api.session.post(
        f"{slow_api.base}/Calls/{sid}.json", data={"Status": "paused"}, timeout=10
    )
    assert_twilio_error(bad, 400, 20001)
    unknown = "CA" + "0" * 32
    assert_twilio_error(_update(slow_api, unknown, Status="canceled"), 404, 20404)
    assert slow_api.fetch_call(sid)["status"] == "queued"
    assert slow_api.box.creates("Calls.json")[0].created_sid == sid


def test_six_ringing_calls_are_all_canceled(slow_api):
    sids = [slow_api.call().json()["sid"] for _ in range(6)]
    for sid in sids:
        _age(slow_api.box, sid, 1)
    for sid in sids:
        assert _update(slow_api, sid, Status="canceled").status_code == 200
    statuses = [c["status"] for c in slow_api.box.calls.values()]
    assert statuses == ["canceled"] * 6


@pytest.mark.parametrize(
    "to,detection,answered_by",
    [
        (MACHINE, "Enable", "machine_start"),
        (MACHINE, "DetectMessageEnd", "machine_end_beep"),
        (PERSON, "Enable", "human"),
        (PERSON, "DetectMessageEnd", "human"),
        ("+15005550015", "Enable", "unknown"),
        (RECIPIENT, "Enable", "human"),
        (MACHINE, None, None),
    ],
)
def test_answered_by_follows_the_magic_number_and_detection(
    make_sandbox, to, detection, answered_by
):
    api = Api(make_sandbox(status_interval=0))
    extra = {"MachineDetection": detection} if detection else {}
    created = api.call(to=to, AsyncAmd="true", **extra)
    assert created.status_code == 201, created.text
    call = api.fetch_call(created.json()["sid"])
    assert call["status"] == "completed" and call["answered_by"] == answered_by
    oai.check_resource("call", call)


def test_answered_by_is_null_until_answered(slow_api):
    sid = slow_api.call(to=MACHINE, MachineDetection="Enable").json()["sid"]
    _age(slow_api.box, sid, 1)
    assert slow_api.fetch_call(sid)["answered_by"] is None
    _age(slow_api.box, sid, 1)
    call = slow_api.fetch_call(sid)
    assert call["status"] == "in-progress" and call["answered_by"] == "machine_start"


@pytest.mark.parametrize("to,final", [(NO_ANSWER, "no-answer"), (BUSY, "busy")])
def test_unanswered_calls_have_no_answered_by(make_sandbox, to, final):
    api = Api(make_sandbox(status_interval=0))
    sid = api.call(to=to, MachineDetection="Enable").json()["sid"]
    call = api.fetch_call(sid)
    assert call["status"] == final and call["answered_by"] is None


def test_a_person_passes_through_in_progress(make_sandbox):
    from test_sandbox_status import observed_statuses

    api = Api(make_sandbox(status_interval=0.1))
    sid = api.call(to=PERSON, MachineDetection="Enable").json()["sid"]
    seen = observed_statuses(lambda: api.fetch_call(sid), "completed")
    assert "in-progress" in seen and seen[-1] == "completed"


@pytest.mark.parametrize(
    "params",
    [
        {"MachineDetection": "enable"},
        {"MachineDetection": "Fax"},
        {"MachineDetection": "Enable", "MachineDetectionTimeout": "2"},
        {"MachineDetection": "Enable", "MachineDetectionTimeout": "60"},
    ],
)
def test_bad_machine_detection_is_21234(api, box, params):
    assert_twilio_error(api.call(**params), 400, 21234)
    assert box.calls == {}


def test_magic_numbers_are_the_documented_ones():
    assert ANSWERED_BY_MAGIC == {
        MACHINE: "machine",
        PERSON: "human",
        "+15005550015": "unknown",
    }
