"""Test Connection: prove the credentials and the proxy work, sending nothing;
with a Sender, a pre-flight of it too.

One GET of the Account resource (``/2010-04-01/Accounts/{sid}.json``) through
the same client, proxy and error mapping as a send, so the answer uses the
same exit codes: 0 works, 2 bad credentials, 3 not authorized, 10 no
connection, 20 bad fields, 1 anything else. An API Key SID with its secret
works too (the account then comes from the Account SID field). When the
fields give a Sender, preflight.py checks it against the Action: a Sender
that is not the account's fails (exit 20, naming it); what may stop messages
later (capabilities, A2P 10DLC, toll-free verification, inbound logging) is
listed in ``result.warnings`` and on STDERR.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..engine.cancel import Cancel
from ..exceptions import AuthorizationError
from ..inputs.account import TwilioAccount
from ..inputs.config import read_sender
from ..inputs.fields import SMS
from ..inputs.proxy import ProxyConfig
from ..inputs.readers import is_empty, read_choice
from ..inputs.regions import MESSAGING
from ..inputs.settings import Settings
from ..output.logsafe import SafeLog
from ..output.outcome import Outcome
from ..transport.client import open_client
from .base import get_patiently, require_ok, run_command
from .preflight import inspect_sender

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
    raw = raw_fields if isinstance(raw_fields, Mapping) else {}

    def work(
        account: TwilioAccount,
        proxy: Optional[ProxyConfig],
        settings: Settings,
        log: SafeLog,
        cancel: Cancel,
    ) -> Tuple[str, Dict[str, Any]]:
        return _check(raw, account, proxy, settings, log, cancel)

    return run_command(COMMAND, raw_fields, work, failed, settings, logger, cancel)


def _check(
    raw: Mapping[str, Any],
    account: TwilioAccount,
    proxy: Optional[ProxyConfig],
    settings: Settings,
    log: SafeLog,
    cancel: Cancel,
) -> Tuple[str, Dict[str, Any]]:
    action = read_choice(raw, "action") or SMS
    sender = None if is_empty(raw.get("sender")) else read_sender(raw, action)
    with open_client(account, settings, proxy=proxy, log=log) as client, open_client(
        account, settings, proxy=proxy, log=log, product=MESSAGING
    ) as messaging:
        reply = get_patiently(client.fetch_account, cancel)
        found = require_ok(reply, "the account")
        status = _judge(found)
        facts = {key: found.get(key) for key in ("friendly_name", "status", "type")}
        result: Dict[str, Any] = {"account": facts}
        if sender is not None:
            checked = inspect_sender(client, messaging, sender, action, cancel)
            result["sender"] = checked.facts
            result["warnings"] = checked.warnings
            status = _with_sender(status, sender, checked.warnings, log)
    return status, result


def _with_sender(status: str, sender: str, warnings: List[str], log: SafeLog) -> str:
    """The status description, now also about the Sender; warnings to STDERR."""
    for warning in warnings:
        log.warning("Pre-flight: %s", warning)
    counted = " ({} warning(s): see result.warnings)".format(len(warnings))
    return "{}; the Sender {} belongs to it{}.".format(
        status[:-1], sender, counted if warnings else ""
    )


def _judge(account: Mapping[str, Any]) -> str:
    """An account that is not active cannot send: say so as exit 3."""
    state = account.get("status")
    if isinstance(state, str) and state != ACTIVE:
        raise AuthorizationError("The Twilio account is {}.".format(state))
    name = account.get("friendly_name")
    named = " ({})".format(name) if isinstance(name, str) and name else ""
    return "SUCCESS: Connected to Twilio; the account{} is active.".format(named)
