"""When delivery tracking looks next: one GET per open item, or a list round.

A heap of (due, job): a job is an item's index, or ROUND for the next round
of Twilio's list. Rounds are planned while they cost fewer requests than one
GET per open item (listing.py, tracking.py); each item is on the heap at
most once. Looks grow apart (POLL_GROWTH) up to ``poll_max``; the exponent
is capped, so a call followed for an hour (1,751 polls and more) never
overflows the interval.
"""

from __future__ import annotations

import heapq
from typing import Callable, List, NamedTuple, Optional, Tuple

from .followed import Followed

POLL_FIRST = 1.0
POLL_MAX = 10.0
POLL_GROWTH = 1.5
# POLL_GROWTH ** 64 is far beyond any poll_max: more polls change nothing.
MAX_GROWTH_EXPONENT = 64
# Up to this many open recipients are fetched one by one: a list round
# would hardly be cheaper, and a GET also finds what was never sent.
GET_EACH_UP_TO = 10
# A list round may cost tracked // LIST_SHARE + LIST_SPARE requests.
LIST_SHARE = 500
LIST_SPARE = 2
ROUND = -1  # the heap entry of the next list round


class Polling(NamedTuple):
    """How soon the first look comes and how far apart the looks grow."""

    first: float = POLL_FIRST
    most: float = POLL_MAX

    def interval(self, polls: int) -> float:
        """The wait before look ``polls`` + 1: growing, capped at ``most``."""
        growth = POLL_GROWTH ** min(max(polls, 0), MAX_GROWTH_EXPONENT)
        return min(self.most, self.first * growth)


class Schedule:
    """The heap of due looks; every method expects ``followed.lock`` held."""

    def __init__(self, followed: Followed, clock: Callable[[], float]) -> None:
        self._followed = followed
        self._clock = clock
        self._heap: List[Tuple[float, int]] = []
        self.listing_on = False
        self.budget = LIST_SPARE  # requests a list round may cost
        self.pages = 1  # pages of the last list round

    def size_rounds(self, tracked: int, page_size: int) -> None:
        """A round's budget for ``tracked`` items and its expected pages."""
        self.budget = tracked // LIST_SHARE + LIST_SPARE
        self.pages = -(-tracked // page_size)

    def plan(self, due: float, can_list: bool) -> None:
        """List in rounds while that is cheaper, else fetch each open item."""
        if can_list and self._followed.open > self.list_cost():
            self.listing_on = True
            self.push(due, ROUND)
            return
        self.listing_on = False
        for number in self._followed.by_sid.values():
            self.push(due, number)

    def list_cost(self) -> int:
        """Requests a list round costs: its pages and the GETs beside them."""
        return max(GET_EACH_UP_TO, self.budget, self.pages + 1)

    def push(self, due: float, job: int) -> None:
        if job != ROUND:
            item = self._followed.items[job]
            if item.scheduled:  # once on the heap is enough
                return
            item.scheduled = True
        heapq.heappush(self._heap, (due, job))
        self._followed.work_ready.notify()

    def later(self, job: int, delay: float) -> None:
        """Look at one item again; while listing, the next round does."""
        if not self.listing_on and not self._followed.frozen:
            self.push(self._clock() + delay, job)

    def next_due(self, finished: Callable[[], bool], deadline: float) -> Optional[int]:
        """Wait for the next due job; None once ``finished()``."""
        while True:
            if finished():
                return None
            now = self._clock()
            if self._heap and self._heap[0][0] <= now:
                job = heapq.heappop(self._heap)[1]
                if job != ROUND:
                    self._followed.items[job].scheduled = False
                return job
            until = self._heap[0][0] if self._heap else deadline
            self._followed.work_ready.wait(min(until, deadline) - now)
