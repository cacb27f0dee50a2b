"""Issue 12, Call Order 'one_by_one_until_answered': call in list order until
a person answers; the rest are not called, and the counts still add up."""

from __future__ import annotations

from support import calls
from support.calls import (
    BUSY,
    FAST,
    MACHINE,
    NO_ANSWER,
    PERSON,
    PERSON_TOO,
    called,
    entries,
    voice_fields,
)
from support.runner import run_cli, run_task
from ue_twilio.inputs.account import TwilioAccount
from ue_twilio.inputs.config import TaskConfig
from ue_twilio.models import RecipientResult, Status
from ue_twilio.phases.chain import CallChain

make_box = calls.make_box
CHAIN = ["one_by_one_until_answered"]


def _chain(box, numbers, **extra):
    extra.setdefault("delivery_timeout", 60)
    return voice_fields(box, numbers, call_order=CHAIN, **extra)


def _adds_up(run):
    s = run.stats
    total = s["msg_queued_count"] + s["msg_failed_count"] + s["msg_not_called_count"]
    assert total == len(entries(run, "call"))


def test_chain_of_four_calls_exactly_the_first_three(make_box):
    box = make_box()
    numbers = [NO_ANSWER, MACHINE, PERSON, PERSON_TOO]
    fields = _chain(box, numbers, answering_machine=["count_as_unanswered"])
    run = run_cli(fields, box.url)
    assert run.rc == 0, run.stderr
    assert run.output["status_description"] == "SUCCESS: Task executed successfully."
    assert called(box) == numbers[:3]
    result = entries(run, "call")
    assert [r["status"] for r in result] == [
        "no-answer",
        "completed",
        "completed",
        "not_called",
    ]
    assert [r["answered_by"] for r in result] == [None, "machine_start", "human", None]
    assert result[3]["sid"] is None
    assert result[3]["error_message"] == "not called: +15005550014 answered first"
    assert run.stats["msg_queued_count"] == 3
    assert run.stats["msg_failed_count"] == 0
    assert run.stats["msg_not_called_count"] == 1
    assert run.stats["msg_delivered_count"] == 1
    assert run.stats["msg_undelivered_count"] == 2
    _adds_up(run)
    assert "Call chain: +15005550014 answered; 1 recipient(s) not called." in run.stderr
    assert run.output["invocation"]["fields"]["call_order"] == CHAIN[0]


def test_each_call_ends_before_the_next_is_placed(make_box):
    box = make_box()
    run = run_task(_chain(box, [NO_ANSWER, BUSY, PERSON]), box.url, **FAST)
    assert run.rc == 0, run.stderr
    creates = box.creates("Calls.json")
    for earlier, later in zip(creates, creates[1:]):
        last_look = [
            e
            for e in box.journal
            if e.method == "GET" and earlier.created_sid in e.path
        ][-1]
        assert last_look.time < later.time
    assert called(box) == [NO_ANSWER, BUSY, PERSON]


def test_nobody_answering_ends_22_after_calling_everyone(make_box):
    box = make_box()
    fields = _chain(
        box, [NO_ANSWER, BUSY, MACHINE], answering_machine=["count_as_unanswered"]
    )
    run = run_task(fields, box.url, **FAST)
    assert run.rc == 22
    assert run.output["status_description"] == "FAIL: Not all messages were delivered."
    assert called(box) == [NO_ANSWER, BUSY, MACHINE]
    assert run.stats["msg_not_called_count"] == 0
    assert run.stats["msg_delivered_count"] == 0
    assert "Call chain: nobody answered." in run.stderr
    _adds_up(run)


def test_with_ignore_any_answered_call_ends_the_chain(make_box):
    box = make_box()
    run = run_task(_chain(box, [NO_ANSWER, MACHINE, PERSON]), box.url, **FAST)
    assert run.rc == 0
    assert called(box) == [NO_ANSWER, MACHINE]
    assert "MachineDetection" not in box.creates("Calls.json")[0].params
    assert run.stats["msg_not_called_count"] == 1


def test_a_refused_call_moves_the_chain_on(make_box):
    box = make_box()
    refused = "+15005550001"  # Twilio: 21217, not a valid number for calls
    run = run_task(_chain(box, [refused, PERSON, PERSON_TOO]), box.url, **FAST)
    assert run.rc == 0, run.stderr
    attempted = [
        e.params["To"][0]
        for e in box.journal
        if e.method == "POST" and e.path.endswith("/Calls.json")
    ]
    assert attempted == [refused, PERSON]
    result = entries(run, "call")
    assert [r["status"] for r in result] == ["failed", "completed", "not_called"]
    assert run.stats["msg_failed_count"] == 1
    _adds_up(run)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_delivery_timeout_bounds_the_whole_chain():
    clock = _Clock()
    sid = "AC" + "0" * 32
    config = TaskConfig(
        "voice_message",
        TwilioAccount(sid, sid, "token"),
        "+15005550006",
        ("+15558675310", "+15558675311", "+15558675312"),
        "hi",
        answer_timeout=30,
        call_max_duration=60,
        delivery_timeout=150,
    )
    results = [RecipientResult(to, "not_sent") for to in config.recipients]
    chain = CallChain(config, _Log(), clock)
    placed = []
    for index in chain.calls([0, 1, 2], results):
        placed.append(index)
        assert chain.call_timeout() == min(120.0, 150.0 - clock.now)
        clock.now += 100.0  # each call takes 100 s and nobody answers
    chain.finish(results, stopped=False)
    assert placed == [0, 1]
    assert results[2].status == Status.NOT_CALLED
    assert "Delivery Timeout of 150 s ended first" in results[2].error_message


class _Log:
    def info(self, *args):
        pass

    warning = info
