"""Wait For Delivery: follow each queued message or call to its final status.

A 201 only means Twilio accepted the request; an escalation workflow needs to
know whether the phone rang and somebody answered. After queuing, every
queued resource is fetched again (concurrently, inside the same adaptive
window the sending uses, backing off on 429) until its status is final or
the delivery timeout ends. Nothing here creates anything, so a fetch may be
repeated freely; a halt (cancel, timeout, run-wide error) is seen within TICK.
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Callable, Dict, List, Optional

from .client import OK, RATE_LIMITED, UNKNOWN, Reply
from .exceptions import RUN_WIDE_ERRORS, TwilioTaskError
from .ratelimit import AdaptiveLimiter, backoff_delay
from .results import QUEUED, RecipientResult
from .workers import Crew

MESSAGE_DELIVERED = frozenset(("delivered", "read"))
MESSAGE_UNDELIVERED = frozenset(("undelivered", "failed", "canceled"))
CALL_DELIVERED = frozenset(("completed",))
CALL_UNDELIVERED = frozenset(("busy", "no-answer", "failed", "canceled"))
CALL_ANSWERED = "in-progress"
# What a delivered recipient's ``delivery`` may read (a call answered but
# still in progress at the timeout counts as delivered).
DELIVERED_STATUSES = MESSAGE_DELIVERED | CALL_DELIVERED | {CALL_ANSWERED}

TICK = 0.05
POLL_FIRST = 1.0
POLL_MAX = 10.0
POLL_GROWTH = 1.5
LIST_LIMIT = 1000

DELIVERED = "delivered"
UNDELIVERED = "undelivered"


class DeliveryReport:
    """What tracking found; ``pending`` counts those still open at the end."""

    __slots__ = (
        "delivered",
        "undelivered",
        "pending",
        "cancelled",
        "error",
        "not_delivered",
    )

    def __init__(self) -> None:
        self.not_delivered: List[RecipientResult] = []
        self.delivered = 0
        self.undelivered = 0
        self.pending = 0
        self.cancelled = False
        self.error: Optional[TwilioTaskError] = None


def classify(status: Optional[str], is_call: bool) -> Optional[str]:
    """DELIVERED, UNDELIVERED, or None while the status is not final."""
    delivered = CALL_DELIVERED if is_call else MESSAGE_DELIVERED
    undelivered = CALL_UNDELIVERED if is_call else MESSAGE_UNDELIVERED
    if status in delivered:
        return DELIVERED
    if status in undelivered:
        return UNDELIVERED
    return None


class _Item:
    __slots__ = ("result", "last_status", "polls", "rate_limits", "verdict", "problem")

    def __init__(self, result: RecipientResult) -> None:
        self.result = result
        self.problem: Optional[str] = None
        self.last_status = result.status
        self.polls = 0
        self.rate_limits = 0
        self.verdict: Optional[str] = None


class Tracker:
    """Polls until every item is final, the timeout ends, or a halt comes."""

    def __init__(
        self,
        fetch: Callable[[str], Reply],
        results: List[RecipientResult],
        is_call: bool,
        timeout: float,
        max_concurrent: int,
        log,
        cancelled: threading.Event,
        on_progress: Optional[Callable[[], None]] = None,
        poll_first: float = POLL_FIRST,
        poll_max: float = POLL_MAX,
        clock: Callable[[], float] = time.monotonic,
        answer_problem: Optional[Callable[[RecipientResult], Optional[str]]] = None,
    ) -> None:
        self._fetch = fetch
        # Why an answered call still counts as not delivered (voice.py), or None.
        self._answer_problem = answer_problem
        self._is_call = is_call
        self._timeout = timeout
        self._log = log
        self._cancelled = cancelled
        self._on_progress = on_progress
        self._poll_first = poll_first
        self._poll_max = max(poll_first, min(poll_max, timeout / 10.0))
        self._clock = clock
        self._limiter = AdaptiveLimiter(max_concurrent)
        self._cond = threading.Condition()
        self._halt = threading.Event()
        self._crew = Crew("ue-twilio-tracker")
        self._items = [_Item(r) for r in results if r.status == QUEUED]
        self._workers = max(1, min(max_concurrent, len(self._items)))
        self._heap: list = []
        self._busy = 0
        self._frozen = False
        self._deadline = 0.0
        self.report = DeliveryReport()

    # -- counts for live progress -------------------------------------------
    @property
    def delivered(self) -> int:
        return self.report.delivered

    @property
    def undelivered(self) -> int:
        return self.report.undelivered

    # -- main loop ------------------------------------------------------------
    def run(self) -> DeliveryReport:
        """Block until done; returns the report with every item settled."""
        start = self._clock()
        self._deadline = start + self._timeout
        for position, item in enumerate(self._items):
            if item.result.sid is None:
                self._settle(item, UNDELIVERED, "unknown", None, _NO_SID)
            else:
                self._heap.append((start + self._poll_first, position))
        heapq.heapify(self._heap)
        if self._heap:
            self._launch()
            self._supervise()
        return self._freeze()

    def _launch(self) -> None:
        self._crew.start(self._workers, self._work)

    def _supervise(self) -> None:
        """Wait for the workers; ``on_progress`` every tick (LiveReporter throttles)."""
        while not self._crew.idle.wait(TICK):
            now = self._clock()
            if self._cancelled.is_set() or self._halt.is_set():
                return
            if now >= self._deadline:
                return
            if self._on_progress is not None:
                self._on_progress()

    def _stopped(self) -> bool:
        return (
            self._cancelled.is_set()
            or self._halt.is_set()
            or self._clock() >= self._deadline
        )

    # -- workers ----------------------------------------------------------------
    def _work(self) -> None:
        while True:
            position = self._next_due()
            if position is None:
                return
            try:
                self._poll(position)
            except Exception as exc:  # noqa: BLE001 - never lose a recipient
                self._retry_later(position, exc)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _retry_later(self, position: int, exc: Exception) -> None:
        """An unexpected error while following one item: look again later;
        at the timeout it is reported with its last status and the reason."""
        item = self._items[position]
        item.polls += 1
        item.problem = "following it failed ({})".format(type(exc).__name__)
        self._log.warning(
            "Delivery tracking: %s: %s; retrying.", item.result.to, item.problem
        )
        self._reschedule(position, self._interval(item.polls))

    def _next_due(self) -> Optional[int]:
        with self._cond:
            while True:
                if self._stopped():
                    return None
                now = self._clock()
                if self._heap and self._heap[0][0] <= now:
                    self._busy += 1
                    return heapq.heappop(self._heap)[1]
                if not self._heap and self._busy == 0:
                    return None
                wait = self._heap[0][0] - now if self._heap else TICK
                self._cond.wait(min(max(wait, 0.001), TICK))

    def _poll(self, position: int) -> None:
        item = self._items[position]
        ticket = self._limiter.acquire(self._stopped)
        if ticket is None:
            return
        try:
            reply = self._fetch(item.result.sid)
        except Exception as exc:  # the slot is returned whatever happened
            self._limiter.release()
            if not isinstance(exc, RUN_WIDE_ERRORS):
                raise
            self._stop(exc)
            return
        if reply.kind == RATE_LIMITED:
            self._limiter.rate_limited(ticket, reply.retry_after)
        else:
            self._limiter.succeeded()
        self._limiter.release()
        self._handle(position, item, reply)

    def _handle(self, position: int, item: _Item, reply: Reply) -> None:
        if reply.kind == OK:
            status = reply.status or item.last_status
            if self._is_call:
                item.result.answered_by = _answered_by(reply) or item.result.answered_by
            verdict = classify(status, self._is_call)
            if verdict is not None:
                code, message = _resource_error(reply)
                if verdict == DELIVERED:
                    verdict, message = self._judge_answer(item, message)
                self._settle(item, verdict, status, code, message)
                return
            item.last_status = status
            item.polls += 1
            self._reschedule(position, self._interval(item.polls))
        elif reply.kind == RATE_LIMITED:
            item.rate_limits += 1
            delay = backoff_delay(item.rate_limits, reply.retry_after)
            self._log.debug(
                "429 while tracking %s, retry in %.2f s", item.result.to, delay
            )
            self._reschedule(position, delay)
        elif reply.kind == UNKNOWN:
            item.polls += 1
            self._reschedule(position, self._interval(item.polls))
        else:
            problem = "the status could not be fetched: {}".format(
                reply.error_message or "HTTP {}".format(reply.http_status)
            )
            self._settle(item, UNDELIVERED, "unknown", reply.error_code, problem)

    def _judge_answer(self, item: _Item, message: Optional[str]):
        """An answered call is delivered unless answer_problem says otherwise."""
        problem = self._answer_problem(item.result) if self._answer_problem else None
        if problem is None:
            return DELIVERED, message
        return UNDELIVERED, problem

    def _interval(self, polls: int) -> float:
        return min(self._poll_max, self._poll_first * (POLL_GROWTH**polls))

    def _reschedule(self, position: int, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (self._clock() + delay, position))
            self._cond.notify()

    def _stop(self, exc: TwilioTaskError) -> None:
        with self._cond:
            if self.report.error is None:
                self.report.error = exc
            self._halt.set()
            self._cond.notify_all()
        self._limiter.wake()

    # -- results ------------------------------------------------------------------
    def _settle(self, item, verdict, status, error_code, error_message) -> None:
        with self._cond:
            if not self._frozen:
                self._settle_locked(item, verdict, status, error_code, error_message)

    def _settle_locked(self, item, verdict, status, error_code, error_message):
        if item.verdict is not None:
            return
        item.verdict = verdict
        item.result.delivery = status
        if error_code is not None:
            item.result.error_code = error_code
        if error_message is not None:
            item.result.error_message = error_message
        if verdict == DELIVERED:
            self.report.delivered += 1
        else:
            self.report.undelivered += 1

    def _freeze(self) -> DeliveryReport:
        """Settle what is still open: an answered call counts as delivered."""
        reason = self._open_reason()
        had_open = False
        with self._cond:
            self._frozen = True
            self._halt.set()
            self._cond.notify_all()
            for item in self._items:
                if item.verdict is not None:
                    continue
                had_open = True
                if self._is_call and item.last_status == CALL_ANSWERED:
                    verdict, problem = self._judge_answer(item, None)
                    self._settle_locked(item, verdict, item.last_status, None, problem)
                    continue
                problem = "{}; last status: {}".format(reason, item.last_status)
                if item.problem is not None:
                    problem += "; " + item.problem
                self._settle_locked(item, UNDELIVERED, item.last_status, None, problem)
                self.report.pending += 1
            self.report.not_delivered = [
                i.result for i in self._items if i.verdict == UNDELIVERED
            ]
        self._limiter.wake()
        self.report.cancelled = had_open and self._cancelled.is_set()
        return self.report

    def _open_reason(self) -> str:
        if self.report.error is not None:
            return "the status could not be fetched ({})".format(
                self.report.error.status_description
            )
        if self._cancelled.is_set():
            return "delivery tracking was cancelled"
        return "no final status within the delivery timeout of {:g} s".format(
            self._timeout
        )


_NO_SID = "Twilio returned no SID, so the delivery cannot be followed"


def _resource_error(reply: Reply):
    """Twilio's error_code / error_message of a failed resource, if any."""
    body = reply.body or {}
    code = body.get("error_code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("error_message")
    return code, message if isinstance(message, str) and message else None


def _answered_by(reply: Reply) -> Optional[str]:
    value = reply.body.get("answered_by") if reply.body else None
    return value if isinstance(value, str) and value else None


def log_report(report: DeliveryReport, timeout: float, log) -> None:
    """STDERR: one line per recipient not delivered, then a summary."""
    for result in report.not_delivered[:LIST_LIMIT]:
        log.error("Not delivered: %s: %s", result.to, _describe(result))
    if len(report.not_delivered) > LIST_LIMIT:
        more = len(report.not_delivered) - LIST_LIMIT
        log.error("Not delivered: ... and %d more", more)
    if report.pending and report.error is None and not report.cancelled:
        log.warning(
            "%d recipient(s) had no final status when the delivery timeout of "
            "%g s ended; they count as not delivered.",
            report.pending,
            timeout,
        )
    if report.error is not None:
        log.error("Delivery tracking stopped: %s", report.error.status_description)
    log.info(
        "Delivery: %d delivered, %d not delivered (%d without a final status).",
        report.delivered,
        report.undelivered,
        report.pending,
    )


def _describe(result: RecipientResult) -> str:
    text = result.delivery or "unknown"
    if result.error_code is not None or result.error_message:
        text += " ({})".format(result.describe_failure())
    return text


def delivery_counts(report: Optional[DeliveryReport]) -> Dict[str, int]:
    if report is None:
        return {}
    return {
        "msg_delivered_count": report.delivered,
        "msg_undelivered_count": report.undelivered,
    }
