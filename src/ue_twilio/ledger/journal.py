"""The state file as a write-ahead journal: one short line per event, appended.

A line is written (a plain ``write()``: a killed process loses nothing the
kernel already has) *before* each request leaves, and one after its answer;
``fsync`` follows at most every SYNC_INTERVAL seconds, at the end of each
phase and on close; the end of a run rewrites the file compacted (temporary
file, ``fsync``, rename over the real path, ``fsync`` of the directory).

Lines (ASCII; ``<key>`` is a recipient key, see keys.py)::

    ue-twilio ledger 3      the header, first line
    R <epoch>               a run started (its clock: the agent's, whole seconds)
    C <seconds>             that run learned Twilio's clock: Twilio minus ours
    I <key> <epoch>         a request for <key> is about to leave: in flight
    Q <key>                 Twilio created it (queued): never send it again
    X <key>                 Twilio surely created nothing: it may be sent
    A <key>                 queued, and that recipient acknowledged the page
                            (Wait For Acknowledgement); kept like ``Q``

The last line about a key wins. An ``I`` without a later ``Q``/``X`` is in
flight: the next run looks it up at Twilio before sending anything. Its
moment is on Twilio's clock when its run wrote a ``C`` line ("clocked"),
else on the agent's.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from typing import (
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
    Union,
)

from ..exceptions import ValidationError
from ..inputs.files import open_regular, read_regular_file, show_path

HEADER = "ue-twilio ledger 3"
MAX_JOURNAL_BYTES = 64 * 1000 * 1000  # 100,000 recipients: about 4 MB a run
SYNC_INTERVAL = 1.0
FLUSH_LINES = 256  # outcome lines held before they are written anyway
QUEUED = "Q"
ACKNOWLEDGED = "A"  # queued, and the recipient acknowledged: never sent again
# Digits are ASCII only (issue 20: ``isdigit()`` accepts "٣", ``int`` reads it).
_EPOCH = re.compile(r"[0-9]{1,12}\Z")
_OFFSET = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?\Z")
_KEY = re.compile(r"[0-9a-f]{12}\Z")
_WRITE_FLAGS = os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0)

# In flight: (moment, clocked). A key's value is QUEUED or that.
InFlight = Tuple[float, bool]
Value = Union[str, InFlight]


class Loaded(NamedTuple):
    """What a state file held. ``kind``: "journal", "missing", "legacy" (the
    previous release's JSON, in ``text``) or "damaged" (``problem`` says why;
    ``since`` is the earliest moment its lost lines can be from)."""

    kind: str
    entries: Dict[str, Value]
    text: str = ""
    problem: str = ""
    since: float = 0.0


def is_epoch(text: str) -> bool:
    return bool(_EPOCH.match(text))


def load(
    path: str, label: str, cancelled: Optional[Callable[[], bool]] = None
) -> Loaded:
    """Read the journal at ``path`` (a real path); ValidationError if not ours."""
    if not os.path.lexists(path):
        return Loaded("missing", {})
    data = read_regular_file(path, label, MAX_JOURNAL_BYTES, cancelled)
    mtime = os.stat(path).st_mtime
    if not data:
        return Loaded("damaged", {}, problem="it is empty (0 bytes)", since=mtime)
    if data[:1] == b"{":
        return Loaded("legacy", {}, text=data.decode("utf-8", "replace"))
    if not data.startswith((HEADER + "\n").encode("ascii")):
        raise not_ours(path, label)
    return _parse(data.decode("ascii", "replace"), mtime)


def not_ours(path: str, label: str) -> ValidationError:
    return ValidationError(
        label,
        "{} is not a ue-twilio resend state file; it is left untouched "
        "(move it away or choose another path).".format(show_path(path)),
    )


def _parse(text: str, mtime: float) -> Loaded:
    """Replay the lines; a line cut short or garbled marks the file damaged."""
    entries: Dict[str, Value] = {}
    lines = text.split("\n")
    problem = "" if lines[-1] == "" else "its last line is cut short"
    segment: List[str] = []
    offset: Optional[float] = None
    first_run: Optional[float] = None
    for line in lines[1:-1]:
        kind, _, rest = line.partition(" ")
        key, _, moment = rest.partition(" ")
        if kind == "I" and _KEY.match(key) and is_epoch(moment):
            entries[key] = (float(moment), False)
            segment.append(key)
        elif kind in ("Q", "X", "A") and _KEY.match(rest):
            if kind in (QUEUED, ACKNOWLEDGED):
                entries[rest] = kind
            else:
                entries.pop(rest, None)
        elif kind == "R" and is_epoch(rest):
            _clock_segment(entries, segment, offset)
            segment, offset = [], None
            start = float(rest)
            first_run = start if first_run is None else min(first_run, start)
        elif kind == "C" and _OFFSET.match(rest):
            offset = float(rest)
        else:
            problem = problem or "a line is garbled"
    _clock_segment(entries, segment, offset)
    if problem:
        since = first_run if first_run is not None else mtime
        return Loaded("damaged", entries, problem=problem, since=since)
    return Loaded("journal", entries)


def _clock_segment(
    entries: Dict[str, Value], keys: List[str], offset: Optional[float]
) -> None:
    """The in-flight moments of one run, moved to Twilio's clock if it knew it."""
    if offset is None:
        return
    for key in keys:
        value = entries.get(key)
        if isinstance(value, tuple) and not value[1]:
            entries[key] = (value[0] + offset, True)


def compacted_lines(entries: Iterable[Tuple[str, Value]]) -> Iterator[str]:
    """The lines that say ``entries`` and nothing else, one at a time (100,000
    of them are never held at once): queued ones first, then the few in
    flight, clocked ones under a ``C 0`` run, the agent's under one without."""
    now = "R {}".format(int(time.time()))
    yield HEADER
    yield now
    clocked: List[str] = []
    local: List[str] = []
    for key, value in entries:
        if value in (QUEUED, ACKNOWLEDGED):
            yield "{} {}".format(value, key)
        elif isinstance(value, tuple):
            line = "I {} {}".format(key, max(int(value[0]), 0))
            (clocked if value[1] else local).append(line)
    yield now
    yield "C 0"
    yield from clocked
    yield now
    yield from local


def rewrite(path: str, lines: Iterable[str]) -> None:
    """Replace ``path`` (a real path) durably: temporary file in the same
    directory (0600), fsync, rename, fsync of the directory."""
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(
        prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as stream:
            for line in lines:
                stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise
    sync_directory(folder)


def sync_directory(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no such call)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class Appender:
    """Appends lines to an open journal; any sender thread may call it.

    An intent is written at once, together with the outcome lines held so
    far (one ``write()`` per request); outcomes wait for the next intent,
    FLUSH_LINES of them, or :meth:`flush`. A lost outcome line costs a
    lookup on the rerun, never a second text.
    """

    def __init__(self, path: str, label: str) -> None:
        self._descriptor: Optional[int] = open_regular(path, label, _WRITE_FLAGS)
        self._lock = threading.Lock()
        self._held: List[str] = []
        self._synced = time.monotonic()
        self._syncing = False
        self.failed: Optional[OSError] = None

    def intent(self, line: str) -> None:
        """Write ``line`` (and what is held) now: the request leaves next."""
        with self._lock:
            self._held.append(line)
            self._write_held()
        if time.monotonic() - self._synced >= SYNC_INTERVAL:
            self.sync(flush=False)

    def later(self, line: str) -> None:
        with self._lock:
            self._held.append(line)
            if len(self._held) >= FLUSH_LINES:
                self._write_held()

    def flush(self) -> None:
        with self._lock:
            self._write_held()

    def _write_held(self) -> None:
        if not self._held or self._descriptor is None:
            return
        data = ("\n".join(self._held) + "\n").encode("ascii")
        self._held = []
        try:
            while data:
                data = data[os.write(self._descriptor, data) :]
        except OSError as exc:
            self.failed = self.failed or exc

    def sync(self, flush: bool = True) -> None:
        """Flush (unless told not to) and fsync; one thread at a time."""
        with self._lock:
            if flush:
                self._write_held()
            if self._syncing or self._descriptor is None:
                return
            self._syncing = True
            descriptor = self._descriptor
        try:
            os.fsync(descriptor)
        except OSError as exc:
            self.failed = self.failed or exc
        finally:
            with self._lock:
                self._syncing = False
                self._synced = time.monotonic()

    def close(self) -> None:
        """Flush, fsync and close; later lines are dropped (a late sender)."""
        self.sync()
        with self._lock:
            descriptor, self._descriptor = self._descriptor, None
            self._held = []
        if descriptor is not None:
            os.close(descriptor)
