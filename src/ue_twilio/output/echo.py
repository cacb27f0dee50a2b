"""``invocation.fields`` of the Extension Output: what the task was asked to do.

The one place that knows how fields are echoed, for a send (ECHO_KEYS) and
for the template commands (COMMAND_KEYS). Credentials are only ever shown as
``****``, a URL's ``user:password@`` as ``****@``. Validated values are echoed
as the task uses them; when validation failed the raw values are echoed
best-effort, so the output exists on every exit path: a value of the wrong
kind, and a choice that is not one of the field's choices, as null (only a
field's own choice values are ever echoed from a Choice). Every path has the
same keys, null where a value is not known (such as ``recipient_count``
before the numbers were validated).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, cast

from ..exceptions import ValidationError
from ..inputs import fields as f
from ..inputs.config import TaskConfig
from ..inputs.phone import split_entries
from ..inputs.proxy import ProxyConfig
from ..inputs.readers import is_empty, read_choice, read_credential
from ..redact import MASK, mask_userinfo

MAX_ECHO_CHARS = 4000
PROXY_KEYS = (
    "proxy",
    "proxy_type",
    "proxy_ca_bundle_file",
    "proxy_credentials_user",
    "proxy_credentials_password",
)

# Every key of a send's ``invocation.fields``, in order, on every exit path:
# the seed's thirteen first, then ours. A value not known on a path is null.
ECHO_KEYS = (
    (
        "action",
        "twilio_credentials_user",
        "twilio_credentials_password",
        "sender",
        "recipient_list",
        "message_body_text",
        "call_max_duration",
        "answer_timeout",
    )
    + PROXY_KEYS
    + (
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
    )
    + f.VOICE_OPTIONS
    + ("dry_run",)
    + f.ACK_OPTIONS
)

# The keys of a template command's ``invocation.fields``: the fields it reads.
COMMAND_KEYS = (
    "twilio_credentials_user",
    "twilio_credentials_password",
    "account_sid",
    "twilio_region",
    "twilio_edge",
) + PROXY_KEYS


def complete(
    echoed: Mapping[str, Any], keys: Sequence[str] = ECHO_KEYS
) -> Dict[str, Any]:
    """Exactly ``keys``, in order; what ``echoed`` lacks is null."""
    return {key: echoed.get(key) for key in keys}


def blank_echo() -> Dict[str, Any]:
    """The echo when nothing about the fields is known (a crash)."""
    return complete({})


def echo_config(config: TaskConfig) -> Dict[str, Any]:
    """A send's fields as validated (no proxy: the proxy keys are null)."""
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
        "recipient_list_file": config.recipient_file,
        "recipient_count": len(config.recipients) + len(config.rejected),
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
        "dry_run": config.dry_run,
    }
    if config.proxy is not None:
        echoed.update(_proxy_echo(config.proxy))
    echoed.update(_voice_echo(config))
    echoed.update(_ack_echo(config))
    return complete(echoed)


def echo_command(raw: Any, proxy: Optional[ProxyConfig] = None) -> Dict[str, Any]:
    """A template command's fields; never raises.

    ``proxy`` is the parsed proxy; without one (no Proxy Type, or the fields
    did not parse) the proxy fields are echoed best-effort from ``raw``.
    """
    raw = raw if isinstance(raw, Mapping) else {}
    echoed = _raw_account_echo(raw)
    echoed.update(_proxy_echo(proxy) if proxy is not None else _raw_proxy_echo(raw))
    return complete(echoed, COMMAND_KEYS)


def _voice_echo(config: TaskConfig) -> Dict[str, Any]:
    """The issue-12 voice options; null unless the action is voice."""
    voice = config.is_voice
    return {name: getattr(config, name) if voice else None for name in f.VOICE_OPTIONS}


def _ack_echo(config: TaskConfig) -> Dict[str, Any]:
    """The acknowledgement options (issue 21); null unless waiting for one."""
    wait = config.wait_for_acknowledgement
    echoed: Dict[str, Any] = {name: None for name in f.ACK_OPTIONS}
    echoed["wait_for_acknowledgement"] = wait
    if wait:
        echoed.update((name, getattr(config, name)) for name in f.ACK_OPTIONS)
    return echoed


def _proxy_echo(proxy: ProxyConfig) -> Dict[str, Optional[str]]:
    return {
        "proxy": proxy.url,
        "proxy_type": proxy.proxy_type,
        "proxy_ca_bundle_file": proxy.ca_bundle,
        "proxy_credentials_user": MASK if proxy.user else None,
        "proxy_credentials_password": MASK if proxy.password else None,
    }


def echo_raw(raw: Any) -> Dict[str, Any]:
    """Best-effort echo of a send's unvalidated fields; never raises."""
    raw = raw if isinstance(raw, Mapping) else {}
    action = _choice(raw, "action") or f.SMS
    voice = action == f.VOICE
    recipients = _text(raw, "recipient_list")
    echoed = {
        "action": action,
        "sender": _text(raw, "sender"),
        "recipient_list": [e for _, e in split_entries(recipients)]
        if recipients
        else [],
        "message_body_text": _text(raw, "message_body_text"),
        "call_max_duration": _integer(raw, "call_max_duration") if voice else None,
        "answer_timeout": _integer(raw, "answer_timeout") if voice else None,
        "recipient_list_file": _text(raw, "recipient_list_file"),
        "wait_for_delivery": _boolean(raw, "wait_for_delivery"),
        "content_sid": _text(raw, "content_sid"),
        "content_variables": _text(raw, "content_variables"),
        "resend_policy": _choice(raw, "resend_policy"),
        "validity_period": _integer(raw, "validity_period"),
        "smart_encoding": _boolean(raw, "smart_encoding"),
        "status_callback_url": _text(raw, "status_callback_url"),
        "voice_name": _text(raw, "voice_name") if voice else None,
        "voice_language": _text(raw, "voice_language") if voice else None,
        "voice_repeat": _integer(raw, "voice_repeat") if voice else None,
        "answering_machine": _choice(raw, "answering_machine") if voice else None,
        "call_order": _choice(raw, "call_order") if voice else None,
        "fallback_sms": _boolean(raw, "fallback_sms") if voice else None,
        "dry_run": _boolean(raw, "dry_run"),
        "max_concurrent_requests": _integer(raw, "max_concurrent_requests"),
        "delivery_timeout": _integer(raw, "delivery_timeout")
        if raw.get("wait_for_delivery") is True
        else None,
        "wait_for_acknowledgement": _boolean(raw, "wait_for_acknowledgement"),
    }
    echoed.update(_raw_account_echo(raw))
    echoed.update(_raw_proxy_echo(raw))
    return complete(echoed)


def _raw_account_echo(raw: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    return {
        **_masked(raw, "twilio_credentials"),
        "account_sid": _text(raw, "account_sid"),
        "twilio_region": _choice(raw, "twilio_region"),
        "twilio_edge": _choice(raw, "twilio_edge"),
    }


def _raw_proxy_echo(raw: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    url = raw.get("proxy")
    return {
        "proxy": _clip(mask_userinfo(url)) if isinstance(url, str) else None,
        "proxy_type": _choice(raw, "proxy_type"),
        "proxy_ca_bundle_file": _text(raw, "proxy_ca_bundle_file"),
        **_masked(raw, "proxy_credentials"),
    }


def _masked(raw: Mapping[str, Any], name: str) -> Dict[str, Optional[str]]:
    """``****`` for each part given, even in a shape the reader refuses."""
    try:
        user, password = read_credential(raw, name)
    except ValidationError:
        user, password = raw.get(name), raw.get(name)
    return {
        name + "_user": None if is_empty(user) else MASK,
        name + "_password": None if is_empty(password) else MASK,
    }


def _choice(raw: Mapping[str, Any], name: str) -> Optional[str]:
    """One of the field's own choice values, else null: a value the field
    refuses (the status names it) could be anything, a pasted secret too."""
    try:
        return read_choice(raw, name)
    except ValidationError:
        return None


def _text(raw: Mapping[str, Any], name: str) -> Optional[str]:
    value = raw.get(name)
    return _clip(value) if isinstance(value, str) else None


def _clip(value: str) -> Optional[str]:
    return value[:MAX_ECHO_CHARS] if value else None


def _boolean(raw: Mapping[str, Any], name: str) -> Optional[bool]:
    value = raw.get(name)
    return value if isinstance(value, bool) else None


def _integer(raw: Mapping[str, Any], name: str) -> Optional[int]:
    value = raw.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return cast(Optional[int], f.BY_NAME[name].default) if is_empty(value) else None
