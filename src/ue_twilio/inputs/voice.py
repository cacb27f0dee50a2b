"""The voice options of issue 12: who speaks, how often, and what counts as reached.

``read_voice_options`` validates the fields (exit 20 naming the field),
``detection`` maps Answering Machine to Twilio's ``MachineDetection`` and
``answer_problem`` says why an answered call still did not reach a person.

What counts as reached: with ``ignore`` any answered call; with
``leave_message`` any answered call too (the mailbox recorded the whole
message); with ``count_as_unanswered`` only a call Twilio's detection says a
person answered (``answered_by`` ``human``): a machine, a fax, or
``unknown`` (detection could not tell) is not reached. Paging prefers one
call or SMS too many over a page nobody heard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union, cast

from ..exceptions import ValidationError
from ..models import RecipientResult
from . import fields as f
from . import twiml
from .phone import show
from .readers import label, read_boolean, read_choice, read_integer, read_text

if TYPE_CHECKING:  # pragma: no cover - config imports this module
    from .config import TaskConfig

# Twilio's documented <Say voice> forms: the basic voices, Amazon Polly
# (standard, -Neural, -Generative) and Google (Google.<locale>-<model>-<name>,
# e.g. Google.en-GB-Standard-A, Google.en-US-Chirp3-HD-Aoede).
BASIC_VOICES = ("man", "woman", "alice")
_POLLY = re.compile(r"Polly\.[A-Z][A-Za-z]{1,30}(-Neural|-Generative)?")
_GOOGLE = re.compile(r"Google\.[a-z]{2,3}-[A-Z]{2}(-[A-Za-z0-9]{1,20}){1,4}")
# A well-formed BCP-47 tag (RFC 5646): language, optional script, region and
# variants (the private-use and extension parts Twilio has no use for).
_BCP47 = re.compile(
    r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
)
VOICE_FORMS = (
    "man, woman, alice, Polly.<Name>[-Neural|-Generative] or Google.<ll-CC>-<Name>"
)

DETECTION = {
    f.AMD_IGNORE: None,
    f.AMD_LEAVE_MESSAGE: "DetectMessageEnd",
    f.AMD_COUNT_AS_UNANSWERED: "Enable",
}
PERSON = "human"


@dataclass(frozen=True)
class VoiceOptions:
    """The issue-12 options, read before the TaskConfig is built; the
    defaults are those of a task that is no call."""

    voice_name: Optional[str] = None
    voice_language: Optional[str] = None
    voice_repeat: int = 1
    answering_machine: str = f.AMD_IGNORE
    call_order: str = f.CALL_ALL_AT_ONCE
    fallback_sms: bool = False

    @property
    def chained(self) -> bool:
        return self.call_order == f.CALL_ONE_BY_ONE


def read_voice_options(raw: Mapping[str, Any], message: Optional[str]) -> VoiceOptions:
    """The issue-12 options of a voice task; ValidationError if wrong."""
    voice_name = _voice_name(raw)
    voice_language = _voice_language(raw)
    repeat = read_integer(raw, "voice_repeat")
    options = VoiceOptions(
        voice_name=voice_name,
        voice_language=voice_language,
        voice_repeat=cast(int, f.BY_NAME["voice_repeat"].default)
        if repeat is None
        else repeat,
        answering_machine=read_choice(raw, "answering_machine") or f.AMD_IGNORE,
        call_order=read_choice(raw, "call_order") or f.CALL_ALL_AT_ONCE,
        fallback_sms=bool(read_boolean(raw, "fallback_sms")),
    )
    _check_twiml(message, options)
    return options


def check_fallback(options: VoiceOptions, wait_for_delivery: bool) -> None:
    """SMS Fallback needs calls that are followed to their end."""
    if options.fallback_sms and not (wait_for_delivery or options.chained):
        problem = "needs Wait For Delivery or Call Order 'One By One Until Answered'"
        raise ValidationError(label("fallback_sms"), problem)


def speech(config: TaskConfig) -> str:
    """The call's TwiML, as the create request carries it."""
    return _speech(config.message, config)


def _speech(message: Optional[str], spoken: Union[TaskConfig, VoiceOptions]) -> str:
    return twiml.speech(
        message or "", spoken.voice_name, spoken.voice_language, spoken.voice_repeat
    )


def detection(config: TaskConfig) -> Optional[str]:
    """``MachineDetection`` for the create request; None: not sent."""
    return DETECTION[config.answering_machine]


def answer_problem(
    answering_machine: str,
) -> Optional[Callable[[RecipientResult], Optional[str]]]:
    """For count_as_unanswered: why an answered call did not reach a person
    (None when it did); None for the other choices, where answered is reached."""
    if answering_machine != f.AMD_COUNT_AS_UNANSWERED:
        return None

    def problem(result: RecipientResult) -> Optional[str]:
        if result.answered_by == PERSON:
            return None
        who = result.answered_by or "nobody Twilio could identify"
        return (
            "answered, but not by a person (answered_by: {}); Answering "
            "Machine 'count_as_unanswered' counts it as not reached"
        ).format(who)

    return problem


def _voice_name(raw: Mapping[str, Any]) -> Optional[str]:
    value = (read_text(raw, "voice_name") or "").strip()
    if not value:
        return None
    if value in BASIC_VOICES or _POLLY.fullmatch(value) or _GOOGLE.fullmatch(value):
        return value
    problem = "{} is not a Twilio voice; expected {}".format(show(value), VOICE_FORMS)
    raise ValidationError(label("voice_name"), problem)


def _voice_language(raw: Mapping[str, Any]) -> Optional[str]:
    value = (read_text(raw, "voice_language") or "").strip()
    if not value:
        return None
    if _BCP47.fullmatch(value):
        return value
    problem = "{} is not a BCP-47 language tag such as en-US or de-DE".format(
        show(value)
    )
    raise ValidationError(label("voice_language"), problem)


def _check_twiml(message: Optional[str], options: VoiceOptions) -> None:
    """The 4000-character limit applies to the whole TwiML: the field to blame
    is the Message when one saying is already too long, else Repeat Message."""
    problem = twiml.check_speakable(message or "")
    if problem:
        raise ValidationError(label("message_body_text"), problem)
    length = len(_speech(message, options))
    if length > twiml.MAX_TWIML_LENGTH:
        name = "voice_repeat" if options.voice_repeat > 1 else "message_body_text"
        problem = (
            "the message spoken {} time(s) becomes {} characters of TwiML; "
            "Twilio accepts at most {}"
        ).format(options.voice_repeat, length, twiml.MAX_TWIML_LENGTH)
        raise ValidationError(label(name), problem)
