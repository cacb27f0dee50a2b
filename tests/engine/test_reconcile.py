"""Lost answers settled at Twilio: found → queued, absent → sent once more,
a failed lookup → unknown and never resent. Real faults through the sandbox."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter

import pytest

from support.runner import fields_for, run_task
from ue_twilio import Settings, Task

FAST = {"reconcile_delay": 0.0, "reconcile_recheck": 0.0}
TWO = "+15558675310, +15558675311"


def _per_number(sandbox, resource="Messages"):
    """How many resources the sandbox created for each To."""
    store = sandbox.messages if resource == "Messages" else sandbox.calls
    return Counter(r["to"] for r in store.values())


def _posts(sandbox, resource="Messages"):
    """Create requests that reached the sandbox, whether they created or not."""
    suffix = "/{}.json".format(resource)
    return [
        e for e in sandbox.journal if e.method == "POST" and e.path.endswith(suffix)
    ]


def _accounted(run):
    stats = run.stats
    total = len(run.output["result"]["recipients"])
    assert stats["msg_queued_count"] + stats["msg_failed_count"] == total
    assert (
        stats["msg_unknown_count"] + stats["msg_not_sent_count"]
        <= (stats["msg_failed_count"])
    )


@pytest.mark.parametrize(
    "action, resource",
    [
        ("sms_message", "Messages"),
        ("whatsapp_message", "Messages"),
        ("voice_message", "Calls"),
    ],
)
def test_answer_lost_after_creation_is_found_and_not_resent(sandbox, action, resource):
    sandbox.script("reset_after")
    fields = fields_for(sandbox, action=action, recipients="+15558675310")
    run = run_task(fields, sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    [entry] = run.output["result"]["recipients"]
    created = list(sandbox.messages if resource == "Messages" else sandbox.calls)
    assert entry["status"] == "queued"
    assert entry["sid"] == created[0]
    assert len(sandbox.creates(resource + ".json")) == 1
    assert "Found at Twilio" in run.stderr
    _accounted(run)


def test_request_dropped_before_processing_is_sent_once_more(sandbox):
    sandbox.script("reset_before")
    run = run_task(fields_for(sandbox, recipients=TWO), sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert run.stats["msg_queued_count"] == 2
    assert _per_number(sandbox) == {"+15558675310": 1, "+15558675311": 1}
    assert len(_posts(sandbox)) == 3  # one request was dropped, then resent
    assert len(sandbox.creates()) == 2
    _accounted(run)


def test_absent_twice_after_the_resend_is_not_sent_a_third_time(sandbox):
    sandbox.script("reset_before", 2)
    fields = fields_for(sandbox, recipients="+15558675310")
    run = run_task(fields, sandbox.url, **FAST)
    assert run.rc == 1
    [entry] = run.output["result"]["recipients"]
    assert entry["status"] == "not_sent"
    assert len(_posts(sandbox)) == 2
    assert sandbox.messages == {}
    assert run.stats["msg_failed_count"] == 1
    assert run.stats["msg_not_sent_count"] == 1


def test_lost_201_body_counts_queued_and_its_sid_is_looked_up(sandbox):
    sandbox.script("malformed_json")
    run = run_task(fields_for(sandbox, recipients=TWO), sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert _per_number(sandbox) == {"+15558675310": 1, "+15558675311": 1}
    assert len(_posts(sandbox)) == 2
    sids = {r["sid"] for r in run.output["result"]["recipients"]}
    assert sids == set(sandbox.messages)


def test_stalled_answer_after_creation_is_found(sandbox):
    sandbox.faults.stall_seconds = 5
    sandbox.script("stall")
    fields = fields_for(sandbox, recipients="+15558675310")
    run = run_task(fields, sandbox.url, read_timeout=0.5, **FAST)
    assert run.rc == 0, run.stderr
    assert run.output["result"]["recipients"][0]["status"] == "queued"
    assert len(sandbox.creates()) == 1


def test_a_lookup_that_fails_leaves_the_recipient_unknown(sandbox):
    """The create's answer is lost, then Twilio refuses the lookups (403)."""
    sandbox.script("reset_after")
    fields = fields_for(sandbox, recipients="+15558675310")
    holder = {}
    worker = threading.Thread(
        target=lambda: holder.update(
            run=run_task(fields, sandbox.url, reconcile_delay=1.0, reconcile_recheck=0)
        )
    )
    worker.start()
    _wait_for(lambda: sandbox.creates())
    sandbox.faults.forbidden = True
    worker.join(30)
    run = holder["run"]
    assert run.rc == 1
    [entry] = run.output["result"]["recipients"]
    assert entry["status"] == "unknown"
    assert "not sent again" in entry["error_message"]
    assert len(_posts(sandbox)) == 1  # never resent
    assert run.stats["msg_unknown_count"] == 1
    _accounted(run)


def test_an_unforeseen_exception_is_unknown_and_never_resent(sandbox, monkeypatch):
    """An error no one foresaw, raised while the answer is read (the request
    has left): one boundary turns it into UNKNOWN; the lookups fail the same
    way, so it is never resent."""

    def broken_status_line(self):
        raise OverflowError("injected")

    monkeypatch.setattr(http.client.HTTPResponse, "begin", broken_status_line)
    fields = fields_for(sandbox, recipients="+15558675310")
    run = run_task(fields, sandbox.url, **FAST)
    assert run.rc == 1
    [entry] = run.output["result"]["recipients"]
    assert entry["status"] == "unknown"
    assert "delivery state unknown" in entry["error_message"]
    _wait_for(lambda: len(sandbox.creates()) == 1)  # the server may still be at it
    assert len(_posts(sandbox)) == 1
    _accounted(run)


def _wait_for(condition, seconds=10.0):
    gate = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        gate.wait(0.02)
    raise AssertionError("condition not met in time")


def test_messaging_service_sender_is_matched_by_its_service(sandbox):
    service = "MG" + "0" * 32
    sandbox.script("reset_after")
    fields = fields_for(sandbox, recipients="+15558675310", sender=service)
    run = run_task(fields, sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert len(sandbox.creates()) == 1
    [resource] = sandbox.messages.values()
    assert resource["messaging_service_sid"] == service


def test_a_message_of_another_body_is_not_taken_for_ours(sandbox):
    """An earlier text to the same person must not hide that ours was lost."""
    first = fields_for(sandbox, recipients="+15558675310", message="first")
    assert run_task(first, sandbox.url, **FAST).rc == 0
    sandbox.script("reset_before")
    second = fields_for(sandbox, recipients="+15558675310", message="second")
    run = run_task(second, sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    bodies = Counter(m["body"] for m in sandbox.messages.values())
    assert bodies == {"first": 1, "second": 1}


def test_cancel_during_the_lookup_returns_promptly(sandbox):
    sandbox.script("reset_after")
    fields = fields_for(sandbox, recipients="+15558675310")
    settings = Settings(api_url=sandbox.url, reconcile_delay=30.0)
    task = Task(fields, settings)
    done = threading.Event()
    holder = {}

    def go():
        holder["outcome"] = task.run()
        done.set()

    threading.Thread(target=go, daemon=True).start()
    _wait_for(lambda: sandbox.creates())
    task.cancel()
    assert done.wait(5.0), "the cancel did not end the lookup"
    outcome = holder["outcome"]
    assert outcome.exit_code == 1
    assert outcome.output["result"]["recipients"][0]["status"] == "unknown"
    assert len(_posts(sandbox)) == 1


# -- a rerun settles what an earlier run left unknown ---------------------------
def _cancelled_run(sandbox, fields, settings):
    """Run until the first create reached the sandbox, then cancel."""
    task = Task(fields, settings)
    holder = {}
    worker = threading.Thread(target=lambda: holder.update(outcome=task.run()))
    worker.start()
    _wait_for(lambda: any(e.method == "POST" for e in sandbox.journal))
    task.cancel()
    worker.join(30)
    return holder["outcome"]


@pytest.mark.parametrize("fault, created", [("stall_body", 1), ("reset_before", 0)])
def test_rerun_looks_up_an_earlier_unknown_before_sending(
    sandbox, tmp_path, fault, created
):
    """Run 1 is cancelled while its request is lost (stall_body: created, its
    answer stalls; reset_before: never created). The rerun asks Twilio first:
    found → skipped, absent → sent. Either way each person gets one text."""
    sandbox.faults.stall_seconds = 5.0
    sandbox.script(fault)
    state = str(tmp_path / "state.json")
    fields = fields_for(sandbox, recipients=TWO, resend_policy=["unsent_only"])
    settings = Settings(
        api_url=sandbox.url,
        state_file=state,
        cancel_grace=0.2,
        reconcile_delay=30.0,
    )
    first = _cancelled_run(sandbox, fields, settings)
    assert first.output["result"]["recipients"][0]["status"] == "unknown"
    _wait_for(lambda: _per_number(sandbox)["+15558675310"] == created, 5)
    rerun = run_task(fields, sandbox.url, state_file=state, **FAST)
    assert rerun.rc == 0, rerun.stderr
    assert _per_number(sandbox) == {"+15558675310": 1, "+15558675311": 1}
    first_entry = rerun.output["result"]["recipients"][0]
    assert first_entry["status"] == ("skipped" if created else "queued")
    assert first_entry["sid"] in sandbox.messages
    assert "an earlier run may have sent to" in rerun.stderr


def test_rerun_never_sends_an_earlier_unknown_it_could_not_look_up(sandbox, tmp_path):
    sandbox.faults.stall_seconds = 5.0
    sandbox.script("stall_body")
    state = str(tmp_path / "state.json")
    fields = fields_for(sandbox, recipients=TWO, resend_policy=["unsent_only"])
    settings = Settings(
        api_url=sandbox.url, state_file=state, cancel_grace=0.2, reconcile_delay=30
    )
    _cancelled_run(sandbox, fields, settings)
    _wait_for(lambda: len(sandbox.creates()) == 1, 5)
    sandbox.faults.forbidden = True  # Twilio refuses the lookup
    rerun = run_task(fields, sandbox.url, state_file=state, **FAST)
    assert rerun.rc in (1, 3)
    first_entry = rerun.output["result"]["recipients"][0]
    assert first_entry["status"] == "unknown"
    assert "not sent again" in first_entry["error_message"]
    posts = [e for e in _posts(sandbox) if e.params["To"] == ["+15558675310"]]
    assert len(posts) == 1


def test_a_cancel_does_not_wait_behind_a_slow_lookup(sandbox):
    """Twilio's list hangs; a cancel ends the lookup at once (the recipient
    stays undecided: cancelled) while that request is still unanswered. It
    used to wait for the request or the 60 s lookup budget, beyond the
    agent's 10 s cancel window."""
    from support.events import WAIT
    from support.mock_transport import Answer, client_for
    from ue_twilio.engine.cancel import Cancel
    from ue_twilio.engine.reconcile import (
        UNDECIDED,
        LookupPlan,
        Reconciler,
        match_for,
    )
    from ue_twilio.inputs.config import parse

    asked, release = threading.Event(), threading.Event()

    def slow_list(request):
        asked.set()
        release.wait(WAIT)
        return Answer(200, {"messages": []})

    client, _ = client_for(slow_list)
    config = parse(fields_for(sandbox, recipients="+15558675310"))
    cancel = Cancel()
    plan = LookupPlan(time.monotonic() + 600.0, 1)
    reconciler = Reconciler(
        client, config, match_for(config, lambda: 0.0), cancel, plan
    )
    verdicts = []
    looking = threading.Thread(
        target=lambda: verdicts.extend(reconciler.settle(["+15558675310"])),
        daemon=True,
    )
    try:
        looking.start()
        assert asked.wait(WAIT), "no lookup"
        cancel.set()
        looking.join(WAIT)
        ended_first = not looking.is_alive() and not release.is_set()
    finally:
        release.set()
        client.close()
    assert ended_first, "the cancel waited behind the slow lookup"
    assert [(v.state, v.problem) for v in verdicts] == [
        (UNDECIDED, "the lookup at Twilio was cancelled")
    ]
