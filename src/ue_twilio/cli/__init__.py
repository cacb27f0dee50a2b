"""The ``ue-twilio`` command: the same Task the agent runs, from a shell.

``run`` takes the agent's ``fields`` dict as JSON, so a task can be reproduced
outside the Controller with the same exit code and Extension Output. Every
exit path prints that JSON: usage errors and unreadable ``--fields`` exit 20
(never argparse's 2, which means AUTHENTICATION_ERROR here), an unexpected
error exits 1, like the agent adapter's crash fallback.

SIGINT and SIGTERM are caught from the first lines of this module on, before
the heavy imports below (requests alone takes a noticeable part of a second):
a signal that early is remembered and ends the command as a cancel, with its
Extension Output, instead of killing it without a word.

Development only: the extension archive leaves this folder out.
"""

from __future__ import annotations

import signal
import sys
from typing import Any, List, Optional

EARLY_SIGNALS: List[int] = []


def _remember(signum: int, frame: Any) -> None:
    EARLY_SIGNALS.append(signum)


def _catch_early_signals() -> None:
    """Until ``Signals`` takes over: remember, never die (main thread only)."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _remember)
    except ValueError:  # imported off the main thread: nothing to catch there
        pass


_catch_early_signals()

from ue_twilio import (  # noqa: E402
    Cancelled,
    Redactor,
    TwilioTaskError,
    crash_outcome,
    early_outcome,
)

from .commands import Signals, emit, given_secrets  # noqa: E402
from .parser import build_parser  # noqa: E402

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sandbox":
        from ..sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    signals = Signals()
    with signals.installed():
        try:
            if EARLY_SIGNALS:  # a signal during start-up: cancelled before the task
                raise Cancelled()
            args = build_parser().parse_args(argv)
            return args.handler(args, signals)
        except TwilioTaskError as exc:  # usage, --fields, a cancel before the task
            outcome = early_outcome(exc, {}, Redactor(given_secrets(argv)))
        except Exception as exc:  # noqa: BLE001 - JSON on every exit path
            outcome = crash_outcome(exc)
    emit(outcome)
    return outcome.exit_code
