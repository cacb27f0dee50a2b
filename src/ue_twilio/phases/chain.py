"""Call Order 'one_by_one_until_answered': call in list order until a person answers.

Each call is placed (with the same sending and lost-answer reconciliation as
every request), then followed to its final status; the chain stops at the
first call that reached a person (voice.py says what counts). A call is
followed at most Answer Timeout + Call Max Duration + CALL_MARGIN seconds
(queueing, dialling and the message itself), the whole chain at most the
Delivery Timeout, counted from its start. Recipients the chain did not call
become NOT_CALLED, which counts neither queued nor failed; after a cancel or
a run-wide error they stay NOT_SENT, as in any run.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from ..inputs.config import TaskConfig
from ..models import DeliveryReport, RecipientResult, Status
from ..output.delivery_log import log_report
from ..output.logsafe import SafeLog
from . import rounds
from .delivery import follow
from .run import Context, Run, Sending

CALL_MARGIN = 30.0
# A chain waits for one call at a time: poll it at least this often.
CHAIN_POLL_MAX = 2.0


def call_until_answered(context: Context, run: Run) -> Tuple[Sending, DeliveryReport]:
    """Place and follow one call after the other: (sending, the calls' report)."""
    chain = CallChain(run.config, run.log)
    sending = Sending()
    cancel = context.cancel
    # An earlier run's unknown first person is looked up first, like in
    # every other order: found, skipped (they were called); absent, called.
    pending = list(rounds.settle_earlier(context, run))
    for index in chain.calls(pending, run.results):
        rounds.send(context, run, [index], sending)
        if sending.stopped or cancel.is_set():
            break
        report = follow(context, run, [index], chain.call_timeout(), CHAIN_POLL_MAX)
        chain.followed(index, report)
        if report.error is not None or report.cancelled:
            break
    report = chain.report()
    stopped = sending.stopped or report.error is not None
    chain.finish(run.results, stopped or cancel.is_set())
    log_report(report, float(run.config.delivery_timeout), run.log)
    sending.cancelled = sending.cancelled or cancel.is_set()
    return sending, report


class CallChain:
    """The order, the time budget and the merged report of one chain of calls
    (its exit code is decided in output/verdict.py)."""

    def __init__(
        self,
        config: TaskConfig,
        log: SafeLog,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._clock = clock
        self._timeout = float(config.delivery_timeout)
        self._deadline = clock() + self._timeout
        # A chain is a voice run: both are set (config.py fills their defaults).
        answer, longest = config.answer_timeout or 0, config.call_max_duration or 0
        self._per_call = float(answer + longest + CALL_MARGIN)
        self._pending: Sequence[int] = []
        self._next = 0
        self._reports: List[DeliveryReport] = []
        self._why_stopped: Optional[str] = None
        self.answered: Optional[int] = None

    def calls(
        self, pending: Sequence[int], results: List[RecipientResult]
    ) -> Iterator[int]:
        """The recipients to call, in order, while nobody answered and time remains."""
        self._pending = pending
        for position, index in enumerate(pending):
            if self.answered is not None:
                self._why_stopped = "{} answered first".format(
                    results[self.answered].to
                )
                return
            if self._clock() >= self._deadline:
                self._why_stopped = "the Delivery Timeout of {:g} s ended first".format(
                    self._timeout
                )
                return
            self._next = position + 1
            self._log.info(
                "Call chain: calling %s (%d of %d).",
                results[index].to,
                position + 1,
                len(pending),
            )
            yield index

    def call_timeout(self) -> float:
        """How long the current call may be followed."""
        return max(min(self._per_call, self._deadline - self._clock()), 0.0)

    def followed(self, index: int, report: DeliveryReport) -> None:
        self._reports.append(report)
        if report.delivered:
            self.answered = index

    def finish(self, results: List[RecipientResult], stopped: bool) -> None:
        """Mark who was not called; after a cancel or an error nobody is."""
        if stopped:
            return
        left = self._pending[self._next :]
        why = "not called: " + (self._why_stopped or "the chain ended")
        for index in left:
            results[index] = RecipientResult(
                results[index].to, Status.NOT_CALLED, error_message=why
            )
        if self.answered is not None:
            self._log.info(
                "Call chain: %s answered; %d recipient(s) not called.",
                results[self.answered].to,
                len(left),
            )
        else:
            self._log.warning(
                "Call chain: nobody answered%s.",
                ""
                if not left
                else "; {} not called: {}".format(len(left), self._why_stopped),
            )

    def report(self) -> DeliveryReport:
        """The calls' delivery reports as one."""
        merged = DeliveryReport()
        for part in self._reports:
            merged.delivered += part.delivered
            merged.undelivered += part.undelivered
            merged.pending += part.pending
            merged.cancelled = merged.cancelled or part.cancelled
            merged.error = merged.error or part.error
            merged.not_delivered.extend(part.not_delivered)
        return merged
