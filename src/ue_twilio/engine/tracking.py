"""Wait For Delivery: follow each queued message or call to its final status.

A 201 only means Twilio accepted the request; an escalation workflow needs to
know whether the phone rang and somebody answered. After queuing, the tracker
looks again (concurrently, inside the same adaptive window the sending uses,
backing off on 429) until every status is final or the delivery timeout ends.
Nothing here creates anything, so a look may be repeated freely.

Two ways to look, chosen by cost. A few open recipients (at most
GET_EACH_UP_TO, or what a list round would cost) are fetched one GET each.
Many are followed by rounds of Twilio's list (listing.py): one list of the
run's resources, PAGE_SIZE a page, matched to the tracked SIDs, plus one GET
each for a few of those the list did not show (still queued, or failed
before being sent), least recently seen first, so that a round of N tracked
costs at most N/500 + 2 requests. A failing page or fetch is tried again
later; nobody is ever dropped: at the timeout whoever is still open is
reported with the last status seen and the reason.

Every wait sleeps until its real deadline (the next due look, the delivery
timeout) or until it is woken: by a state change, a run-wide error, or a
cancel (the task calls :meth:`Tracker.cancel`, which wakes every waiter).
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Callable, Dict, List, Optional

from ..exceptions import RUN_WIDE_ERRORS, TwilioTaskError
from ..models import (
    CALL_ANSWERED,
    CALL_DELIVERED,
    CALL_UNDELIVERED,
    MESSAGE_DELIVERED,
    MESSAGE_UNDELIVERED,
    DeliveryReport,
    RecipientResult,
    Reply,
    ReplyKind,
    Status,
)
from ..output.hints import with_hint
from ..output.logsafe import LIST_LIMIT
from ..prices import Charge
from .listing import Listing
from .ratelimit import AdaptiveLimiter, backoff_delay
from .workers import Crew

POLL_FIRST = 1.0
POLL_MAX = 10.0
POLL_GROWTH = 1.5
# Up to this many open recipients are fetched one by one: a list round
# would hardly be cheaper, and a GET also finds what was never sent.
GET_EACH_UP_TO = 10
# A list round may cost tracked // LIST_SHARE + LIST_SPARE requests.
LIST_SHARE = 500
LIST_SPARE = 2
# How often live progress is offered at least (LiveReporter throttles).
PROGRESS_EVERY = 1.0
ROUND = -1  # the heap entry of the next list round

DELIVERED = "delivered"
UNDELIVERED = "undelivered"


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
    __slots__ = (
        "result",
        "last_status",
        "polls",
        "rate_limits",
        "verdict",
        "problem",
        "scheduled",
        "seen_at",
    )

    def __init__(self, result: RecipientResult) -> None:
        self.result = result
        self.problem: Optional[str] = None
        self.last_status = result.status
        self.polls = 0
        self.rate_limits = 0
        self.verdict: Optional[str] = None
        self.scheduled = False  # on the heap
        self.seen_at = 0.0  # when Twilio last showed it (list or GET)


class Tracker:
    """Looks until every item is final, the timeout ends, or a halt comes.

    ``listing`` (listing.py) lets many items be followed by list rounds;
    without it every item is fetched by SID (a call chain follows one call).
    ``rounds`` counts the list rounds started.
    """

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
        listing: Optional[Listing] = None,
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
        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)  # a job may be due
        self._state = threading.Condition(self._lock)  # a status settled
        self._halt = threading.Event()
        self._crew = Crew("ue-twilio-tracker")
        self._items = [_Item(r) for r in results if r.status == Status.QUEUED]
        self._workers = max(1, min(max_concurrent, len(self._items)))
        self._heap: list = []
        self._open = len(self._items)
        self._by_sid: Dict[str, int] = {}
        self._listing = listing
        self._listing_on = False
        self._budget = LIST_SPARE
        self._pages = 1  # pages of the last list round
        self._frozen = False
        self._deadline = 0.0
        self.rounds = 0
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
                self._by_sid[item.result.sid] = position
        if self._by_sid:
            self._budget = len(self._by_sid) // LIST_SHARE + LIST_SPARE
            self._pages = -(-len(self._by_sid) // _page_size(self._listing))
            with self._lock:
                self._plan(start + self._poll_first)
            self._crew.start(self._workers, self._work)
            self._supervise()
        return self._freeze()

    def cancel(self) -> None:
        """Called by the task on cancel (after it set the cancel event): every
        waiting worker and the supervisor wake at once."""
        self._wake_all()

    def _wake_all(self) -> None:
        self._halt.set()
        self._limiter.wake()
        with self._lock:
            self._work_ready.notify_all()
            self._state.notify_all()

    def _supervise(self) -> None:
        """Wait for the end, offering progress on every change and at least
        every PROGRESS_EVERY seconds (LiveReporter throttles)."""
        while True:
            with self._lock:
                if self._finished():
                    return
                left = self._deadline - self._clock()
                if self._on_progress is not None:
                    left = min(left, PROGRESS_EVERY)
                self._state.wait(left)
                if self._finished():
                    return
            if self._on_progress is not None:
                self._on_progress()

    def _finished(self) -> bool:
        return self._open == 0 or self._stopped()

    def _stopped(self) -> bool:
        return (
            self._cancelled.is_set()
            or self._halt.is_set()
            or self._clock() >= self._deadline
        )

    # -- scheduling (under the lock) ------------------------------------------
    def _plan(self, due: float) -> None:
        """List in rounds while that is cheaper, else fetch each open item."""
        if self._listing is not None and self._open > self._list_cost():
            self._listing_on = True
            self._push(due, ROUND)
            return
        self._listing_on = False
        for position in self._by_sid.values():
            self._push(due, position)

    def _list_cost(self) -> int:
        """Requests a list round costs: its pages and the GETs beside them."""
        return max(GET_EACH_UP_TO, self._budget, self._pages + 1)

    def _push(self, due: float, position: int) -> None:
        if position != ROUND:
            item = self._items[position]
            if item.scheduled:  # once on the heap is enough
                return
            item.scheduled = True
        heapq.heappush(self._heap, (due, position))
        self._work_ready.notify()

    def _later(self, position: int, delay: float) -> None:
        """Look at one item again; while listing, the next round does."""
        with self._lock:
            if not self._listing_on and not self._frozen:
                self._push(self._clock() + delay, position)

    def _next_due(self) -> Optional[int]:
        with self._lock:
            while True:
                if self._finished():
                    return None
                now = self._clock()
                if self._heap and self._heap[0][0] <= now:
                    position = heapq.heappop(self._heap)[1]
                    if position != ROUND:
                        self._items[position].scheduled = False
                    return position
                until = self._heap[0][0] if self._heap else self._deadline
                self._work_ready.wait(min(until, self._deadline) - now)

    # -- workers ----------------------------------------------------------------
    def _work(self) -> None:
        while True:
            position = self._next_due()
            if position is None:
                with self._lock:  # the supervisor re-checks why work ended
                    self._state.notify_all()
                return
            try:
                if position == ROUND:
                    self._list_round()
                else:
                    self._poll(position)
            except Exception as exc:  # noqa: BLE001 - never lose a recipient
                self._retry_later(position, exc)

    def _retry_later(self, position: int, exc: Exception) -> None:
        """An unexpected error while following: look again later; at the
        timeout the item is reported with its last status and the reason."""
        problem = "following it failed ({})".format(type(exc).__name__)
        if position == ROUND:
            self._log.warning("Delivery tracking: %s; retrying.", problem)
            with self._lock:
                self._push(self._clock() + self._interval(self.rounds), ROUND)
            return
        item = self._items[position]
        item.polls += 1
        item.problem = problem
        self._log.warning(
            "Delivery tracking: %s: %s; retrying.", item.result.to, item.problem
        )
        self._later(position, self._interval(item.polls))

    def _request(self, send: Callable[[], Optional[Reply]]) -> Optional[Reply]:
        """One request inside the adaptive window; None when halted."""
        ticket = self._limiter.acquire(self._stopped)
        if ticket is None:
            return None
        try:
            reply = send()
        except Exception as exc:  # the slot is returned whatever happened
            self._limiter.release()
            if not isinstance(exc, RUN_WIDE_ERRORS):
                raise
            self._stop(exc)
            return None
        if reply is not None and reply.kind == ReplyKind.RATE_LIMITED:
            self._limiter.rate_limited(ticket, reply.retry_after)
        else:
            self._limiter.succeeded()
        self._limiter.release()
        return reply

    def _poll(self, position: int) -> None:
        item = self._items[position]
        if item.verdict is not None:
            return
        reply = self._request(lambda: self._fetch(item.result.sid))
        if reply is not None:
            self._handle(position, item, reply)

    def _handle(self, position: int, item: _Item, reply: Reply) -> None:
        if reply.kind == ReplyKind.OK:
            with self._lock:
                final = self._observe(item, reply.body or {})
            if not final:
                item.polls += 1
                self._later(position, self._interval(item.polls))
        elif reply.kind == ReplyKind.RATE_LIMITED:
            item.rate_limits += 1
            delay = backoff_delay(item.rate_limits, reply.retry_after)
            self._log.debug(
                "429 while tracking %s, retry in %.2f s", item.result.to, delay
            )
            self._later(position, delay)
        elif reply.kind == ReplyKind.UNKNOWN:
            item.polls += 1
            self._later(position, self._interval(item.polls))
        else:
            problem = "the status could not be fetched: {}".format(
                reply.describe_error()
            )
            self._settle(item, UNDELIVERED, "unknown", reply.error_code, problem)

    def _observe(self, item: _Item, body) -> bool:
        """What Twilio showed of one item (under the lock); True when final."""
        if self._frozen or item.verdict is not None:
            return True
        item.seen_at = self._clock()
        if body:
            item.result.charge = Charge.of(body)
        status = body.get("status")
        status = status if isinstance(status, str) else item.last_status
        if self._is_call:
            item.result.answered_by = _answered_by(body) or item.result.answered_by
        verdict = classify(status, self._is_call)
        if verdict is None:
            item.last_status = status
            return False
        code, message = _resource_error(body)
        if verdict == DELIVERED:
            verdict, message = self._judge_answer(item, message)
        self._settle_locked(item, verdict, status, code, message)
        return True

    def _judge_answer(self, item: _Item, message: Optional[str]):
        """An answered call is delivered unless answer_problem says otherwise."""
        problem = self._answer_problem(item.result) if self._answer_problem else None
        if problem is None:
            return DELIVERED, message
        return UNDELIVERED, problem

    def _interval(self, polls: int) -> float:
        return min(self._poll_max, self._poll_first * (POLL_GROWTH**polls))

    def _stop(self, exc: TwilioTaskError) -> None:
        with self._lock:
            if self.report.error is None:
                self.report.error = exc
        self._wake_all()

    # -- list rounds --------------------------------------------------------------
    def _list_round(self) -> None:
        """One list of the run's resources, then GETs for a few it missed."""
        self.rounds += 1
        seen = set()
        pages = 0
        listing = self._listing
        page = self._page(listing.first)
        while page is not None and page.kind == ReplyKind.OK:
            rows = listing.rows(page)
            if rows is None:
                break
            pages += 1
            self._apply(rows, seen)
            if not _more(page):
                page = None
                break
            page = self._page(lambda last=page: listing.next(last))
        if page is not None and not self._stopped():
            self._log.warning(
                "Delivery tracking: a page of Twilio's list failed (%s); "
                "looking again later.",
                page.describe_error()
                if page.kind != ReplyKind.OK
                else "no list in the answer",
            )
        with self._lock:
            self._after_round(seen, pages, page)

    def _page(self, request: Callable[[], Optional[Reply]]) -> Optional[Reply]:
        """A page, waiting out 429s (woken by a halt); None when halted."""
        attempt = 0
        while True:
            reply = self._request(request)
            if reply is None or reply.kind != ReplyKind.RATE_LIMITED:
                return reply
            attempt += 1
            delay = backoff_delay(attempt, reply.retry_after)
            self._halt.wait(min(delay, max(self._deadline - self._clock(), 0.0)))
            if self._stopped():
                return None

    def _apply(self, rows, seen: set) -> None:
        with self._lock:
            for row in rows:
                sid = row.get("sid")
                position = self._by_sid.get(sid) if isinstance(sid, str) else None
                if position is not None:
                    seen.add(position)
                    self._observe(self._items[position], row)

    def _after_round(self, seen: set, pages: int, failed: Optional[Reply]) -> None:
        """Under the lock: GETs for the least recently seen items the list
        missed, then the next round, or one GET each when that is cheaper."""
        if self._frozen or not self._by_sid:
            return
        now = self._clock()
        if failed is not None and failed.kind == ReplyKind.REFUSED:
            self._log.warning(
                "Delivery tracking: Twilio refused its list (%s); fetching each "
                "message instead.",
                failed.describe_error(),
            )
            self._listing = None
        elif failed is None:
            self._pages = max(pages, 1)
        missed = [
            p
            for p in self._by_sid.values()
            if p not in seen and not self._items[p].scheduled
        ]
        missed.sort(key=lambda p: self._items[p].seen_at)
        for position in missed[: max(1, self._budget - pages)]:
            self._push(now, position)
        self._plan(now + self._interval(self.rounds))

    # -- results ------------------------------------------------------------------
    def _settle(self, item, verdict, status, error_code, error_message) -> None:
        with self._lock:
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
        self._open -= 1
        self._by_sid.pop(item.result.sid, None)
        self._state.notify()
        if self._open == 0:
            self._work_ready.notify_all()

    def _freeze(self) -> DeliveryReport:
        """Settle what is still open: an answered call counts as delivered."""
        reason = self._open_reason()
        had_open = False
        with self._lock:
            self._frozen = True
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
        self._wake_all()
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


def _page_size(listing: Optional[Listing]) -> int:
    return listing.page_size if listing is not None else 1


def _more(page: Reply) -> bool:
    uri = page.body.get("next_page_uri") if page.body else None
    return isinstance(uri, str) and bool(uri)


_NO_SID = "Twilio returned no SID, so the delivery cannot be followed"


def _resource_error(body):
    """Twilio's error_code / error_message of a failed resource, if any."""
    code = body.get("error_code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("error_message")
    return code, message if isinstance(message, str) and message else None


def _answered_by(body) -> Optional[str]:
    value = body.get("answered_by")
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
    return with_hint(text, result.error_code)


def delivery_counts(report: Optional[DeliveryReport]) -> Dict[str, int]:
    if report is None:
        return {}
    return {
        "msg_delivered_count": report.delivered,
        "msg_undelivered_count": report.undelivered,
    }
