"""``invocation.fields`` of the Extension Output: what the task was asked to do.

Credentials are only ever shown as ``****``. When validation failed the raw
values are echoed best-effort, so the output exists on every exit path; every
path has the same keys (ECHO_KEYS), null where a value is not known (such as
``recipient_count`` before the numbers were validated).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from . import fields as f
from .config import TaskConfig
from .exceptions import ValidationError
from .phone import split_entries
from .readers import is_empty, read_choice, read_credential
from .redact import MASK

MAX_ECHO_CHARS = 4000
_PROXY_KEYS = ("proxy", "proxy_type", "proxy_ca_bundle_file")

# Every key of ``invocation.fields``, in order, on every exit path: the seed's
# thirteen first, then ours. A value not known on a path is null.
ECHO_KEYS = (
    "action",
    "twilio_credentials_user",
    "twilio_credentials_password",
    "sender",
    "recipient_list",
    "message_body_text",
    "call_max_duration",
    "answer_timeout",
    "proxy",
    "proxy_type",
    "proxy_ca_bundle_file",
    "proxy_credentials_user",
    "proxy_credentials_password",
    "recipient_list_file",
    "recipient_count",
    "max_concurrent_requests",
    "wait_for_delivery",
    "delivery_timeout",
    "content_sid",
    "content_variables",
    "resend_policy",
    "account_sid",
    "twilio_region",
    "twilio_edge",
    "validity_period",
    "smart_encoding",
    "status_callback_url",
) + f.VOICE_OPTIONS


def complete(echoed: Mapping[str, Any]) -> Dict[str, Any]:
    """Exactly ECHO_KEYS, in order; what ``echoed`` lacks is null."""
    return {key: echoed.get(key) for key in ECHO_KEYS}


def blank_echo() -> Dict[str, Any]:
    """The echo when nothing about the fields is known (a crash)."""
    return complete({})


def echo_config(config: TaskConfig) -> Dict[str, Any]:
    listed = config.listed_recipients if config.recipient_file else config.recipients
    echoed = {
        "action": config.action,
        "twilio_credentials_user": MASK,
        "twilio_credentials_password": MASK,
        "sender": config.sender,
        "recipient_list": list(listed),
        "message_body_text": config.message,
        "call_max_duration": config.call_max_duration,
        "answer_timeout": config.answer_timeout,
    }
    echoed.update(_proxy_echo(config))
    echoed.update(
        {
            "recipient_list_file": config.recipient_file,
            "recipient_count": len(config.recipients),
            "max_concurrent_requests": config.max_concurrent,
            "wait_for_delivery": config.wait_for_delivery,
            "delivery_timeout": config.delivery_timeout
            if config.wait_for_delivery or config.chained
            else None,
            "content_sid": config.content_sid,
            "content_variables": config.content_variables,
            "resend_policy": config.resend_policy,
            "account_sid": config.account.account_sid
            if config.account.uses_api_key
            else None,
            "twilio_region": config.account.region,
            "twilio_edge": config.account.edge,
            "validity_period": config.validity_period,
            "smart_encoding": config.smart_encoding,
            "status_callback_url": config.status_callback_url,
        }
    )
    echoed.update(_voice_echo(config))
    return complete(echoed)


def _voice_echo(config: TaskConfig) -> Dict[str, Any]:
    """The issue-12 voice options; null unless the action is voice."""
    voice = config.is_voice
    return {name: getattr(config, name) if voice else None for name in f.VOICE_OPTIONS}


def _proxy_echo(config: TaskConfig) -> Dict[str, Any]:
    if config.proxy is not None:
        return config.proxy.echo()
    return {key: None for key in _PROXY_KEYS + _credential_keys("proxy_credentials")}


def echo_raw(raw: Any) -> Dict[str, Any]:
    """Best-effort echo of unvalidated fields; never raises."""
    raw = raw if isinstance(raw, Mapping) else {}
    action = _safe_choice(raw, "action") or f.SMS
    voice = action == f.VOICE
    recipients = _text(raw, "recipient_list")
    echoed = {
        "action": action,
        **_masked(raw, "twilio_credentials"),
        "sender": _text(raw, "sender"),
        "recipient_list": [e for _, e in split_entries(recipients)]
        if recipients
        else [],
        "message_body_text": _text(raw, "message_body_text"),
        "call_max_duration": _integer(raw, "call_max_duration") if voice else None,
        "answer_timeout": _integer(raw, "answer_timeout") if voice else None,
        "proxy": _text(raw, "proxy"),
        "proxy_type": _safe_choice(raw, "proxy_type"),
        "proxy_ca_bundle_file": _text(raw, "proxy_ca_bundle_file"),
        **_masked(raw, "proxy_credentials"),
        "recipient_list_file": _text(raw, "recipient_list_file"),
        "wait_for_delivery": _boolean(raw, "wait_for_delivery"),
        "content_sid": _text(raw, "content_sid"),
        "content_variables": _text(raw, "content_variables"),
        "resend_policy": _safe_choice(raw, "resend_policy"),
        "account_sid": _text(raw, "account_sid"),
        "twilio_region": _safe_choice(raw, "twilio_region"),
        "twilio_edge": _safe_choice(raw, "twilio_edge"),
        "validity_period": _integer(raw, "validity_period"),
        "smart_encoding": _boolean(raw, "smart_encoding"),
        "status_callback_url": _text(raw, "status_callback_url"),
        "voice_name": _text(raw, "voice_name") if voice else None,
        "voice_language": _text(raw, "voice_language") if voice else None,
        "voice_repeat": _integer(raw, "voice_repeat") if voice else None,
        "answering_machine": _safe_choice(raw, "answering_machine") if voice else None,
        "call_order": _safe_choice(raw, "call_order") if voice else None,
        "fallback_sms": _boolean(raw, "fallback_sms") if voice else None,
        "max_concurrent_requests": _integer(raw, "max_concurrent_requests"),
        "delivery_timeout": _integer(raw, "delivery_timeout")
        if raw.get("wait_for_delivery") is True
        else None,
    }
    return complete(echoed)


def _credential_keys(name: str):
    return (name + "_user", name + "_password")


def _masked(raw: Mapping, name: str) -> Dict[str, Optional[str]]:
    try:
        user, password = read_credential(raw, name)
    except ValidationError:
        user, password = raw.get(name), raw.get(name)
    keys = _credential_keys(name)
    return {
        keys[0]: None if is_empty(user) else MASK,
        keys[1]: None if is_empty(password) else MASK,
    }


def _safe_choice(raw: Mapping, name: str) -> Optional[str]:
    try:
        return read_choice(raw, name)
    except ValidationError:
        return None


def _text(raw: Mapping, name: str) -> Optional[str]:
    value = raw.get(name)
    if isinstance(value, str) and value:
        return value[:MAX_ECHO_CHARS]
    return None


def _boolean(raw: Mapping, name: str) -> Optional[bool]:
    value = raw.get(name)
    return value if isinstance(value, bool) else None


def _integer(raw: Mapping, name: str) -> Optional[int]:
    value = raw.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return f.BY_NAME[name].default if is_empty(value) else None
