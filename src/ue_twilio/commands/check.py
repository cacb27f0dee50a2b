"""Test Connection: prove the credentials and the proxy work, sending nothing.

One GET of the Account resource (``/2010-04-01/Accounts/{sid}.json``) through
the same client, proxy and error mapping as a send, so the answer uses the
same exit codes: 0 works, 2 bad credentials, 3 not authorized, 10 no
connection, 20 bad fields, 1 anything else. An API Key SID with its secret
works too (the account then comes from the Account SID field).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Optional, Tuple

from ..engine.cancel import Cancel
from ..exceptions import AuthorizationError
from ..inputs.account import TwilioAccount
from ..inputs.proxy import ProxyConfig
from ..inputs.settings import Settings
from ..output.logsafe import SafeLog
from ..output.outcome import Outcome
from ..transport.client import open_client
from .base import get_patiently, require_ok, run_command

COMMAND = "test_connection"
ACTIVE = "active"


def check_connection(
    raw_fields: Any,
    settings: Optional[Settings] = None,
    logger: Optional[logging.Logger] = None,
    cancel: Optional[Cancel] = None,
) -> Outcome:
    """Never raises; returns the verdict as an Outcome like a send does.
    Setting ``cancel`` ends it at once (exit 1)."""
    failed = {"account": None}
    return run_command(COMMAND, raw_fields, _check, failed, settings, logger, cancel)


def _check(
    account: TwilioAccount,
    proxy: Optional[ProxyConfig],
    settings: Settings,
    log: SafeLog,
    cancel: Cancel,
) -> Tuple[str, Dict[str, Any]]:
    with open_client(account, settings, proxy=proxy, log=log) as client:
        reply = get_patiently(client.fetch_account, cancel)
    found = require_ok(reply, "the account")
    status = _judge(found)
    facts = {key: found.get(key) for key in ("friendly_name", "status", "type")}
    return status, {"account": facts}


def _judge(account: Mapping[str, Any]) -> str:
    """An account that is not active cannot send: say so as exit 3."""
    state = account.get("status")
    if isinstance(state, str) and state != ACTIVE:
        raise AuthorizationError("The Twilio account is {}.".format(state))
    name = account.get("friendly_name")
    named = " ({})".format(name) if isinstance(name, str) and name else ""
    return "SUCCESS: Connected to Twilio; the account{} is active.".format(named)
