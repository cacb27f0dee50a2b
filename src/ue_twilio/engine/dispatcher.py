"""Send to many recipients at once, in order, without ever sending twice.

One worker probes alone first, so a wrong token or a dead network costs one
request; then up to ``max_concurrent`` workers share an adaptive window.
Only a 429 is retried (Twilio did not process it); a lost answer ends
UNKNOWN and is never resent here (the task reconciles it at Twilio). A halt
(cancel or run-wide error) wakes every waiting worker at once.

Invariant: every recipient ends in exactly one state, decided under one lock;
a recipient whose request is in flight when the run is frozen is UNKNOWN.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable, List, NamedTuple, Optional, Sequence, Set

from ..exceptions import RUN_WIDE_ERRORS, TwilioConnectionError, TwilioTaskError
from ..inputs.settings import Settings
from ..models import RecipientResult, Reply, ReplyKind, Status
from ..output.hints import with_hint
from .cancel import Cancel
from .ratelimit import AdaptiveLimiter
from .retry import SEND, Retry
from .workers import Crew

if TYPE_CHECKING:
    from .api import Log

MAX_RATE_LIMIT_RETRIES = SEND.total
# How often the live progress callback is offered the counts.
PROGRESS_EVERY = 1.0


class Progress:
    """Counts so far, handed to the progress callback."""

    __slots__ = ("total", "queued", "failed")

    def __init__(self, total: int) -> None:
        self.total = total
        self.queued = 0
        self.failed = 0

    @property
    def remaining(self) -> int:
        return self.total - self.queued - self.failed


class Hooks(NamedTuple):
    """What the dispatcher tells its phase while it runs: the counts now and
    then, and each result as soon as it exists (by position)."""

    on_progress: Optional[Callable[[Progress], None]] = None
    on_result: Optional[Callable[[int, RecipientResult], None]] = None


class Dispatcher:
    def __init__(
        self,
        send: Callable[[str], Reply],
        recipients: Sequence[str],
        max_concurrent: int,
        log: Log,
        settings: Settings,
        hooks: Optional[Hooks] = None,
    ) -> None:
        on_progress, on_result = hooks or Hooks()
        self._send = send
        self._recipients = recipients
        self._results: List[Optional[RecipientResult]] = [None] * len(recipients)
        self._max_concurrent = max_concurrent
        self._log = log
        self._settings = settings
        self._on_progress = on_progress
        self._on_result = on_result
        self._limiter = AdaptiveLimiter(max_concurrent)
        self._halt = Cancel()  # the task's cancel, or a run-wide error
        self._lock = threading.Lock()
        self._next = 0
        self._logged = 0
        self._lines: List[tuple] = []
        self._writing = False
        self._frozen = False
        self._in_flight: Set[int] = set()
        self._crew = Crew("ue-twilio-sender")
        self.progress = Progress(len(recipients))
        self.cancelled = False
        self._cancelled_at: Optional[float] = None
        self.error: Optional[TwilioTaskError] = None

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled_at is None:
                self._cancelled_at = time.monotonic()
        self.cancelled = True
        self._halt.set()
        self._limiter.wake()

    def run(self) -> List[RecipientResult]:
        started = time.monotonic()
        self._launch(1, probe=True)  # a run-wide failure costs one request
        self._supervise(started)
        workers = min(self._max_concurrent, len(self._recipients) - 1)
        if workers > 0 and not self._halt.is_set():
            self._launch(workers)
            self._supervise(started)
        return self._freeze()

    # -- workers -----------------------------------------------------------
    def _launch(self, count: int, probe: bool = False) -> None:
        self._crew.start(count, lambda: self._work(probe))

    def _work(self, single: bool) -> None:
        while True:
            index = self._take()
            if index is None:
                return
            self._process(index)
            if single:
                return

    def _take(self) -> Optional[int]:
        with self._lock:
            if self._halt.is_set() or self._next >= len(self._recipients):
                return None
            self._next += 1
            return self._next - 1

    def _process(self, index: int) -> None:
        to = self._recipients[index]
        retry = SEND
        while True:
            ticket = self._limiter.acquire(self._halt.is_set)
            if ticket is None:
                return
            reply = self._attempt(index, to, ticket)
            if reply is None:
                return
            if reply.kind != ReplyKind.RATE_LIMITED:
                self._limiter.succeeded()
                self._record(index, _result_of(to, reply))
                return
            with self._lock:  # not in flight while it waits: Twilio has nothing
                self._in_flight.discard(index)
            retry = retry.increment(reply.retry_after)
            if retry.is_exhausted():
                self._record(index, _rate_limit_exhausted(to, reply, retry))
                return
            delay = retry.backoff()
            self._log.debug("429 for %s, retry %d in %.2f s", to, retry.attempt, delay)
            if not retry.sleep(self._halt, delay=delay):
                return

    def _attempt(self, index: int, to: str, ticket: int) -> Optional[Reply]:
        """Send once; None when this recipient is settled without a reply."""
        with self._lock:
            self._in_flight.add(index)
        try:
            reply = self._send(to)
        except RUN_WIDE_ERRORS as exc:
            self._limiter.release()
            self._record(index, _stopped_by(to, exc))
            self._stop(exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a bug costs one recipient
            self._limiter.release()
            problem = "unexpected error: {}; delivery state unknown".format(
                type(exc).__name__
            )
            self._record(
                index, RecipientResult(to, Status.UNKNOWN, error_message=problem)
            )
            return None
        if reply.kind == ReplyKind.RATE_LIMITED:
            self._limiter.rate_limited(ticket, reply.retry_after)
        self._limiter.release()
        return reply

    def _stop(self, exc: TwilioTaskError) -> None:
        with self._lock:
            # After a cancel the run ends as cancelled (exit 21/1, "cancelled");
            # an error of a request still in flight is only that recipient's.
            if self.error is None and not self.cancelled:
                self.error = exc
        self._halt.set()
        self._limiter.wake()

    # -- results -----------------------------------------------------------
    def _record(self, index: int, result: RecipientResult) -> None:
        """Store a result and leave the in-flight set in one step."""
        with self._lock:
            if self._frozen:
                return
            self._in_flight.discard(index)
            self._results[index] = result
            if self._on_result is not None:
                self._on_result(index, result)
            if result.status == Status.QUEUED:
                self.progress.queued += 1
            else:
                self.progress.failed += 1
            self._lines.extend(self._ready_lines())
            if self._writing:
                return
            self._writing = True
        self._write_lines()

    def _ready_lines(self) -> List[tuple]:
        """Failures in recipient order, as soon as the order allows."""
        results, lines = self._results, []
        while self._logged < len(results):
            result = results[self._logged]
            if result is None:
                break
            lines.extend(_log_lines(result))
            self._logged += 1
        return lines

    def _write_lines(self) -> None:
        """One writer at a time, outside the lock every worker needs."""
        while True:
            with self._lock:
                lines, self._lines = self._lines, []
                if not lines:
                    self._writing = False
                    return
            for level, message, *args in lines:
                getattr(self._log, level)(message, *args)

    def _freeze(self) -> List[RecipientResult]:
        with self._lock:
            self._frozen = True
            for index in self._in_flight:
                self._results[index] = RecipientResult(
                    self._recipients[index],
                    Status.UNKNOWN,
                    error_message="cancelled while the request was in flight; "
                    "delivery state unknown",
                )
            return [
                result or RecipientResult(self._recipients[i], Status.NOT_SENT)
                for i, result in enumerate(self._results)
            ]

    # -- supervision -------------------------------------------------------
    def _supervise(self, started: float) -> None:
        """Sleep until the workers are done, the next progress report is due,
        or the cancel grace ends; never on a fixed tick.

        ``on_progress`` is offered the counts once a second (the Controller's
        live fields; live.LiveReporter throttles it), the log gets a progress
        line every ``progress_interval``.
        """
        next_log = started + self._settings.progress_interval
        while True:
            now = time.monotonic()
            wake_at = next_log
            if self._cancelled_at is not None:
                grace_ends = self._cancelled_at + self._settings.cancel_grace
                if now >= grace_ends:
                    return
                wake_at = min(wake_at, grace_ends)
            if self._on_progress is not None:
                wake_at = min(wake_at, now + PROGRESS_EVERY)
            if self._crew.idle.wait(max(wake_at - now, 0.0)):
                return
            now = time.monotonic()
            if now >= next_log:
                self._log_progress(now - started)
                next_log = now + self._settings.progress_interval
            if self._on_progress is not None:
                self._on_progress(self.progress)

    def _log_progress(self, elapsed: float) -> None:
        p = self.progress
        done = p.queued + p.failed
        self._log.info(
            "Progress: %d queued, %d failed, %d remaining of %d (%.1f/s)",
            p.queued,
            p.failed,
            p.remaining,
            p.total,
            done / elapsed if elapsed > 0 else 0.0,
        )


def _log_lines(result: RecipientResult) -> List[tuple]:
    """What STDERR says of one settled recipient: (level, message, *args)."""
    problem = result.describe_failure()
    if result.status == Status.UNKNOWN:
        return [("warning", "Answer lost: %s: %s", result.to, problem)]
    if result.status != Status.QUEUED:
        problem = with_hint(problem, result.error_code)
        return [("error", "Not queued: %s: %s", result.to, problem)]
    if result.sid is None:
        # HTTP 201 means queued; say why the output has no sid for it.
        text = "Queued without a SID: %s: Twilio answered 201 but the body held "
        return [("warning", text + "no readable sid", result.to)]
    return []


def _result_of(to: str, reply: Reply) -> RecipientResult:
    if reply.kind == ReplyKind.OK:
        return RecipientResult(to, Status.QUEUED, sid=reply.sid)
    message = reply.error_message or "failed"
    if reply.kind == ReplyKind.UNKNOWN:
        if "unknown" not in message:
            message += "; Twilio may or may not have processed it"
        state = Status.UNKNOWN
    else:
        state = Status.FAILED
    return RecipientResult(
        to, state, error_code=reply.error_code, error_message=message
    )


def _stopped_by(to: str, exc: TwilioTaskError) -> RecipientResult:
    """The recipient whose request met a run-wide error."""
    state = Status.NOT_SENT if isinstance(exc, TwilioConnectionError) else Status.FAILED
    return RecipientResult(to, state, error_message=exc.description)


def _rate_limit_exhausted(to: str, reply: Reply, retry: Retry) -> RecipientResult:
    message = "still rate limited after {} retries: {}".format(
        retry.total, reply.error_message or "Too Many Requests"
    )
    return RecipientResult(
        to, Status.FAILED, error_code=reply.error_code, error_message=message
    )
