"""Issue 12, cancel hangs up what still rings: every call of the run still
queued or ringing is cancelled at Twilio; calls in progress are left alone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from support import calls
from support.calls import FAST, PERSON, hang_ups, voice_fields
from support.events import journal_reaches, when_answered
from support.runner import cli_env, record, run_task
from support.tasks import run_live
from ue_twilio import Settings
from ue_twilio.phases.hangup import HangUp
from ue_twilio.transport.client import TwilioClient

make_box = calls.make_box
SIX = ["+1555867531{}".format(i) for i in range(6)]


def _wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_sigint_while_six_calls_ring_cancels_all_six(make_box, tmp_path):
    box = make_box(status_interval=30)  # every call stays queued, then ringing
    fields = voice_fields(box, SIX, wait_for_delivery=True, delivery_timeout=300)
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ue_twilio", "run", "--fields", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(box.url),
    )
    assert journal_reaches(box, lambda: len(box.creates("Calls.json")) == 6)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    record(stdout, stderr)
    assert proc.returncode == 21, stderr
    updates = hang_ups(box)
    assert len(updates) == 6
    assert all(u.params == {"Status": ["canceled"]} for u in updates)
    created = {e.created_sid for e in box.creates("Calls.json")}
    assert {u.path.rsplit("/", 1)[1][: -len(".json")] for u in updates} == created
    assert {c["status"] for c in box.calls.values()} == {"canceled"}
    output = json.loads(stdout)
    assert [r["status"] for r in output["result"]["recipients"]] == ["canceled"] * 6
    assert "Cancel: hung up 6 call(s) still queued or ringing: +15558675310 (CA" in (
        stderr
    )


def test_cancel_during_a_chain_hangs_up_the_ringing_call(make_box):
    box = make_box(status_interval=30)
    fields = voice_fields(
        box, SIX[:3], call_order=["one_by_one_until_answered"], delivery_timeout=300
    )
    # cancel once the first call exists; it is still queued
    called = when_answered(box, lambda: box.creates("Calls.json"))
    run = run_live(fields, box.url, cancel_on=called, **FAST)
    assert run.rc == 21, run.stderr
    (update,) = hang_ups(box)
    assert update.params == {"Status": ["canceled"]}
    assert [c["status"] for c in box.calls.values()] == ["canceled"]
    statuses = [r["status"] for r in run.output["result"]["recipients"]]
    assert statuses == ["canceled", "not_sent", "not_sent"]


def test_calls_already_answered_or_ended_are_left_alone(make_box):
    box = make_box(status_interval=2.0)  # in progress 4-6 s: room on a busy host
    settings = Settings(api_url=box.url)
    client = TwilioClient(box.account_sid, box.auth_token, settings)
    params = {
        "From": "+15005550006",
        "Twiml": "<Response><Say>hi</Say></Response>",
    }
    answered = client.create("Calls", dict(params, To=PERSON)).sid
    _wait_for(lambda: client.fetch("Calls", answered).status == "in-progress")
    ringing = client.create("Calls", dict(params, To=SIX[0])).sid
    outcomes = HangUp(client, _Log(), workers=2).run(
        [(answered, PERSON), (ringing, SIX[0])]
    )
    client.close()
    assert outcomes == {answered: "in-progress", ringing: "canceled"}
    assert box.calls[answered]["status"] in ("in-progress", "completed")
    assert box.calls[ringing]["status"] == "canceled"


def test_no_cancel_no_hang_up(make_box):
    box = make_box()
    run = run_task(voice_fields(box, SIX[:2]), box.url, **FAST)
    assert run.rc == 0
    assert hang_ups(box) == []


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, message, *args):
        self.lines.append(message % args)

    warning = error = info
