"""Events that say "this has happened", so tests wait for it instead of
sleeping and hoping: a log line was written, the sandbox answered a request.
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


def when_answered(
    box, condition: Callable[[], bool], then: Optional[Callable[[], None]] = None
) -> threading.Event:
    """An event set once ``condition()`` holds, re-checked each time the
    sandbox ``box`` has decided an answer (its journal entry is complete) and
    before the answer is written; ``then`` runs once, at that moment (e.g. to
    turn on a fault before the client can send its next request)."""
    event = threading.Event()
    lock = threading.Lock()

    def check() -> None:
        with lock:
            if not event.is_set() and condition():
                if then is not None:
                    then()
                event.set()

    box.on_answer(check)
    return event


def journal_reaches(box, condition: Callable[[], bool]) -> bool:
    """Wait until ``condition()`` holds, re-checked on every answer of the
    sandbox ``box``; False if it did not within WAIT seconds."""
    event = when_answered(box, condition)
    return condition() or event.wait(WAIT)
