"""Cancel hangs up what still rings.

A cancelled paging task must not leave phones ringing: every call this run
created that is not known to have ended is updated with ``Status=canceled``
(``POST …/Calls/{Sid}.json``). Twilio cancels a call that is still queued or
ringing and leaves a call in progress alone, so one request per call is both
enough and safe, with no race between a look and the hang-up. The requests
run concurrently and the whole step ends within HANGUP_BUDGET, so the task
still returns inside the agent's 10-second cancel window; a request still
unanswered then is reported as such.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ..engine.cancel import Cancel
from ..engine.retry import HANG_UP
from ..engine.workers import Crew
from ..models import (
    CALL_DELIVERED,
    CALL_UNDELIVERED,
    RecipientResult,
    ReplyKind,
    Status,
)
from ..output.logsafe import SafeLog
from ..transport.client import TwilioClient

HANGUP_BUDGET = 3.0
CANCELED = "canceled"
CANCEL_PARAMS = {"Status": CANCELED}
_ENDED = CALL_DELIVERED | CALL_UNDELIVERED


class CallLedger:
    """Every call this run created, (sid, to), written by the sender threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Dict[str, str] = {}

    def add(self, sid: Optional[str], to: str) -> None:
        if sid:
            with self._lock:
                self._calls[sid] = to

    def open_calls(self, results: Iterable[RecipientResult]) -> List[Tuple[str, str]]:
        """(sid, to) of the calls not known to have ended, in creation order.

        The ledger also holds calls whose answer came after the run stopped
        waiting for it; the results add calls found by reconciliation.
        """
        ended = set()
        with self._lock:
            calls = dict(self._calls)
        for result in results:
            if result.sid is None:
                continue
            if result.delivery in _ENDED:
                ended.add(result.sid)
            elif result.status == Status.QUEUED:
                calls.setdefault(result.sid, result.to)
        return [(sid, to) for sid, to in calls.items() if sid not in ended]


class HangUp:
    """Cancels calls concurrently within a time budget; never raises."""

    def __init__(
        self,
        client: TwilioClient,
        log: SafeLog,
        workers: int,
        budget: float = HANGUP_BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._log = log
        self._workers = max(1, workers)
        self._budget = budget
        self._clock = clock
        self._deadline = 0.0

    def run(self, calls: List[Tuple[str, str]]) -> Dict[str, str]:
        """Hang up ``calls``; return {sid: what became of it} for the answered ones."""
        outcomes: Dict[str, str] = {}
        if not calls:
            return outcomes
        self._log.info(
            "Cancel: hanging up %d call(s) that may still be queued or ringing.",
            len(calls),
        )
        self._deadline = self._clock() + self._budget
        pending = iter(calls)
        lock = threading.Lock()

        def work() -> None:
            while self._clock() < self._deadline:
                with lock:
                    call = next(pending, None)
                if call is None:
                    return
                outcome = self._cancel_one(*call)
                with lock:
                    outcomes[call[0]] = outcome

        crew = Crew("ue-twilio-hangup")
        crew.start(min(self._workers, len(calls)), work)
        crew.idle.wait(self._budget)
        with lock:
            done = dict(outcomes)
        self._report(calls, done)
        return done

    def _cancel_one(self, sid: str, to: str) -> str:
        """The call's status afterwards, or a sentence saying why it is unknown.

        The hang-up runs because of a cancel, so no cancel interrupts it: its
        429 waits end only at the budget's deadline."""
        retry, never = HANG_UP, Cancel()
        while True:
            try:
                reply = self._client.update("Calls", sid, CANCEL_PARAMS)
            except Exception as exc:  # noqa: BLE001 - run-wide errors included
                return "not hung up: {}".format(_describe(exc))
            if reply.kind == ReplyKind.OK:
                return reply.status or "not hung up: Twilio's answer had no status"
            if reply.kind != ReplyKind.RATE_LIMITED:
                return "not hung up: {}".format(reply.describe_error())
            retry = retry.increment(reply.retry_after)
            if not retry.sleep(never, self._deadline, self._clock):
                return "not hung up: still rate limited (429)"

    def _report(self, calls: List[Tuple[str, str]], done: Dict[str, str]) -> None:
        """STDERR: what was cancelled, what was left alone, what is unknown."""
        cancelled = [(s, t) for s, t in calls if done.get(s) == CANCELED]
        if cancelled:
            self._log.warning(
                "Cancel: hung up %d call(s) still queued or ringing: %s",
                len(cancelled),
                _listing(cancelled),
            )
        alone = [(s, t) for s, t in calls if s in done and done[s] in _ENDED_OR_LIVE]
        if alone:
            self._log.info(
                "Cancel: left %d call(s) alone (answered or already ended): %s",
                len(alone),
                _listing(alone),
            )
        for sid, to in calls:
            outcome = done.get(
                sid, "not hung up: no answer within {:g} s".format(self._budget)
            )
            if outcome.startswith("not hung up"):
                self._log.error("Cancel: %s (%s): %s", to, sid, outcome)


_ENDED_OR_LIVE = _ENDED - {CANCELED} | {"in-progress"}


def mark_hung_up(results: List[RecipientResult], outcomes: Dict[str, str]) -> None:
    """Entries of cancelled calls show ``canceled`` as their status (replaced)."""
    for index, result in enumerate(results):
        if result.sid is not None and outcomes.get(result.sid) == CANCELED:
            results[index] = result.replace(delivery=CANCELED)


def _listing(calls: List[Tuple[str, str]]) -> str:
    return ", ".join("{} ({})".format(to, sid) for sid, to in calls)


def _describe(exc: Exception) -> str:
    description = getattr(exc, "description", None)
    return description if isinstance(description, str) else type(exc).__name__
