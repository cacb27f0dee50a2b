"""The task's verdict: exit code, status description and Extension Output.

The Extension Output keeps every key of the seed document (never renamed or
removed) and adds ``msg_not_sent_count`` and per-recipient results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import islice
from typing import Any, Dict, List, Mapping, Optional

from .._version import EXTENSION_NAME, __version__
from ..exceptions import TwilioTaskError, sentence
from ..models import (
    DELIVERED_STATUSES,
    FINE_STATES,
    QUEUED_STATES,
    RecipientResult,
    Status,
    count,
    count_failed,
    count_queued,
)
from .echo import blank_echo

SUCCESS = "SUCCESS: Task executed successfully."
PARTIAL = (
    "FAIL: Some messages were not possible to be queued. "
    "Check STDERR for more information."
)
NOT_DELIVERED = "FAIL: Not all messages were delivered."
# Wait For Acknowledgement (issue 21): pages went out, nobody acknowledged.
NOT_ACKNOWLEDGED = 23


def not_acknowledged(timeout: int) -> str:
    return "FAIL: Nobody acknowledged within {} seconds.".format(timeout)


RECIPIENT_DETAIL_LIMIT = 10000


@dataclass
class Outcome:
    exit_code: int
    status_description: str
    output: Dict[str, Any]
    summary: str

    def output_json(self) -> str:
        """Readable UTF-8 JSON; escaped when a value (echoed input, a server's
        message) holds a lone surrogate, which no UTF-8 writer would accept."""
        text = json.dumps(self.output, indent=2, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(self.output, indent=2, ensure_ascii=True)
        return text


def verdict(
    results: List[RecipientResult],
    error: Optional[TwilioTaskError] = None,
    cancelled: bool = False,
    undelivered: int = 0,
    delivered: Optional[int] = None,
):
    """Return (exit code, status description) for what happened.

    ``undelivered`` > 0 (only possible with Wait For Delivery) turns a full
    success into exit 22; ``delivered`` adds the count to a cancel message.
    """
    queued = count_queued(results)
    if error is not None:
        return error.exit_code, error.status_description
    if cancelled:
        if queued:  # the seed's text for 21, always; the details go to STDERR
            return 21, PARTIAL
        return 1, sentence("FAIL: " + cancel_details(results, delivered))
    if queued == len(results):
        return (22, NOT_DELIVERED) if undelivered else (0, SUCCESS)
    if queued:
        return 21, PARTIAL
    return 1, sentence("FAIL: No message could be queued. " + _first_failure(results))


def cancel_details(
    results: List[RecipientResult], delivered: Optional[int] = None
) -> str:
    """What a cancel left behind, for STDERR and for exit 1's status."""
    queued = count_queued(results)
    text = "Task was cancelled: {} queued, {} failed ({} unknown, {} not sent)".format(
        queued,
        count_failed(results),
        count(results, Status.UNKNOWN),
        count(results, Status.NOT_SENT),
    )
    if delivered is not None:
        text += ", {} delivered".format(delivered)
    return text


def _first_failure(results: List[RecipientResult]) -> str:
    for result in results:
        if result.status not in QUEUED_STATES:
            return "{}: {}".format(result.to, result.describe_failure())
    return "Nothing was sent."


def stats(
    results: List[RecipientResult],
    with_skipped: bool = False,
    delivery: Optional[Mapping[str, Optional[int]]] = None,
    with_not_called: bool = False,
) -> Dict[str, Optional[int]]:
    """The seed's counts plus ours; skipped recipients count as queued.

    ``msg_failed_count`` is every recipient neither queued nor left uncalled
    ("failed to queue"), so on every path

        msg_queued_count + msg_failed_count + msg_not_called_count = recipients

    where ``msg_not_called_count`` (present with Call Order
    'one_by_one_until_answered', else 0) counts the recipients a call chain
    did not call because somebody answered first or its time ran out.
    ``msg_unknown_count`` and ``msg_not_sent_count`` break failed down.
    ``msg_skipped_count`` appears with Resend Policy 'unsent_only', the
    delivery counts with Wait For Delivery or a call chain (null when
    tracking never ran).
    """
    queued = count_queued(results)
    counts: Dict[str, Optional[int]] = {
        "msg_queued_count": queued,
        "msg_failed_count": count_failed(results),
        "msg_unknown_count": count(results, Status.UNKNOWN),
        "msg_not_sent_count": count(results, Status.NOT_SENT),
    }
    if with_not_called:
        counts["msg_not_called_count"] = count(results, Status.NOT_CALLED)
    if with_skipped:
        counts["msg_skipped_count"] = count(results, Status.SKIPPED)
    if delivery is not None:
        counts.update(delivery)
    return counts


def build_output(
    exit_code: int,
    status_description: str,
    fields: Mapping[str, Any],
    result: Mapping[str, Any],
) -> Dict[str, Any]:
    """A send's Extension Output: changed when this run queued something."""
    counts = result["stats"]
    queued_now = counts["msg_queued_count"] - counts.get("msg_skipped_count", 0)
    return envelope(exit_code, status_description, fields, result, queued_now > 0)


def envelope(
    exit_code: int,
    status_description: str,
    fields: Mapping[str, Any],
    result: Mapping[str, Any],
    changed: bool = False,
    command: Optional[str] = None,
) -> Dict[str, Any]:
    """The Extension Output's keys, in order, for a send and a template
    ``command`` alike (the command's name joins the invocation)."""
    invocation: Dict[str, Any] = {"extension": EXTENSION_NAME, "version": __version__}
    if command is not None:
        invocation["command"] = command
    invocation["fields"] = dict(fields)
    return {
        "exit_code": exit_code,
        "status_description": status_description,
        "changed": changed,
        "invocation": invocation,
        "result": dict(result),
    }


def recipients_detail(
    results: List[RecipientResult], priced: bool = False
) -> Dict[str, Any]:
    """Every recipient, or only the problems when the list is very long.

    A problem: not queued (by this or an earlier run), or queued and tracked
    but not delivered. ``priced`` (delivery was tracked) adds Twilio's
    segments and price to every entry (prices.py).
    """
    if len(results) <= RECIPIENT_DETAIL_LIMIT:
        return {"recipients": [r.as_dict(priced) for r in results]}
    problems = (r for r in results if not _fine(r))
    listed = [r.as_dict(priced) for r in islice(problems, RECIPIENT_DETAIL_LIMIT)]
    return {
        "recipients": listed,
        "recipients_listed": "not_queued_only",
        "recipients_omitted": len(results) - len(listed),
    }


def _fine(result: RecipientResult) -> bool:
    if result.status in FINE_STATES:
        return True
    if result.status not in QUEUED_STATES:
        return False
    return result.delivery is None or result.delivery in DELIVERED_STATUSES


def summary_line(
    action_label: str,
    results: List[RecipientResult],
    status: str,
    counts: Optional[Mapping[str, Optional[int]]] = None,
) -> str:
    s = counts if counts is not None else stats(results)
    extra = ""
    if s.get("msg_skipped_count"):
        extra += " ({} skipped as already queued)".format(s["msg_skipped_count"])
    extra += ", {} failed ({} unknown, {} not sent)".format(
        s["msg_failed_count"], s["msg_unknown_count"], s["msg_not_sent_count"]
    )
    if s.get("msg_not_called_count"):
        extra += ", {} not called".format(s["msg_not_called_count"])
    if s.get("msg_delivered_count") is not None:
        extra += ", {} delivered, {} not delivered".format(
            s["msg_delivered_count"], s["msg_undelivered_count"]
        )
    return "Twilio {}: {} recipient(s), {} queued{}. {}".format(
        action_label, len(results), s["msg_queued_count"], extra, status
    )


def crash_outcome(exc: BaseException) -> Outcome:
    """The last resort of a front end: still an exit code and valid output,
    with every key of ``invocation.fields`` (all null: nothing is known)."""
    status = sentence("FAIL: Unexpected error: {}".format(type(exc).__name__))
    result = {"stats": stats([]), "recipients": []}
    output = build_output(1, status, blank_echo(), result)
    return Outcome(1, status, output, status)
