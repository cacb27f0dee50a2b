"""The handlers of the ``ue-twilio`` commands: fields from the options or a
JSON file, then the same Task (or template command) the agent runs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from ..exceptions import Cancelled, ValidationError
from ..inputs.fields import SMS, VOICE, WHATSAPP
from ..inputs.files import read_descriptor, read_regular_file
from ..inputs.readers import is_empty, read_credential
from ..inputs.settings import Settings
from ..models import Snapshot
from ..output.outcome import Outcome
from ..phases.task import Task

ACTIONS = {"sms": SMS, "whatsapp": WHATSAPP, "voice": VOICE}
FIELDS_OPTION = "--fields"
MAX_FIELDS_BYTES = 10 * 1000 * 1000


class Signals:
    """SIGINT and SIGTERM take the agent's cancel path once the work exists
    (``on_cancel``: the Task's cancel, or a template command's cancel event);
    before that (reading ``--fields``) they stop the command at once.

    ``on_cancel`` runs on a thread of its own: the handler interrupts the
    main thread anywhere, also inside the lock of the Event it would set.
    """

    def __init__(self) -> None:
        self.on_cancel: Optional[Callable[[], None]] = None

    def __call__(self, signum, frame) -> None:
        if self.on_cancel is None:
            raise Cancelled()
        threading.Thread(target=self.on_cancel, name="cancel", daemon=True).start()

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


def _voice_fields(args: argparse.Namespace) -> Dict[str, Any]:
    return {
        "voice_name": args.voice,
        "voice_language": args.voice_language,
        "voice_repeat": args.voice_repeat,
        "answering_machine": [args.answering_machine] if args.answering_machine else [],
        "call_order": [args.call_order] if args.call_order else [],
        "fallback_sms": args.fallback_sms,
    }


def check(args: argparse.Namespace, signals: Signals) -> int:
    from ..commands.check import check_connection

    return _command(check_connection, args, signals)


def senders(args: argparse.Namespace, signals: Signals) -> int:
    from ..commands.senders import list_senders

    return _command(list_senders, args, signals)


def _command(command, args: argparse.Namespace, signals: Signals) -> int:
    """A template command from --fields and the credential options (the
    file wins where both give a value); a signal sets its cancel event."""
    fields = _credential_fields(args)
    if args.fields:
        fields = _fill_gaps(_load_fields(args.fields), fields)
    cancel = threading.Event()
    signals.on_cancel = cancel.set
    logger = _stderr_logger(args.log_level)
    outcome = command(fields, _settings(args), logger, cancel)
    emit(outcome)
    return outcome.exit_code


def run(args: argparse.Namespace, signals: Signals) -> int:
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


def send(args: argparse.Namespace, signals: Signals) -> int:
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


def _execute(fields: Any, args: argparse.Namespace, signals: Signals) -> int:
    logger = _stderr_logger(args.log_level)
    task = Task(fields, _settings(args), logger, on_progress=_progress_bar())
    signals.on_cancel = task.cancel
    outcome = task.run()
    emit(outcome)
    return outcome.exit_code


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        api_url=args.api_url,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        state_file=getattr(args, "state_file", None),
        state_file_label="--state-file",
        state_lock_timeout=getattr(args, "state_lock_timeout", None),
        state_file_required=True,  # unsent_only never silently remembers nothing
    )


def emit(outcome: Outcome) -> None:
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


def demo(args: argparse.Namespace, signals: Signals) -> int:
    from .demo import run_demo

    return run_demo()
