"""The one place that decides a run's exit code and its status description.

A run ends with :class:`Facts` (the results, the run-wide error, the cancel,
what delivery tracking counted, whether it was a call chain); :func:`decide`
asks RULES in order and the first that answers is the :class:`Decision`.
The order is the precedence: a run-wide error (its own code: 2, 3, 10, 20)
over a cancel (21 with something queued, else 1) over Wait For
Acknowledgement's (0 acknowledged, 23 paged but nobody acknowledged) over a
call chain's own verdict (0 answered, 22 placed but unanswered) over the
counts (0, 22 when not all were delivered, 21 some not queued, 1 none
queued).

To add an exit code, add its fact
to ``Facts`` with a default that changes nothing, a rule function, and put
the rule in RULES where its precedence belongs; tests/output/test_verdict.py
holds the table.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional

from ..exceptions import TwilioTaskError, sentence
from ..models import (
    QUEUED_STATES,
    RecipientResult,
    Status,
    count,
    count_failed,
    count_queued,
)

SUCCESS = "SUCCESS: Task executed successfully."
PARTIAL = (
    "FAIL: Some messages were not possible to be queued. "
    "Check STDERR for more information."
)
NOT_DELIVERED = "FAIL: Not all messages were delivered."
NOT_ACKNOWLEDGED = "FAIL: Nobody acknowledged within {} seconds."

EXIT_SUCCESS = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 21
EXIT_NOT_DELIVERED = 22
EXIT_NOT_ACKNOWLEDGED = 23


class AckFacts(NamedTuple):
    """What Wait For Acknowledgement ended with (issue 21)."""

    acknowledged: bool
    paged: int
    timeout: int


class Facts(NamedTuple):
    """What a run ended with; ``delivered`` is None when tracking never ran."""

    results: List[RecipientResult]
    error: Optional[TwilioTaskError] = None
    cancelled: bool = False
    delivered: Optional[int] = None
    undelivered: int = 0
    chained: bool = False
    rejected: int = 0  # malformed entries of the list (failed, never sent)
    acknowledgement: Optional[AckFacts] = None

    @property
    def queued(self) -> int:
        return count_queued(self.results)


class Decision(NamedTuple):
    exit_code: int
    status_description: str


Rule = Callable[[Facts], Optional[Decision]]


def _run_wide_error(facts: Facts) -> Optional[Decision]:
    error = facts.error
    if error is None:
        return None
    return Decision(error.exit_code, error.status_description)


def _cancelled(facts: Facts) -> Optional[Decision]:
    """The seed's text for 21, always; the details go to STDERR."""
    if not facts.cancelled:
        return None
    if facts.queued:
        return Decision(EXIT_PARTIAL, PARTIAL)
    details = cancel_details(facts.results, facts.delivered)
    return Decision(EXIT_FAILED, sentence("FAIL: " + details))


def _acknowledgement(facts: Facts) -> Optional[Decision]:
    """0 when somebody acknowledged, 23 when pages went out and nobody did;
    no say when nothing could be paged (the counts decide: nothing queued)."""
    ack = facts.acknowledgement
    if ack is None:
        return None
    if ack.acknowledged:
        return Decision(EXIT_SUCCESS, SUCCESS)
    if ack.paged:
        return Decision(EXIT_NOT_ACKNOWLEDGED, NOT_ACKNOWLEDGED.format(ack.timeout))
    return None


def _call_chain(facts: Facts) -> Optional[Decision]:
    """0 when a person answered, 22 when calls were placed and nobody did;
    no say when no call was placed (the counts decide: nothing queued), nor
    when a malformed entry was rejected (the counts decide: 21)."""
    if not facts.chained or facts.rejected:
        return None
    if facts.delivered:
        return Decision(EXIT_SUCCESS, SUCCESS)
    if facts.queued:
        return Decision(EXIT_NOT_DELIVERED, NOT_DELIVERED)
    return None


def _counts(facts: Facts) -> Optional[Decision]:
    queued = facts.queued
    if queued == len(facts.results):
        if facts.undelivered:
            return Decision(EXIT_NOT_DELIVERED, NOT_DELIVERED)
        return Decision(EXIT_SUCCESS, SUCCESS)
    if queued:
        return Decision(EXIT_PARTIAL, PARTIAL)
    first = _first_failure(facts.results)
    return Decision(EXIT_FAILED, sentence("FAIL: No message could be queued. " + first))


RULES: List[Rule] = [
    _run_wide_error,
    _cancelled,
    _acknowledgement,
    _call_chain,
    _counts,
]


def decide(facts: Facts) -> Decision:
    """The exit code and status description of a run that got to sending."""
    for rule in RULES:
        decision = rule(facts)
        if decision is not None:
            return decision
    raise AssertionError("the last rule always decides")  # pragma: no cover


def crashed(exc: BaseException) -> Decision:
    """An error nobody expected: exit 1, naming only its type."""
    return Decision(
        EXIT_FAILED, sentence("FAIL: Unexpected error: {}".format(type(exc).__name__))
    )


def cancel_details(
    results: List[RecipientResult], delivered: Optional[int] = None
) -> str:
    """What a cancel left behind, for STDERR and for exit 1's status, in the
    words of the STDERR lists (output/outcome.py's failed_breakdown)."""
    unknown = count(results, Status.UNKNOWN)
    not_sent = count(results, Status.NOT_SENT)
    failed = count_failed(results)
    breakdown = "{} rejected, {} unknown, {} not sent".format(
        failed - unknown - not_sent, unknown, not_sent
    )
    text = "Task was cancelled: {} queued, {} failed ({})".format(
        count_queued(results), failed, breakdown
    )
    if delivered is not None:
        text += ", {} delivered".format(delivered)
    return text


def _first_failure(results: List[RecipientResult]) -> str:
    for result in results:
        if result.status not in QUEUED_STATES:
            return "{}: {}".format(result.to, result.describe_failure())
    return "Nothing was sent."
