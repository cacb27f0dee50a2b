"""Resend Policy 'Send Only To Unsent': a per-recipient ledger, written ahead.

A recipient's fate is keyed by what makes a send the same send: account,
action, sender, the message (body; Content SID + variables; the voice
options) and the recipient (:func:`recipient_key`, 12 hex digits of a
sha256: the record holds no number and no text). Before a request for a
recipient leaves, its intent is journaled; after the answer, its outcome
(journal.py has the format). So a run killed at any instant leaves every
recipient whose request may have left "in flight", and the next run looks
those up at Twilio (as it does lost answers) before it sends anything.

Because the key does not depend on the list, a rerun after numbers were
added, removed, reordered or fixed sends only to recipients with no queued
entry for the same message; a changed message is a new message.

A rerun may land on another agent of a cluster, so a copy lives in the
Controller: the Output Only field ``resend_state`` ("Preserve Output On
Re-run"), ``3.<since>.<queued>.<in flight>`` (base64 of 6-byte keys; since:
the earliest in-flight moment on Twilio's clock, 0 if none), pushed with the
live progress and read back from ``fields``. It holds what fits in
FIELD_LIMIT characters, in-flight recipients first, and says so when it
cannot hold everything. Both sources are merged. The previous releases'
records are read (legacy.py).

The whole run holds an exclusive lock on ``<real path>.lock``; symlinks are
resolved first, so two paths to one file share one lock, and the file is
always replaced at its real path (a symlink stays a symlink).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ..exceptions import Cancelled, StateFileBusy, ValidationError
from ..inputs.config import TaskConfig
from ..inputs.fields import RESEND_UNSENT_ONLY
from ..inputs.files import show_path
from ..models import FIELD_LIMIT, TwilioClock
from . import journal, legacy, place
from .journal import QUEUED, InFlight, Value
from .lock import FileLock

FIELD = "resend_state"
FIELD_SOURCE = "resend_state field"
FILE_SOURCE = "state file"
FIELD_VERSION = "3"
KEY_BYTES = 6  # in the field: 2**48 keys, about 500 fit in FIELD_LIMIT
# Recipient states while a run goes (one byte each).
NONE, SENT, EARLIER, FLYING = 0, 1, 2, 3


def message_digest(config: TaskConfig) -> str:
    """What makes a send the same send, but the recipient (no secrets)."""
    if config.is_voice:
        message: Any = [
            config.message,
            config.voice_name,
            config.voice_language,
            config.voice_repeat,
            config.answering_machine,
            config.answer_timeout,
            config.call_max_duration,
        ]
    elif config.content_sid is not None:
        message = [config.content_sid, config.content_variables]
    else:
        message = config.message
    inputs = [config.account_sid, config.action, config.sender, message]
    text = json.dumps(inputs, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recipient_key(digest: str, to: str) -> str:
    return hashlib.sha256((digest + "|" + to).encode("utf-8")).hexdigest()[:12]


class ResendState:
    """Which recipients to skip or look up, and the journal of this run.

    Disabled (skips nothing, records nothing, locks nothing) unless the policy
    is unsent_only. With a state file, construction takes its lock (raising
    StateFileBusy when another run keeps it past ``lock_timeout``, or
    ValidationError naming ``label`` when the file is not ours) and
    :meth:`close` compacts it and releases it. Any sender thread may call
    :meth:`intent` and the ``mark_*`` methods.
    """

    def __init__(
        self,
        config: TaskConfig,
        raw_fields: Any,
        state_file: Optional[str],
        log: Any,
        label: str = "State File",
        lock_timeout: float = 10.0,
        cancelled: Optional[Callable[[], bool]] = None,
        private: bool = False,
        required: bool = False,
    ) -> None:
        self.enabled = config.resend_policy == RESEND_UNSENT_ONLY
        if self.enabled and required and not state_file:
            raise ValidationError(
                "Resend Policy",
                "'unsent_only' needs a state file to remember whom it sent to: "
                "add --state-file FILE (the same file on every rerun).",
            )
        if self.enabled and private and state_file:
            place.ensure_private(state_file, label)
        self.source: Optional[str] = None
        self.started = time.time()
        self.clock = TwilioClock()
        self._config = config
        self._count = len(config.recipients)
        self._path = (
            os.path.realpath(state_file) if state_file and self.enabled else None
        )
        self._label = label
        self._log = log
        self._lock = threading.Lock()
        self._digest = message_digest(config) if self.enabled else ""
        self._index: Dict[str, int] = (
            {to: i for i, to in enumerate(config.recipients)} if self.enabled else {}
        )
        self._state = bytearray(self._count if self.enabled else 0)
        self._earlier: Dict[int, InFlight] = {}
        self._others: Dict[str, Value] = {}
        self._appender: Optional[journal.Appender] = None
        self._file_lock: Optional[FileLock] = None
        self._clock_written = False
        self._version = 0
        self._record: Tuple[int, Optional[str]] = (-1, None)
        self._long_noted = False
        self._warned = False
        self._closed = False
        if not self.enabled:
            return
        if self._path:
            self._lock_file(lock_timeout, cancelled)
        try:
            self._load(raw_fields, cancelled)
        except BaseException:
            self.close(save=False)
            raise

    # -- the lock -----------------------------------------------------------
    def _lock_file(
        self, timeout: float, cancelled: Optional[Callable[[], bool]]
    ) -> None:
        path = self._path or ""
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
        """Compact the journal and release the state file; idempotent."""
        with self._lock:
            closed, self._closed = self._closed, True
        appender, self._appender = self._appender, None
        if appender is not None:
            appender.close()
            if save and not closed:
                self._compact()
        lock, self._file_lock = self._file_lock, None
        if lock is not None:
            lock.release()

    # -- reading ------------------------------------------------------------
    def _load(self, raw_fields: Any, cancelled: Optional[Callable[[], bool]]) -> None:
        loaded = journal.Loaded("missing", {})
        if self._path:
            loaded = journal.load(self._path, self._label, cancelled)
        entries = loaded.entries
        if loaded.kind == "legacy":
            record = legacy.file_record(loaded.text)
            if record is None:
                raise journal.not_ours(self._path or "", self._label)
            self._from_legacy(record, entries, FILE_SOURCE)
        if self._take(entries):
            self.source = FILE_SOURCE
        elif loaded.kind in ("journal", "legacy"):
            self._log.info(
                "Resend Policy: the state file %s holds no record of this message "
                "to these recipients.",
                show_path(self._path or ""),
            )
        raw = raw_fields.get(FIELD) if isinstance(raw_fields, Mapping) else None
        field: Dict[str, Value] = {}
        if self._from_field(raw, field) and self._take(field):
            self.source = self.source or FIELD_SOURCE
        if loaded.kind == "damaged":
            self._damaged(loaded)
        self._others = entries
        if self._path:
            self._open(loaded.kind == "journal")
        self._report()

    def _from_field(self, raw: Any, entries: Dict[str, Value]) -> bool:
        """Merge the Controller's copy; False when it holds nothing for us."""
        if not isinstance(raw, str) or not raw:
            return False
        if raw.startswith(FIELD_VERSION + "."):
            merged = _merge_field(raw, entries)
            if not merged:
                self._log.info(
                    "Resend Policy: the Resend State field could not be read; ignored."
                )
            return merged
        return self._from_legacy(raw, entries, FIELD_SOURCE)

    def _from_legacy(self, record: Any, entries: Dict[str, Value], source: str) -> bool:
        """A previous release's bitmaps, valid only for the very same list."""
        found = legacy.decode(record, legacy.fingerprint(self._config), self._count)
        if found is None:
            if record is not None:
                self._log.info(
                    "Resend Policy: the %s of the previous release is for other "
                    "inputs; ignored.",
                    source,
                )
            return False
        since = found.since or self.started
        for i, to in enumerate(self._config.recipients):
            key = recipient_key(self._digest, to)
            if legacy.is_set(found.queued, i):
                entries[key] = QUEUED
            elif legacy.is_set(found.unknown, i) and key not in entries:
                entries[key] = (since, False)
        return True

    def _take(self, entries: Dict[str, Value]) -> int:
        """Move what a record says of this run's recipients out of ``entries``
        (queued wins; of two in-flight moments the earlier); how many."""
        state, earlier = self._state, self._earlier
        found = 0
        for i, to in enumerate(self._config.recipients):
            value = entries.pop(recipient_key(self._digest, to), None)
            if value is None or state[i] == SENT:
                found += value is not None
                continue
            found += 1
            if value == QUEUED:
                state[i] = SENT
                earlier.pop(i, None)
            elif isinstance(value, tuple):
                state[i] = EARLIER
                earlier[i] = min(earlier[i], value) if i in earlier else value
        return found

    def _damaged(self, loaded: journal.Loaded) -> None:
        """Lines may be lost: whoever is not shown queued is looked up first."""
        since = (loaded.since, False)
        for i in range(self._count):
            if self._state[i] == NONE:
                self._state[i] = EARLIER
                self._earlier[i] = since
            elif self._state[i] == EARLIER:
                self._earlier[i] = min(self._earlier[i], since)
        self.source = self.source or FILE_SOURCE
        self._log.warning(
            "Resend Policy: the state file %s is damaged (%s); the %d recipient(s) "
            "it does not show as queued are looked up at Twilio before anything "
            "is sent.",
            show_path(self._path or ""),
            loaded.problem,
            len(self._earlier),
        )

    def _open(self, appendable: bool) -> None:
        """Start this run's part of the journal (a fresh, compacted file
        unless the one there is a sound journal)."""
        path = self._path or ""
        try:
            if not appendable:
                journal.rewrite(path, self._lines())
            self._appender = journal.Appender(path, self._label)
            self._appender.intent("R {}".format(int(self.started)))
        except OSError as exc:
            raise ValidationError(
                self._label,
                "{} cannot be written ({}).".format(
                    show_path(path), type(exc).__name__
                ),
            ) from None

    def _report(self) -> None:
        skipped, earlier = len(self.skipped_indices()), len(self._earlier)
        if not skipped and not earlier and self.source is None:
            self._log.warning(
                "Resend Policy 'Send Only To Unsent': no record of an earlier run "
                "with this message was found; sending to all %d recipient(s).",
                self._count,
            )
            return
        self._log.info(
            "Resend Policy 'Send Only To Unsent': %d recipient(s) were queued by an "
            "earlier run with this message (record from the %s) and are skipped "
            "as already sent.",
            skipped,
            self.source,
        )
        if earlier:
            self._log.warning(
                "Resend Policy: %d recipient(s) may have been sent this message by "
                "an earlier run (in flight or unknown when it ended).",
                earlier,
            )

    # -- the run ------------------------------------------------------------
    def skipped_indices(self) -> List[int]:
        """Recipients an earlier run queued this message for."""
        if not self.enabled:
            return []
        return _positions(self._state, SENT)

    def unknown_indices(self) -> List[int]:
        """Recipients an earlier run may have sent to: look them up first."""
        if not self.enabled:
            return []
        return sorted(self._earlier)

    def unknown_since(self) -> float:
        """The earliest moment, on Twilio's clock, an earlier run's request
        for a recipient in :meth:`unknown_indices` may have been created."""
        offset = self.clock.offset or 0.0
        moments = [
            t if clocked else t + offset for t, clocked in self._earlier.values()
        ]
        return min(moments) if moments else self.clock.twilio_time(self.started)

    def intent(self, to: str) -> None:
        """A request for ``to`` leaves next: journal it first (write-ahead)."""
        index = self._index.get(to) if self.enabled else None
        if index is None or self._closed:
            return
        self._state[index] = FLYING
        self._earlier.pop(index, None)
        self._version += 1
        appender = self._appender
        if appender is not None:
            self._note_clock(appender)
            key = recipient_key(self._digest, to)
            appender.intent("I {} {}".format(key, int(time.time())))

    def mark_queued(self, to: str) -> None:
        """Twilio created it: never send this message to ``to`` again."""
        self._settle(to, SENT, "Q ")

    def mark_unknown(self, to: str) -> None:
        """The request may have reached Twilio: it stays in flight (its intent
        line says so); never resent without a lookup."""

    def mark_unsent(self, to: str) -> None:
        """Twilio surely created nothing (refused, 429, never left, or a
        lookup proved it absent): it may be sent."""
        self._settle(to, NONE, "X ")

    def _settle(self, to: str, code: int, line: str) -> None:
        index = self._index.get(to) if self.enabled else None
        if index is None or self._closed:
            return
        self._state[index] = code
        self._earlier.pop(index, None)
        self._version += 1
        appender = self._appender
        if appender is not None:
            self._note_clock(appender)
            appender.later(line + recipient_key(self._digest, to))

    def _note_clock(self, appender: journal.Appender) -> None:
        if not self._clock_written and self.clock.offset is not None:
            self._clock_written = True
            appender.later("C {:.3f}".format(self.clock.offset))

    def recorded(self, index: int) -> int:
        """What the ledger says of recipient ``index`` (NONE, SENT, EARLIER,
        FLYING): a crashed run's outcome is built from it."""
        return self._state[index] if self.enabled else NONE

    def sync(self) -> None:
        """The end of a phase: what was written reaches the disk."""
        appender = self._appender
        if appender is not None:
            appender.sync()
            self._warn_if_failed(appender)

    def save(self, record: Optional[str] = None, wait: bool = True) -> None:
        """Live progress was published: write what the journal holds back."""
        appender = self._appender
        if appender is not None:
            appender.flush()
            self._warn_if_failed(appender)

    def _warn_if_failed(self, appender: journal.Appender) -> None:
        if appender.failed is not None and not self._warned:
            self._warned = True
            self._log.warning(
                "Resend Policy: cannot write the state file %s (%s).",
                show_path(self._path or ""),
                type(appender.failed).__name__,
            )

    # -- the Controller's copy ------------------------------------------------
    def record(self) -> Optional[str]:
        """The Resend State field's value now; None when disabled."""
        if not self.enabled:
            return None
        version, cached = self._record
        if version == self._version and cached is not None:
            return cached
        version = self._version
        flying = [i for i in range(self._count) if self._state[i] in (EARLIER, FLYING)]
        queued = _positions(self._state, SENT)
        room = (FIELD_LIMIT - 40) // 8  # base64 takes 8 characters a key
        if len(flying) + len(queued) > room and not self._long_noted:
            self._long_noted = True
            self._log.info(
                "Resend Policy: the Resend State field holds %d of the %d recipients "
                "the record knows of (it is limited to %d characters); the state "
                "file holds them all.",
                room,
                len(flying) + len(queued),
                FIELD_LIMIT,
            )
        flying = flying[:room]
        queued = queued[: room - len(flying)]
        since = int(self.unknown_since()) if flying else 0
        text = ".".join(
            [FIELD_VERSION, str(max(since, 0)), self._pack(queued), self._pack(flying)]
        )
        self._record = (version, text)
        return text

    def _pack(self, indices: List[int]) -> str:
        recipients, digest = self._config.recipients, self._digest
        raw = b"".join(
            bytes.fromhex(recipient_key(digest, recipients[i]))[:KEY_BYTES]
            for i in indices
        )
        return base64.b64encode(raw).decode("ascii")

    # -- compaction -------------------------------------------------------------
    def _lines(self) -> Iterator[str]:
        """The journal's compacted lines: earlier entries, then this run's."""
        return journal.compacted_lines(self._entries())

    def _entries(self) -> Iterator[Tuple[str, Value]]:
        """(key, value) of everything known: other messages and recipients
        as read, then this run's recipients, one at a time."""
        yield from self._others.items()
        now = (self.clock.twilio_time(self.started), self.clock.offset is not None)
        recipients, state = self._config.recipients, self._state
        for i in range(self._count):
            code = state[i]
            if code == NONE:
                continue
            key = recipient_key(self._digest, recipients[i])
            if code == SENT:
                yield key, QUEUED
            else:
                yield key, self._earlier.get(i, now) if code == EARLIER else now

    def _compact(self) -> None:
        try:
            journal.rewrite(self._path or "", self._lines())
        except OSError as exc:
            if not self._warned:
                self._warned = True
                self._log.warning(
                    "Resend Policy: cannot compact the state file %s (%s); its "
                    "journal is kept as it is.",
                    show_path(self._path or ""),
                    type(exc).__name__,
                )


def _positions(state: bytearray, code: int) -> List[int]:
    found: List[int] = []
    start = 0
    needle = bytes([code])
    while True:
        start = state.find(needle, start)
        if start < 0:
            return found
        found.append(start)
        start += 1


def _merge_field(raw: str, entries: Dict[str, Value]) -> bool:
    """``3.<since>.<queued>.<in flight>`` merged into ``entries``."""
    parts = raw.strip().split(".")
    if len(parts) != 4 or not journal.is_epoch(parts[1]):
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
        if entries.get(key) != QUEUED:
            previous = entries.get(key)
            moment = min(previous[0], since) if isinstance(previous, tuple) else since
            entries[key] = (moment, True)
    for key in _keys(queued):
        entries[key] = QUEUED
    return True


def _keys(raw: bytes) -> List[str]:
    return [raw[i : i + KEY_BYTES].hex() for i in range(0, len(raw), KEY_BYTES)]
