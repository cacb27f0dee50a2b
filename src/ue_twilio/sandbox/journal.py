"""The journal: what actually reached the sandbox, for tests to assert on.

An entry is appended when a request has been read (so the list is in arrival
order) and completed (status, created_sid) just before the answer is written,
so a client that got its answer always finds its entry complete.
``status`` is None while the request is in flight and 0 when the connection was
closed without an answer (scripted resets, server stopping).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Dict, List

HIDDEN_HEADERS = ("authorization", "proxy-authorization")


@dataclasses.dataclass
class JournalEntry:
    method: str
    path: str
    params: Dict[str, List[str]]
    auth_user: str | None
    headers: Dict[str, str]
    time: float
    status: int | None = None
    created_sid: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def safe_headers(items) -> Dict[str, str]:
    """Request headers without credentials: the journal may be dumped or printed."""
    return {k: v for k, v in items if k.lower() not in HIDDEN_HEADERS}


class Journal:
    """Thread-safe append-only list of JournalEntry."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._entries: List[JournalEntry] = []

    def append(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> List[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def dump(self, path: str) -> int:
        """Write the entries as JSON Lines; returns how many were written."""
        entries = self.entries()
        with open(path, "w", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(entry.to_dict(), sort_keys=True) + "\n")
        return len(entries)
