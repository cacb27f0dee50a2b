"""List Senders: the account's phone numbers and Messaging Services.

So a user can pick a valid Sender without opening Twilio's console. Numbers
come from ``/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json`` (with
their SMS, MMS and voice capabilities), services from Messaging v1
``/v1/Services`` on the region's messaging host; both follow Twilio's next
page links and stop after MAX_ITEMS of each (the result says so). Sends
nothing; exit codes as Test Connection.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..engine.cancel import Cancel
from ..inputs.account import TwilioAccount
from ..inputs.proxy import ProxyConfig
from ..inputs.regions import MESSAGING
from ..inputs.settings import Settings
from ..models import Reply
from ..output.logsafe import SafeLog
from ..output.outcome import Outcome
from ..transport.client import TwilioClient, open_client
from .base import get_patiently, require_ok, run_command

COMMAND = "list_senders"
MAX_ITEMS = 1000
PAGE_SIZE = 50
SERVICES_PATH = "/v1/Services"


def list_senders(
    raw_fields: Any,
    settings: Optional[Settings] = None,
    logger: Optional[logging.Logger] = None,
    cancel: Optional[Cancel] = None,
) -> Outcome:
    """Never raises; the numbers and services land in the Extension Output.
    Setting ``cancel`` ends it before its next request (exit 1)."""
    failed = {"phone_numbers": None, "messaging_services": None}
    return run_command(COMMAND, raw_fields, _list, failed, settings, logger, cancel)


def _list(
    account: TwilioAccount,
    proxy: Optional[ProxyConfig],
    settings: Settings,
    log: SafeLog,
    cancel: Cancel,
) -> Tuple[str, Dict[str, Any]]:
    with open_client(account, settings, proxy=proxy, log=log) as api, open_client(
        account, settings, proxy=proxy, log=log, product=MESSAGING
    ) as messaging:
        numbers, more_numbers = _collect(
            lambda: api.account_list("IncomingPhoneNumbers", PAGE_SIZE),
            api,
            "incoming_phone_numbers",
            "the phone numbers",
            cancel,
        )
        services, more_services = _collect(
            lambda: messaging.get(
                "{}{}?PageSize={}".format(messaging.base_url, SERVICES_PATH, PAGE_SIZE)
            ),
            messaging,
            "services",
            "the Messaging Services",
            cancel,
        )
    result = {
        "phone_numbers": [_number(item) for item in numbers],
        "phone_numbers_truncated": more_numbers,
        "messaging_services": [_service(item) for item in services],
        "messaging_services_truncated": more_services,
    }
    return _status(len(numbers), more_numbers, len(services), more_services), result


def _collect(
    first: Callable[[], Reply],
    client: TwilioClient,
    key: str,
    what: str,
    cancel: Cancel,
) -> Tuple[List[Dict[str, Any]], bool]:
    """Items of every page up to MAX_ITEMS; True when more were left unread."""
    items: List[Dict[str, Any]] = []
    body = require_ok(get_patiently(first, cancel), what)
    for _ in range(MAX_ITEMS // PAGE_SIZE + 1):
        page = body.get(key)
        items.extend(item for item in page or [] if isinstance(item, dict))
        link = _next_link(body)
        if len(items) >= MAX_ITEMS or not link:
            return items[:MAX_ITEMS], bool(link) or len(items) > MAX_ITEMS
        body = require_ok(get_patiently(partial(client.get, link), cancel), what)
    return items[:MAX_ITEMS], True


def _next_link(body: Dict[str, Any]) -> Optional[str]:
    """v2010 ``next_page_uri`` (a path) or v1 ``meta.next_page_url``."""
    meta = body.get("meta")
    link = body.get("next_page_uri") or (
        meta.get("next_page_url") if isinstance(meta, dict) else None
    )
    return link if isinstance(link, str) and link else None


def _number(item: Dict[str, Any]) -> Dict[str, Any]:
    capabilities = item.get("capabilities")
    capabilities = capabilities if isinstance(capabilities, dict) else {}
    return {
        "phone_number": item.get("phone_number"),
        "friendly_name": item.get("friendly_name"),
        "sid": item.get("sid"),
        "sms": capabilities.get("sms") is True,
        "mms": capabilities.get("mms") is True,
        "voice": capabilities.get("voice") is True,
    }


def _service(item: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "sid": item.get("sid"),
        "friendly_name": item.get("friendly_name"),
        "usecase": item.get("usecase"),
    }


def _status(numbers: int, more_numbers: bool, services: int, more: bool) -> str:
    def amount(count: int, truncated: bool, noun: str) -> str:
        prefix = "the first " if truncated else ""
        return "{}{} {}".format(prefix, count, noun)

    return "SUCCESS: Found {} and {}.".format(
        amount(numbers, more_numbers, "phone number(s)"),
        amount(services, more, "Messaging Service(s)"),
    )
