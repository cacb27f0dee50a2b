"""The values that pass between the parts of a run.

What one request produced (:class:`Reply`), what became of one recipient
(:class:`RecipientResult`), what delivery tracking found
(:class:`DeliveryReport`) and the counts at one moment (:class:`Snapshot`).
Nothing here talks to Twilio, so every other module may import it and it
imports none of them: the imports of the package run one way.

Statuses are ``str`` enumerations: a reply's kind and a recipient's status
are different types even where their words meet ("unknown"), yet each
member compares, hashes and serialises as the seed's string.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional

from .exceptions import TwilioTaskError
from .prices import Charge


class _Word(str, Enum):
    """A str enumeration that prints, formats and hashes as its value.

    Equality stays ``str``'s own (in C): a run compares statuses of 100,000
    recipients several times, and a Python ``__eq__`` made that 70 ms slower
    before the first request.
    """

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class ReplyKind(_Word):
    """What a request's answer means for sending it again."""

    OK = "ok"
    RATE_LIMITED = "rate_limited"  # Twilio did not process it: safe to send again
    REFUSED = "refused"  # Twilio answered and did not create anything
    UNKNOWN = "unknown"  # the request may have reached Twilio: never resent blindly
    UNREACHABLE = "unreachable"  # never left; raised as a run-wide error


class Status(_Word):
    """A recipient's status in the Extension Output."""

    QUEUED = "queued"  # Twilio answered 201
    FAILED = "failed"  # Twilio refused it, or 429 retries ran out
    UNKNOWN = "unknown"  # the request may have reached Twilio; never resent blindly
    NOT_SENT = "not_sent"  # it never left
    SKIPPED = "skipped"  # queued by an earlier run (Resend Policy)
    NOT_CALLED = "not_called"  # a call chain reached somebody before this one


class Channel(_Word):
    """Which kind of entry a voice run's result is (calls and fallback SMS)."""

    CALL = "call"
    SMS = "sms"


# What counts as queued in the seed's ``msg_queued_count``; every other
# status but NOT_CALLED counts in ``msg_failed_count`` ("failed to queue").
QUEUED_STATES = frozenset((Status.QUEUED, Status.SKIPPED))
# Fine in the output whatever delivery says: queued earlier, or not called
# because the chain reached somebody. (Loops over every recipient test a set
# or a local name: an enum attribute lookup costs eight times a plain name.)
FINE_STATES = frozenset((Status.SKIPPED, Status.NOT_CALLED))

# Twilio's final statuses (its vocabulary, so plain strings).
MESSAGE_DELIVERED = frozenset(("delivered", "read"))
MESSAGE_UNDELIVERED = frozenset(("undelivered", "failed", "canceled"))
CALL_DELIVERED = frozenset(("completed",))
CALL_UNDELIVERED = frozenset(("busy", "no-answer", "failed", "canceled"))
CALL_ANSWERED = "in-progress"
# What a delivered recipient's ``delivery`` may read (a call answered but
# still in progress at the timeout counts as delivered).
DELIVERED_STATUSES = MESSAGE_DELIVERED | CALL_DELIVERED | {CALL_ANSWERED}
# The longest value an Output Only template field takes (resend_state).
FIELD_LIMIT = 4000


class TwilioClock:
    """Twilio's time, as the Date header of the run's first answer tells it.

    Lookups ask Twilio for what was created since a moment, and Twilio
    compares with its own clock: an agent clock minutes off must not move
    that moment (docs/reliability.md). ``offset`` is Twilio's time minus
    ours, None until an answer carried a Date.
    """

    __slots__ = ("offset",)

    def __init__(self, offset: Optional[float] = None) -> None:
        self.offset = offset

    def learn(self, date_header: Optional[str], local: float) -> None:
        """Keep the first usable Date header (one-second precision: +0.5)."""
        if self.offset is not None or not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        self.offset = server + 0.5 - local

    def twilio_time(self, local: float) -> float:
        """A moment of our clock on Twilio's (ours while it is not known)."""
        return local + (self.offset or 0.0)


class Reply(NamedTuple):
    """What one request produced; ``kind`` says whether it may be sent again."""

    kind: ReplyKind
    http_status: Optional[int] = None
    body: Optional[Mapping[str, Any]] = None
    error_code: Optional[int] = None
    error_message: Optional[str] = None
    retry_after: Optional[float] = None

    @property
    def sid(self) -> Optional[str]:
        value = self.body.get("sid") if self.body else None
        return value if isinstance(value, str) else None

    @property
    def status(self) -> Optional[str]:
        value = self.body.get("status") if self.body else None
        return value if isinstance(value, str) else None

    def describe_error(self) -> str:
        """Twilio's error code and message, else what the HTTP layer saw."""
        if self.error_code is not None:
            return "Twilio error {}: {}".format(self.error_code, self.error_message)
        return self.error_message or "HTTP {}".format(self.http_status)


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
        status: Status,
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
        if self.channel == Channel.CALL:
            entry["answered_by"] = self.answered_by
        elif self.channel == Channel.SMS:
            entry["fallback_for"] = self.fallback_for
        if priced:
            entry.update(
                (self.charge or Charge()).as_dict(self.channel == Channel.CALL)
            )
        return entry

    def replace(self, **changes: Any) -> RecipientResult:
        """A copy with ``changes``: a result that crossed threads is replaced,
        never mutated (tracking, hang-up, fallback and output make copies)."""
        copy = RecipientResult.__new__(RecipientResult)
        for name in self.__slots__:
            setattr(copy, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError("no such field: {}".format(", ".join(changes)))
        return copy

    @property
    def needs_lookup(self) -> bool:
        """Its answer was lost: Twilio's list must say what became of it."""
        return self.status == Status.UNKNOWN or (
            self.status == Status.QUEUED and self.sid is None
        )

    def describe_failure(self) -> str:
        code = "Twilio error {}: ".format(self.error_code) if self.error_code else ""
        return "{}{}".format(code, self.error_message or "failed")


def count(results: Iterable[RecipientResult], status: Status) -> int:
    return sum(1 for result in results if result.status == status)


def count_queued(results: Iterable[RecipientResult]) -> int:
    return sum(1 for result in results if result.status in QUEUED_STATES)


def count_failed(results: Iterable[RecipientResult]) -> int:
    """``msg_failed_count``: neither queued nor left uncalled by a call chain."""
    uncounted = QUEUED_STATES | {Status.NOT_CALLED}
    return sum(1 for result in results if result.status not in uncounted)


class DeliveryReport:
    """What tracking found; ``pending`` counts those still open at the end."""

    __slots__ = (
        "delivered",
        "undelivered",
        "pending",
        "cancelled",
        "error",
        "not_delivered",
    )

    def __init__(self) -> None:
        self.not_delivered: List[RecipientResult] = []
        self.delivered = 0
        self.undelivered = 0
        self.pending = 0
        self.cancelled = False
        self.error: Optional[TwilioTaskError] = None


class Snapshot:
    """The counts at one moment; ``queued`` includes recipients skipped as sent."""

    __slots__ = (
        "total",
        "queued",
        "failed",
        "skipped",
        "delivered",
        "undelivered",
        "resend_state",
        "final",
    )

    def __init__(
        self,
        total: int,
        *,
        queued: int = 0,
        failed: int = 0,
        skipped: int = 0,
        delivered: Optional[int] = None,
        undelivered: Optional[int] = None,
        resend_state: Optional[str] = None,
        final: bool = False,
    ) -> None:
        self.total = total
        self.queued = queued
        self.failed = failed
        self.skipped = skipped
        self.delivered = delivered
        self.undelivered = undelivered
        self.resend_state = resend_state
        self.final = final

    @property
    def remaining(self) -> int:
        return max(self.total - self.queued - self.failed, 0)

    def output_fields(self) -> Dict[str, Any]:
        """The Output Only template fields: queued_count, failed_count, ..."""
        fields: Dict[str, Any] = {
            "queued_count": self.queued,
            "failed_count": self.failed,
        }
        if self.delivered is not None:
            fields["delivered_count"] = self.delivered
        state = self.resend_state
        if state is not None and len(state) <= FIELD_LIMIT:
            fields["resend_state"] = state
        return fields
