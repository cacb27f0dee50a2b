"""What happened to each recipient."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from .prices import Charge

QUEUED = "queued"  # Twilio answered 201
FAILED = "failed"  # Twilio refused it, or 429 retries ran out
UNKNOWN = "unknown"  # the request may have reached Twilio; never resent blindly
NOT_SENT = "not_sent"  # it never left
SKIPPED = "skipped"  # queued by an earlier run (Resend Policy)
NOT_CALLED = "not_called"  # a call chain reached somebody before this one
# What counts as queued in the seed's ``msg_queued_count``; every other
# state but NOT_CALLED counts in ``msg_failed_count`` ("failed to queue").
QUEUED_STATES = frozenset((QUEUED, SKIPPED))
CALL = "call"
SMS = "sms"
# At most this many recipients are named in one STDERR line.
LIST_LIMIT = 1000


class RecipientResult:
    """One recipient's fate; slots keep 100,000 of them small."""

    __slots__ = (
        "to",
        "status",
        "sid",
        "error_code",
        "error_message",
        "delivery",
        "channel",
        "answered_by",
        "fallback_for",
        "charge",
    )

    def __init__(
        self,
        to: str,
        status: str,
        sid: Optional[str] = None,
        error_code: Optional[int] = None,
        error_message: Optional[str] = None,
    ) -> None:
        self.to = to
        self.status = status
        self.sid = sid
        self.error_code = error_code
        self.error_message = error_message
        self.delivery: Optional[str] = None
        # Set for voice runs only (issue 12): the output then says which
        # channel an entry is, who answered a call, which call an SMS backs up.
        self.channel: Optional[str] = None
        self.answered_by: Optional[str] = None
        self.fallback_for: Optional[str] = None
        # Twilio's segments and price as delivery tracking last saw them.
        self.charge: Optional[Charge] = None

    def as_dict(self, priced: bool = False) -> Dict[str, Any]:
        """``priced`` (delivery was tracked): Twilio's figures, null if unknown."""
        entry = {
            "to": self.to,
            "status": self.delivery or self.status,
            "sid": self.sid,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }
        if self.channel is not None:
            entry["channel"] = self.channel
        if self.channel == CALL:
            entry["answered_by"] = self.answered_by
        elif self.channel == SMS:
            entry["fallback_for"] = self.fallback_for
        if priced:
            entry.update((self.charge or Charge()).as_dict(self.channel == CALL))
        return entry

    @property
    def needs_lookup(self) -> bool:
        """Its answer was lost: Twilio's list must say what became of it."""
        return self.status == UNKNOWN or (self.status == QUEUED and self.sid is None)

    def describe_failure(self) -> str:
        code = "Twilio error {}: ".format(self.error_code) if self.error_code else ""
        return "{}{}".format(code, self.error_message or "failed")


def count(results: Iterable[RecipientResult], status: str) -> int:
    return sum(1 for result in results if result.status == status)


def count_queued(results: Iterable[RecipientResult]) -> int:
    return sum(1 for result in results if result.status in QUEUED_STATES)


def count_failed(results: Iterable[RecipientResult]) -> int:
    """``msg_failed_count``: neither queued nor left uncalled by a call chain."""
    return sum(
        1
        for result in results
        if result.status not in QUEUED_STATES and result.status != NOT_CALLED
    )
