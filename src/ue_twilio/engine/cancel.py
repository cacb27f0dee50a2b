"""The one cancel type: set from any thread, it interrupts every wait at once.

The agent's cancel arrives on another thread while the task may be sending,
sleeping out a 429, looking a lost answer up or following delivery. Each of
those waits either sleeps on the cancel itself (:meth:`Cancel.wait`) or has
the cancel wake it (:meth:`Cancel.on_set`), so no cancel waits behind a slow
request or a long backoff. A part's own halt (a run-wide error stops the
dispatcher, not the task) is a ``Cancel`` too, set by the task's cancel or
on its own.
"""

from __future__ import annotations

import threading
from typing import Callable, Dict, Optional


def _nothing() -> None:
    """The unsubscribe of a callback that already ran."""


class Cancel:
    """A one-way switch: once set it stays set; callbacks run once, on set."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: Dict[int, Callable[[], None]] = {}
        self._next = 0

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        """Set, then run every callback (outside the lock); any thread, any
        number of times (only the first call does anything)."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for callback in callbacks:
            callback()

    def wait(self, timeout: Optional[float]) -> bool:
        """Sleep up to ``timeout`` s, ended at once by the cancel; True when set."""
        return self._event.wait(timeout)

    def on_set(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when set (at once when already set).

        Returns the unsubscribe: a part that ends calls it, so a long call
        chain does not pile up callbacks of parts long finished.
        """
        with self._lock:
            if not self._event.is_set():
                key = self._next
                self._next += 1
                self._callbacks[key] = callback
                return lambda: self._forget(key)
        callback()
        return _nothing

    def _forget(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)
