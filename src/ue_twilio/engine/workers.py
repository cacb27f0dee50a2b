"""Daemon worker threads with one event that says "all of them returned".

The dispatcher and the delivery tracker both run a bounded crew of workers
and supervise it from the calling thread; daemon threads let the task return
within the agent's cancel window even while a request is still in flight.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from .cancel import Cancel


class Crew:
    """Starts workers; ``idle`` is set whenever none of them is running."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Condition()
        self._running = 0
        self.idle = threading.Event()
        self.idle.set()

    def start(self, count: int, target: Callable[[], None]) -> int:
        """Start up to ``count`` workers; return how many started.

        A host out of threads may refuse some: the crew goes on with fewer
        (the work is shared), and only when none starts is that an error.
        """
        if count <= 0:  # nothing to run: the crew stays idle
            return 0
        with self._lock:
            self._running += count
            self.idle.clear()
        started = 0
        try:
            for number in range(count):
                threading.Thread(
                    target=self._run,
                    args=(target,),
                    name="{}-{}".format(self._name, number),
                    daemon=True,
                ).start()
                started += 1
        except RuntimeError:
            if started == 0:
                self._retire(count)
                raise
        self._retire(count - started)
        return started

    def wait(self, timeout: float, cancel: Optional[Cancel] = None) -> bool:
        """Until every worker returned (True), ``timeout`` s passed or the
        ``cancel`` came: a cancel never waits behind a slow request."""
        unsubscribe = cancel.on_set(self._wake) if cancel is not None else None
        deadline = time.monotonic() + timeout
        try:
            with self._lock:
                while self._running and not (cancel is not None and cancel.is_set()):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                return self._running == 0
        finally:
            if unsubscribe is not None:
                unsubscribe()

    def _wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _retire(self, count: int) -> None:
        if count <= 0:
            return
        with self._lock:
            self._running -= count
            if self._running == 0:
                self.idle.set()
                self._lock.notify_all()

    def _run(self, target: Callable[[], None]) -> None:
        try:
            target()
        finally:
            self._retire(1)
