"""The one place that decides the exit code: precedence, the call chain's and
Wait For Acknowledgement's rules."""

from __future__ import annotations

from ue_twilio.exceptions import AuthenticationError
from ue_twilio.models import RecipientResult, Status
from ue_twilio.output import verdict
from ue_twilio.output.verdict import AckFacts, Decision, Facts, decide


def _results(*statuses):
    return [
        RecipientResult("+1555000{:04d}".format(i), status)
        for i, status in enumerate(statuses)
    ]


def test_a_chain_someone_answered_is_0_though_others_were_not_called():
    results = _results(Status.QUEUED, Status.NOT_CALLED)
    facts = Facts(results, delivered=1, undelivered=0, chained=True)
    assert decide(facts) == (0, verdict.SUCCESS)


def test_a_chain_nobody_answered_is_22():
    results = _results(Status.QUEUED, Status.QUEUED)
    facts = Facts(results, delivered=0, undelivered=2, chained=True)
    assert decide(facts) == (22, verdict.NOT_DELIVERED)


def test_a_chain_that_placed_no_call_is_decided_by_the_counts():
    results = _results(Status.FAILED, Status.NOT_SENT)
    code, status = decide(Facts(results, delivered=0, chained=True))
    assert code == 1 and status.startswith("FAIL: No message could be queued.")


def test_precedence_error_then_cancel_then_chain():
    results = _results(Status.QUEUED)
    error = AuthenticationError("Twilio error 20003: Authenticate")
    assert decide(Facts(results, error, cancelled=True, chained=True))[0] == 2
    assert decide(Facts(results, cancelled=True, delivered=1, chained=True)) == (
        21,
        verdict.PARTIAL,
    )


def test_a_new_rule_takes_its_place_in_the_order(monkeypatch):
    """How another exit code is added: a rule where it belongs."""

    def dry_run(facts):
        return Decision(0, "SUCCESS: Dry run.") if not facts.results else None

    monkeypatch.setattr(verdict, "RULES", [dry_run, *verdict.RULES])
    assert decide(Facts([])) == (0, "SUCCESS: Dry run.")
    assert decide(Facts(_results(Status.QUEUED))) == (0, verdict.SUCCESS)


NOBODY = AckFacts(acknowledged=False, paged=2, timeout=900)


def test_somebody_acknowledged_is_0_though_other_pages_failed():
    results = _results(Status.QUEUED, Status.FAILED, Status.NOT_CALLED)
    ack = AckFacts(acknowledged=True, paged=1, timeout=900)
    assert decide(Facts(results, acknowledgement=ack)) == (0, verdict.SUCCESS)


def test_pages_out_and_nobody_acknowledged_is_23_naming_the_timeout():
    results = _results(Status.QUEUED, Status.QUEUED)
    assert decide(Facts(results, acknowledgement=NOBODY)) == (
        23,
        "FAIL: Nobody acknowledged within 900 seconds.",
    )


def test_nothing_paged_is_decided_by_the_counts():
    results = _results(Status.FAILED, Status.FAILED)
    ack = AckFacts(acknowledged=False, paged=0, timeout=900)
    code, status = decide(Facts(results, acknowledgement=ack))
    assert code == 1 and status.startswith("FAIL: No message could be queued.")


def test_precedence_error_then_cancel_then_acknowledgement_then_counts():
    results = _results(Status.QUEUED, Status.QUEUED)
    error = AuthenticationError("Twilio error 20003: Authenticate")
    assert decide(Facts(results, error, acknowledgement=NOBODY))[0] == 2
    assert decide(Facts(results, cancelled=True, acknowledgement=NOBODY)) == (
        21,
        verdict.PARTIAL,
    )
    # before the counts: everybody queued would otherwise be 0
    assert decide(Facts(results, acknowledgement=NOBODY))[0] == 23
    assert decide(Facts(results)) == (0, verdict.SUCCESS)
