"""SMS Fallback: text the message to every recipient no call reached.

Once the calls are final (Wait For Delivery, or a call chain), the message
goes as an SMS from the same Sender to each recipient whose call was placed
and not answered by a person (voice.py says what counts), and to each whose
call Twilio refused. Not texted: recipients reached, not called by a chain,
or whose call's fate is unknown; and nobody after a cancel or when the calls
could not be followed. The SMS are sent by the task's own sending rounds
(rounds.py: dispatcher, lost-answer reconciliation, at most one resend of
what Twilio has no record of), so nobody is texted twice. They are queued,
not followed.

In the Extension Output each SMS is its own entry after the calls, with
``channel`` ``sms`` and ``fallback_for`` the SID of the call it backs up
(null when the call was never created).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from ..inputs.config import TaskConfig
from ..inputs.fields import RESEND_ALL, SMS
from ..ledger.state import ResendState
from ..models import QUEUED_STATES, Channel, DeliveryReport, RecipientResult, Status
from . import rounds
from .run import Context, Run, Sending


def text_unanswered(
    context: Context, run: Run, sending: Sending, report: Optional[DeliveryReport]
) -> Optional[List[RecipientResult]]:
    """The SMS sent, one per call not answered; None when the fallback did not run."""
    config = run.config
    if not config.fallback_sms or report is None or report.error is not None:
        return None
    if sending.stopped or report.cancelled or context.cancel.is_set():
        return None
    indices = unanswered(run.results, report)
    if not indices:
        return []
    numbers = [run.results[i].to for i in indices]
    run.log.info(
        "SMS Fallback: texting %d recipient(s) whose call no person answered.",
        len(numbers),
    )
    sms = sms_config(config, numbers)
    sms_run = Run(sms, ResendState(sms, {}, run.log), run.log, None)
    rounds.send(context, sms_run)
    return link(run.results, indices, sms_run.results)


def unanswered(results: List[RecipientResult], report: DeliveryReport) -> List[int]:
    """Indices, in recipient order, of those to text: a call Twilio refused,
    or a queued call the report lists as not delivered, matched by its SID
    (a call queued without a readable SID is followed and never delivered)."""
    not_reached = {result.sid for result in report.not_delivered}
    return [
        index
        for index, result in enumerate(results)
        if result.status == Status.FAILED
        or (result.status == Status.QUEUED and result.sid in not_reached)
    ]


def sms_config(config: TaskConfig, numbers: List[str]) -> TaskConfig:
    """The TaskConfig of the fallback: an SMS run to ``numbers``."""
    return dataclasses.replace(
        config,
        action=SMS,
        recipients=tuple(numbers),
        listed_recipients=tuple(numbers),
        recipient_file=None,
        wait_for_delivery=False,
        resend_policy=RESEND_ALL,
        notices=(),
        answer_timeout=None,
        call_max_duration=None,
        fallback_sms=False,
    )


def link(
    calls: List[RecipientResult], indices: List[int], texts: List[RecipientResult]
) -> List[RecipientResult]:
    """Each SMS tagged with its channel and the call it backs up (copies)."""
    return [
        text.replace(channel=Channel.SMS, fallback_for=calls[index].sid)
        for index, text in zip(indices, texts)
    ]


def counts(texts: Optional[List[RecipientResult]]) -> Dict[str, Any]:
    """Stats keys: fallback SMS queued and not queued; null when none was tried."""
    if texts is None:
        return {"fallback_sms_queued_count": None, "fallback_sms_failed_count": None}
    queued = sum(1 for text in texts if text.status in QUEUED_STATES)
    return {
        "fallback_sms_queued_count": queued,
        "fallback_sms_failed_count": len(texts) - queued,
    }
