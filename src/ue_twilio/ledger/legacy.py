"""The previous releases' records, still read: one bitmap per state.

``2.<sha256 of the inputs>.<count>.<since>.<queued>.<unknown>`` (and
``1.<sha256>.<count>.<queued>``): bitmaps (zlib, then base64) with bit i set
when recipient i of that very recipient list was queued, or its outcome
unknown. They were kept in the ``resend_state`` field and in a JSON state
file ``{"format": "ue-twilio-resend-state", "version": 2, "resend_state":
...}``. A rerun converts such a record to the journal (state.py) when the
inputs still match; anything else in it is ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import zlib
from typing import Any, Dict, NamedTuple, Optional

from ..inputs.config import TaskConfig
from .book import Book
from .journal import QUEUED, Value, is_epoch

VERSION = "2"
FORMAT = "ue-twilio-resend-state"
FIELD = "resend_state"
MAX_RECORD_CHARS = 1000000


class Record(NamedTuple):
    queued: bytearray
    unknown: bytearray
    since: Optional[float]


def fingerprint(config: TaskConfig) -> str:
    """sha256 over the inputs that decide what is sent to whom (no secrets)."""
    inputs = {
        "account_sid": config.account_sid,
        "action": config.action,
        "sender": config.sender,
        "recipients": config.recipients,
        "message": config.message,
        "content_sid": config.content_sid,
        "content_variables": config.content_variables,
        "answer_timeout": config.answer_timeout,
        "call_max_duration": config.call_max_duration,
    }
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pack(bits: bytearray) -> str:
    return base64.b64encode(zlib.compress(bytes(bits), 9)).decode("ascii")


def _unpack(text: str, count: int) -> Optional[bytearray]:
    try:
        bits = bytearray(zlib.decompress(base64.b64decode(text, validate=True)))
    except (binascii.Error, ValueError, zlib.error):
        return None
    return bits if len(bits) == _size(count) else None


def encode(
    digest: str,
    bits: bytearray,
    count: int,
    unknown: Optional[bytearray] = None,
    since: Optional[float] = None,
) -> str:
    unknown = unknown if unknown is not None else bytearray(_size(count))
    stamp = int(math.floor(since)) if since and any(unknown) else 0
    return ".".join(
        [VERSION, digest, str(count), str(stamp), _pack(bits), _pack(unknown)]
    )


def decode(record: Any, digest: str, count: int) -> Optional[Record]:
    """The bitmaps of a record made for these inputs, else None."""
    if not isinstance(record, str) or len(record) > MAX_RECORD_CHARS:
        return None
    parts = record.strip().split(".")
    if len(parts) < 4 or parts[1] != digest or parts[2] != str(count):
        return None
    if parts[0] == "1" and len(parts) == 4:
        queued = _unpack(parts[3], count)
        empty = bytearray(_size(count))
        return Record(queued, empty, None) if queued is not None else None
    if parts[0] != VERSION or len(parts) != 6 or not is_epoch(parts[3]):
        return None
    queued, unknown = _unpack(parts[4], count), _unpack(parts[5], count)
    if queued is None or unknown is None:
        return None
    since = float(parts[3]) if int(parts[3]) and any(unknown) else None
    return Record(queued, unknown, since)


def _size(count: int) -> int:
    return (count + 7) // 8


def is_set(bits: bytearray, index: int) -> bool:
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def file_record(text: str) -> Any:
    """The record a previous release's state file holds (maybe for other
    inputs), or None when the JSON is not such a file."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get(FIELD), str):
        return None
    if document.get("format") == FORMAT and document.get("version") == 2:
        return document[FIELD]
    if set(document) == {"version", FIELD} and document["version"] == 1:
        return document[FIELD]
    return None


def merge(
    record: Any,
    config: TaskConfig,
    book: Book,
    started: float,
    entries: Dict[str, Value],
) -> bool:
    """A previous release's bitmaps into ``entries`` (in flight since
    ``started`` when they say no time); False when they are for other inputs
    (they hold only for the very same list)."""
    found = decode(record, fingerprint(config), len(book.state))
    if found is None:
        return False
    since = found.since or started
    for i in range(len(book.state)):
        key = book.key(i)
        if is_set(found.queued, i):
            entries[key] = QUEUED
        elif is_set(found.unknown, i) and key not in entries:
            entries[key] = (since, False)
    return True
