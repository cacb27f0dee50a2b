"""Fault injection: live settings, one-shot scripted faults, the concurrency gate.

``Faults`` is a plain mutable object read on every request, so a test can change
latency or the concurrency cap while the server runs. Scripted faults are a
queue consumed by create requests (POST Messages/Calls) in arrival order.
"""

from __future__ import annotations

import collections
import random
import threading
from dataclasses import dataclass
from typing import Deque

# Scripted fault kinds, and whether the resource is created despite the fault:
#   reset_before    dropped before processing: the connection is closed (TCP
#                   reset) with no reply, nothing is created
#   reset_after     created, then the connection is closed with no reply
#   stall           waits stall_seconds, then creates and answers 201
#   lost_body       created; 201 status line and headers (Content-Length of the
#                   full body) and half the body are sent, then the connection
#                   is closed: the client sees the body cut mid-way
#   stall_body      created; 201, headers and half the body are sent, then the
#                   server stalls stall_seconds before closing: a client read
#                   timeout fires mid-body
#   malformed_json  created; the 201 body is truncated JSON (complete message)
#   html_error      nothing created; 502 with an HTML page (a proxy's answer)
#   no_sid          created; the 201 body lacks "sid"
#   huge_body       created; the 201 body is padded beyond 10 MB
#   http_500/503    nothing created; 500/20500 or 503/20503
#   rate_limited    nothing created; 429/20429
FAULT_KINDS = {
    "reset_before": False,
    "reset_after": True,
    "stall": True,
    "lost_body": True,
    "stall_body": True,
    "malformed_json": True,
    "html_error": False,
    "no_sid": True,
    "huge_body": True,
    "http_500": False,
    "http_503": False,
    "rate_limited": False,
}
# The kinds that create nothing also fit a read: they are what
# ``Sandbox.script_next_pages`` gives later pages of a list.
PAGE_FAULT_KINDS = tuple(kind for kind, created in FAULT_KINDS.items() if not created)
# Faults that cut a 201 answer mid-body (see Response.cut in app.py).
BODY_CUTS = ("lost_body", "stall_body")


@dataclass
class Faults:
    """Settings read live by the request handlers.

    latency + uniform(0, jitter) seconds are slept before an admitted request is
    processed; concurrency_cap bounds requests in flight (beyond it: 429/20429,
    with ``Retry-After: retry_after`` unless None); error_rate is the share of
    creates answered 500 or 503 without creating anything; forbidden answers
    every authenticated request 403/20403; stall_seconds is how long a
    scripted "stall" waits before answering and a "stall_body" waits
    mid-body before closing (both cut short when the server stops).
    """

    latency: float = 0.0
    jitter: float = 0.0
    concurrency_cap: int | None = None
    retry_after: int | float | str | None = None
    error_rate: float = 0.0
    forbidden: bool = False
    stall_seconds: float = 30.0

    def delay(self) -> float:
        """Seconds to wait before processing one admitted request."""
        if self.jitter <= 0:
            return max(self.latency, 0.0)
        return max(self.latency, 0.0) + random.uniform(0.0, self.jitter)  # noqa: S311

    def roll_error(self) -> int | None:
        """500 or 503 for the share ``error_rate`` of calls, else None."""
        if self.error_rate > 0 and random.random() < self.error_rate:  # noqa: S311
            return random.choice((500, 503))  # noqa: S311
        return None


class FaultScript:
    """FIFO of scripted fault kinds for the next requests of one sort
    (creates; or later pages of a list, with ``kinds`` PAGE_FAULT_KINDS)."""

    def __init__(self, kinds=tuple(FAULT_KINDS)) -> None:
        self._kinds = kinds
        self._lock = threading.Lock()
        self._queue: Deque[str] = collections.deque()

    def add(self, kind: str, count: int = 1) -> None:
        if kind not in self._kinds:
            raise ValueError(
                f"unknown fault kind {kind!r}; one of {sorted(self._kinds)}"
            )
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            self._queue.extend([kind] * count)

    def take(self) -> str | None:
        if not self._queue:
            return None
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


class Gate:
    """Counts requests in flight; refuses entry beyond the current cap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def enter(self, cap: int | None) -> bool:
        with self._lock:
            if cap is not None and self.in_flight >= cap:
                return False
            self.in_flight += 1
            if self.in_flight > self.max_in_flight:
                self.max_in_flight = self.in_flight
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def reset_peak(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight
