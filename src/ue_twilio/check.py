"""Test Connection: prove the credentials and the proxy work, sending nothing.

One GET of the Account resource (``/2010-04-01/Accounts/{sid}.json``) through
the same client, proxy and error mapping as a send, so the answer uses the
same exit codes: 0 works, 2 bad credentials, 3 not authorized, 10 no
connection, 20 bad fields, 1 anything else.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Mapping, Optional

from ._version import EXTENSION_NAME, __version__
from .client import OK, RATE_LIMITED, Reply, TwilioClient
from .config import twilio_credentials
from .exceptions import AuthorizationError, TwilioTaskError, ValidationError
from .logsafe import SafeLog
from .outcome import Outcome
from .proxy import echo_no_proxy, parse_proxy
from .ratelimit import backoff_delay
from .readers import read_credential
from .redact import MASK, redactor_for, redactor_for_raw, scrub_tree
from .settings import Settings

COMMAND = "test_connection"
MAX_ATTEMPTS = 3
ACTIVE = "active"


def check_connection(
    raw_fields: Any,
    settings: Optional[Settings] = None,
    logger: Optional[logging.Logger] = None,
) -> Outcome:
    """Never raises; returns the verdict as an Outcome like a send does."""
    settings = settings or Settings.from_env()
    logger = logger or logging.getLogger("ue_twilio")
    raw = raw_fields if isinstance(raw_fields, Mapping) else {}
    redactor = redactor_for_raw(raw)
    log = SafeLog(logger, redactor)
    account = None
    proxy = None
    try:
        sid, token, proxy = _parse(raw_fields)
        redactor = redactor_for(sid, token, proxy)
        log = SafeLog(logger, redactor)
        account = _fetch_account(sid, token, proxy, settings, log)
        exit_code, status = _judge(account)
    except TwilioTaskError as exc:
        exit_code, status = exc.exit_code, exc.status_description
    except Exception as exc:  # noqa: BLE001 - the command must always answer
        exit_code = 1
        status = "FAIL: Unexpected error: {}".format(type(exc).__name__)
    status = redactor(status)
    if exit_code != 0:
        log.error(status)
    output = _output(exit_code, status, raw, proxy, account)
    return Outcome(exit_code, status, scrub_tree(output, redactor), status)


def _parse(raw_fields: Any):
    if not isinstance(raw_fields, Mapping):
        raise ValidationError("Fields", "expected a mapping of field names to values")
    user, password = twilio_credentials(raw_fields)
    return user, password, parse_proxy(raw_fields)


def _fetch_account(sid, token, proxy, settings, log) -> Dict[str, Any]:
    """GET the Account; a 429 is retried twice; run-wide errors raise."""
    client = TwilioClient(sid, token, settings, proxy=proxy, pool_size=1, log=log)
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            reply = client.fetch_account()
            if reply.kind != RATE_LIMITED or attempt == MAX_ATTEMPTS:
                break
            time.sleep(backoff_delay(attempt, reply.retry_after))
    finally:
        client.close()
    if reply.kind != OK or not reply.body:
        raise TwilioTaskError(_problem(reply))
    return dict(reply.body)


def _problem(reply: Reply) -> str:
    if reply.error_code is not None:
        detail = "Twilio error {}: {}".format(reply.error_code, reply.error_message)
    else:
        detail = reply.error_message or "HTTP {}".format(reply.http_status)
    return "Twilio did not return the account. " + detail


def _judge(account: Mapping[str, Any]):
    """An account that is not active cannot send: say so as exit 3."""
    state = account.get("status")
    if isinstance(state, str) and state != ACTIVE:
        raise AuthorizationError("The Twilio account is {}.".format(state))
    name = account.get("friendly_name")
    named = " ({})".format(name) if isinstance(name, str) and name else ""
    return 0, "SUCCESS: Connected to Twilio; the account{} is active.".format(named)


def _output(
    exit_code: int,
    status: str,
    raw: Mapping[str, Any],
    proxy,
    account: Optional[Mapping[str, Any]],
) -> Dict[str, Any]:
    fields: Dict[str, Any] = {
        "twilio_credentials_user": _mask(raw, 0),
        "twilio_credentials_password": _mask(raw, 1),
    }
    fields.update(proxy.echo() if proxy is not None else echo_no_proxy(raw))
    facts = None
    if account is not None:
        facts = {key: account.get(key) for key in ("friendly_name", "status", "type")}
    return {
        "exit_code": exit_code,
        "status_description": status,
        "changed": False,
        "invocation": {
            "extension": EXTENSION_NAME,
            "version": __version__,
            "command": COMMAND,
            "fields": fields,
        },
        "result": {"account": facts},
    }


def _mask(raw: Mapping[str, Any], index: int) -> Optional[str]:
    try:
        parts = read_credential(raw, "twilio_credentials")
    except ValidationError:
        return None
    return MASK if parts[index] else None
