"""Adaptive concurrency: a window that shrinks on 429 and grows back on success.

Twilio's concurrency limit is per account and unpublished, so it is found by
probing: additive increase, multiplicative decrease, applied once per
congestion event (a 429 for a request sent before the last decrease is old
news and does not shrink the window again). How long one request waits
before it is tried again is the retry policy's (retry.py).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

DECREASE = 0.7


class AdaptiveLimiter:
    """Hands out request slots; ``acquire`` returns a ticket or None when halted."""

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic):
        self.maximum = maximum
        self._limit = float(maximum)
        self._in_flight = 0
        self._epoch = 0
        self._pause_until = 0.0
        self._clock = clock
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    def acquire(
        self, halted: Callable[[], bool], blocking: bool = True
    ) -> Optional[int]:
        """Wait for a free slot, or None once ``halted()`` (or, not blocking,
        when no slot is free now).

        Sleeps until woken: a release, the end of a Retry-After pause, or
        :meth:`wake` (whoever makes ``halted()`` true must call it).
        """
        with self._cond:
            while True:
                if halted():
                    return None
                now = self._clock()
                paused = self._pause_until - now
                if paused <= 0 and self._in_flight < self.limit:
                    self._in_flight += 1
                    return self._epoch
                if not blocking:
                    return None
                self._cond.wait(paused if paused > 0 else None)

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def wake(self) -> None:
        """Let every waiter re-check ``halted`` now (on cancel, stop, timeout)."""
        with self._cond:
            self._cond.notify_all()

    def succeeded(self) -> None:
        with self._cond:
            if self._limit < self.maximum:
                grown = int(self._limit + 1.0 / self._limit) > int(self._limit)
                self._limit = min(self.maximum, self._limit + 1.0 / self._limit)
                if grown:  # a whole new slot: one more waiter may go
                    self._cond.notify()

    def rate_limited(self, ticket: int, retry_after: Optional[float]) -> None:
        """Shrink once per congestion event; honour Retry-After for everyone."""
        with self._cond:
            if ticket == self._epoch:
                self._epoch += 1
                others = float(self._in_flight - 1)  # called before release()
                shrunk = min(self._limit * DECREASE, others)
                self._limit = max(1.0, shrunk)
            if retry_after:
                self._pause_until = max(self._pause_until, self._clock() + retry_after)
