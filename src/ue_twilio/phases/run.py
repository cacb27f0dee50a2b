"""The bookkeeping of one run, shared by its phases.

``Run`` holds who is sent to and one result per recipient; each phase
(rounds.py, delivery.py, chain.py, fallback.py) replaces results, never adds
or drops one, and never mutates one. ``Context`` is what every phase works
with: the client, the settings and the task's ``Cancel`` (engine/cancel.py).
"""

from __future__ import annotations

import time
from typing import (
    TYPE_CHECKING,
    Callable,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from ..engine.cancel import Cancel
from ..engine.dispatcher import Dispatcher
from ..engine.reconcile import ABSENT, FOUND, UNDECIDED, Verdict
from ..exceptions import TwilioTaskError
from ..inputs.config import TaskConfig
from ..inputs.settings import Settings
from ..ledger.state import EARLIER, FLYING, SENT, ResendState
from ..models import (
    QUEUED_STATES,
    DeliveryReport,
    RecipientResult,
    Reply,
    Snapshot,
    Status,
    count_failed,
    count_queued,
)
from ..output.live import LiveReporter
from ..output.logsafe import SafeLog
from ..transport.client import TwilioClient
from .hangup import CallLedger

if TYPE_CHECKING:  # loaded only by a run that follows delivery (delivery.py);
    # acknowledge.py imports this module
    from ..engine.tracking import Tracker
    from .acknowledge import Acknowledgement


class Context(NamedTuple):
    """What every phase of a run works with."""

    client: TwilioClient
    settings: Settings
    cancel: Cancel

    def dispatch(self, dispatcher: Dispatcher) -> List[RecipientResult]:
        """Run ``dispatcher``, halted at once by the task's cancel."""
        unsubscribe = self.cancel.on_set(dispatcher.cancel)
        try:
            return dispatcher.run()
        finally:
            unsubscribe()


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

    def __init__(
        self,
        config: TaskConfig,
        resend: ResendState,
        log: SafeLog,
        on_progress: Optional[Callable[[Snapshot], None]],
    ) -> None:
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
        # Wait For Acknowledgement (acknowledge.py): each page's own text,
        # who was paged (called from the sender threads), what came of it.
        self.text_for: Optional[Callable[[str], str]] = None
        self.on_queued: Optional[Callable[[str, Reply], None]] = None
        self.acknowledgement: Optional[Acknowledgement] = None

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
                self.results[index] = result.replace(
                    error_message="{}; {}; not sent again".format(
                        result.error_message, found.problem
                    )
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
