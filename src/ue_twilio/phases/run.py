"""The bookkeeping of one run, shared by its phases.

``Run`` holds who is sent to and one result per recipient; each phase
(rounds.py, delivery.py, chain.py, fallback.py) replaces results, never adds
or drops one. ``Context`` is what every phase works with: the client, the
settings and the task's ``Cancel``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..engine.dispatcher import Dispatcher
from ..engine.reconcile import ABSENT, FOUND, UNDECIDED, Verdict
from ..engine.tracking import Tracker
from ..exceptions import TwilioTaskError
from ..inputs.config import TaskConfig
from ..inputs.settings import Settings
from ..ledger.state import EARLIER, FLYING, SENT, ResendState
from ..models import (
    QUEUED_STATES,
    DeliveryReport,
    RecipientResult,
    Snapshot,
    Status,
    count_failed,
    count_queued,
)
from ..output.live import LiveReporter
from ..transport.client import TwilioClient
from .hangup import CallLedger


class Cancel:
    """The task's cancel: an event every phase reads, and the part running
    now (a Dispatcher or a Tracker), woken when the cancel comes."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._part: Any = None

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        """The event first, then a wake-up for the part running now (its waits
        sleep until woken); any thread, any number of times."""
        self.event.set()
        part = self._part
        if part is not None:
            part.cancel()

    def watch(self, part: Any) -> None:
        """``part`` runs next: a cancel wakes it, one that came already stops it."""
        self._part = part
        if self.event.is_set():
            part.cancel()


class Context(NamedTuple):
    """What every phase of a run works with."""

    client: TwilioClient
    settings: Settings
    cancel: Cancel


class Sending:
    """What the sending rounds ended with: the run-wide error, a cancel."""

    def __init__(self) -> None:
        self.error: Optional[TwilioTaskError] = None
        self.cancelled = False

    @property
    def stopped(self) -> bool:
        return self.error is not None or self.cancelled

    def absorb(self, dispatcher: Dispatcher) -> None:
        self.error = self.error or dispatcher.error
        self.cancelled = self.cancelled or dispatcher.cancelled


class Run:
    """The state of one run shared by the phases: who to send to, results, progress.

    ``results`` holds one entry per recipient from the start (skipped or not
    sent yet); each phase replaces entries, never adds or drops one.
    """

    def __init__(self, config: TaskConfig, resend: ResendState, log, on_progress):
        self.config = config
        self.resend = resend
        self.log = log
        self.started = time.time()
        self.skipped = set(resend.skipped_indices())
        skipped, not_sent = Status.SKIPPED, Status.NOT_SENT  # see QUEUED_STATES
        self.results: List[RecipientResult] = [
            RecipientResult(to, skipped if i in self.skipped else not_sent)
            for i, to in enumerate(config.recipients)
        ]
        held = self.skipped.union(resend.unknown_indices())
        count = len(config.recipients)
        # A range holds no int objects: 100,000 recipients cost nothing here.
        self.pending: Sequence[int] = (
            [i for i in range(count) if i not in held] if held else range(count)
        )
        self.reporter = LiveReporter(
            on_progress, log, on_publish=lambda s: resend.save(s.resend_state)
        )
        self.calls = CallLedger()
        self.fallback: Optional[List[RecipientResult]] = None

    def counts_outside(self, indices: Sequence[int]) -> Tuple[int, int]:
        """(queued, not queued) among the recipients a round does not send to;
        recipients not sent yet count as neither."""
        queued, failed = _tally(self.results)
        inside = _tally(self.results[i] for i in indices)
        return queued - inside[0], failed - inside[1]

    def apply(self, indices: List[int], verdicts: List[Verdict]) -> None:
        """Found: queued with Twilio's SID. Undecided: stays UNKNOWN, with why."""
        for index, found in zip(indices, verdicts):
            result = self.results[index]
            if found.state == FOUND:
                self.results[index] = RecipientResult(
                    result.to, Status.QUEUED, sid=found.sid
                )
                self.resend.mark_queued(result.to)
                self.log.info(
                    "Found at Twilio: %s was queued (%s) although its answer was lost.",
                    result.to,
                    found.sid,
                )
            elif found.state == UNDECIDED and result.status == Status.UNKNOWN:
                result.error_message = "{}; {}; not sent again".format(
                    result.error_message, found.problem
                )

    def forget(self, indices: List[int]) -> None:
        """Proved never created: the record must not keep them unknown."""
        for index in indices:
            self.resend.mark_unsent(self.config.recipients[index])

    def settle_earlier(self, indices: List[int], verdicts: List[Verdict]) -> List[int]:
        """An earlier run's unknowns: found → skipped, absent → returned to send."""
        absent = []
        for index, found in zip(indices, verdicts):
            to = self.config.recipients[index]
            if found.state == FOUND:
                self.results[index] = RecipientResult(to, Status.SKIPPED, sid=found.sid)
                self.skipped.add(index)
                self.resend.mark_queued(to)
            elif found.state == ABSENT:
                self.resend.mark_unsent(to)
                absent.append(index)
            else:
                self.results[index] = RecipientResult(
                    to,
                    Status.UNKNOWN,
                    error_message="an earlier run's request may have reached Twilio "
                    "and {}; not sent again".format(found.problem),
                )
        return absent

    def give_up(self, indices: List[int], attempts: int) -> None:
        """Absent after the last of ``attempts``: nothing reached Twilio, say so."""
        self.forget(indices)
        for index in indices:
            result = self.results[index]
            self.results[index] = RecipientResult(
                result.to,
                Status.NOT_SENT,
                error_code=result.error_code,
                error_message="{}; Twilio has no record of it after {} attempts; "
                "not sent again".format(result.error_message, attempts),
            )

    def _delivered_so_far(self) -> Optional[int]:
        return 0 if self.config.wait_for_delivery else None

    def offer(self, queued: int, failed: int) -> None:
        self.reporter.offer(
            lambda: Snapshot(
                len(self.config.recipients),
                queued=queued,
                failed=failed,
                skipped=len(self.skipped),
                delivered=self._delivered_so_far(),
                resend_state=self.resend.record(),
            )
        )

    def offer_tracking(self, tracker: Tracker) -> None:
        self.reporter.offer(
            lambda: self.snapshot(None, tracker.delivered, tracker.undelivered)
        )

    def snapshot(
        self,
        report: Optional[DeliveryReport],
        delivered: Optional[int] = None,
        undelivered: Optional[int] = None,
    ) -> Snapshot:
        if report is not None:
            delivered, undelivered = report.delivered, report.undelivered
        elif delivered is None:
            delivered = self._delivered_so_far()
        return Snapshot(
            len(self.config.recipients),
            queued=count_queued(self.results),
            failed=count_failed(self.results),
            skipped=len(self.skipped),
            delivered=delivered,
            undelivered=undelivered,
            resend_state=self.resend.record(),
        )


def _tally(results: Iterable[RecipientResult]) -> Tuple[int, int]:
    """(queued, not queued), leaving out recipients not sent yet."""
    queued = failed = 0
    not_sent = Status.NOT_SENT  # a local name: see models.QUEUED_STATES
    for result in results:
        if result.status in QUEUED_STATES:
            queued += 1
        elif result.status != not_sent:
            failed += 1
    return queued, failed


def recover(results: List[RecipientResult], resend: ResendState) -> None:
    """After a crash: a recipient left "not sent" whose request the ledger
    saw leave is queued (its answer came) or unknown (it may have arrived)."""
    for index, result in enumerate(results):
        if result.status != Status.NOT_SENT:
            continue
        recorded = resend.recorded(index)
        if recorded == SENT:
            results[index] = RecipientResult(result.to, Status.QUEUED)
        elif recorded in (EARLIER, FLYING):
            results[index] = RecipientResult(
                result.to,
                Status.UNKNOWN,
                error_message="the run failed while the request was in flight; "
                "delivery state unknown",
            )
