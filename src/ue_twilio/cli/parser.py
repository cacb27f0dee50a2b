"""The ``ue-twilio`` options: one argparse parser, each command bound to its
handler in :mod:`.commands`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Optional

from ue_twilio import (
    EDGE_LABELS,
    REGION_LABELS,
    ValidationError,
    __version__,
    lock_wait_problem,
    timeout_problem,
)

from . import commands as handlers

COMMAND_FIELDS_HELP = (
    "JSON file of the fields ('-' = stdin); the account options fill what it "
    "leaves empty"
)


class _Parser(argparse.ArgumentParser):
    """Usage errors become exit 20 with the Extension Output, not exit 2."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise ValidationError(self.prog, message.rstrip(".") + ".")


def _seconds(text: str) -> float:
    return _checked_seconds(text, timeout_problem)


def _lock_seconds(text: str) -> float:
    return _checked_seconds(text, lock_wait_problem)


def _checked_seconds(text: str, problem_of) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "{} is not a number of seconds".format(ascii(text[:40]))
        ) from None
    problem = problem_of(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ue-twilio",
        description="Send SMS, WhatsApp and voice messages via Twilio.",
        epilog="The connection options are accepted before the command too: "
        "ue-twilio --connect-timeout 5 check ...",
    )
    parser.add_argument("--version", action="version", version=__version__)
    _connection_options(parser, GLOBAL_DEFAULTS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_run(commands)
    _add_send(commands)
    check = _add_template_command(
        commands,
        "check",
        "test the credentials and proxy, and the Sender if given; sends nothing",
        handlers.check,
    )
    check.add_argument("--from", dest="sender", help="pre-flight this Sender too")
    check.add_argument("--action", choices=sorted(handlers.ACTIONS), default=None)
    _add_template_command(
        commands,
        "senders",
        "list the account's phone numbers and Messaging Services",
        handlers.senders,
    )
    commands.add_parser(
        "sandbox", help="run the local Twilio sandbox (see: sandbox -h)"
    )
    demo = commands.add_parser(
        "demo", help="send a message through the built-in sandbox"
    )
    demo.add_argument(
        "--acknowledge",
        action="store_true",
        help="page three people one by one until the second replies with "
        "their code (Wait For Acknowledgement)",
    )
    demo.set_defaults(handler=handlers.demo)
    return parser


# The connection options live on the main parser (with these defaults) and on
# every command that talks to Twilio (without defaults, so that an option given
# before the command is not reset by the command's parser).
GLOBAL_DEFAULTS = {
    "api_url": None,
    "log_level": "INFO",
    "connect_timeout": None,
    "read_timeout": None,
}


def _connection_options(
    parser: argparse.ArgumentParser, defaults: Optional[Dict[str, Any]] = None
) -> None:
    """--api-url, --log-level and the timeouts: for every command that connects."""

    def default(name: str):
        return argparse.SUPPRESS if defaults is None else defaults[name]

    parser.add_argument(
        "--api-url",
        default=default("api_url"),
        help="Twilio base URL (default: $UE_TWILIO_API_URL or https://api.twilio.com)",
    )
    parser.add_argument(
        "--log-level",
        default=default("log_level"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=default("connect_timeout"),
        help="seconds, 0.1-600 (default 10)",
    )
    parser.add_argument(
        "--read-timeout",
        type=_seconds,
        default=default("read_timeout"),
        help="seconds, 0.1-600 (default 30)",
    )


def _state_options(parser: argparse.ArgumentParser) -> None:
    """Only ``run`` and ``send`` send, so only they keep a resend record."""
    parser.add_argument(
        "--state-file", help="resend state for resend_policy unsent_only"
    )
    parser.add_argument(
        "--state-lock-timeout",
        type=_lock_seconds,
        help="seconds to wait for another run using the state file, 0-600 (default 10)",
    )


def _credentials(parser: argparse.ArgumentParser) -> None:
    """Twilio's own variable names, so existing shells just work."""
    env = os.environ.get
    parser.add_argument("--account-sid", default=env("TWILIO_ACCOUNT_SID"))
    parser.add_argument(
        "--auth-token",
        default=env("TWILIO_AUTH_TOKEN"),
        help="prefer $TWILIO_AUTH_TOKEN: options are visible to other users",
    )
    parser.add_argument(
        "--api-key",
        default=env("TWILIO_API_KEY"),
        help="API Key SID (SK...) instead of the Auth Token; needs --account-sid",
    )
    parser.add_argument(
        "--api-secret",
        default=env("TWILIO_API_SECRET"),
        help="the API key's secret; prefer $TWILIO_API_SECRET",
    )
    parser.add_argument(
        "--region", default=env("TWILIO_REGION"), choices=sorted(REGION_LABELS)
    )
    parser.add_argument(
        "--edge", default=env("TWILIO_EDGE"), choices=sorted(EDGE_LABELS)
    )


FIELDS_EXAMPLE = """example fields file (the agent's shape; a Choice is a list):
  {
    "action": ["sms_message"],
    "twilio_credentials": {"user": "AC...", "password": "..."},
    "sender": "+15005550006",
    "recipient_list": "+15558675310, +15558675311",
    "message_body_text": "Nightly load failed",
    "wait_for_delivery": true,
    "delivery_timeout": 300
  }
leave twilio_credentials out to take $TWILIO_ACCOUNT_SID and $TWILIO_AUTH_TOKEN"""


def _add_run(commands) -> None:
    run = commands.add_parser(
        "run",
        help="run the task from a JSON fields file",
        epilog=FIELDS_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--fields",
        required=True,
        help="JSON file of the fields ('-' = stdin); Twilio Credentials, Account "
        "SID, Region and Edge left empty there come from $TWILIO_ACCOUNT_SID, "
        "$TWILIO_AUTH_TOKEN, $TWILIO_API_KEY, $TWILIO_API_SECRET, $TWILIO_REGION "
        "and $TWILIO_EDGE",
    )
    _connection_options(run)
    _state_options(run)
    _dry_run(run)
    run.set_defaults(handler=handlers.run)


def _dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, resolve the Sender, count segments, look up prices; "
        "send nothing (the fields' dry_run)",
    )


def _add_send(commands) -> None:
    send = commands.add_parser("send", help="send from command-line options")
    send.add_argument("--action", choices=sorted(handlers.ACTIONS), default="sms")
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
    send.add_argument(
        "--validity-period", type=int, help="seconds a message may stay queued"
    )
    send.add_argument(
        "--smart-encoding",
        action="store_true",
        help="SMS: let Twilio replace Unicode look-alikes by GSM-7 characters",
    )
    send.add_argument("--status-callback", help="https:// URL for status callbacks")
    _dry_run(send)
    _voice_options(send)
    _credentials(send)
    _connection_options(send)
    _state_options(send)
    send.set_defaults(handler=handlers.send)


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


def _add_template_command(commands, name: str, help: str, handler):
    """``check`` and ``senders``: the template's commands, which send nothing."""
    command = commands.add_parser(name, help=help)
    command.add_argument("--fields", help=COMMAND_FIELDS_HELP)
    _credentials(command)
    _connection_options(command)
    command.set_defaults(handler=handler)
    return command
