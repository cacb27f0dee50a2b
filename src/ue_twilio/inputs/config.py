"""Turn the raw ``fields`` dict into a validated TaskConfig.

Everything is checked here, before the first request, so a bad field costs
no message and ends with exit 20 and a sentence that names the field.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any, List, Mapping, NamedTuple, Optional, Tuple, cast
from urllib.parse import urlsplit

from ..exceptions import ValidationError
from . import acknowledgement, voice
from . import fields as f
from .account import TwilioAccount, read_account
from .files import Cancel, read_regular_file
from .phone import (
    E164_HINT,
    MAX_FILE_RECIPIENTS,
    clip,
    dedupe,
    is_e164,
    parse_file_lines,
    show,
    split_entries,
)
from .proxy import ProxyConfig, ignored_proxy_notices, parse_proxy
from .readers import (
    label,
    read_boolean,
    read_choice,
    read_integer,
    read_text,
)

MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
MAX_DUPLICATE_NOTICES = 10
MAX_FILE_BYTES = 20 * 1000 * 1000
WHATSAPP_PREFIX = "whatsapp:"
# C0 controls but tab, line feed and carriage return; DEL; C1 controls. No SMS
# or WhatsApp text needs them, and a NUL or escape sequence reaching a phone
# or a log is at best garbage.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class TaskConfig:
    """A validated task, built once by ``parse`` and never changed (the
    workers, trackers and output read it from several threads); the secret
    lives in ``account``, kept out of repr."""

    action: str
    account: TwilioAccount
    sender: str
    recipients: Tuple[str, ...]
    message: Optional[str]
    answer_timeout: Optional[int] = None
    call_max_duration: Optional[int] = None
    proxy: Optional[ProxyConfig] = None
    max_concurrent: int = 10
    listed_recipients: Tuple[str, ...] = ()
    recipient_file: Optional[str] = None
    wait_for_delivery: bool = False
    delivery_timeout: int = 300
    content_sid: Optional[str] = None
    content_variables: Optional[str] = None
    resend_policy: str = f.RESEND_ALL
    notices: Tuple[str, ...] = ()
    voice_name: Optional[str] = None
    voice_language: Optional[str] = None
    voice_repeat: int = 1
    answering_machine: str = f.AMD_IGNORE
    call_order: str = f.CALL_ALL_AT_ONCE
    fallback_sms: bool = False
    validity_period: Optional[int] = None
    smart_encoding: bool = False
    status_callback_url: Optional[str] = None
    dry_run: bool = False
    # Malformed entries of the Recipient List or File: (entry as shown, why).
    # Never sent; each ends as a failed recipient (exit 21).
    rejected: Tuple[Tuple[str, str], ...] = ()
    wait_for_acknowledgement: bool = False
    acknowledgement_timeout: int = 900
    escalation: str = f.PAGE_ALL_AT_ONCE
    escalation_interval: int = 300
    notify_on_acknowledgement: bool = False

    @property
    def account_sid(self) -> str:
        return self.account.account_sid

    @property
    def is_voice(self) -> bool:
        return self.action == f.VOICE

    @property
    def chained(self) -> bool:
        """Call Order 'one_by_one_until_answered' (voice only)."""
        return self.call_order == f.CALL_ONE_BY_ONE

    @property
    def uses_messaging_service(self) -> bool:
        return MESSAGING_SERVICE_SID.fullmatch(self.sender) is not None


class _Text(NamedTuple):
    message: Optional[str]
    content_sid: Optional[str]
    content_variables: Optional[str]


class _Call(NamedTuple):
    answer_timeout: Optional[int]
    call_max_duration: Optional[int]
    spoken: voice.VoiceOptions


class _Run(NamedTuple):
    max_concurrent: int
    wait_for_delivery: bool
    delivery_timeout: int
    resend_policy: str


class _Delivery(NamedTuple):
    validity_period: Optional[int]
    smart_encoding: bool
    status_callback_url: Optional[str]


def parse(raw: Any, cancelled: Cancel = None) -> TaskConfig:
    """Validate every field; raise ValidationError for the first violation.

    The fields are read in a fixed order (that order decides which error a
    task with several bad fields reports), then the config is built in one
    step. ``cancelled`` is polled while files are read (Cancelled when it is
    true).
    """
    if not isinstance(raw, Mapping):
        raise ValidationError("Fields", "expected a mapping of field names to values")
    action = read_choice(raw, "action") or f.SMS
    account = read_account(raw)
    sender, sender_notices = _sender(raw, action)
    listed, recipients, notices, rejected = _recipients(raw, action, cancelled)
    recipient_file = read_text(raw, "recipient_list_file")
    text = _message_and_template(raw, action)
    call = _voice_options(raw, action, text.message)
    run = _run_options(raw, call.spoken)
    delivery = _delivery_options(raw, action)
    paged = acknowledgement.Paged(
        action == f.VOICE,
        text.message,
        text.content_sid,
        call.spoken.chained,
        call.spoken.fallback_sms,
        run.wait_for_delivery,
    )
    ack, ack_notices = acknowledgement.read_options(raw, paged)
    proxy = parse_proxy(raw, cancelled)
    notices = sender_notices + notices + ack_notices + ignored_proxy_notices(raw)
    return TaskConfig(
        action=action,
        account=account,
        sender=sender,
        recipients=tuple(recipients),
        message=text.message,
        answer_timeout=call.answer_timeout,
        call_max_duration=call.call_max_duration,
        proxy=proxy,
        max_concurrent=run.max_concurrent,
        listed_recipients=tuple(listed),
        recipient_file=recipient_file,
        wait_for_delivery=run.wait_for_delivery,
        delivery_timeout=run.delivery_timeout,
        content_sid=text.content_sid,
        content_variables=text.content_variables,
        resend_policy=run.resend_policy,
        notices=tuple(notices),
        voice_name=call.spoken.voice_name,
        voice_language=call.spoken.voice_language,
        voice_repeat=call.spoken.voice_repeat,
        answering_machine=call.spoken.answering_machine,
        call_order=call.spoken.call_order,
        fallback_sms=call.spoken.fallback_sms,
        validity_period=delivery.validity_period,
        smart_encoding=delivery.smart_encoding,
        status_callback_url=delivery.status_callback_url,
        dry_run=bool(read_boolean(raw, "dry_run")),
        rejected=tuple(rejected),
        wait_for_acknowledgement=ack.wait_for_acknowledgement,
        acknowledgement_timeout=ack.acknowledgement_timeout,
        escalation=ack.escalation,
        escalation_interval=ack.escalation_interval,
        notify_on_acknowledgement=ack.notify_on_acknowledgement,
    )


def read_sender(raw: Mapping[str, Any], action: str) -> str:
    """The Sender as a send reads it (Test Connection's pre-flight reads it too)."""
    return _sender(raw, action)[0]


def _sender(raw: Mapping[str, Any], action: str) -> Tuple[str, List[str]]:
    """The Sender, and a notice when its whatsapp: prefix was dropped."""
    given = _required_text(raw, "sender").strip()
    sender = _strip_whatsapp("sender", show(given), given, action)
    notices = []
    if sender != given:
        notices.append(
            "Sender: the whatsapp: prefix was dropped; the task adds it itself."
        )
    if is_e164(sender) or (
        MESSAGING_SERVICE_SID.fullmatch(sender) and action != f.VOICE
    ):
        return sender, notices
    problem = "{} is not a phone number in E.164 format ({})".format(
        show(sender), E164_HINT
    )
    if action != f.VOICE:
        problem += " or a Messaging Service SID (MG + 32 hex digits)"
    raise ValidationError(label("sender"), problem)


def _required_text(raw: Mapping[str, Any], name: str) -> str:
    value = read_text(raw, name)
    if value is None or not value.strip():
        raise ValidationError(label(name), "is required")
    return value


def _recipients(
    raw: Mapping[str, Any], action: str, cancelled: Cancel
) -> Tuple[List[str], List[str], List[str], List[Tuple[str, str]]]:
    """(listed, all unique, notices, rejected).

    A malformed entry does not stop the rest: it is rejected (reported as
    failed, never sent). Only when no entry is a number is it exit 20.

    Recipients From makes the form require one field; at run time numbers from
    either field will do, as before the choice existed (a task saved with only
    a file keeps working after an upgrade), except that 'Recipient List File'
    needs the file.
    """
    numbers = _Numbers(action)
    listed = numbers.listed(raw)
    path = (read_text(raw, "recipient_list_file") or "").strip()
    if read_choice(raw, "recipient_source") == f.FROM_FILE and not path:
        raise ValidationError(label("recipient_list_file"), "is required")
    from_file = numbers.from_file(path, cancelled) if path else []
    if not listed and not from_file:
        if numbers.first_error is not None:
            raise numbers.first_error
        raise ValidationError(
            label("recipient_list"), "at least one number is required"
        )
    unique, repeated = dedupe(listed + from_file)
    notices = numbers.notices() + _duplicate_notices(repeated)
    notices += ["Not queued: {}.".format(why) for _, why in numbers.rejected]
    return listed, unique, notices, numbers.rejected


class _Numbers:
    """E.164 numbers of the Recipient List and File; a ``whatsapp:`` prefix is
    dropped for WhatsApp (the task adds it) and refused for SMS and voice."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.prefixed = 0
        self.rejected: List[Tuple[str, str]] = []
        self.first_error: Optional[ValidationError] = None

    def listed(self, raw: Mapping[str, Any]) -> List[str]:
        name = "recipient_list"
        text = read_text(raw, name) or ""
        limit = _max_length(name)
        if len(text) > limit:
            problem = "is {} characters long; at most {} are allowed".format(
                len(text), limit
            )
            raise ValidationError(label(name), problem)
        numbers = [
            self.e164(name, "entry {}", position, entry)
            for position, entry in split_entries(text)
        ]
        return [number for number in numbers if number is not None]

    def from_file(self, path: str, cancelled: Cancel) -> List[str]:
        name = "recipient_list_file"
        data = read_regular_file(path, label(name), MAX_FILE_BYTES, cancelled)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(label(name), "is not UTF-8 text") from None
        numbers: List[str] = []
        for line_number, entry in parse_file_lines(io.StringIO(text, newline=None)):
            number = self.e164(name, "line {}:", line_number, entry)
            if number is not None:
                numbers.append(number)
            if len(numbers) + len(self.rejected) > MAX_FILE_RECIPIENTS:
                problem = "holds more than {} numbers".format(MAX_FILE_RECIPIENTS)
                raise ValidationError(label(name), problem)
        return numbers

    def e164(self, name: str, where: str, position: int, entry: str) -> Optional[str]:
        """``entry`` as a number, or None when it is rejected (kept, with why,
        in ``rejected``); ``where.format(position)`` names it in the reason
        (formatted only then: a file may hold 100,000 entries)."""
        try:
            return self._number(name, where, position, entry)
        except ValidationError as exc:
            self.first_error = self.first_error or exc
            self.rejected.append((clip(entry), exc.description))
            return None

    def _number(self, name: str, where: str, position: int, entry: str) -> str:
        number = entry
        if entry[: len(WHATSAPP_PREFIX)].lower() == WHATSAPP_PREFIX:
            what = "{} {}".format(where.format(position), show(entry))
            number = _strip_whatsapp(name, what, entry, self.action)
            self.prefixed += 1
        if not is_e164(number):
            problem = "{} {} is not an E.164 number ({})".format(
                where.format(position), show(entry), E164_HINT
            )
            raise ValidationError(label(name), problem)
        return number

    def notices(self) -> List[str]:
        if not self.prefixed:
            return []
        return [
            "Recipient List: the whatsapp: prefix was dropped from {} number(s); "
            "the task adds it itself.".format(self.prefixed)
        ]


def _strip_whatsapp(name: str, what: str, value: str, action: str) -> str:
    """``value`` without a leading ``whatsapp:`` (WhatsApp only; else refused)."""
    if value[: len(WHATSAPP_PREFIX)].lower() != WHATSAPP_PREFIX:
        return value
    if action != f.WHATSAPP:
        problem = (
            "{} has a whatsapp: prefix; drop it, or choose Send WhatsApp Message"
        ).format(what)
        raise ValidationError(label(name), problem)
    return value[len(WHATSAPP_PREFIX) :].strip()


def _duplicate_notices(repeated: List[str]) -> List[str]:
    notices = [
        "Recipient List: {} is listed more than once; it is sent once.".format(number)
        for number in dict.fromkeys(repeated)
    ]
    if len(notices) > MAX_DUPLICATE_NOTICES:
        rest = len(notices) - MAX_DUPLICATE_NOTICES
        notices = notices[:MAX_DUPLICATE_NOTICES]
        notices.append(
            "Recipient List: {} more numbers were listed twice.".format(rest)
        )
    return notices


def _message_and_template(raw: Mapping[str, Any], action: str) -> _Text:
    content_sid = content_variables = None
    if action == f.WHATSAPP:
        content_sid = _content_sid(raw)
        content_variables = _content_variables(raw, content_sid)
        if content_sid is None and read_boolean(raw, "use_content_template"):
            problem = "is required with Use Content Template"
            raise ValidationError(label("content_sid"), problem)
    message = read_text(raw, "message_body_text")
    if message is not None and not message.strip():
        message = None
    if message is None and content_sid is None:
        raise ValidationError(label("message_body_text"), "is required")
    if message is not None:
        _check_text(message, action)
    return _Text(message, content_sid, content_variables)


def _check_text(message: str, action: str) -> None:
    name = "message_body_text"
    limit = _max_length(name)
    if len(message) > limit:
        problem = "is {} characters long; at most {} are allowed".format(
            len(message), limit
        )
        raise ValidationError(label(name), problem)
    control = CONTROL_CHARACTERS.search(message)
    if control and action != f.VOICE:  # voice: twiml.check_speakable says why
        problem = (
            "contains the control character U+{:04X} at position {}; only tab, "
            "line feed and carriage return are allowed"
        ).format(ord(control.group()), control.start() + 1)
        raise ValidationError(label(name), problem)


def _content_sid(raw: Mapping[str, Any]) -> Optional[str]:
    value = read_text(raw, "content_sid")
    if value is None or not value.strip():
        return None
    value = value.strip()
    if CONTENT_SID.fullmatch(value) is None:
        problem = "{} is not a Content SID (HX + 32 hex digits)".format(show(value))
        raise ValidationError(label("content_sid"), problem)
    return value


def _content_variables(
    raw: Mapping[str, Any], content_sid: Optional[str]
) -> Optional[str]:
    name = "content_variables"
    value = read_text(raw, name)
    if value is None or not value.strip():
        return None
    if content_sid is None:
        raise ValidationError(label(name), "needs a Content Template SID")
    try:
        parsed = json.loads(value, parse_constant=_refuse_constant)
    except ValueError:
        raise ValidationError(label(name), "is not valid JSON") from None
    except RecursionError:
        problem = "is nested too deeply to read as JSON"
        raise ValidationError(label(name), problem) from None
    if not isinstance(parsed, dict):
        raise ValidationError(label(name), "must be a JSON object")
    return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python reads them;
    forwarded, Twilio would receive invalid JSON."""
    raise ValueError(name)


def _voice_options(
    raw: Mapping[str, Any], action: str, message: Optional[str]
) -> _Call:
    if action != f.VOICE:
        return _Call(None, None, voice.VoiceOptions())
    answer_timeout = _integer_or_default(raw, "answer_timeout")
    call_max_duration = _integer_or_default(raw, "call_max_duration")
    return _Call(
        answer_timeout, call_max_duration, voice.read_voice_options(raw, message)
    )


def _run_options(raw: Mapping[str, Any], spoken: voice.VoiceOptions) -> _Run:
    max_concurrent = _integer_or_default(raw, "max_concurrent_requests")
    wait_for_delivery = bool(read_boolean(raw, "wait_for_delivery"))
    delivery_timeout = cast(int, f.BY_NAME["delivery_timeout"].default)
    if wait_for_delivery:
        delivery_timeout = _integer_or_default(raw, "delivery_timeout")
    resend_policy = read_choice(raw, "resend_policy") or f.RESEND_ALL
    if spoken.chained:  # a call chain is bounded by the Delivery Timeout too
        delivery_timeout = _integer_or_default(raw, "delivery_timeout")
    voice.check_fallback(spoken, wait_for_delivery)
    return _Run(max_concurrent, wait_for_delivery, delivery_timeout, resend_policy)


def _max_length(name: str) -> int:
    """The field's length limit (the free-text fields all have one)."""
    return cast(int, f.BY_NAME[name].max_length)


def _integer_or_default(raw: Mapping[str, Any], name: str) -> int:
    value = read_integer(raw, name)
    return cast(int, f.BY_NAME[name].default) if value is None else value


def _delivery_options(raw: Mapping[str, Any], action: str) -> _Delivery:
    """Validity Period (SMS, WhatsApp), Smart Encoding (SMS), Status Callback URL."""
    validity_period = None
    if action in (f.SMS, f.WHATSAPP):
        validity_period = read_integer(raw, "validity_period")
    smart_encoding = False
    if action == f.SMS:
        smart_encoding = bool(read_boolean(raw, "smart_encoding"))
    return _Delivery(validity_period, smart_encoding, _callback_url(raw))


def _callback_url(raw: Mapping[str, Any]) -> Optional[str]:
    name = "status_callback_url"
    value = read_text(raw, name)
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
        valid = parts.scheme.lower() == "https" and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced [ in the host
        valid = False
    if not valid or any(ch.isspace() for ch in value):
        problem = "{} is not an https:// URL".format(show(value))
        raise ValidationError(label(name), problem)
    return value
