"""Ask Twilio whether a request whose answer was lost created anything.

A recipient is UNKNOWN when its request may have reached Twilio but no answer
came back. Guessing either way is wrong: "failed" invites a second text,
"queued" may hide a message that never existed. So the task looks the
recipient up in Twilio's list of Messages (or Calls): a resource to the same
number, from the same sender, with the same body, created after the run
started, is the one the lost request created. Found: queued, with Twilio's
SID. Absent twice, some seconds apart (Twilio's list may lag a just-created
resource): it is safe to send once more. A lookup that fails leaves the
recipient UNKNOWN, never resent.

Two queries per look, because a filter on the send date misses what is still
queued (``date_sent`` is null until Twilio sends it): first with
``DateSent>`` (calls: ``StartTime>``), then newest first without a date
filter, stopping at resources older than the run.

Matching rules: To always; From for a phone-number sender, or
``messaging_service_sid`` for a Messaging Service (Twilio picks the From);
the body when we sent one (not for WhatsApp content templates, whose body
Twilio renders); calls carry no body, so To, From and the time decide.
"""

from __future__ import annotations

import functools
import threading
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
)

from ..exceptions import TwilioTaskError
from ..inputs.config import TaskConfig
from ..models import Reply, ReplyKind
from .cancel import Cancel
from .params import recipient_address, sender_address
from .retry import LOOKUP
from .workers import Crew

if TYPE_CHECKING:
    from .api import Pages

# Moments are on Twilio's clock (models.TwilioClock, from its Date header),
# so only the one-second precision of Date and date_created is left: a
# resource created this long before the moment still counts as the run's own.
CLOCK_SKEW = 10.0
PAGE_SIZE = 50
MAX_PAGES = 3

FOUND = "found"
ABSENT = "absent"
UNDECIDED = "undecided"


class Verdict(NamedTuple):
    """What a look found for one recipient; ``resource`` when FOUND."""

    state: str
    resource: Optional[Mapping] = None
    problem: Optional[str] = None

    @property
    def sid(self) -> Optional[str]:
        value = self.resource.get("sid") if self.resource else None
        return value if isinstance(value, str) else None


class Match(NamedTuple):
    """What the lost request would have created.

    ``since`` gives the earliest moment it can have been created, on
    Twilio's clock; it is asked at each use, because Twilio's clock is known
    only once the first answer came (the first query's date filter may be
    off; the undated query that follows settles it).
    """

    resource: str
    sender: Optional[str]
    service: Optional[str]
    body: Optional[str]
    since: Callable[[], float]
    # Each recipient's own body (Wait For Acknowledgement adds their code).
    text_for: Optional[Callable[[str], str]] = None

    def query(self, to: str, dated: bool) -> Dict[str, str]:
        query = {"To": to, "PageSize": str(PAGE_SIZE)}
        if self.sender is not None:
            query["From"] = self.sender
        if dated:
            key = "StartTime>" if self.resource == "Calls" else "DateSent>"
            query[key] = iso_utc(self.since() - CLOCK_SKEW)
        return query

    def accepts(self, row: Mapping, to: str, number: str = "") -> bool:
        if row.get("to") != to:
            return False
        if self.sender is not None and row.get("from") != self.sender:
            return False
        if self.service is not None and row.get("messaging_service_sid") != (
            self.service
        ):
            return False
        body = self.body
        if body is not None and self.text_for is not None and number:
            body = self.text_for(number)
        if body is not None and _text(row.get("body")) != _text(body):
            return False
        return self.recent(row)

    def recent(self, row: Mapping) -> bool:
        created = _timestamp(row.get("date_created"))
        return created is not None and created >= self.since() - CLOCK_SKEW


def match_for(
    config: TaskConfig,
    since: Callable[[], float],
    text_for: Optional[Callable[[str], str]] = None,
) -> Match:
    """The matching rule for this task's requests (see the module docstring);
    ``text_for`` when each recipient was sent a body of their own."""
    if config.is_voice:
        return Match("Calls", config.sender, None, None, since)
    service = config.sender if config.uses_messaging_service else None
    sender = None if service else sender_address(config)
    body = config.message if config.content_sid is None else None
    return Match("Messages", sender, service, body, since, text_for)


class LookupPlan(NamedTuple):
    """When a reconciliation must end, how wide it runs, when it looks."""

    deadline: float
    workers: int
    pauses: Sequence[float] = (0.0,)
    clock: Callable[[], float] = time.monotonic


class Reconciler:
    """Looks up many recipients concurrently, bounded in time; a cancel ends
    it at once, also while a request is still unanswered."""

    def __init__(
        self,
        client: Pages,
        config: TaskConfig,
        match: Match,
        cancel: Cancel,
        plan: LookupPlan,
    ) -> None:
        self._client = client
        self._config = config
        self._match = match
        self._halted = cancel
        self._deadline = plan.deadline
        self._workers = max(1, plan.workers)
        self._pauses = plan.pauses
        self._clock = plan.clock

    def settle(self, numbers: List[str]) -> List[Verdict]:
        """Look after each pause; only what every look missed ends ABSENT.

        Twilio's list may lag a just-created resource, so "absent" needs more
        than one look some seconds apart. A cancel during a pause leaves the
        numbers not yet found UNDECIDED.
        """
        verdicts = [Verdict(ABSENT)] * len(numbers)
        pending = list(range(len(numbers)))
        for pause in self._pauses:
            if self._halted.wait(pause):
                cancelled = Verdict(UNDECIDED, problem=self._why_undecided())
                for index in pending:
                    verdicts[index] = cancelled
                break
            found = self.look([numbers[i] for i in pending])
            for index, verdict in zip(pending, found):
                verdicts[index] = verdict
            pending = [i for i, v in zip(pending, found) if v.state == ABSENT]
            if not pending:
                break
        return verdicts

    def look(self, numbers: List[str]) -> List[Verdict]:
        """One look for each number, in order; UNDECIDED where none was made."""
        if not numbers:
            return []
        verdicts: List[Optional[Verdict]] = [None] * len(numbers)
        pending = iter(range(len(numbers)))
        lock = threading.Lock()

        def work() -> None:
            while not self._stopped():
                with lock:
                    index = next(pending, None)
                if index is None:
                    return
                verdicts[index] = self._look_one(numbers[index])

        crew = Crew("ue-twilio-reconcile")
        crew.start(min(self._workers, len(numbers)), work)
        crew.wait(max(self._deadline - self._clock(), 0.0), self._halted)
        undecided = Verdict(UNDECIDED, problem=self._why_undecided())
        return [verdict or undecided for verdict in verdicts]

    def _stopped(self) -> bool:
        return self._halted.is_set() or self._clock() >= self._deadline

    def _why_undecided(self) -> str:
        if self._halted.is_set():
            return "the lookup at Twilio was cancelled"
        return "the lookup at Twilio ran out of time"

    def _look_one(self, number: str) -> Verdict:
        to = recipient_address(self._config, number)
        for dated in (True, False):
            verdict = self._search(to, dated, number)
            if verdict.state != ABSENT:
                return verdict
        return Verdict(ABSENT)

    def _search(self, to: str, dated: bool, number: str) -> Verdict:
        """Walk the pages of one query; newest first, older than the run ends it."""
        try:
            for page in self._pages(self._match.query(to, dated)):
                rows = _rows(page, self._match.resource)
                for row in rows:
                    if self._match.accepts(row, to, number):
                        return Verdict(FOUND, row)
                if rows and not dated and not self._match.recent(rows[-1]):
                    break
        except _LookupFailed as exc:
            return Verdict(UNDECIDED, problem=str(exc))
        except TwilioTaskError as exc:
            return Verdict(UNDECIDED, problem=exc.description)
        except Exception as exc:  # noqa: BLE001 - a failed look decides nothing
            return Verdict(UNDECIDED, problem=type(exc).__name__)
        return Verdict(ABSENT)

    def _pages(self, query: Dict[str, str]) -> Iterator[Reply]:
        reply: Optional[Reply] = self._get(
            lambda: self._client.list_page(self._match.resource, query)
        )
        for _ in range(MAX_PAGES):
            if reply is None:
                return
            yield reply
            reply = self._get(functools.partial(self._client.next_page, reply))

    def _get(self, request: Callable[[], Optional[Reply]]) -> Optional[Reply]:
        """One page, waiting out a 429 while time remains."""
        retry = LOOKUP
        while True:
            if self._stopped():
                raise _LookupFailed(self._why_undecided())
            reply = request()
            if reply is None or reply.kind == ReplyKind.OK:
                return reply
            if reply.kind != ReplyKind.RATE_LIMITED:
                raise _LookupFailed(
                    "the lookup at Twilio failed: {}".format(
                        reply.error_message or reply.http_status
                    )
                )
            retry = retry.increment(reply.retry_after)
            if not retry.sleep(self._halted, self._deadline, self._clock):
                raise _LookupFailed(self._why_undecided())


class _LookupFailed(Exception):
    """A page could not be had; the recipient stays UNKNOWN."""


def _rows(page: Reply, resource: str) -> List[Mapping]:
    rows = page.body.get(resource.lower()) if page.body else None
    if not isinstance(rows, list):
        raise _LookupFailed("the lookup at Twilio returned no list")
    return [row for row in rows if isinstance(row, Mapping)]


def _text(value: object) -> Optional[str]:
    """Bodies compared as Twilio stores them: line ends and outer blanks vary."""
    if not isinstance(value, str):
        return None
    return value.replace("\r\n", "\n").strip()


def _timestamp(value: object) -> Optional[float]:
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def iso_utc(epoch: float) -> str:
    """A filter date Twilio reads: ISO 8601 in UTC, to the second."""
    moment = datetime.fromtimestamp(max(epoch, 0.0), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
