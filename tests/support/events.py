"""Events that say "this has happened", so tests wait for it instead of
sleeping and hoping: a log line was written, the sandbox received a request.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

WAIT = 20.0  # seconds a test waits for an event before it fails: never a timing claim


class _Watch(logging.Handler):
    def __init__(self, text: str, event: threading.Event) -> None:
        super().__init__(logging.DEBUG)
        self._text = text
        self._event = event

    def emit(self, record: logging.LogRecord) -> None:
        if self._text in record.getMessage():
            self._event.set()


def quiet_logger(name: str) -> logging.Logger:
    """A DEBUG logger of its own that writes nowhere but to its watchers."""
    log = logging.getLogger("ue_twilio.test." + name)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
    return log


def when_logged(log: logging.Logger, text: str) -> threading.Event:
    """An event set as soon as ``log`` writes a line containing ``text``."""
    event = threading.Event()
    log.addHandler(_Watch(text, event))
    return event


def when_journaled(
    box, predicate: Callable[[object], bool], then: Optional[Callable[[], None]] = None
) -> threading.Event:
    """An event set once the sandbox ``box`` journals an entry matching
    ``predicate``; ``then`` runs once, at that moment, in the sandbox's
    thread (e.g. to turn on a fault before the next request)."""
    event = threading.Event()
    journal = box._app.journal  # append-only: the hook wraps its append
    append = journal.append
    lock = threading.Lock()

    def watched(entry) -> None:
        append(entry)
        if not predicate(entry):
            return
        with lock:
            first = not event.is_set()
            if first and then is not None:
                then()
            event.set()

    journal.append = watched
    return event
