"""The end of a run: one verdict, the lists on STDERR, one Extension Output.

outcome.py knows the exit codes, the counts and the output's shape; this
module gathers what the phases left in the run (results, delivery report,
SMS fallback, resend record) into them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

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
    """The Outcome of a run that got as far as sending (or tried to)."""
    config, results = run.config, run.results
    exit_code, status = decide(_facts(run, sending, report, cancelled))
    status = redactor(status)
    if cancelled:
        delivered = report.delivered if report is not None else None
        log.warning("%s.", cancel_details(results, delivered))
    if exit_code != 0:
        _log_lists(results, log)
    counts = _counts(run, report)
    result = _result(run, report, cancelled, counts)
    output = scrub_tree(
        build_output(exit_code, status, echo_config(config), result), redactor
    )
    summary = summary_line(ACTION_LABELS[config.action], results, status, counts)
    return Outcome(exit_code, status, output, summary)


def _facts(
    run: Run, sending: Sending, report: Optional[DeliveryReport], cancelled: bool
) -> Facts:
    """What verdict.py decides on."""
    return Facts(
        run.results,
        sending.error,
        cancelled,
        delivered=report.delivered if report is not None else None,
        undelivered=report.undelivered if report is not None else 0,
        chained=run.config.chained,
        acknowledgement=ack_facts(run),
    )


def _counts(run: Run, report: Optional[DeliveryReport]) -> Dict[str, Any]:
    """``result.stats``: the seed's counts, ours, prices, the fallback's."""
    config, results = run.config, run.results
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
    report: Optional[DeliveryReport],
    cancelled: bool,
    counts: Dict[str, Any],
) -> Dict[str, Any]:
    """The Extension Output's ``result``: counts, recipients, resend, message."""
    config, results = run.config, run.results
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
    for status, title in (
        (Status.QUEUED, "Queued"),
        (Status.SKIPPED, "Skipped (queued by an earlier run)"),
        (Status.FAILED, "Failed"),
        (Status.UNKNOWN, "Unknown (may have reached Twilio; not resent)"),
        (Status.NOT_SENT, "Not sent"),
        (Status.NOT_CALLED, "Not called (the call chain stopped first)"),
    ):
        numbers = [r.to for r in results if r.status == status]
        if (
            status in (Status.SKIPPED, Status.UNKNOWN, Status.NOT_CALLED)
            and not numbers
        ):
            continue
        shown = ", ".join(numbers[:LIST_LIMIT])
        if len(numbers) > LIST_LIMIT:
            shown += ", ... ({} more)".format(len(numbers) - LIST_LIMIT)
        log.info("%s (%d): %s", title, len(numbers), shown or "-")
