"""Resend Policy 'unsent_only': a rerun skips who an earlier run queued."""

from __future__ import annotations

import base64

import pytest

from support.events import when_answered
from support.runner import fields_for, run_cli
from support.tasks import run_live, statuses
from ue_twilio.engine.dispatcher import MAX_RATE_LIMIT_RETRIES
from ue_twilio.inputs.config import parse
from ue_twilio.ledger.legacy import decode, encode, fingerprint


def field_counts(record):
    """(queued, in flight) keys in a Resend State field value (format 3)."""
    version, _, queued, flying = record.split(".")
    assert version == "3"
    return len(base64.b64decode(queued)) // 6, len(base64.b64decode(flying)) // 6


NUMBERS = ["+15558675310", "+15558675311", "+15558675312"]
THREE = ", ".join(NUMBERS)
UNSENT_ONLY = {"resend_policy": ["unsent_only"]}


def _sent_to(sandbox):
    return [e.params["To"][0] for e in sandbox.creates()]


def _first_fails(sandbox):
    """The probe (recipient 1) stays rate limited until its retries run out:
    Twilio refused it (nothing created); the rest are queued."""
    sandbox.faults.retry_after = 0
    sandbox.script("rate_limited", MAX_RATE_LIMIT_RETRIES + 1)


def test_state_file_rerun_sends_only_the_unsent(sandbox, tmp_path):
    state = str(tmp_path / "state.json")
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    _first_fails(sandbox)
    first = run_cli(fields, sandbox.url, "--state-file", state)
    assert first.rc == 21
    assert first.stats["msg_skipped_count"] == 0
    assert "no record of an earlier run" in first.stderr
    assert sorted(_sent_to(sandbox)) == NUMBERS[1:]
    sandbox.clear_journal()

    second = run_cli(fields, sandbox.url, "--state-file", state)
    assert second.rc == 0, second.stderr
    assert _sent_to(sandbox) == [NUMBERS[0]]
    assert statuses(second) == ["queued", "skipped", "skipped"]
    assert second.stats == {
        "msg_queued_count": 3,
        "msg_failed_count": 0,
        "msg_unknown_count": 0,
        "msg_not_sent_count": 0,
        "msg_skipped_count": 2,
    }
    assert second.output["changed"] is True
    assert second.output["result"]["resend"] == {"record_source": "state file"}
    sandbox.clear_journal()

    third = run_cli(fields, sandbox.url, "--state-file", state)
    assert third.rc == 0
    assert sandbox.journal == []
    assert statuses(third) == ["skipped"] * 3
    assert third.output["changed"] is False
    assert third.stats["msg_queued_count"] == 3


def test_record_in_the_field_is_used_on_rerun(sandbox):
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    _first_fails(sandbox)
    first = run_live(fields, sandbox.url)
    record = first.snapshots[-1].output_fields()["resend_state"]
    sandbox.clear_journal()
    second = run_live(dict(fields, resend_state=record), sandbox.url)
    assert second.rc == 0
    assert _sent_to(sandbox) == [NUMBERS[0]]
    assert second.output["result"]["resend"] == {"record_source": "resend_state field"}
    assert "2 recipient(s) were queued by an earlier run" in second.stderr
    final = second.snapshots[-1].output_fields()
    assert final["queued_count"] == 3
    assert field_counts(final["resend_state"]) == (3, 0)


def test_the_record_is_written_while_the_run_goes(sandbox):
    # 40 sends one at a time, 0.1 s each: about 4 s, while live output is
    # pushed at most once a second, so some push falls inside the run.
    sandbox.faults.latency = 0.1
    numbers = ["+1555{:07d}".format(i) for i in range(40)]
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=1, **UNSENT_ONLY
    )
    run = run_live(fields, sandbox.url)
    assert run.rc == 0
    queued = [field_counts(s.resend_state)[0] for s in run.snapshots]
    assert queued == sorted(queued)
    assert queued[-1] == 40
    assert any(0 < count < 40 for count in queued), queued  # not only at the end


def test_other_inputs_do_not_match_and_all_are_sent(sandbox, tmp_path):
    state = str(tmp_path / "state.json")
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    run_cli(fields, sandbox.url, "--state-file", state)
    sandbox.clear_journal()
    changed = dict(fields, message_body_text="Another text")
    run = run_cli(changed, sandbox.url, "--state-file", state)
    assert run.rc == 0
    assert sorted(_sent_to(sandbox)) == NUMBERS
    assert "holds no record of this message" in run.stderr
    assert "sending to all 3 recipient(s)" in run.stderr


def test_mismatched_field_falls_back_to_the_file(sandbox, tmp_path):
    state = str(tmp_path / "state.json")
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    _first_fails(sandbox)
    run_cli(fields, sandbox.url, "--state-file", state)
    sandbox.clear_journal()
    stale = encode("0" * 64, bytearray([0xE0]), 3)
    run = run_cli(dict(fields, resend_state=stale), sandbox.url, "--state-file", state)
    assert run.rc == 0
    assert _sent_to(sandbox) == [NUMBERS[0]]
    assert run.output["result"]["resend"] == {"record_source": "state file"}


def test_policy_all_ignores_any_record(sandbox, tmp_path):
    state = str(tmp_path / "state.json")
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    first = run_live(fields, sandbox.url)
    record = first.snapshots[-1].resend_state
    sandbox.clear_journal()
    again = dict(fields, resend_policy=["all"], resend_state=record)
    run = run_cli(again, sandbox.url, "--state-file", state)
    assert run.rc == 0
    assert sorted(_sent_to(sandbox)) == NUMBERS
    assert "msg_skipped_count" not in run.stats
    assert "resend" not in run.output["result"]
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"resend_state": 5}', "[]", "notes\n", '{"version": 1, "x": 1}'],
)
def test_a_file_that_is_not_ours_is_never_written(sandbox, tmp_path, content):
    state = tmp_path / "state.json"
    state.write_text(content)
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    run = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: --state-file: "
    )
    assert "is not a ue-twilio resend state file" in run.output["status_description"]
    assert run.output["status_description"].endswith(".")
    assert sandbox.journal == []
    assert state.read_text() == content


def test_cancelled_run_then_rerun_sends_everyone_exactly_once(sandbox, tmp_path):
    state = str(tmp_path / "state.json")
    sandbox.faults.latency = 0.1
    numbers = ["+1555{:07d}".format(i) for i in range(30)]
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=2, **UNSENT_ONLY
    )
    some = when_answered(sandbox, lambda: len(sandbox.creates()) >= 4)
    first = run_live(fields, sandbox.url, cancel_on=some, state_file=state)
    assert first.rc == 21
    assert 0 < first.stats["msg_queued_count"] < 30
    sandbox.faults.latency = 0.0
    second = run_live(fields, sandbox.url, state_file=state)
    assert second.rc == 0
    assert second.stats["msg_skipped_count"] == first.stats["msg_queued_count"]
    assert sorted(_sent_to(sandbox)) == numbers  # nobody twice, nobody missed


def test_record_and_state_file_hold_no_secret_and_no_number(sandbox, tmp_path):
    state = tmp_path / "state.json"
    fields = fields_for(sandbox, recipients=THREE, **UNSENT_ONLY)
    run = run_live(fields, sandbox.url, state_file=str(state))
    record = run.snapshots[-1].resend_state
    stored = state.read_text()
    for text in (record, stored):
        assert sandbox.auth_token not in text
        assert sandbox.account_sid not in text
        assert all(number not in text for number in NUMBERS)
        assert "Nightly" not in text


def test_fingerprint_ignores_secrets_and_proxy_but_not_inputs(sandbox):
    base = fields_for(sandbox, recipients=THREE)
    digest = _digest(base)
    credentials = {"user": sandbox.account_sid, "password": "another-token"}
    other_token = dict(base, twilio_credentials=credentials)
    assert _digest(other_token) == digest
    for change in (
        {"recipient_list": "+15558675311, +15558675310, +15558675312"},
        {"message_body_text": "Other"},
        {"sender": "+15005550007"},
        {"action": ["whatsapp_message"]},
    ):
        assert _digest(dict(base, **change)) != digest, change


def test_record_round_trip_and_rejects():
    bits = bytearray([0b10100000])
    record = encode("a" * 64, bits, 3)
    assert decode(record, "a" * 64, 3).queued == bits
    assert decode(record, "b" * 64, 3) is None
    assert decode(record, "a" * 64, 4) is None
    assert decode(record.replace("2.", "3.", 1), "a" * 64, 3) is None
    assert decode(record[:-4] + "!!!!", "a" * 64, 3) is None
    assert decode(None, "a" * 64, 3) is None
    assert decode(12, "a" * 64, 3) is None


def test_large_list_record_stays_compact():
    count = 100000
    record = encode("a" * 64, bytearray(b"\xff" * (count // 8)), count)
    assert len(record) < 300


def _digest(fields):
    return fingerprint(parse(fields))


def test_a_record_too_long_for_the_field_goes_to_the_file_only():
    from ue_twilio.models import Snapshot

    short = Snapshot(3, queued=1, resend_state="1." + "a" * 100)
    long = Snapshot(3, queued=1, resend_state="1." + "a" * 5000)
    assert "resend_state" in short.output_fields()
    assert long.output_fields() == {"queued_count": 1, "failed_count": 0}
