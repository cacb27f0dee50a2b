"""The task's verdict: exit code, status description and Extension Output.

The Extension Output keeps every key of the seed document (never renamed or
removed) and adds ``msg_not_sent_count`` and per-recipient results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from ._version import EXTENSION_NAME, __version__
from .exceptions import TwilioTaskError
from .results import FAILED, NOT_SENT, QUEUED, SKIPPED, RecipientResult, count

SUCCESS = "SUCCESS: Task executed successfully."
PARTIAL = (
    "FAIL: Some messages were not possible to be queued. "
    "Check STDERR for more information."
)
NOT_DELIVERED = "FAIL: Not all messages were delivered."
RECIPIENT_DETAIL_LIMIT = 10000


@dataclass
class Outcome:
    exit_code: int
    status_description: str
    output: Dict[str, Any]
    summary: str

    def output_json(self) -> str:
        return json.dumps(self.output, indent=2, ensure_ascii=False)


def verdict(
    results: List[RecipientResult],
    error: Optional[TwilioTaskError] = None,
    cancelled: bool = False,
    undelivered: int = 0,
):
    """Return (exit code, status description) for what happened."""
    queued = count(results, QUEUED) + count(results, SKIPPED)
    if error is not None:
        return error.exit_code, error.status_description
    if cancelled:
        text = "FAIL: Task was cancelled: {} queued, {} failed, {} not sent.".format(
            queued, count(results, FAILED), count(results, NOT_SENT)
        )
        return (21 if queued else 1), text
    if queued == len(results):
        return (22, NOT_DELIVERED) if undelivered else (0, SUCCESS)
    if queued:
        return 21, PARTIAL
    return 1, "FAIL: No message could be queued. " + _first_failure(results)


def _first_failure(results: List[RecipientResult]) -> str:
    for result in results:
        if result.status == FAILED:
            return "{}: {}".format(result.to, result.describe_failure())
    return "Nothing was sent."


def stats(results: List[RecipientResult]) -> Dict[str, int]:
    return {
        "msg_queued_count": count(results, QUEUED) + count(results, SKIPPED),
        "msg_failed_count": count(results, FAILED),
        "msg_not_sent_count": count(results, NOT_SENT),
    }


def build_output(
    exit_code: int,
    status_description: str,
    fields: Mapping[str, Any],
    result: Mapping[str, Any],
) -> Dict[str, Any]:
    return {
        "exit_code": exit_code,
        "status_description": status_description,
        "changed": result["stats"]["msg_queued_count"] > 0,
        "invocation": {
            "extension": EXTENSION_NAME,
            "version": __version__,
            "fields": dict(fields),
        },
        "result": dict(result),
    }


def recipients_detail(results: List[RecipientResult]) -> Dict[str, Any]:
    """Every recipient, or only those not queued when the list is very long."""
    if len(results) <= RECIPIENT_DETAIL_LIMIT:
        return {"recipients": [r.as_dict() for r in results]}
    return {
        "recipients": [r.as_dict() for r in results if r.status != QUEUED],
        "recipients_listed": "not_queued_only",
    }


def summary_line(action_label: str, results: List[RecipientResult], status: str) -> str:
    s = stats(results)
    return "Twilio {}: {} recipient(s), {} queued, {} failed, {} not sent. {}".format(
        action_label,
        len(results),
        s["msg_queued_count"],
        s["msg_failed_count"],
        s["msg_not_sent_count"],
        status,
    )


def crash_outcome(exc: BaseException) -> Outcome:
    """The last resort of a front end: still an exit code and valid output."""
    status = "FAIL: Unexpected error: {}".format(type(exc).__name__)
    result = {"stats": stats([]), "recipients": []}
    output = build_output(1, status, {}, result)
    return Outcome(1, status, output, status)
