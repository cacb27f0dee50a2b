"""The ``ue-twilio`` command: the same Task the agent runs, from a shell.

``run`` takes the agent's ``fields`` dict as JSON, so a task can be reproduced
outside the Controller with the same exit code and Extension Output.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from typing import Any, Dict, List, Optional

from ._version import __version__
from .fields import SMS, VOICE, WHATSAPP
from .live import Snapshot
from .outcome import Outcome
from .settings import Settings
from .task import Task

ACTIONS = {"sms": SMS, "whatsapp": WHATSAPP, "voice": VOICE}


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sandbox":
        from .sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    args = _parser().parse_args(argv)
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ue-twilio",
        description="Send SMS, WhatsApp and voice messages via Twilio.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_run(commands)
    _add_send(commands)
    _add_check(commands)
    commands.add_parser(
        "sandbox", help="run the local Twilio sandbox (see: sandbox -h)"
    )
    demo = commands.add_parser(
        "demo", help="send a message through the built-in sandbox"
    )
    demo.set_defaults(handler=_demo)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url",
        help="Twilio base URL (default: $UE_TWILIO_API_URL or https://api.twilio.com)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument("--connect-timeout", type=float, help="seconds (default 10)")
    parser.add_argument("--read-timeout", type=float, help="seconds (default 30)")
    parser.add_argument(
        "--state-file", help="resend state for resend_policy unsent_only"
    )


def _credentials(parser: argparse.ArgumentParser) -> None:
    """Twilio's own variable names, so existing shells just work."""
    parser.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID"))
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("TWILIO_AUTH_TOKEN"),
        help="prefer $TWILIO_AUTH_TOKEN: options are visible to other users",
    )


def _add_run(commands) -> None:
    run = commands.add_parser("run", help="run the task from a JSON fields file")
    run.add_argument(
        "--fields", required=True, help="JSON file of the fields ('-' = stdin)"
    )
    _common(run)
    run.set_defaults(handler=_run)


def _add_send(commands) -> None:
    send = commands.add_parser("send", help="send from command-line options")
    send.add_argument("--action", choices=sorted(ACTIONS), default="sms")
    send.add_argument("--from", dest="sender", required=True, help="E.164 sender")
    send.add_argument(
        "--to",
        action="append",
        default=[],
        help="E.164 recipient (repeat, or comma-separated)",
    )
    send.add_argument("--to-file", help="file of recipients (one per line)")
    send.add_argument("--message", help="message text")
    send.add_argument("--answer-timeout", type=int)
    send.add_argument("--call-max-duration", type=int)
    send.add_argument("--max-concurrent", type=int)
    send.add_argument(
        "--wait-for-delivery",
        action="store_true",
        help="follow each message or call to its final status (exit 22 if not all)",
    )
    send.add_argument("--delivery-timeout", type=int, help="seconds (default 300)")
    send.add_argument("--content-sid", help="WhatsApp template SID (HX...)")
    send.add_argument("--content-variables", help="template variables, JSON object")
    send.add_argument(
        "--resend-policy",
        choices=["all", "unsent_only"],
        help="unsent_only: skip recipients queued by an earlier run (--state-file)",
    )
    _voice_options(send)
    _credentials(send)
    _common(send)
    send.set_defaults(handler=_send)


def _voice_options(send: argparse.ArgumentParser) -> None:
    """Issue 12: voice, repeats, answering machines, call order, SMS fallback."""
    send.add_argument("--voice", help="e.g. Polly.Joanna, Google.en-GB-Standard-A")
    send.add_argument("--voice-language", help="BCP-47, e.g. en-US")
    send.add_argument("--voice-repeat", type=int, help="1-10 (default 1)")
    send.add_argument(
        "--answering-machine",
        choices=["ignore", "leave_message", "count_as_unanswered"],
    )
    send.add_argument(
        "--call-order", choices=["all_at_once", "one_by_one_until_answered"]
    )
    send.add_argument(
        "--fallback-sms",
        action="store_true",
        help="text whoever no call reached (needs --wait-for-delivery or a chain)",
    )


def _voice_fields(args: argparse.Namespace) -> Dict[str, Any]:
    return {
        "voice_name": args.voice,
        "voice_language": args.voice_language,
        "voice_repeat": args.voice_repeat,
        "answering_machine": [args.answering_machine] if args.answering_machine else [],
        "call_order": [args.call_order] if args.call_order else [],
        "fallback_sms": args.fallback_sms,
    }


def _add_check(commands) -> None:
    check = commands.add_parser(
        "check", help="test the credentials and proxy; sends nothing"
    )
    check.add_argument(
        "--fields", help="JSON file of the fields ('-' = stdin); else the options"
    )
    _credentials(check)
    _common(check)
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from .check import check_connection

    if args.fields:
        try:
            fields = _load_fields(args.fields)
        except (OSError, ValueError) as exc:
            print("ue-twilio: cannot read --fields: {}".format(exc), file=sys.stderr)
            return 20
    else:
        credentials = {"user": args.account_sid, "password": args.auth_token}
        fields = {"twilio_credentials": credentials}
    outcome = check_connection(fields, _settings(args), _stderr_logger(args.log_level))
    _emit(outcome)
    return outcome.exit_code


def _run(args: argparse.Namespace) -> int:
    try:
        fields = _load_fields(args.fields)
    except (OSError, ValueError) as exc:
        print("ue-twilio: cannot read --fields: {}".format(exc), file=sys.stderr)
        return 20
    return _execute(fields, args)


def _load_fields(path: str) -> Any:
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _send(args: argparse.Namespace) -> int:
    fields: Dict[str, Any] = {
        "action": [ACTIONS[args.action]],
        "twilio_credentials": {"user": args.account_sid, "password": args.auth_token},
        "sender": args.sender,
        "recipient_list": ",".join(args.to),
        "recipient_list_file": args.to_file,
        "message_body_text": args.message,
        "answer_timeout": args.answer_timeout,
        "call_max_duration": args.call_max_duration,
        "max_concurrent_requests": args.max_concurrent,
        "wait_for_delivery": args.wait_for_delivery,
        "delivery_timeout": args.delivery_timeout,
        "content_sid": args.content_sid,
        "content_variables": args.content_variables,
        "resend_policy": [args.resend_policy] if args.resend_policy else [],
    }
    fields.update(_voice_fields(args))
    return _execute(fields, args)


def _execute(fields: Any, args: argparse.Namespace) -> int:
    logger = _stderr_logger(args.log_level)
    task = Task(fields, _settings(args), logger, on_progress=_progress_bar())
    outcome = _run_cancellable(task)
    _emit(outcome)
    return outcome.exit_code


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        api_url=args.api_url,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        state_file=args.state_file,
    )


def _run_cancellable(task: Task) -> Outcome:
    """SIGINT and SIGTERM take the agent's cancel path."""

    def on_signal(signum, frame):
        task.cancel()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        return task.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _emit(outcome: Outcome) -> None:
    print(outcome.output_json())
    print(outcome.summary, file=sys.stderr)


def _stderr_logger(level: str) -> logging.Logger:
    logger = logging.getLogger("ue_twilio.cli")
    logger.handlers[:] = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def _progress_bar():
    """A one-line bar on an interactive terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(progress: Snapshot) -> None:
        done = progress.queued + progress.failed
        width = 30
        filled = width * done // max(progress.total, 1)
        delivered = ""
        if progress.delivered is not None:
            delivered = " delivered {}".format(progress.delivered)
        sys.stderr.write(
            "\r[{}{}] {}/{} queued {} failed {}{}{}".format(
                "#" * filled,
                "." * (width - filled),
                done,
                progress.total,
                progress.queued,
                progress.failed,
                delivered,
                "\n" if progress.final else "",
            )
        )
        sys.stderr.flush()

    return show


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()
