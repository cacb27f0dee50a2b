"""The Controller's copy of the ledger: the Output Only field ``resend_state``.

A rerun may land on another agent of a cluster, so the record also lives in
the Controller ("Preserve Output On Re-run"): ``3.<since>.<queued>.<in
flight>``, base64 of KEY_BYTES-byte keys; since: the earliest in-flight
moment on Twilio's clock, 0 if none. It holds what fits in FIELD_LIMIT
characters, in-flight recipients first, then queued ones; when it cannot
hold everything the task says so (the state file holds it all). Who
acknowledged a page is in the state file only (an acknowledged recipient is
queued here all the same).
"""

from __future__ import annotations

import base64
import binascii
from typing import Callable, Dict, List, Tuple

from ..models import FIELD_LIMIT
from .book import KEY_BYTES, SENT, Book
from .journal import ACKNOWLEDGED, QUEUED, Value, is_epoch

FIELD = "resend_state"
VERSION = "3"
ROOM = (FIELD_LIMIT - 40) // 8  # keys that fit: base64 takes 8 characters a key


def encode(book: Book, since: Callable[[], float]) -> Tuple[str, int]:
    """(the field's value, how many recipients known it leaves out)."""
    flying = book.flying()
    queued = book.positions(SENT)
    left_out = max(len(flying) + len(queued) - ROOM, 0)
    flying = flying[:ROOM]
    queued = queued[: ROOM - len(flying)]
    moment = int(since()) if flying else 0
    parts = [VERSION, str(max(moment, 0)), book.pack(queued), book.pack(flying)]
    return ".".join(parts), left_out


def merge(raw: str, entries: Dict[str, Value]) -> bool:
    """``3.<since>.<queued>.<in flight>`` merged into ``entries``; False when
    it cannot be read."""
    parts = raw.strip().split(".")
    if len(parts) != 4 or not is_epoch(parts[1]):
        return False
    try:
        queued = base64.b64decode(parts[2], validate=True)
        flying = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(queued) % KEY_BYTES or len(flying) % KEY_BYTES:
        return False
    since = float(parts[1])
    for key in _keys(flying):
        previous = entries.get(key)
        if previous not in (QUEUED, ACKNOWLEDGED):
            moment = min(previous[0], since) if isinstance(previous, tuple) else since
            entries[key] = (moment, True)
    for key in _keys(queued):
        if entries.get(key) != ACKNOWLEDGED:
            entries[key] = QUEUED
    return True


def _keys(raw: bytes) -> List[str]:
    return [raw[i : i + KEY_BYTES].hex() for i in range(0, len(raw), KEY_BYTES)]
