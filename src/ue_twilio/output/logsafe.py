"""A logger wrapper that scrubs secrets from every line it writes."""

from __future__ import annotations

import logging
from typing import Any, Tuple

from ..redact import Redactor


class SafeLog:
    """Formats the message first, then scrubs it, then hands it to ``logger``."""

    def __init__(self, logger: logging.Logger, redactor: Redactor) -> None:
        self._logger = logger
        self._scrub = redactor

    def _emit(self, level: int, message: str, args: Tuple[Any, ...]) -> None:
        if not self._logger.isEnabledFor(level):
            return
        text = message % args if args else message
        self._logger.log(level, self._scrub(text))

    def debug(self, message: str, *args: Any) -> None:
        self._emit(logging.DEBUG, message, args)

    def info(self, message: str, *args: Any) -> None:
        self._emit(logging.INFO, message, args)

    def warning(self, message: str, *args: Any) -> None:
        self._emit(logging.WARNING, message, args)

    def error(self, message: str, *args: Any) -> None:
        self._emit(logging.ERROR, message, args)


# At most this many recipients are named in one list on STDERR (one line,
# or one line each); the rest are counted.
LIST_LIMIT = 1000
