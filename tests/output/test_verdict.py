"""The one place that decides the exit code: precedence and the call chain's rule."""

from __future__ import annotations

from ue_twilio.exceptions import AuthenticationError
from ue_twilio.models import RecipientResult, Status
from ue_twilio.output import verdict
from ue_twilio.output.verdict import Decision, Facts, decide


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
    """How exit 23 or a dry run will be added: a rule where it belongs."""

    def dry_run(facts):
        return Decision(0, "SUCCESS: Dry run.") if not facts.results else None

    monkeypatch.setattr(verdict, "RULES", [dry_run, *verdict.RULES])
    assert decide(Facts([])) == (0, "SUCCESS: Dry run.")
    assert decide(Facts(_results(Status.QUEUED))) == (0, verdict.SUCCESS)
