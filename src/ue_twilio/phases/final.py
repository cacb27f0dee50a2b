"""The end of a run: one verdict, the lists on STDERR, one Extension Output.

outcome.py knows the exit codes, the counts and the output's shape; this
module gathers what the phases left in the run (results, delivery report,
SMS fallback, resend record) into them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..inputs.config import TaskConfig
from ..inputs.fields import SMS, VOICE, WHATSAPP
from ..models import Channel, DeliveryReport, RecipientResult, Status
from ..output.echo import echo_config
from ..output.encoding import message_facts
from ..output.logsafe import LIST_LIMIT, SafeLog
from ..output.outcome import (
    Outcome,
    build_output,
    recipients_detail,
    stats,
    summary_line,
)
from ..output.verdict import Facts, cancel_details, decide
from ..prices import totals
from ..redact import Redactor, scrub_tree
from . import fallback
from .acknowledge import ack_facts, mark_entries
from .delivery import delivery_stats
from .run import Run, Sending

ACTION_LABELS = {SMS: "SMS", WHATSAPP: "WhatsApp", VOICE: "voice"}


def final_outcome(
    run: Run,
    sending: Sending,
    report: Optional[DeliveryReport],
    cancelled: bool,
    log: SafeLog,
    redactor: Redactor,
) -> Outcome:
    """The Outcome of a run that got as far as sending (or tried to).

    The malformed entries of the recipient list join the results here, as
    failed: the phases never saw them, nothing was sent to them.
    """
    config = run.config
    results = run.results + rejected_results(config)
    exit_code, status = decide(_facts(run, results, sending, report, cancelled))
    status = redactor(status)
    if cancelled:
        delivered = report.delivered if report is not None else None
        log.warning("%s.", cancel_details(results, delivered))
    if exit_code != 0:
        _log_lists(results, log)
    counts = _counts(run, results, report)
    result = _result(run, results, report, cancelled, counts)
    output = scrub_tree(
        build_output(exit_code, status, echo_config(config), result), redactor
    )
    summary = summary_line(ACTION_LABELS[config.action], results, status, counts)
    return Outcome(exit_code, status, output, summary)


def rejected_results(config: TaskConfig) -> List[RecipientResult]:
    """The malformed entries of the recipient list, each failed with why."""
    return [
        RecipientResult(entry, Status.FAILED, error_message=reason)
        for entry, reason in config.rejected
    ]


def _facts(
    run: Run,
    results: List[RecipientResult],
    sending: Sending,
    report: Optional[DeliveryReport],
    cancelled: bool,
) -> Facts:
    """What verdict.py decides on."""
    return Facts(
        results,
        sending.error,
        cancelled,
        delivered=report.delivered if report is not None else None,
        undelivered=report.undelivered if report is not None else 0,
        chained=run.config.chained,
        rejected=len(run.config.rejected),
        acknowledgement=ack_facts(run),
    )


def _counts(
    run: Run, results: List[RecipientResult], report: Optional[DeliveryReport]
) -> Dict[str, Any]:
    """``result.stats``: the seed's counts, ours, prices, the fallback's."""
    config = run.config
    counts: Dict[str, Any] = stats(
        results,
        run.resend.enabled,
        delivery_stats(config, report),
        config.chained or config.wait_for_acknowledgement,
    )
    if report is not None:
        counts.update(totals((r.charge for r in results), config.is_voice))
    if config.fallback_sms:
        counts.update(fallback.counts(run.fallback))
    return counts


def _result(
    run: Run,
    results: List[RecipientResult],
    report: Optional[DeliveryReport],
    cancelled: bool,
    counts: Dict[str, Any],
) -> Dict[str, Any]:
    """The Extension Output's ``result``: counts, recipients, resend, message."""
    config = run.config
    result: Dict[str, Any] = {"stats": counts}
    if cancelled:
        result["cancelled"] = True
    if config.is_voice:  # entries say they are calls: copies, not the run's
        results = [r.replace(channel=Channel.CALL) for r in results]
    result.update(recipients_detail(results, priced=report is not None))
    if run.acknowledgement is not None:
        mark_entries(run, result["recipients"])
        result["acknowledgement"] = run.acknowledgement.as_dict(run)
    if run.fallback:
        result["recipients"].extend(recipients_detail(run.fallback)["recipients"])
    if run.resend.enabled:
        result["resend"] = {"record_source": run.resend.source}
    result["message"] = message_facts(config.action, config.message)
    return result


def _log_lists(results: List[RecipientResult], log: SafeLog) -> None:
    """One line per state, in the words of the counts: failed is rejected,
    unknown and not sent (skipped and not called only when there are any)."""
    for status, title in (
        (Status.QUEUED, "Queued"),
        (Status.SKIPPED, "Skipped (queued by an earlier run)"),
        (Status.FAILED, "Failed, rejected (by Twilio, or not a number)"),
        (Status.UNKNOWN, "Failed, unknown (may have reached Twilio; not resent)"),
        (Status.NOT_SENT, "Failed, not sent"),
        (Status.NOT_CALLED, "Not called (the call chain stopped first)"),
    ):
        numbers = [r.to for r in results if r.status == status]
        if status in (Status.SKIPPED, Status.NOT_CALLED) and not numbers:
            continue
        shown = ", ".join(numbers[:LIST_LIMIT])
        if len(numbers) > LIST_LIMIT:
            shown += ", ... ({} more)".format(len(numbers) - LIST_LIMIT)
        log.info("%s (%d): %s", title, len(numbers), shown or "-")
