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

import os
import threading
import time
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
)

from ..exceptions import ValidationError
from ..inputs.config import TaskConfig
from ..inputs.fields import RESEND_UNSENT_ONLY
from ..inputs.files import show_path
from ..models import FIELD_LIMIT, TwilioClock
from . import field, journal, legacy, place
from .book import EARLIER, FLYING, NONE, SENT, Book, message_digest, recipient_key
from .journal import Value
from .lock import FileLock, lock_state_file
from .writer import Writer

__all__ = [
    "EARLIER",
    "FLYING",
    "NONE",
    "SENT",
    "ResendState",
    "StateFile",
    "message_digest",
    "recipient_key",
]

FIELD = field.FIELD
FIELD_SOURCE = "resend_state field"
FILE_SOURCE = "state file"


class StateFile(NamedTuple):
    """Where the record lives and how it is guarded: ``path`` (None: only
    the Resend State field), the field ``label`` errors name, how long to
    wait for another run's lock, the cancel that ends that wait, whether its
    directory must be private (the agent's default) and whether a path is
    required (the CLI)."""

    path: Optional[str] = None
    label: str = "State File"
    lock_timeout: float = 10.0
    cancelled: Optional[Callable[[], bool]] = None
    private: bool = False
    required: bool = False


NO_FILE = StateFile()


class ResendState:
    """Which recipients to skip or look up, and the journal of this run.

    Disabled (skips nothing, records nothing, locks nothing) unless the policy
    is unsent_only. With a state file, construction takes its lock (raising
    StateFileBusy when another run keeps it past ``lock_timeout``, or
    ValidationError naming ``label`` when the file is not ours) and
    :meth:`close` compacts it and releases it. Any sender thread may call
    :meth:`intent` and the ``mark_*`` methods. What it knows of each
    recipient is a :class:`book.Book`; the Controller's copy is field.py.
    """

    def __init__(
        self,
        config: TaskConfig,
        raw_fields: Any,
        log: Any,
        where: StateFile = NO_FILE,
    ) -> None:
        self.enabled = config.resend_policy == RESEND_UNSENT_ONLY
        state_file = where.path if self.enabled else None
        if self.enabled and where.required and not state_file:
            raise ValidationError(
                "Resend Policy",
                "'unsent_only' needs a state file to remember whom it sent to: "
                "add --state-file FILE (the same file on every rerun).",
            )
        if state_file and where.private:
            place.ensure_private(state_file, where.label)
        self.source: Optional[str] = None
        self.started = time.time()
        self.clock = TwilioClock()
        self._config = config
        self._book = Book(config, self.enabled)
        self._path = os.path.realpath(state_file) if state_file else None
        self._label = where.label
        self._log = log
        self._lock = threading.Lock()
        self._others: Dict[str, Value] = {}
        self._writer: Optional[Writer] = None
        self._file_lock: Optional[FileLock] = None
        self._record: Tuple[int, Optional[str]] = (-1, None)
        self._long_noted = False
        self._closed = False
        if self.enabled:
            self._start(raw_fields, where)

    def _start(self, raw_fields: Any, where: StateFile) -> None:
        if self._path:
            self._file_lock = lock_state_file(
                self._path, self._label, where.lock_timeout, where.cancelled
            )
        try:
            self._load(raw_fields, where.cancelled)
        except BaseException:
            self.close(save=False)
            raise

    # -- the lock -----------------------------------------------------------
    def close(self, save: bool = True) -> None:
        """Compact the journal and release the state file; idempotent."""
        with self._lock:
            closed, self._closed = self._closed, True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close(self._lines if save and not closed else None)
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
        if self._book.take(entries):
            self.source = FILE_SOURCE
        elif loaded.kind in ("journal", "legacy"):
            self._log.info(
                "Resend Policy: the state file %s holds no record of this message "
                "to these recipients.",
                show_path(self._path or ""),
            )
        raw = raw_fields.get(FIELD) if isinstance(raw_fields, Mapping) else None
        copy: Dict[str, Value] = {}
        if self._from_field(raw, copy) and self._book.take(copy):
            self.source = self.source or FIELD_SOURCE
        if loaded.kind == "damaged":
            self._damaged(loaded)
        self._others = entries
        if self._path:
            self._writer = Writer(self._path, self._label, self._log, self.clock)
            appendable = loaded.kind == "journal"
            self._writer.open(None if appendable else self._lines(), self.started)
        _report(self._log, self._book, self.source)

    def _from_field(self, raw: Any, entries: Dict[str, Value]) -> bool:
        """Merge the Controller's copy; False when it holds nothing for us."""
        if not isinstance(raw, str) or not raw:
            return False
        if raw.startswith(field.VERSION + "."):
            merged = field.merge(raw, entries)
            if not merged:
                self._log.info(
                    "Resend Policy: the Resend State field could not be read; ignored."
                )
            return merged
        return self._from_legacy(raw, entries, FIELD_SOURCE)

    def _from_legacy(self, record: Any, entries: Dict[str, Value], source: str) -> bool:
        """A previous release's bitmaps, valid only for the very same list."""
        if legacy.merge(record, self._config, self._book, self.started, entries):
            return True
        if record is not None:
            self._log.info(
                "Resend Policy: the %s of the previous release is for other "
                "inputs; ignored.",
                source,
            )
        return False

    def _damaged(self, loaded: journal.Loaded) -> None:
        """Lines may be lost: whoever is not shown queued is looked up first."""
        doubted = self._book.doubt((loaded.since, False))
        self.source = self.source or FILE_SOURCE
        self._log.warning(
            "Resend Policy: the state file %s is damaged (%s); the %d recipient(s) "
            "it does not show as queued are looked up at Twilio before anything "
            "is sent.",
            show_path(self._path or ""),
            loaded.problem,
            doubted,
        )

    # -- the run ------------------------------------------------------------
    def skipped_indices(self) -> List[int]:
        """Recipients an earlier run queued this message for."""
        return self._book.positions(SENT)

    def unknown_indices(self) -> List[int]:
        """Recipients an earlier run may have sent to: look them up first."""
        return sorted(self._book.earlier)

    def unknown_since(self) -> float:
        """The earliest moment, on Twilio's clock, an earlier run's request
        for a recipient in :meth:`unknown_indices` may have been created."""
        return self._book.since(self.clock, self.started)

    def intent(self, to: str) -> None:
        """A request for ``to`` leaves next: journal it first (write-ahead)."""
        key = self._book.set(to, FLYING) if not self._closed else None
        writer = self._writer
        if key is not None and writer is not None:
            writer.intent(key)

    def mark_queued(self, to: str) -> None:
        """Twilio created it: never send this message to ``to`` again."""
        self._settle(to, SENT, "Q ")

    def mark_acknowledged(self, to: str) -> None:
        """``to`` acknowledged their page (Wait For Acknowledgement)."""
        key = self._book.acknowledge(to) if not self._closed else None
        writer = self._writer
        if key is not None and writer is not None:
            writer.outcome("A " + key)

    def mark_unknown(self, to: str) -> None:
        """The request may have reached Twilio: it stays in flight (its intent
        line says so); never resent without a lookup."""

    def mark_unsent(self, to: str) -> None:
        """Twilio surely created nothing (refused, 429, never left, or a
        lookup proved it absent): it may be sent."""
        self._settle(to, NONE, "X ")

    def _settle(self, to: str, code: int, line: str) -> None:
        key = self._book.set(to, code) if not self._closed else None
        writer = self._writer
        if key is not None and writer is not None:
            writer.outcome(line + key)

    def recorded(self, index: int) -> int:
        """What the ledger says of recipient ``index`` (NONE, SENT, EARLIER,
        FLYING): a crashed run's outcome is built from it."""
        return self._book.state[index] if self.enabled else NONE

    def sync(self) -> None:
        """The end of a phase: what was written reaches the disk."""
        writer = self._writer
        if writer is not None:
            writer.sync()

    def save(self, record: Optional[str] = None, wait: bool = True) -> None:
        """Live progress was published: write what the journal holds back."""
        writer = self._writer
        if writer is not None:
            writer.flush()

    # -- the Controller's copy ------------------------------------------------
    def record(self) -> Optional[str]:
        """The Resend State field's value now; None when disabled."""
        if not self.enabled:
            return None
        version, cached = self._record
        if version == self._book.version and cached is not None:
            return cached
        version = self._book.version
        text, left_out = field.encode(self._book, self.unknown_since)
        if left_out and not self._long_noted:
            self._long_noted = True
            self._log.info(
                "Resend Policy: the Resend State field holds %d of the %d recipients "
                "the record knows of (it is limited to %d characters); the state "
                "file holds them all.",
                field.ROOM,
                field.ROOM + left_out,
                FIELD_LIMIT,
            )
        self._record = (version, text)
        return text

    # -- compaction -------------------------------------------------------------
    def _lines(self) -> Iterator[str]:
        """The journal's compacted lines: earlier entries, then this run's."""
        return journal.compacted_lines(self._entries())

    def _entries(self) -> Iterator[Tuple[str, Value]]:
        """(key, value) of everything known: other messages and recipients
        as read, then this run's recipients, one at a time."""
        yield from self._others.items()
        now = (self.clock.twilio_time(self.started), self.clock.offset is not None)
        yield from self._book.entries(now)


def _report(log: Any, book: Book, source: Optional[str]) -> None:
    """What the record says, on STDERR, before anything is sent."""
    skipped, earlier = len(book.positions(SENT)), len(book.earlier)
    if not skipped and not earlier and source is None:
        log.warning(
            "Resend Policy 'Send Only To Unsent': no record of an earlier run "
            "with this message was found; sending to all %d recipient(s).",
            len(book.state),
        )
        return
    log.info(
        "Resend Policy 'Send Only To Unsent': %d recipient(s) were queued by an "
        "earlier run with this message (record from the %s) and are skipped "
        "as already sent.",
        skipped,
        source,
    )
    if book.acknowledged:
        log.info(
            "Resend Policy: %d of them acknowledged the page in an earlier run.",
            len(book.acknowledged),
        )
    if earlier:
        log.warning(
            "Resend Policy: %d recipient(s) may have been sent this message by "
            "an earlier run (in flight or unknown when it ended).",
            earlier,
        )
