"""Issue 12, SMS Fallback: text whoever no call reached, once, from the same Sender."""

from __future__ import annotations

from support import calls
from support.calls import (
    FAST,
    MACHINE,
    NO_ANSWER,
    PERSON,
    called,
    entries,
    texted,
    voice_fields,
)
from support.events import when_answered
from support.runner import run_cli, run_task

make_box = calls.make_box
GOOD = "+15558675310"


def test_fallback_sms_goes_only_to_the_unanswered_recipient(make_box):
    box = make_box()
    fields = voice_fields(
        box,
        [NO_ANSWER, GOOD],
        wait_for_delivery=True,
        delivery_timeout=30,
        fallback_sms=True,
    )
    run = run_cli(fields, box.url)
    assert run.rc == 22, run.stderr
    assert called(box) == [NO_ANSWER, GOOD]
    assert texted(box) == [NO_ANSWER]
    (sms,) = box.creates("Messages.json")
    assert sms.params["From"] == ["+15005550006"]
    assert sms.params["Body"] == ["Nightly load failed"]
    call_entries = entries(run, "call")
    (text,) = entries(run, "sms")
    assert text == {
        "to": NO_ANSWER,
        "status": "queued",
        "sid": sms.created_sid,
        "error_code": None,
        "error_message": None,
        "channel": "sms",
        "fallback_for": call_entries[0]["sid"],
    }
    assert run.stats["fallback_sms_queued_count"] == 1
    assert run.stats["fallback_sms_failed_count"] == 0
    assert run.stats["msg_queued_count"] == 2  # the calls, as before
    assert "SMS Fallback: texting 1 recipient(s)" in run.stderr


def test_chain_texts_the_called_who_did_not_answer(make_box):
    box = make_box()
    fields = voice_fields(
        box,
        [NO_ANSWER, MACHINE, PERSON, GOOD],
        call_order=["one_by_one_until_answered"],
        answering_machine=["count_as_unanswered"],
        delivery_timeout=60,
        fallback_sms=True,
    )
    run = run_task(fields, box.url, **FAST)
    assert run.rc == 0, run.stderr
    assert called(box) == [NO_ANSWER, MACHINE, PERSON]
    assert texted(box) == [NO_ANSWER, MACHINE]
    links = [t["fallback_for"] for t in entries(run, "sms")]
    assert links == [c["sid"] for c in entries(run, "call")[:2]]


def test_everyone_answered_nobody_is_texted(make_box):
    box = make_box()
    fields = voice_fields(
        box, [GOOD], wait_for_delivery=True, delivery_timeout=30, fallback_sms=True
    )
    run = run_task(fields, box.url, **FAST)
    assert run.rc == 0
    assert texted(box) == []
    assert run.stats["fallback_sms_queued_count"] == 0


def test_a_lost_answer_of_a_fallback_sms_is_found_not_resent(make_box):
    box = make_box()
    fields = voice_fields(
        box,
        [NO_ANSWER],
        call_order=["one_by_one_until_answered"],
        delivery_timeout=60,
        fallback_sms=True,
    )

    # once the call exists, the next create is the SMS: its answer is lost
    called = when_answered(
        box,
        lambda: box.creates("Calls.json"),
        then=lambda: box.script("reset_after", 1),
    )
    run = run_task(fields, box.url, **FAST)
    assert called.is_set()
    assert run.rc == 22, run.stderr
    assert texted(box) == [NO_ANSWER]  # sent once, never twice
    (text,) = entries(run, "sms")
    assert text["status"] == "queued"
    assert text["sid"] == box.creates("Messages.json")[0].created_sid
    assert "Found at Twilio: +15005550011 was queued" in run.stderr
