"""Resend Policy 'Send Only To Unsent': remember who was queued, skip them on a rerun.

A rerun of a task instance may land on another agent of a cluster, so the
memory lives in the Controller: the Output Only field ``resend_state`` (with
"Preserve Output On Re-run") holds a compact record, pushed while the run
goes and read back from ``fields`` on the rerun. As the contract does not
promise that preserved output reaches ``fields``, a small JSON file in the
agent's temporary directory (the CLI: ``--state-file``) is the fallback.

The record is ``2.<sha256 of the inputs>.<count>.<since>.<queued>.<unknown>``:
two bitmaps (zlib, then base64) with bit i set when recipient i was queued,
or when its outcome is unknown (the request may have reached Twilio);
``since`` is the earliest start (epoch seconds) of the runs that recorded
unknowns, 0 when there are none. Records of the previous release
(``1.<sha256>.<count>.<queued>``) are still read. The hash covers what decides
who gets which message, never a secret, so a record only applies to a rerun
with the very same inputs.

The state file is ``{"format": "ue-twilio-resend-state", "version": 2,
"resend_state": <record>}`` (or the previous release's ``{"version": 1,
"resend_state": ...}``); an empty (0-byte) file holds no record yet and may be
written. Anything else is not ours and is never written (exit 20). The whole
run holds an exclusive lock on ``<state file>.lock``, so two runs never send
from the same record; writes are atomic (temporary file + ``os.replace``) and
happen at most every SAVE_INTERVAL seconds while recipients are queued, plus a
final one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import tempfile
import threading
import time
import zlib
from typing import Any, Callable, List, Mapping, NamedTuple, Optional

from ..exceptions import Cancelled, StateFileBusy, ValidationError
from ..inputs.config import TaskConfig
from ..inputs.fields import RESEND_UNSENT_ONLY
from ..inputs.files import read_regular_file, show_path
from ..models import FIELD_LIMIT
from .lock import FileLock

VERSION = "2"
FORMAT = "ue-twilio-resend-state"
FIELD = "resend_state"
FIELD_SOURCE = "resend_state field"
FILE_SOURCE = "state file"
MAX_RECORD_CHARS = 1000000
MAX_STATE_BYTES = 2 * 1000 * 1000  # a record for 100,000 recipients is < 30 kB
SAVE_INTERVAL = 0.5
# Longer records are kept in the state file only: the Controller's limit for an
# Output Only Text value is not documented, 4000 is a conservative guess.


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
    if parts[0] != VERSION or len(parts) != 6 or not parts[3].isdigit():
        return None
    queued, unknown = _unpack(parts[4], count), _unpack(parts[5], count)
    if queued is None or unknown is None:
        return None
    since = float(parts[3]) if int(parts[3]) and any(unknown) else None
    return Record(queued, unknown, since)


def _size(count: int) -> int:
    return (count + 7) // 8


def _is_set(bits: bytearray, index: int) -> bool:
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def _set(bits: bytearray, index: int) -> None:
    bits[index >> 3] |= 0x80 >> (index & 7)


def _clear(bits: bytearray, index: int) -> None:
    bits[index >> 3] &= ~(0x80 >> (index & 7)) & 0xFF


def _indices(bits: bytearray, count: int) -> List[int]:
    return [i for i in range(count) if _is_set(bits, i)]


class ResendState:
    """Which recipients to skip or reconcile, and the record of this run.

    Disabled (skips nothing, records nothing, locks nothing) unless the policy
    is unsent_only. With a state file, construction takes its lock (raising
    StateFileBusy when another run keeps it past ``lock_timeout``, or
    ValidationError naming ``label`` when the file is not ours) and
    :meth:`close` writes the final record and releases it. ``mark_*`` may be
    called from any sender thread.
    """

    def __init__(
        self,
        config: TaskConfig,
        raw_fields: Any,
        state_file: Optional[str],
        log,
        label: str = "State File",
        lock_timeout: float = 10.0,
        cancelled: Optional[Callable[[], bool]] = None,
    ) -> None:
        self.enabled = config.resend_policy == RESEND_UNSENT_ONLY
        self.source: Optional[str] = None
        self.started = time.time()
        self._count = len(config.recipients)
        self._state_file = state_file if self.enabled else None
        self._label = label
        self._log = log
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._saved: Optional[str] = None
        self._last_save = 0.0
        # Only an enabled state pays for the index and the bitmaps.
        size = _size(self._count) if self.enabled else 0
        self._index = (
            {to: i for i, to in enumerate(config.recipients)} if self.enabled else {}
        )
        self._digest = fingerprint(config) if self.enabled else ""
        self._earlier = Record(bytearray(size), bytearray(size), None)
        self._bits = bytearray(size)
        self._unknown = bytearray(size)
        self._since: Optional[float] = None
        self._file_warned = False
        self._long_noted = False
        self._file_lock: Optional[FileLock] = None
        self._closed = False
        if not self.enabled:
            return
        if self._state_file:
            self._lock_file(lock_timeout, cancelled)
        try:
            self._load(raw_fields, cancelled)
        except BaseException:
            self.close(save=False)
            raise

    # -- the lock -----------------------------------------------------------
    def _lock_file(self, timeout: float, cancelled) -> None:
        path = self._state_file or ""
        lock = FileLock(path + ".lock", self._label)
        if not lock.acquire(timeout, cancelled):
            if cancelled is not None and cancelled():
                raise Cancelled()
            raise StateFileBusy(
                "Another run is using the state file {} ({}); waited {:g} s. "
                "Nothing was sent.".format(show_path(path), self._label, timeout)
            )
        self._file_lock = lock

    def close(self, save: bool = True) -> None:
        """Write the final record and release the state file; idempotent."""
        if save and self.enabled:
            self.save(self.record())
        with self._save_lock:  # a late sender thread must not write after this
            self._closed = True
        lock, self._file_lock = self._file_lock, None
        if lock is not None:
            lock.release()

    # -- reading ------------------------------------------------------------
    def _load(self, raw_fields: Any, cancelled) -> None:
        stored = self._read_file(cancelled)  # even when unused: is it ours?
        raw = raw_fields.get(FIELD) if isinstance(raw_fields, Mapping) else None
        record = decode(raw, self._digest, self._count)
        if record is not None:
            self.source = FIELD_SOURCE
        else:
            if raw:
                self._log.info(
                    "Resend Policy: the Resend State field does not match these "
                    "inputs; looking for the state file."
                )
            record = decode(stored, self._digest, self._count)
            if record is not None:
                self.source = FILE_SOURCE
            elif stored is not None:
                self._log.info(
                    "Resend Policy: the state file %s is for other inputs; ignored.",
                    self._state_file,
                )
        if record is None:
            self._log.warning(
                "Resend Policy 'Send Only To Unsent': no record of an earlier run "
                "with these inputs was found; sending to all %d recipient(s).",
                self._count,
            )
            return
        self._earlier = record
        self._bits = bytearray(record.queued)
        self._unknown = bytearray(record.unknown)
        self._since = record.since
        self._log.info(
            "Resend Policy 'Send Only To Unsent': %d recipient(s) were queued by an "
            "earlier run (record from the %s) and are skipped.",
            len(self.skipped_indices()),
            self.source,
        )
        if any(record.unknown):
            self._log.warning(
                "Resend Policy: %d recipient(s) have an unknown outcome from an "
                "earlier run.",
                len(self.unknown_indices()),
            )

    def _read_file(self, cancelled) -> Optional[str]:
        """The record the file holds, if any; ValidationError if not ours."""
        path = self._state_file
        if not path or not os.path.lexists(path):
            return None
        data = read_regular_file(path, self._label, MAX_STATE_BYTES, cancelled)
        if not data:
            return None  # 0 bytes: created for us (touch, mktemp), no record yet
        record = _record_of(data)
        if record is _NOT_OURS:
            raise ValidationError(
                self._label,
                "{} is not a ue-twilio resend state file; it is left untouched "
                "(move it away or choose another path).".format(show_path(path)),
            )
        return record

    # -- the run ------------------------------------------------------------
    def skipped_indices(self) -> List[int]:
        """Recipients queued by an earlier run."""
        if not self.enabled:
            return []
        return _indices(self._earlier.queued, self._count)

    def unknown_indices(self) -> List[int]:
        """Recipients an earlier run recorded as unknown (not in skipped)."""
        if not self.enabled:
            return []
        unknown = _indices(self._earlier.unknown, self._count)
        return [i for i in unknown if not _is_set(self._earlier.queued, i)]

    @property
    def unknown_since(self) -> Optional[float]:
        """Epoch seconds: the earliest start of the runs whose unknowns are
        recorded; a reconciliation looks for messages created from then on."""
        return self._earlier.since if self.unknown_indices() else None

    def mark_queued(self, to: str) -> None:
        self._mark(to, queued=True, unknown=False)

    def mark_unknown(self, to: str) -> None:
        """The request may have reached Twilio: never resend without a lookup."""
        self._mark(to, queued=False, unknown=True)

    def mark_unsent(self, to: str) -> None:
        """Forget ``to``: e.g. an unknown that a lookup proved was never created."""
        self._mark(to, queued=False, unknown=False)

    def _mark(self, to: str, queued: bool, unknown: bool) -> None:
        if not self.enabled or self._closed:
            return
        index = self._index.get(to)
        if index is None:
            return
        with self._lock:
            (_set if queued else _clear)(self._bits, index)
            (_set if unknown else _clear)(self._unknown, index)
            if unknown:
                self._since = min(self._since or self.started, self.started)
        if self._state_file and time.monotonic() - self._last_save >= SAVE_INTERVAL:
            self.save(self.record(), wait=False)

    def record(self) -> Optional[str]:
        """The current record for the Resend State field; None when disabled."""
        if not self.enabled:
            return None
        with self._lock:
            bits, unknown = bytearray(self._bits), bytearray(self._unknown)
            since = self._since
        record = encode(self._digest, bits, self._count, unknown, since)
        if len(record) > FIELD_LIMIT and not self._long_noted:
            self._long_noted = True
            self._log.info(
                "Resend Policy: the record (%d characters) is too long for the "
                "Resend State field; it is kept in the state file only.",
                len(record),
            )
        return record

    def save(self, record: Optional[str], wait: bool = True) -> None:
        """Write the state file atomically; a failure is a warning, once.

        ``wait=False`` (a sender thread) skips the write while another one is
        under way: the next write, at the latest the final one, catches up.
        """
        if not self.enabled or record is None or not self._state_file:
            return
        if not self._save_lock.acquire(wait):
            return
        try:
            if record != self._saved and not self._closed:
                self._last_save = time.monotonic()
                self._write(record)
                self._saved = record
        except OSError as exc:
            if not self._file_warned:
                self._file_warned = True
                self._log.warning(
                    "Resend Policy: cannot write the state file %s (%s).",
                    self._state_file,
                    type(exc).__name__,
                )
        finally:
            self._save_lock.release()

    def _write(self, record: str) -> None:
        path = self._state_file or ""
        handle, temporary = tempfile.mkstemp(
            prefix=os.path.basename(path) + ".",
            suffix=".tmp",
            dir=os.path.dirname(os.path.abspath(path)),
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"format": FORMAT, "version": 2, FIELD: record}, stream)
            os.replace(temporary, path)
        except BaseException:
            _remove_quietly(temporary)
            raise


_NOT_OURS = object()


def _record_of(data: bytes) -> Any:
    """The record a state file holds (maybe for other inputs), or _NOT_OURS."""
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return _NOT_OURS
    if not isinstance(document, dict) or not isinstance(document.get(FIELD), str):
        return _NOT_OURS
    if document.get("format") == FORMAT and document.get("version") == 2:
        return document[FIELD]
    if set(document) == {"version", FIELD} and document["version"] == 1:
        return document[FIELD]  # written by the previous release
    return _NOT_OURS


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
