"""Live progress for the Controller: Output Only values, at most once a second.

The front end hands the Task one callback; it receives a :class:`Snapshot`
(``queued``, ``failed``, ``total`` ... and ``output_fields()`` for
``ui.update_output_fields``) at most once per INTERVAL while the task runs,
and once more, marked final, at the end. A failing callback never fails
the task: progress is a courtesy, the Extension Output is the record.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from ..models import Snapshot
from .logsafe import SafeLog

INTERVAL = 1.0


class LiveReporter:
    """Throttles snapshots to the callback; ``publish(final=True)`` always goes."""

    def __init__(
        self,
        callback: Optional[Callable[[Snapshot], None]],
        log: SafeLog,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        on_publish: Optional[Callable[[Snapshot], None]] = None,
    ) -> None:
        self._callback = callback
        self._log = log
        self._interval = interval
        self._clock = clock
        self._on_publish = on_publish
        self._last: Optional[float] = None
        self._failed_once = False

    def offer(self, make: Callable[[], Snapshot]) -> None:
        """Publish ``make()`` unless the last publication is under INTERVAL old."""
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        self._deliver(make())

    def publish_final(self, snapshot: Snapshot) -> None:
        snapshot.final = True
        self._last = self._clock()
        self._deliver(snapshot)

    def _deliver(self, snapshot: Snapshot) -> None:
        if self._on_publish is not None:
            self._on_publish(snapshot)
        if self._callback is None:
            return
        try:
            self._callback(snapshot)
        except Exception as exc:  # noqa: BLE001 - progress must not fail the task
            if not self._failed_once:
                self._failed_once = True
                self._log.warning(
                    "Progress update failed (%s); the task goes on.",
                    type(exc).__name__,
                )
