"""One round of Twilio's list during delivery tracking, and what it costs.

A round pages through the run's resources (listing.py), matches the rows to
the tracked SIDs, then plans GETs for a few that the list did not show
(least recently seen first) within the round's budget, and the next round.
A page answered 429 is waited out under the LIST_PAGE retry policy; a
failing page ends the round (the next one tries again); Twilio refusing
the list switches tracking to one GET per item for good.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional, Set

from ..models import Reply, ReplyKind
from .listing import Listing
from .retry import LIST_PAGE
from .schedule import ROUND

if TYPE_CHECKING:
    from .tracking import Tracker


class ListRounds:
    """The list rounds of one tracker; ``rounds`` counts those started."""

    def __init__(self, listing: Optional[Listing], tracker: Tracker) -> None:
        self.listing = listing
        self.rounds = 0
        self._tracker = tracker

    @property
    def page_size(self) -> int:
        return self.listing.page_size if self.listing is not None else 1

    def run_one(self) -> None:
        """One list of the run's resources, then GETs for a few it missed."""
        listing = self.listing
        if listing is None:
            return
        self.rounds += 1
        seen: Set[int] = set()
        pages = 0
        page = self._page(listing.first)
        while page is not None and page.kind == ReplyKind.OK:
            rows = listing.rows(page)
            if rows is None:
                break
            pages += 1
            self._apply(rows, seen)
            if not _more(page):
                page = None
                break
            page = self._page(functools.partial(listing.next, page))
        tracker = self._tracker
        if page is not None and not tracker.stopped():
            tracker.log.warning(
                "Delivery tracking: a page of Twilio's list failed (%s); "
                "looking again later.",
                page.describe_error()
                if page.kind != ReplyKind.OK
                else "no list in the answer",
            )
        with tracker.followed.lock:
            self._after_round(seen, pages, page)

    def retry_later(self) -> None:
        """A round that failed unexpectedly: the next one, a little later."""
        tracker = self._tracker
        with tracker.followed.lock:
            due = tracker.clock() + tracker.polling.interval(self.rounds)
            tracker.schedule.push(due, ROUND)

    def _page(self, request: Callable[[], Optional[Reply]]) -> Optional[Reply]:
        """A page, waiting out 429s (woken by a halt); None when halted."""
        tracker = self._tracker
        retry = LIST_PAGE
        while True:
            reply = tracker.request(request)
            if reply is None or reply.kind != ReplyKind.RATE_LIMITED:
                return reply
            retry = retry.increment(reply.retry_after)
            if not retry.sleep(tracker.halt, tracker.deadline, tracker.clock):
                return None
            if tracker.stopped():
                return None

    def _apply(self, rows: List[Mapping[str, Any]], seen: Set[int]) -> None:
        followed = self._tracker.followed
        with followed.lock:
            for row in rows:
                sid = row.get("sid")
                number = followed.by_sid.get(sid) if isinstance(sid, str) else None
                if number is not None:
                    seen.add(number)
                    followed.observe(followed.items[number], row)

    def _after_round(self, seen: Set[int], pages: int, failed: Optional[Reply]) -> None:
        """Under the lock: GETs for the least recently seen items the list
        missed, then the next round, or one GET each when that is cheaper."""
        tracker = self._tracker
        followed, schedule = tracker.followed, tracker.schedule
        if followed.frozen or not followed.by_sid:
            return
        now = tracker.clock()
        if failed is not None and failed.kind == ReplyKind.REFUSED:
            tracker.log.warning(
                "Delivery tracking: Twilio refused its list (%s); fetching each "
                "message instead.",
                failed.describe_error(),
            )
            self.listing = None
        elif failed is None:
            schedule.pages = max(pages, 1)
        items = followed.items
        missed = [n for n in followed.by_sid.values() if n not in seen]
        missed = [n for n in missed if not items[n].scheduled]
        missed.sort(key=lambda n: items[n].seen_at)
        for number in missed[: max(1, schedule.budget - pages)]:
            schedule.push(now, number)
        schedule.plan(
            now + tracker.polling.interval(self.rounds), self.listing is not None
        )


def _more(page: Reply) -> bool:
    uri = page.body.get("next_page_uri") if page.body else None
    return isinstance(uri, str) and bool(uri)
