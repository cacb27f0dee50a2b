"""One typo no longer silences the page (issue 20): the valid numbers are
sent, each malformed entry is reported failed with its reason (exit 21, as
for any recipient not queued); only when no entry is valid is it exit 20.
A malformed entry never reaches Twilio, not on a rerun either."""

from __future__ import annotations

from support.runner import fields_for, run_cli

PARTIAL = (
    "FAIL: Some messages were not possible to be queued. "
    "Check STDERR for more information."
)
REASON = (
    "Recipient List: entry 2 '12345' is not an E.164 number (E.164 is + then the "
    "country code and number, at most 15 digits, no spaces)"
)


def _sent_to(sandbox):
    return sorted(e.params["To"][0] for e in sandbox.creates())


def test_a_typo_fails_alone_and_the_rest_is_sent(sandbox):
    run = run_cli(fields_for(sandbox, recipients="+15558675310, 12345"), sandbox.url)
    assert run.rc == 21, run.stderr
    assert run.output["status_description"] == PARTIAL
    assert run.output["changed"] is True
    assert _sent_to(sandbox) == ["+15558675310"]
    recipients = run.output["result"]["recipients"]
    assert [(r["to"], r["status"]) for r in recipients] == [
        ("+15558675310", "queued"),
        ("12345", "failed"),
    ]
    assert recipients[1]["error_message"] == REASON
    assert recipients[1]["sid"] is None
    assert run.stats == {
        "msg_queued_count": 1,
        "msg_failed_count": 1,
        "msg_unknown_count": 0,
        "msg_not_sent_count": 0,
    }
    assert run.output["invocation"]["fields"]["recipient_count"] == 2
    assert "WARNING Not queued: {}.\n".format(REASON) in run.stderr
    assert "Failed, rejected (by Twilio, or not a number) (1): 12345" in run.stderr
    # every list of the counts' words, also when empty
    assert "Failed, unknown (may have reached Twilio; not resent) (0): -" in run.stderr
    assert "Failed, not sent (0): -" in run.stderr
    assert "1 failed (1 rejected, 0 unknown, 0 not sent)" in run.stderr


def test_only_malformed_entries_is_still_exit_20(sandbox):
    run = run_cli(fields_for(sandbox, recipients="12345, call me"), sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"] == (
        "DATA_VALIDATION_ERROR: Recipient List: entry 1 '12345' is not an E.164 "
        "number (E.164 is + then the country code and number, at most 15 digits, "
        "no spaces)."
    )
    assert sandbox.journal == []


def test_a_rerun_skips_the_sent_and_never_sends_the_malformed(sandbox, tmp_path):
    state = str(tmp_path / "state.json")
    fields = fields_for(
        sandbox,
        recipients="+15558675310, 12345, +15558675311",
        resend_policy=["unsent_only"],
    )
    first = run_cli(fields, sandbox.url, "--state-file", state)
    assert first.rc == 21
    assert _sent_to(sandbox) == ["+15558675310", "+15558675311"]
    sandbox.clear_journal()
    second = run_cli(fields, sandbox.url, "--state-file", state)
    assert second.rc == 21
    assert sandbox.journal == []
    statuses = [r["status"] for r in second.output["result"]["recipients"]]
    assert statuses == ["skipped", "skipped", "failed"]
    assert second.stats["msg_queued_count"] + second.stats["msg_failed_count"] == 3
    assert second.output["changed"] is False  # this run queued nothing
    with open(state) as ledger:  # the ledger knows the two sent, nothing of '12345'
        entries = [line for line in ledger.read().splitlines() if line[:2] in KINDS]
    assert [line[:2] for line in entries] == ["Q ", "Q "]


KINDS = ("I ", "Q ", "X ", "A ")
