"""The form parameters of one create request, per action."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from ..inputs import voice
from ..inputs.config import TaskConfig
from ..inputs.fields import VOICE, WHATSAPP

WHATSAPP_PREFIX = "whatsapp:"


def request_builder(
    config: TaskConfig, text_for: Optional[Callable[[str], str]] = None
) -> Tuple[str, Callable[[str], Dict[str, str]]]:
    """Return (resource, build) where build(to) gives that recipient's params.

    The shared parameters are computed once; each call only adds ``To`` (and,
    with ``text_for``, the recipient's own ``Body``: a page's reply code).
    """
    if config.action == VOICE:
        return "Calls", _with_to(_call_params(config), "")
    prefix = _prefix(config)
    build = _with_to(_message_params(config, prefix), prefix)
    if text_for is None:
        return "Messages", build
    return "Messages", lambda to: dict(build(to), Body=text_for(to))


def recipient_address(config: TaskConfig, number: str) -> str:
    """``To`` as Twilio stores it (WhatsApp numbers carry the channel prefix)."""
    return _prefix(config) + number


def sender_address(config: TaskConfig) -> str:
    """``From`` as Twilio stores it, for a phone-number sender."""
    return _prefix(config) + config.sender


def _prefix(config: TaskConfig) -> str:
    return WHATSAPP_PREFIX if config.action == WHATSAPP else ""


def _with_to(shared: Dict[str, str], prefix: str) -> Callable[[str], Dict[str, str]]:
    def build(to: str) -> Dict[str, str]:
        params = dict(shared)
        params["To"] = prefix + to
        return params

    return build


def _message_params(config: TaskConfig, prefix: str) -> Dict[str, str]:
    params: Dict[str, str] = {}
    if config.uses_messaging_service:
        params["MessagingServiceSid"] = config.sender
    else:
        params["From"] = prefix + config.sender
    if config.message is not None:
        params["Body"] = config.message
    if config.content_sid is not None:
        params["ContentSid"] = config.content_sid
        if config.content_variables is not None:
            params["ContentVariables"] = config.content_variables
    if config.validity_period is not None:
        params["ValidityPeriod"] = str(config.validity_period)
    if config.smart_encoding:
        params["SmartEncoded"] = "true"
    return _with_callback(params, config)


def _call_params(config: TaskConfig) -> Dict[str, str]:
    params = {
        "From": config.sender,
        "Twiml": voice.speech(config),
        "Timeout": str(config.answer_timeout),
        "TimeLimit": str(config.call_max_duration),
    }
    detection = voice.detection(config)
    if detection is not None:
        params["MachineDetection"] = detection
    return _with_callback(params, config)


def _with_callback(params: Dict[str, str], config: TaskConfig) -> Dict[str, str]:
    """Optional parameters go after the seed's, so its requests stay byte-identical."""
    if config.status_callback_url is not None:
        params["StatusCallback"] = config.status_callback_url
    return params
