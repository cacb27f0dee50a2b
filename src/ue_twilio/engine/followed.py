"""The recipients delivery tracking follows, and what Twilio showed of each.

One owner: the tracker's worker threads record what they saw here, under
one lock, on the tracker's own items; no thread mutates a
:class:`RecipientResult`. When tracking ends (:meth:`Followed.freeze`),
each followed recipient's result is *replaced* by a copy carrying its
delivery status, error, price and who answered; the caller puts the copies
in place of the originals.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..models import (
    CALL_ANSWERED,
    CALL_DELIVERED,
    CALL_UNDELIVERED,
    MESSAGE_DELIVERED,
    MESSAGE_UNDELIVERED,
    DeliveryReport,
    RecipientResult,
    Status,
)
from ..prices import Charge
from .retry import TRACK

DELIVERED = "delivered"
UNDELIVERED = "undelivered"
NO_SID = "Twilio returned no SID, so the delivery cannot be followed"

AnswerProblem = Callable[[RecipientResult], Optional[str]]


def classify(status: Optional[str], is_call: bool) -> Optional[str]:
    """DELIVERED, UNDELIVERED, or None while the status is not final."""
    delivered = CALL_DELIVERED if is_call else MESSAGE_DELIVERED
    undelivered = CALL_UNDELIVERED if is_call else MESSAGE_UNDELIVERED
    if status in delivered:
        return DELIVERED
    if status in undelivered:
        return UNDELIVERED
    return None


class Item:
    """One followed recipient: its original result and what was seen since."""

    __slots__ = (
        "position",
        "result",
        "last_status",
        "polls",
        "verdict",
        "problem",
        "scheduled",
        "seen_at",
        "changes",
        "retry",
    )

    def __init__(self, position: int, result: RecipientResult) -> None:
        self.position = position  # in the list the tracker was given
        self.result = result  # never mutated
        self.problem: Optional[str] = None
        self.last_status: Optional[str] = result.status
        self.polls = 0
        self.verdict: Optional[str] = None
        self.scheduled = False  # on the schedule's heap
        self.seen_at = 0.0  # when Twilio last showed it (list or GET)
        self.changes: Dict[str, Any] = {}  # the result's fields to replace
        self.retry = TRACK  # its 429s so far (retry.py)

    def current(self) -> RecipientResult:
        """The result as seen so far (a copy: the original stays as it was)."""
        return self.result.replace(**self.changes) if self.changes else self.result


class Followed:
    """Items, their verdicts and the report; every method but ``freeze``
    and ``settle`` is called with ``lock`` held."""

    def __init__(
        self,
        results: List[RecipientResult],
        is_call: bool,
        answer_problem: Optional[AnswerProblem],
        clock: Callable[[], float],
    ) -> None:
        self.lock = threading.Lock()
        self.state = threading.Condition(self.lock)  # a status settled
        self.work_ready = threading.Condition(self.lock)  # a job may be due
        self.items = [
            Item(i, r) for i, r in enumerate(results) if r.status == Status.QUEUED
        ]
        self.by_sid: Dict[str, int] = {}  # open items with a SID -> item index
        self.open = len(self.items)
        self.frozen = False
        self.left_open = False  # some were still open when tracking ended
        self.report = DeliveryReport()
        self._results = results
        self._is_call = is_call
        self._answer_problem = answer_problem
        self._clock = clock

    def index_sids(self) -> None:
        """Items without a SID cannot be followed: undelivered at once."""
        for number, item in enumerate(self.items):
            if item.result.sid is None:
                self.settle(item, UNDELIVERED, "unknown", None, NO_SID)
            else:
                self.by_sid[item.result.sid] = number

    def observe(self, item: Item, body: Mapping[str, Any]) -> bool:
        """What Twilio showed of one item; True when it is final."""
        if self.frozen or item.verdict is not None:
            return True
        item.seen_at = self._clock()
        if body:
            item.changes["charge"] = Charge.of(body)
        status = body.get("status")
        status = status if isinstance(status, str) else item.last_status
        if self._is_call:
            who = _answered_by(body)
            if who is not None:
                item.changes["answered_by"] = who
        verdict = classify(status, self._is_call)
        if verdict is None:
            item.last_status = status
            return False
        code, message = resource_error(body)
        if verdict == DELIVERED:
            verdict, message = self.judge_answer(item, message)
        self.settle_locked(item, verdict, status, code, message)
        return True

    def judge_answer(
        self, item: Item, message: Optional[str]
    ) -> Tuple[str, Optional[str]]:
        """An answered call is delivered unless answer_problem says otherwise."""
        problem = self._answer_problem(item.current()) if self._answer_problem else None
        if problem is None:
            return DELIVERED, message
        return UNDELIVERED, problem

    def settle(
        self,
        item: Item,
        verdict: str,
        status: Optional[str],
        error_code: Optional[int],
        error_message: Optional[str],
    ) -> None:
        with self.lock:
            if not self.frozen:
                self.settle_locked(item, verdict, status, error_code, error_message)

    def settle_locked(
        self,
        item: Item,
        verdict: str,
        status: Optional[str],
        error_code: Optional[int],
        error_message: Optional[str],
    ) -> None:
        if item.verdict is not None:
            return
        item.verdict = verdict
        item.changes["delivery"] = status
        if error_code is not None:
            item.changes["error_code"] = error_code
        if error_message is not None:
            item.changes["error_message"] = error_message
        if verdict == DELIVERED:
            self.report.delivered += 1
        else:
            self.report.undelivered += 1
        self.open -= 1
        if item.result.sid is not None:
            self.by_sid.pop(item.result.sid, None)
        self.state.notify()
        if self.open == 0:
            self.work_ready.notify_all()

    def freeze(self, reason: str) -> List[RecipientResult]:
        """Settle what is still open (an answered call counts as delivered);
        return the results with every followed one replaced."""
        with self.lock:
            self.frozen = True
            for item in self.items:
                if item.verdict is None:
                    self.left_open = True
                    self._settle_open(item, reason)
            results = list(self._results)
            not_delivered = []
            for item in self.items:
                results[item.position] = item.current()
                if item.verdict == UNDELIVERED:
                    not_delivered.append(results[item.position])
            self.report.not_delivered = not_delivered
        return results

    def _settle_open(self, item: Item, reason: str) -> None:
        if self._is_call and item.last_status == CALL_ANSWERED:
            verdict, problem = self.judge_answer(item, None)
            self.settle_locked(item, verdict, item.last_status, None, problem)
            return
        problem = "{}; last status: {}".format(reason, item.last_status)
        if item.problem is not None:
            problem += "; " + item.problem
        self.settle_locked(item, UNDELIVERED, item.last_status, None, problem)
        self.report.pending += 1


def resource_error(body: Mapping[str, Any]) -> Tuple[Optional[int], Optional[str]]:
    """Twilio's error_code / error_message of a failed resource, if any.

    A code given as a string counts only when it is ASCII digits: "²" passes
    ``str.isdigit`` but is no number ``int`` reads.
    """
    code = body.get("error_code")
    if isinstance(code, str) and code.isascii() and code.isdigit():
        code = int(code)
    number = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("error_message")
    return number, message if isinstance(message, str) and message else None


def _answered_by(body: Mapping[str, Any]) -> Optional[str]:
    value = body.get("answered_by")
    return value if isinstance(value, str) and value else None
