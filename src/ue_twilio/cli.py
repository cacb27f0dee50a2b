"""The ``ue-twilio`` command: the same Task the agent runs, from a shell.

``run`` takes the agent's ``fields`` dict as JSON, so a task can be reproduced
outside the Controller with the same exit code and Extension Output. Every
exit path prints that JSON: usage errors and unreadable ``--fields`` exit 20
(never argparse's 2, which means AUTHENTICATION_ERROR here), an unexpected
error exits 1, like the agent adapter's crash fallback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ._version import __version__
from .exceptions import Cancelled, TwilioTaskError, ValidationError
from .fields import SMS, VOICE, WHATSAPP
from .filereader import read_descriptor, read_regular_file
from .live import Snapshot
from .outcome import Outcome, crash_outcome
from .readers import is_empty, read_credential
from .regions import EDGE_LABELS, REGION_LABELS
from .settings import Settings, lock_wait_problem, timeout_problem
from .task import Task, early_outcome

ACTIONS = {"sms": SMS, "whatsapp": WHATSAPP, "voice": VOICE}
FIELDS_OPTION = "--fields"
MAX_FIELDS_BYTES = 10 * 1000 * 1000
COMMAND_FIELDS_HELP = (
    "JSON file of the fields ('-' = stdin); the account options fill what it "
    "leaves empty"
)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sandbox":
        from .sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    signals = _Signals()
    with signals.installed():
        try:
            args = _parser().parse_args(argv)
            return args.handler(args, signals)
        except TwilioTaskError as exc:  # usage, --fields, a cancel before the task
            outcome = early_outcome(exc, {})
        except Exception as exc:  # noqa: BLE001 - JSON on every exit path
            outcome = crash_outcome(exc)
    _emit(outcome)
    return outcome.exit_code


class _Parser(argparse.ArgumentParser):
    """Usage errors become exit 20 with the Extension Output, not exit 2."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise ValidationError(self.prog, message.rstrip(".") + ".")


class _Signals:
    """SIGINT and SIGTERM take the agent's cancel path once the task exists;
    before that (reading ``--fields``) they stop the command at once."""

    def __init__(self) -> None:
        self.task: Optional[Task] = None

    def __call__(self, signum, frame) -> None:
        if self.task is None:
            raise Cancelled()
        self.task.cancel()

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


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


def _parser() -> argparse.ArgumentParser:
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
    _add_check(commands)
    _add_senders(commands)
    commands.add_parser(
        "sandbox", help="run the local Twilio sandbox (see: sandbox -h)"
    )
    demo = commands.add_parser(
        "demo", help="send a message through the built-in sandbox"
    )
    demo.set_defaults(handler=_demo)
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


def _credential_fields(args: Any) -> Dict[str, Any]:
    """The account fields from the options: an API key when one is given."""
    if args.api_key:
        credentials = {"user": args.api_key, "password": args.api_secret}
        account_sid = args.account_sid
    else:
        credentials = {"user": args.account_sid, "password": args.auth_token}
        account_sid = None
    return {
        "twilio_credentials": credentials,
        "account_sid": account_sid,
        "twilio_region": [args.region] if args.region else [],
        "twilio_edge": [args.edge] if args.edge else [],
    }


def _environment_credentials() -> Dict[str, Any]:
    """The account fields from Twilio's variables, as ``send`` reads them."""
    env = os.environ.get
    return _credential_fields(
        argparse.Namespace(
            account_sid=env("TWILIO_ACCOUNT_SID"),
            auth_token=env("TWILIO_AUTH_TOKEN"),
            api_key=env("TWILIO_API_KEY"),
            api_secret=env("TWILIO_API_SECRET"),
            region=env("TWILIO_REGION"),
            edge=env("TWILIO_EDGE"),
        )
    )


def _fill_gaps(fields: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    """``fields`` with what it leaves empty taken from ``extra``: the fields win.

    Twilio Credentials count as given when either part is, in either shape.
    """
    merged = dict(fields)
    for name, value in extra.items():
        if name == "twilio_credentials":
            if _has_credentials(fields):
                continue
            merged.pop(name + ".user", None)
            merged.pop(name + ".password", None)
        elif not is_empty(fields.get(name)):
            continue
        merged[name] = value
    return merged


def _has_credentials(fields: Mapping[str, Any]) -> bool:
    try:
        return read_credential(fields, "twilio_credentials") != (None, None)
    except ValidationError:  # not a credential: the task says so
        return True


def _add_run(commands) -> None:
    run = commands.add_parser("run", help="run the task from a JSON fields file")
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
    send.add_argument(
        "--validity-period", type=int, help="seconds a message may stay queued"
    )
    send.add_argument(
        "--smart-encoding",
        action="store_true",
        help="SMS: let Twilio replace Unicode look-alikes by GSM-7 characters",
    )
    send.add_argument("--status-callback", help="https:// URL for status callbacks")
    _voice_options(send)
    _credentials(send)
    _connection_options(send)
    _state_options(send)
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
    check.add_argument("--fields", help=COMMAND_FIELDS_HELP)
    _credentials(check)
    _connection_options(check)
    check.set_defaults(handler=_check)


def _add_senders(commands) -> None:
    senders = commands.add_parser(
        "senders", help="list the account's phone numbers and Messaging Services"
    )
    senders.add_argument("--fields", help=COMMAND_FIELDS_HELP)
    _credentials(senders)
    _connection_options(senders)
    senders.set_defaults(handler=_senders)


def _check(args: argparse.Namespace, signals: _Signals) -> int:
    from .check import check_connection

    return _command(check_connection, args)


def _senders(args: argparse.Namespace, signals: _Signals) -> int:
    from .senders import list_senders

    return _command(list_senders, args)


def _command(command, args: argparse.Namespace) -> int:
    """A template command from --fields and the credential options (the
    file wins where both give a value)."""
    fields = _credential_fields(args)
    if args.fields:
        fields = _fill_gaps(_load_fields(args.fields), fields)
    outcome = command(fields, _settings(args), _stderr_logger(args.log_level))
    _emit(outcome)
    return outcome.exit_code


def _run(args: argparse.Namespace, signals: _Signals) -> int:
    fields = _fill_gaps(_load_fields(args.fields), _environment_credentials())
    return _execute(fields, args, signals)


def _load_fields(path: str) -> Dict[str, Any]:
    """The fields object of a JSON file ('-' = STDIN), at most MAX_FIELDS_BYTES."""
    what = FIELDS_OPTION
    if path == "-":
        data = read_descriptor(sys.stdin.fileno(), "STDIN", what, MAX_FIELDS_BYTES)
        source = "STDIN"
    else:
        data = read_regular_file(path, what, MAX_FIELDS_BYTES)
        source = ascii(path)
    if not data.strip():
        raise ValidationError(what, source + " is empty; expected a JSON object.")
    try:
        fields = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError(what, source + " is not UTF-8 text.") from None
    except ValueError as exc:
        problem = "{} is not valid JSON (line {}, column {}).".format(
            source, getattr(exc, "lineno", "?"), getattr(exc, "colno", "?")
        )
        raise ValidationError(what, problem) from None
    if not isinstance(fields, dict):
        problem = "{} must hold a JSON object of fields, not {}.".format(
            source, type(fields).__name__
        )
        raise ValidationError(what, problem)
    return fields


def _send(args: argparse.Namespace, signals: _Signals) -> int:
    fields: Dict[str, Any] = {
        "action": [ACTIONS[args.action]],
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
        "validity_period": args.validity_period,
        "smart_encoding": args.smart_encoding,
        "status_callback_url": args.status_callback,
    }
    fields.update(_credential_fields(args))
    fields.update(_voice_fields(args))
    return _execute(fields, args, signals)


def _execute(fields: Any, args: argparse.Namespace, signals: _Signals) -> int:
    logger = _stderr_logger(args.log_level)
    task = Task(fields, _settings(args), logger, on_progress=_progress_bar())
    signals.task = task
    outcome = task.run()
    _emit(outcome)
    return outcome.exit_code


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        api_url=args.api_url,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        state_file=getattr(args, "state_file", None),
        state_file_label="--state-file",
        state_lock_timeout=getattr(args, "state_lock_timeout", None),
    )


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


def _demo(args: argparse.Namespace, signals: _Signals) -> int:
    from .demo import run_demo

    return run_demo()
