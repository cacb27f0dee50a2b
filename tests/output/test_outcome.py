"""The verdict table and the Extension Output's shape, unit by unit."""

from __future__ import annotations

import json

import pytest

from support.runner import fields_for, run_task
from ue_twilio import Settings
from ue_twilio.commands.check import check_connection
from ue_twilio.exceptions import AuthenticationError, TwilioConnectionError
from ue_twilio.models import RecipientResult, Status
from ue_twilio.output import outcome, verdict
from ue_twilio.output.echo import ECHO_KEYS


def _verdict(results, error=None, cancelled=False, undelivered=0):
    facts = verdict.Facts(results, error, cancelled, undelivered=undelivered)
    return tuple(verdict.decide(facts))


def _results(*statuses):
    return [
        RecipientResult("+1555000{:04d}".format(i), status, error_code=21211)
        for i, status in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    "statuses,expected_code",
    [
        ((Status.QUEUED, Status.QUEUED), 0),
        ((Status.QUEUED, Status.SKIPPED), 0),
        ((Status.QUEUED, Status.FAILED), 21),
        ((Status.QUEUED, Status.NOT_SENT), 21),
        ((Status.FAILED, Status.FAILED), 1),
        ((Status.FAILED, Status.NOT_SENT), 1),
    ],
)
def test_verdict_table(statuses, expected_code):
    code, status = _verdict(_results(*statuses))
    assert code == expected_code
    if code == 0:
        assert status == verdict.SUCCESS
    elif code == 21:
        assert status == verdict.PARTIAL
    else:
        assert status.startswith("FAIL: No message could be queued. +15550000000")


def test_run_wide_error_wins_over_counts():
    error = AuthenticationError("Twilio error 20003: Authenticate")
    code, status = _verdict(_results(Status.QUEUED, Status.FAILED), error)
    assert code == 2
    assert status == (
        "AUTHENTICATION_ERROR: Account cannot be authenticated. "
        "Twilio error 20003: Authenticate."
    )
    assert _verdict(_results(Status.QUEUED), TwilioConnectionError("x"))[0] == 10


@pytest.mark.parametrize("queued,expected", [(True, 21), (False, 1)])
def test_cancel_is_21_with_something_queued_else_1(queued, expected):
    statuses = (
        (Status.QUEUED, Status.NOT_SENT) if queued else (Status.FAILED, Status.NOT_SENT)
    )
    code, status = _verdict(_results(*statuses), cancelled=True)
    assert code == expected
    if queued:  # exit 21 always carries the seed's text; details go to STDERR
        assert status == verdict.PARTIAL
    else:
        assert status == (
            "FAIL: Task was cancelled: 0 queued, 2 failed "
            "(1 rejected, 0 unknown, 1 not sent)."
        )


def test_undelivered_turns_success_into_22_but_not_a_partial_failure():
    assert _verdict(_results(Status.QUEUED, Status.QUEUED), undelivered=1) == (
        22,
        verdict.NOT_DELIVERED,
    )
    assert _verdict(_results(Status.QUEUED, Status.FAILED), undelivered=1)[0] == 21


def test_stats_keep_the_seed_keys_and_add_up():
    counts = outcome.stats(
        _results(
            Status.QUEUED,
            Status.SKIPPED,
            Status.FAILED,
            Status.NOT_SENT,
            Status.UNKNOWN,
        )
    )
    assert counts == {
        "msg_queued_count": 2,
        "msg_failed_count": 3,
        "msg_unknown_count": 1,
        "msg_not_sent_count": 1,
    }


def test_a_run_with_only_unknown_recipients_is_not_a_success():
    code, text = _verdict(_results(Status.UNKNOWN))
    assert code == 1 and text.startswith("FAIL: No message could be queued.")
    assert _verdict(_results(Status.QUEUED, Status.UNKNOWN))[0] == 21


def test_long_lists_keep_only_problems_and_at_most_the_limit(monkeypatch):
    monkeypatch.setattr(outcome, "RECIPIENT_DETAIL_LIMIT", 3)
    detail = outcome.recipients_detail(
        _results(Status.QUEUED, Status.FAILED, *([Status.NOT_SENT] * 5))
    )
    assert [r["status"] for r in detail["recipients"]] == [
        "failed",
        "not_sent",
        "not_sent",
    ]
    assert detail["recipients_listed"] == "not_queued_only"
    assert detail["recipients_omitted"] == 4


def test_crash_outcome_is_still_valid_output():
    crashed = outcome.crash_outcome(KeyError("boom"))
    data = json.loads(crashed.output_json())
    assert crashed.exit_code == data["exit_code"] == 1
    assert data["status_description"] == "FAIL: Unexpected error: KeyError."
    assert set(data["invocation"]["fields"]) == set(ECHO_KEYS)
    assert not any(data["invocation"]["fields"].values())
    assert data["changed"] is False
    assert data["result"]["stats"]["msg_queued_count"] == 0


ENVELOPE = ["exit_code", "status_description", "changed", "invocation", "result"]


def test_a_send_and_a_command_answer_in_the_same_envelope(sandbox):
    fields = fields_for(sandbox)
    send = run_task(fields, sandbox.url).output
    command = check_connection(fields, Settings(api_url=sandbox.url)).output
    assert (send["exit_code"], command["exit_code"]) == (0, 0)
    assert list(send) == list(command) == ENVELOPE
    assert list(send["invocation"]) == ["extension", "version", "fields"]
    assert list(command["invocation"]) == ["extension", "version", "command", "fields"]
    assert send["invocation"]["version"] == command["invocation"]["version"]
    assert (send["changed"], command["changed"]) == (True, False)
