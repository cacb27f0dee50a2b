"""Wait For Delivery: follow each queued message or call to its final status.

A 201 only means Twilio accepted the request; an escalation workflow needs to
know whether the phone rang and somebody answered. After queuing, the tracker
looks again (concurrently, inside the same adaptive window the sending uses,
backing off on 429) until every status is final or the delivery timeout ends.
Nothing here creates anything, so a look may be repeated freely.

Two ways to look, chosen by cost (schedule.py). A few open recipients (at
most GET_EACH_UP_TO, or what a list round would cost) are fetched one GET
each. Many are followed by rounds of Twilio's list (listround.py,
listing.py): one list of the run's resources, PAGE_SIZE a page, matched to
the tracked SIDs, plus one GET each for a few of those the list did not show
(still queued, or failed before being sent), least recently seen first, so
that a round of N tracked costs at most N/500 + 2 requests. A failing page
or fetch is tried again later; nobody is ever dropped: at the timeout
whoever is still open is reported with the last status seen and the reason.

Every wait sleeps until its real deadline (the next due look, the delivery
timeout) or until it is woken: by a state change, a run-wide error, or the
task's cancel, which wakes every waiter. What was seen is kept by
followed.py; the results are replaced when tracking ends (``results``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Optional

from ..exceptions import RUN_WIDE_ERRORS, TwilioTaskError
from ..models import DeliveryReport, RecipientResult, Reply, ReplyKind
from .cancel import Cancel
from .followed import DELIVERED, UNDELIVERED, AnswerProblem, Followed, Item, classify
from .listing import Listing
from .listround import ListRounds
from .ratelimit import AdaptiveLimiter
from .schedule import GET_EACH_UP_TO, POLL_FIRST, POLL_MAX, ROUND, Polling, Schedule
from .workers import Crew

if TYPE_CHECKING:
    from .api import Log

__all__ = [
    "DELIVERED",
    "GET_EACH_UP_TO",
    "UNDELIVERED",
    "TrackSettings",
    "Tracker",
    "classify",
]

# How often live progress is offered at least (LiveReporter throttles).
PROGRESS_EVERY = 1.0


@dataclass(frozen=True)
class TrackSettings:
    """How one tracker follows: calls or messages, for how long, how wide."""

    is_call: bool
    timeout: float
    max_concurrent: int
    poll_first: float = POLL_FIRST
    poll_max: float = POLL_MAX
    answer_problem: Optional[AnswerProblem] = None
    on_progress: Optional[Callable[[], None]] = None
    clock: Callable[[], float] = time.monotonic


class Tracker:
    """Looks until every item is final, the timeout ends, or a halt comes.

    ``listing`` (listing.py) lets many items be followed by list rounds;
    without it every item is fetched by SID (a call chain follows one call).
    After :meth:`run`, ``results`` is the list it was given with every
    followed result replaced.
    """

    def __init__(
        self,
        fetch: Callable[[str], Reply],
        results: List[RecipientResult],
        settings: TrackSettings,
        log: Log,
        cancel: Cancel,
        listing: Optional[Listing] = None,
    ) -> None:
        self._fetch = fetch
        self._settings = settings
        self._cancel = cancel
        self.log = log
        self.clock = settings.clock
        self.polling = Polling(
            settings.poll_first,
            max(settings.poll_first, min(settings.poll_max, settings.timeout / 10.0)),
        )
        self.halt = Cancel()  # the cancel, a run-wide error, or the end
        self.followed = Followed(
            results, settings.is_call, settings.answer_problem, self.clock
        )
        self.schedule = Schedule(self.followed, self.clock)
        self.lists = ListRounds(listing, self)
        self.deadline = 0.0
        self.results = results
        self._limiter = AdaptiveLimiter(settings.max_concurrent)
        self._crew = Crew("ue-twilio-tracker")

    # -- counts for live progress -------------------------------------------
    @property
    def report(self) -> DeliveryReport:
        return self.followed.report

    @property
    def rounds(self) -> int:
        return self.lists.rounds

    @property
    def delivered(self) -> int:
        return self.report.delivered

    @property
    def undelivered(self) -> int:
        return self.report.undelivered

    # -- main loop ------------------------------------------------------------
    def run(self) -> DeliveryReport:
        """Block until done; returns the report with every item settled."""
        start = self.clock()
        self.deadline = start + self._settings.timeout
        unsubscribe = self._cancel.on_set(self._wake_all)
        try:
            followed = self.followed
            followed.index_sids()
            if followed.by_sid:
                tracked = len(followed.by_sid)
                workers = min(self._settings.max_concurrent, len(followed.items))
                with followed.lock:
                    self.schedule.size_rounds(tracked, self.lists.page_size)
                    self._plan(start + self.polling.first)
                self._crew.start(max(1, workers), self._work)
                self._supervise()
            return self._freeze()
        finally:
            unsubscribe()

    def _wake_all(self) -> None:
        """The cancel, a run-wide error, the end: every waiter wakes at once."""
        self.halt.set()
        self._limiter.wake()
        with self.followed.lock:
            self.followed.work_ready.notify_all()
            self.followed.state.notify_all()

    def _supervise(self) -> None:
        """Wait for the end, offering progress on every change and at least
        every PROGRESS_EVERY seconds (LiveReporter throttles)."""
        on_progress = self._settings.on_progress
        followed = self.followed
        while True:
            with followed.lock:
                if self._finished():
                    return
                left = self.deadline - self.clock()
                if on_progress is not None:
                    left = min(left, PROGRESS_EVERY)
                followed.state.wait(left)
                if self._finished():
                    return
            if on_progress is not None:
                on_progress()

    def _finished(self) -> bool:
        return self.followed.open == 0 or self.stopped()

    def stopped(self) -> bool:
        return (
            self._cancel.is_set() or self.halt.is_set() or self.clock() >= self.deadline
        )

    def _plan(self, due: float) -> None:
        self.schedule.plan(due, self.lists.listing is not None)

    # -- workers ----------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self.followed.lock:
                job = self.schedule.next_due(self._finished, self.deadline)
            if job is None:
                with self.followed.lock:  # the supervisor re-checks why work ended
                    self.followed.state.notify_all()
                return
            try:
                if job == ROUND:
                    self.lists.run_one()
                else:
                    self._poll(job)
            except Exception as exc:  # noqa: BLE001 - never lose a recipient
                self._retry_later(job, exc)

    def _retry_later(self, job: int, exc: Exception) -> None:
        """An unexpected error while following: look again later; at the
        timeout the item is reported with its last status and the reason."""
        problem = "following it failed ({})".format(type(exc).__name__)
        if job == ROUND:
            self.log.warning("Delivery tracking: %s; retrying.", problem)
            self.lists.retry_later()
            return
        item = self.followed.items[job]
        item.polls += 1
        item.problem = problem
        self.log.warning(
            "Delivery tracking: %s: %s; retrying.", item.result.to, item.problem
        )
        self._later(job, self.polling.interval(item.polls))

    def _later(self, job: int, delay: float) -> None:
        with self.followed.lock:
            self.schedule.later(job, delay)

    def request(self, send: Callable[[], Optional[Reply]]) -> Optional[Reply]:
        """One request inside the adaptive window; None when halted."""
        ticket = self._limiter.acquire(self.stopped)
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

    def _poll(self, job: int) -> None:
        item = self.followed.items[job]
        if item.verdict is not None:
            return
        sid = item.result.sid or ""
        reply = self.request(lambda: self._fetch(sid))
        if reply is not None:
            self._handle(job, item, reply)

    def _handle(self, job: int, item: Item, reply: Reply) -> None:
        if reply.kind == ReplyKind.OK:
            with self.followed.lock:
                final = self.followed.observe(item, reply.body or {})
            if not final:
                item.polls += 1
                self._later(job, self.polling.interval(item.polls))
        elif reply.kind == ReplyKind.RATE_LIMITED:
            item.retry = item.retry.increment(reply.retry_after)
            delay = item.retry.backoff()
            self.log.debug(
                "429 while tracking %s, retry in %.2f s", item.result.to, delay
            )
            self._later(job, delay)
        elif reply.kind == ReplyKind.UNKNOWN:
            item.polls += 1
            self._later(job, self.polling.interval(item.polls))
        else:
            problem = "the status could not be fetched: {}".format(
                reply.describe_error()
            )
            self.followed.settle(
                item, UNDELIVERED, "unknown", reply.error_code, problem
            )

    def _stop(self, exc: TwilioTaskError) -> None:
        with self.followed.lock:
            if self.report.error is None:
                self.report.error = exc
        self._wake_all()

    # -- the end ------------------------------------------------------------------
    def _freeze(self) -> DeliveryReport:
        """Settle what is still open; replace the followed results."""
        reason = self._open_reason()
        self.results = self.followed.freeze(reason)
        self._wake_all()
        self.report.cancelled = self.followed.left_open and self._cancel.is_set()
        return self.report

    def _open_reason(self) -> str:
        if self.report.error is not None:
            return "the status could not be fetched ({})".format(
                self.report.error.status_description
            )
        if self._cancel.is_set():
            return "delivery tracking was cancelled"
        return "no final status within the delivery timeout of {:g} s".format(
            self._settings.timeout
        )
