"""Resend Policy 'Send Only To Unsent': remember who was queued, skip them on a rerun.

A rerun of a task instance may land on another agent of a cluster, so the
memory lives in the Controller: the Output Only field ``resend_state`` (with
"Preserve Output On Re-run") holds a compact record, pushed while the run
goes and read back from ``fields`` on the rerun. As the contract does not
promise that preserved output reaches ``fields``, a small JSON file in the
agent's temporary directory (the CLI: ``--state-file``) is the fallback.

The record is ``1.<sha256 of the inputs>.<recipient count>.<bitmap>``: the
bitmap (zlib, then base64) has bit i set when recipient i was queued. The
hash covers what decides who gets which message, never a secret, so a
record only applies to a rerun with the very same inputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import threading
import zlib
from typing import Any, List, Mapping, Optional

from .config import TaskConfig
from .fields import RESEND_UNSENT_ONLY

VERSION = "1"
FIELD = "resend_state"
FIELD_SOURCE = "resend_state field"
FILE_SOURCE = "state file"
MAX_RECORD_CHARS = 1000000
# Longer records are kept in the state file only: the Controller's limit for an
# Output Only Text value is not documented, 4000 is a conservative guess.
FIELD_LIMIT = 4000


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


def encode(digest: str, bits: bytearray, count: int) -> str:
    packed = base64.b64encode(zlib.compress(bytes(bits), 9)).decode("ascii")
    return "{}.{}.{}.{}".format(VERSION, digest, count, packed)


def decode(record: Any, digest: str, count: int) -> Optional[bytearray]:
    """The bitmap of a record made for these inputs, else None."""
    if not isinstance(record, str) or len(record) > MAX_RECORD_CHARS:
        return None
    parts = record.strip().split(".")
    if len(parts) != 4 or parts[0] != VERSION or parts[1] != digest:
        return None
    if parts[2] != str(count):
        return None
    try:
        bits = bytearray(zlib.decompress(base64.b64decode(parts[3], validate=True)))
    except (binascii.Error, ValueError, zlib.error):
        return None
    return bits if len(bits) == _size(count) else None


def _size(count: int) -> int:
    return (count + 7) // 8


def _is_set(bits: bytearray, index: int) -> bool:
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def _set(bits: bytearray, index: int) -> None:
    bits[index >> 3] |= 0x80 >> (index & 7)


class ResendState:
    """Which recipients to skip, and the record of who has been queued so far.

    Disabled (skips nothing, records nothing) unless the policy is unsent_only.
    ``mark_queued`` may be called from any sender thread.
    """

    def __init__(
        self,
        config: TaskConfig,
        raw_fields: Any,
        state_file: Optional[str],
        log,
    ) -> None:
        self.enabled = config.resend_policy == RESEND_UNSENT_ONLY
        self.source: Optional[str] = None
        self._recipients = config.recipients
        self._count = len(config.recipients)
        self._state_file = state_file
        self._log = log
        self._lock = threading.Lock()
        # Only an enabled state pays for the index and the bitmaps.
        size = _size(self._count) if self.enabled else 0
        self._index = (
            {to: i for i, to in enumerate(config.recipients)} if self.enabled else {}
        )
        self._digest = fingerprint(config) if self.enabled else ""
        self._earlier = bytearray(size)
        self._bits = bytearray(size)
        self._file_warned = False
        self._long_noted = False
        if self.enabled:
            self._load(raw_fields)

    # -- reading ------------------------------------------------------------
    def _load(self, raw_fields: Any) -> None:
        raw = raw_fields.get(FIELD) if isinstance(raw_fields, Mapping) else None
        bits = decode(raw, self._digest, self._count)
        if bits is not None:
            self.source = FIELD_SOURCE
        else:
            if raw:
                self._log.info(
                    "Resend Policy: the Resend State field does not match these "
                    "inputs; looking for the state file."
                )
            bits = self._read_file()
            if bits is not None:
                self.source = FILE_SOURCE
        if bits is None:
            self._log.warning(
                "Resend Policy 'Send Only To Unsent': no record of an earlier run "
                "with these inputs was found; sending to all %d recipient(s).",
                self._count,
            )
            return
        self._earlier = bits
        self._bits = bytearray(bits)
        self._log.info(
            "Resend Policy 'Send Only To Unsent': %d recipient(s) were queued by an "
            "earlier run (record from the %s) and are skipped.",
            len(self.skipped_indices()),
            self.source,
        )

    def _read_file(self) -> Optional[bytearray]:
        path = self._state_file
        if not path or not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as exc:
            self._log.warning(
                "Resend Policy: cannot read the state file %s (%s).",
                path,
                type(exc).__name__,
            )
            return None
        record = document.get(FIELD) if isinstance(document, dict) else None
        bits = decode(record, self._digest, self._count)
        if bits is None:
            self._log.info(
                "Resend Policy: the state file %s is for other inputs; ignored.", path
            )
        return bits

    # -- the run ------------------------------------------------------------
    def skipped_indices(self) -> List[int]:
        if not self.enabled:
            return []
        return [i for i in range(self._count) if _is_set(self._earlier, i)]

    def mark_queued(self, to: str) -> None:
        if not self.enabled:
            return
        index = self._index.get(to)
        if index is None:
            return
        with self._lock:
            _set(self._bits, index)

    def record(self) -> Optional[str]:
        """The current record for the Resend State field; None when disabled."""
        if not self.enabled:
            return None
        with self._lock:
            bits = bytearray(self._bits)
        record = encode(self._digest, bits, self._count)
        if len(record) > FIELD_LIMIT and not self._long_noted:
            self._long_noted = True
            self._log.info(
                "Resend Policy: the record (%d characters) is too long for the "
                "Resend State field; it is kept in the state file only.",
                len(record),
            )
        return record

    def save(self, record: Optional[str]) -> None:
        """Write the fallback file atomically; a failure is a warning, once."""
        if not self.enabled or record is None or not self._state_file:
            return
        path = self._state_file
        try:
            handle, temporary = tempfile.mkstemp(
                prefix=os.path.basename(path) + ".",
                suffix=".tmp",
                dir=os.path.dirname(os.path.abspath(path)),
            )
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"version": 1, FIELD: record}, stream)
            os.replace(temporary, path)
        except OSError as exc:
            if not self._file_warned:
                self._file_warned = True
                self._log.warning(
                    "Resend Policy: cannot write the state file %s (%s).",
                    path,
                    type(exc).__name__,
                )
