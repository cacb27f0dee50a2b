"""This run's part of the state file: lines appended, synced, compacted.

The journal's format is journal.py's; this is the run's use of it: an
intent line before each request, outcome lines after, Twilio's clock once
it is known, ``fsync`` at the end of each phase, the compacted rewrite on
close. A write that fails is one warning, never a crash: what was written
ahead stays, and a lost line costs a lookup on the rerun, never a text.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Optional

from ..exceptions import ValidationError
from ..inputs.files import show_path
from ..models import TwilioClock
from . import journal


class Writer:
    """Appends to the journal at ``path`` (a real path); any sender thread."""

    def __init__(self, path: str, label: str, log: Any, clock: TwilioClock) -> None:
        self.path = path
        self._label = label
        self._log = log
        self._clock = clock
        self._appender: Optional[journal.Appender] = None
        self._clock_written = False
        self._warned = False

    def open(self, lines: Optional[Iterator[str]], started: float) -> None:
        """Start this run's part (on a fresh file of ``lines`` unless None:
        the file there is a sound journal); ValidationError if unwritable."""
        try:
            if lines is not None:
                journal.rewrite(self.path, lines)
            self._appender = journal.Appender(self.path, self._label)
            self._appender.intent("R {}".format(int(started)))
        except OSError as exc:
            raise ValidationError(
                self._label,
                "{} cannot be written ({}).".format(
                    show_path(self.path), type(exc).__name__
                ),
            ) from None

    def intent(self, key: str) -> None:
        """Written at once: the request leaves next."""
        appender = self._appender
        if appender is not None:
            self._note_clock(appender)
            appender.intent("I {} {}".format(key, int(time.time())))

    def outcome(self, line: str) -> None:
        """Written with the next intent, or on :meth:`flush`."""
        appender = self._appender
        if appender is not None:
            self._note_clock(appender)
            appender.later(line)

    def _note_clock(self, appender: journal.Appender) -> None:
        if not self._clock_written and self._clock.offset is not None:
            self._clock_written = True
            appender.later("C {:.3f}".format(self._clock.offset))

    def sync(self) -> None:
        """The end of a phase: what was written reaches the disk."""
        appender = self._appender
        if appender is not None:
            appender.sync()
            self._warn_if_failed(appender.failed, "cannot write")

    def flush(self) -> None:
        appender = self._appender
        if appender is not None:
            appender.flush()
            self._warn_if_failed(appender.failed, "cannot write")

    def close(self, lines: Optional[Callable[[], Iterator[str]]]) -> None:
        """Stop appending; then, unless ``lines`` is None, rewrite the file
        compacted to them. Idempotent."""
        appender, self._appender = self._appender, None
        if appender is None:
            return
        appender.close()
        if lines is None:
            return
        try:
            journal.rewrite(self.path, lines())
        except OSError as exc:
            kept = "; its journal is kept as it is"
            self._warn_if_failed(exc, "cannot compact", kept)

    def _warn_if_failed(
        self, failure: Optional[BaseException], what: str, then: str = ""
    ) -> None:
        if failure is not None and not self._warned:
            self._warned = True
            self._log.warning(
                "Resend Policy: %s the state file %s (%s)%s.",
                what,
                show_path(self.path),
                type(failure).__name__,
                then,
            )
