"""Wait For Acknowledgement (issue 21): the fields, and the words a page adds.

An SMS or WhatsApp page ends with one more line holding the recipient's own
reply code; a call says "Press 1 to acknowledge" after the message. The
Message limit (1600 characters) counts that line, at its longest code, so a
message that fits the field but not the page is refused before anything is
sent (exit 20 naming the Message).
"""

from __future__ import annotations

from typing import Any, List, Mapping, NamedTuple, Optional, Tuple

from ..exceptions import ValidationError
from . import fields as f
from .readers import label, read_boolean, read_choice, read_integer

# The line added to an SMS or WhatsApp page; the code is its only number.
REPLY_LINE = "Reply {} to acknowledge."
# What a call says after the message; the digit that acknowledges.
PRESS_LINE = "Press 1 to acknowledge."
ACK_DIGIT = "1"
MAX_CODE_DIGITS = 6
DEFAULT_TIMEOUT = 900  # fields.py's default for Acknowledgement Timeout


def reply_line(code: str) -> str:
    """The last line of a page: the only place its code appears."""
    return REPLY_LINE.format(code)


def page_text(message: str, code: str) -> str:
    """The message as paged: the code alone on the last line."""
    return "{}\n{}".format(message.rstrip("\n"), reply_line(code))


class AckOptions(NamedTuple):
    """The five acknowledgement fields as validated (defaults when off)."""

    wait_for_acknowledgement: bool = False
    acknowledgement_timeout: int = DEFAULT_TIMEOUT
    escalation: str = f.PAGE_ALL_AT_ONCE
    escalation_interval: int = 300
    notify_on_acknowledgement: bool = False


class Paged(NamedTuple):
    """What of the other fields decides whether a page can carry a code."""

    is_voice: bool
    message: Optional[str]
    content_sid: Optional[str]
    chained: bool
    fallback_sms: bool
    wait_for_delivery: bool


def read_options(raw: Mapping[str, Any], paged: Paged) -> Tuple[AckOptions, List[str]]:
    """The acknowledgement options and their notices; ValidationError if wrong."""
    if not read_boolean(raw, "wait_for_acknowledgement"):
        return AckOptions(), []
    timeout = read_integer(raw, "acknowledgement_timeout")
    options = AckOptions(
        wait_for_acknowledgement=True,
        acknowledgement_timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        escalation_interval=_seconds(raw, "escalation_interval"),
        escalation=read_choice(raw, "escalation") or f.PAGE_ALL_AT_ONCE,
        notify_on_acknowledgement=bool(read_boolean(raw, "notify_on_acknowledgement")),
    )
    return options, _check_combinations(paged)


def _seconds(raw: Mapping[str, Any], name: str) -> int:
    """A whole number of seconds from an Integer or a Text field (the form's
    Integer slots are all taken: Escalation Interval is Text)."""
    spec = f.BY_NAME[name]
    value = raw.get(name)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, str) and not value.strip():
        value = None
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return int(spec.default)  # type: ignore[call-overload]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(label(name), "expected a whole number of seconds")
    if not spec.min_value <= value <= spec.max_value:  # type: ignore[operator]
        problem = "{} is out of range {}-{}".format(
            value, spec.min_value, spec.max_value
        )
        raise ValidationError(label(name), problem)
    return value


def _check_combinations(config: Paged) -> List[str]:
    """What cannot carry or wait for an acknowledgement is refused (raises) or
    ignored (a notice)."""
    notices = []
    if config.content_sid is not None:
        raise ValidationError(
            label("content_sid"),
            "a Content Template cannot carry the reply code; send a Message "
            "without one to Wait For Acknowledgement",
        )
    if config.chained:
        raise ValidationError(
            label("call_order"),
            "'One By One Until Answered' cannot be combined with Wait For "
            "Acknowledgement; choose Escalation 'One By One' instead",
        )
    if config.fallback_sms:
        raise ValidationError(
            label("fallback_sms"),
            "cannot be combined with Wait For Acknowledgement; use Escalation "
            "'One By One' to page the next person instead",
        )
    if config.wait_for_delivery:
        notices.append(
            "Wait For Delivery is not used with Wait For Acknowledgement: an "
            "acknowledgement says more than a delivery."
        )
    if not config.is_voice:
        _check_length(config.message or "")
    return notices


def _check_length(message: str) -> None:
    name = "message_body_text"
    limit = f.BY_NAME[name].max_length
    longest = len(page_text(message, "0" * MAX_CODE_DIGITS))
    if limit is not None and longest > limit:
        problem = (
            "with the reply-code line Wait For Acknowledgement adds, the "
            "message is {} characters long; at most {} are allowed"
        ).format(longest, limit)
        raise ValidationError(label(name), problem)
