"""What delivery tracking found, as STDERR lines and Extension Output counts."""

from __future__ import annotations

from typing import Dict, Optional

from ..models import DeliveryReport, RecipientResult
from .hints import with_hint
from .logsafe import LIST_LIMIT, SafeLog


def log_report(report: DeliveryReport, timeout: float, log: SafeLog) -> None:
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


def delivery_counts(report: Optional[DeliveryReport]) -> Dict[str, Optional[int]]:
    """``msg_delivered_count`` and ``msg_undelivered_count`` of a report."""
    if report is None:
        return {}
    return {
        "msg_delivered_count": report.delivered,
        "msg_undelivered_count": report.undelivered,
    }
