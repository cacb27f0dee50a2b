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
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

from ue_twilio import (
    SMS,
    VOICE,
    WHATSAPP,
    Cancel,
    Cancelled,
    Outcome,
    Settings,
    Snapshot,
    Task,
    ValidationError,
    is_empty,
    read_credential,
    read_descriptor,
    read_regular_file,
)

ACTIONS = {"sms": SMS, "whatsapp": WHATSAPP, "voice": VOICE}
SECRET_OPTIONS = ("--auth-token", "--api-secret")
SECRET_VARIABLES = ("TWILIO_AUTH_TOKEN", "TWILIO_API_SECRET")
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


def given_secrets(argv: List[str]) -> List[str]:
    """The secrets of the command line and the environment, for a usage
    error that may quote any argument (a token pasted into the wrong option)."""
    secrets = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    for index, argument in enumerate(argv):
        option, equals, value = argument.partition("=")
        if option in SECRET_OPTIONS:
            following = argv[index + 1 : index + 2]
            secrets.append(value if equals else "".join(following))
    return [secret for secret in secrets if secret]


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
    from ue_twilio import check_connection

    return _command(check_connection, args, signals)


def senders(args: argparse.Namespace, signals: Signals) -> int:
    from ue_twilio import list_senders

    return _command(list_senders, args, signals)


def _sender_fields(args: argparse.Namespace) -> Dict[str, Any]:
    """``check --from/--action``: the Sender to pre-flight (none for senders)."""
    sender, action = getattr(args, "sender", None), getattr(args, "action", None)
    fields: Dict[str, Any] = {}
    if sender:
        fields["sender"] = sender
    if action:
        fields["action"] = [ACTIONS[action]]
    return fields


def _command(command, args: argparse.Namespace, signals: Signals) -> int:
    """A template command from --fields and the credential options (the
    file wins where both give a value); a signal sets its cancel event."""
    fields = _credential_fields(args)
    fields.update(_sender_fields(args))
    if args.fields:
        fields = _fill_gaps(_load_fields(args.fields), fields)
    else:
        _require_credentials(args)
    cancel = Cancel()
    signals.on_cancel = cancel.set
    logger = _stderr_logger(args.log_level)
    outcome = command(fields, _settings(args), logger, cancel)
    emit(outcome)
    return outcome.exit_code


def run(args: argparse.Namespace, signals: Signals) -> int:
    fields = _fill_gaps(_load_fields(args.fields), _environment_credentials())
    if args.dry_run:  # the option wins over the file's dry_run
        fields["dry_run"] = True
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
    except RecursionError:
        problem = source + " is nested too deeply to read as JSON."
        raise ValidationError(what, problem) from None
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


def _require_credentials(args: argparse.Namespace) -> None:
    """Without a fields file the options are the only source: name them (and
    their variables), not the template field the user never saw."""
    if args.api_key:
        needed = [("--account-sid", "TWILIO_ACCOUNT_SID", args.account_sid)]
        needed.append(("--api-secret", "TWILIO_API_SECRET", args.api_secret))
    else:
        needed = [("--account-sid", "TWILIO_ACCOUNT_SID", args.account_sid)]
        needed.append(("--auth-token", "TWILIO_AUTH_TOKEN", args.auth_token))
    for option, variable, value in needed:
        if not value:
            problem = "is required (or set ${})".format(variable)
            raise ValidationError(option, problem)


def send(args: argparse.Namespace, signals: Signals) -> int:
    _require_credentials(args)
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
        "dry_run": args.dry_run,
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
    """The Extension Output on STDOUT, the summary on STDERR.

    A reader that closed its end early (``| head -1``) does not change the
    run's exit code: the messages went out, a wrapper reading exit 1 might
    send them again. The closed stream is pointed at the null device so
    that Python's final flush does not fail either.
    """
    _write(sys.stdout, outcome.output_json())
    _write(sys.stderr, outcome.summary)


def _write(stream: Any, text: str) -> None:
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        _to_null(stream)
    except ValueError:  # already closed (an earlier broken pipe)
        pass


def _to_null(stream: Any) -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError):  # no descriptor to replace
        pass


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

    return run_demo(acknowledge=getattr(args, "acknowledge", False))
