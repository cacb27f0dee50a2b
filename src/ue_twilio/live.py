"""Live progress for the Controller: Output Only values, at most once a second.

The front end hands the Task one callback; it receives a :class:`Snapshot`
(``queued``, ``failed``, ``total`` ... and ``output_fields()`` for
``ui.update_output_fields``) at most once per INTERVAL while the task runs,
and once more, marked final, at the end. A failing callback never fails
the task: progress is a courtesy, the Extension Output is the record.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

from .resend import FIELD_LIMIT

INTERVAL = 1.0


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


class LiveReporter:
    """Throttles snapshots to the callback; ``publish(final=True)`` always goes."""

    def __init__(
        self,
        callback: Optional[Callable[[Snapshot], None]],
        log,
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
