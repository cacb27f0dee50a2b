"""Acknowledgements without a webhook: reply codes, Twilio's inbound list, poll pacing.

Each SMS or WhatsApp recipient gets a code of their own (``assign_codes``).
Twilio logs their replies as inbound Messages, so one list request a poll
(``Inbox``: ``To`` = our sender and ``DateSent>`` the run's start; with a
Messaging Service, every message of the period, kept when it carries the
service's SID) shows every recipient's reply at once. ``Replies`` judges a
row: from a paged recipient, not older than that recipient's page, holding
their code as a word of its own (482 does not match 4821) → acknowledged;
STOP and its synonyms → opted out; anything else is ignored.

``Pace`` spaces the polls: POLL_FIRST seconds, growing to POLL_MAX while
nothing happens, back to POLL_FIRST after a page or a reply; a 429 waits
the backoff of the retry policy ``ACK_POLL`` (retry.py) instead.
"""

from __future__ import annotations

import email.utils
import random
import re
from datetime import datetime, timezone
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Set,
)

from ..models import Reply, ReplyKind
from .reconcile import CLOCK_SKEW, iso_utc
from .retry import ACK_POLL

if TYPE_CHECKING:
    from .api import Pages

POLL_FIRST = 2.0
POLL_MAX = 15.0
POLL_GROWTH = 1.5
PAGE_SIZE = 1000
# Pages one poll may read (a busy sender may have more than PAGE_SIZE
# messages since the run's start); the next poll reads them again.
MAX_PAGES = 5
# Twilio's opt-out keywords: such a reply is no acknowledgement.
STOP_WORDS = frozenset(
    ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE")
)
ACKNOWLEDGED = "acknowledged"
OPTED_OUT = "opted_out"
IGNORED = "ignored"
_WORD = re.compile(r"\w+")
WHATSAPP_PREFIX = "whatsapp:"


def code_digits(count: int) -> int:
    """3-6 digits, so that at most a tenth of the codes of that length is used."""
    for digits in (3, 4, 5):
        if count * 10 <= 9 * 10 ** (digits - 1):
            return digits
    return 6


def assign_codes(count: int, rng: Optional[random.Random] = None) -> List[str]:
    """``count`` distinct codes of code_digits(count) digits, unguessable."""
    digits = code_digits(count)
    low = 10 ** (digits - 1)
    source = rng or random.SystemRandom()
    return [str(value) for value in source.sample(range(low, low * 10), count)]


def epoch(value: object) -> Optional[float]:
    """A Twilio date (RFC 2822 in v2010, ISO 8601 in Studio) as epoch seconds;
    None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if value[:4].isdigit():
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return moment.timestamp()
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


class Verdict(NamedTuple):
    """What one inbound message says about one recipient."""

    number: str
    kind: str  # ACKNOWLEDGED, OPTED_OUT or IGNORED
    at: float  # Twilio's time of the reply, epoch seconds
    body: str


class Replies:
    """Judges inbound rows against the paged recipients and their codes."""

    def __init__(self) -> None:
        self._codes: Dict[str, str] = {}
        self._paged_at: Dict[str, float] = {}

    def paged(self, number: str, code: str, at: float) -> None:
        """``number`` was sent ``code`` at ``at`` (Twilio's clock when known)."""
        self._codes[number] = code
        self._paged_at[number] = at

    def judge(self, row: Mapping) -> Optional[Verdict]:
        """A Verdict for a paged recipient's reply; None for anything else."""
        if row.get("direction") != "inbound":
            return None
        sender = row.get("from")
        number = _bare(sender) if isinstance(sender, str) else ""
        code = self._codes.get(number)
        at = epoch(row.get("date_sent")) or epoch(row.get("date_created"))
        if code is None or at is None or at < int(self._paged_at[number]):
            return None  # not one of ours, or older than our page
        body = row.get("body")
        text = body if isinstance(body, str) else ""
        words = _WORD.findall(text)
        if code in words:
            return Verdict(number, ACKNOWLEDGED, at, text)
        if len(words) == 1 and words[0].upper() in STOP_WORDS:
            return Verdict(number, OPTED_OUT, at, text)
        return Verdict(number, IGNORED, at, text)


def _bare(address: str) -> str:
    if address[: len(WHATSAPP_PREFIX)].lower() == WHATSAPP_PREFIX:
        return address[len(WHATSAPP_PREFIX) :]
    return address


class Polled(NamedTuple):
    """One poll: the new rows, or why there are none (a 429 or a failure)."""

    rows: List[Mapping]
    rate_limited: bool = False
    retry_after: Optional[float] = None
    problem: Optional[str] = None


class Inbox:
    """Twilio's list of messages to our sender since the run began; each
    poll returns only rows it has not returned before."""

    def __init__(
        self,
        client: Pages,
        to: Optional[str],
        since: Callable[[], float],
        service: Optional[str] = None,
    ) -> None:
        self._client = client
        self._service = service
        self._since = since  # Twilio's clock: known once the pages were answered
        self._to = to
        self._seen: Set[str] = set()
        self.polls = 0

    def query(self) -> Dict[str, str]:
        """Messages sent to us since the run began, on Twilio's clock."""
        query = {
            "DateSent>": iso_utc(self._since() - CLOCK_SKEW),
            "PageSize": str(PAGE_SIZE),
        }
        if self._to is not None:
            query["To"] = self._to
        return query

    def poll(self) -> Polled:
        """One list request (more only past PAGE_SIZE rows); never raises for
        an answer, only for the run-wide errors the client raises."""
        self.polls += 1
        fresh: List[Mapping] = []
        page: Optional[Reply] = self._client.list_page("Messages", self.query())
        for _ in range(MAX_PAGES):
            if page is None:
                break
            if page.kind == ReplyKind.RATE_LIMITED:
                return Polled(fresh, True, page.retry_after)
            rows = page.body.get("messages") if page.body else None
            if page.kind != ReplyKind.OK or not isinstance(rows, list):
                return Polled(fresh, problem=page.describe_error())
            fresh.extend(self._new(rows))
            page = self._client.next_page(page)
        return Polled(fresh)

    def _new(self, rows: List[object]) -> List[Mapping]:
        new = []
        for row in rows:
            if not isinstance(row, Mapping) or row.get("direction") != "inbound":
                continue
            sid = row.get("sid")
            if not isinstance(sid, str) or sid in self._seen:
                continue
            if self._service is not None and row.get("messaging_service_sid") != (
                self._service
            ):
                continue
            self._seen.add(sid)
            new.append(row)
        return new


class Pace:
    """When to poll next: quick after news, slower while nothing happens."""

    def __init__(self, scale: float = 1.0) -> None:
        self._scale = scale
        self._quiet = 0
        self._retry = ACK_POLL

    def news(self) -> None:
        """A page went out or a reply came: look again soon."""
        self._quiet = 0

    def delay(self, polled: Optional[Polled] = None) -> float:
        """Seconds until the next poll after ``polled``."""
        if polled is not None and polled.rate_limited:
            self._retry = self._retry.increment(polled.retry_after)
            return max(self._retry.backoff(), self.first)
        self._retry = ACK_POLL
        if polled is not None and polled.rows:
            self._quiet = 0
        wait = min(POLL_MAX, POLL_FIRST * POLL_GROWTH**self._quiet)
        self._quiet += 1
        return wait * self._scale

    @property
    def first(self) -> float:
        return POLL_FIRST * self._scale
