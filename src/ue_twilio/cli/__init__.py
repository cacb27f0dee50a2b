"""The ``ue-twilio`` command: the same Task the agent runs, from a shell.

``run`` takes the agent's ``fields`` dict as JSON, so a task can be reproduced
outside the Controller with the same exit code and Extension Output. Every
exit path prints that JSON: usage errors and unreadable ``--fields`` exit 20
(never argparse's 2, which means AUTHENTICATION_ERROR here), an unexpected
error exits 1, like the agent adapter's crash fallback.

Development only: the extension archive leaves this folder out.
"""

from __future__ import annotations

import sys
from typing import List, Optional

from ue_twilio import TwilioTaskError, crash_outcome, early_outcome

from .commands import Signals, emit
from .parser import build_parser

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sandbox":
        from ..sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    signals = Signals()
    with signals.installed():
        try:
            args = build_parser().parse_args(argv)
            return args.handler(args, signals)
        except TwilioTaskError as exc:  # usage, --fields, a cancel before the task
            outcome = early_outcome(exc, {})
        except Exception as exc:  # noqa: BLE001 - JSON on every exit path
            outcome = crash_outcome(exc)
    emit(outcome)
    return outcome.exit_code
