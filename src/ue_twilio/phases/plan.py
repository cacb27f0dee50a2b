"""The dry run: everything a send would check and cost, and nothing sent.

Chosen by ``Task`` when Dry Run is on, instead of the sending phases: the
fields are validated already; the Sender is checked as Test Connection does
(commands/preflight.py: not the account's → exit 20, the rest warnings);
then segments are counted and Twilio's prices looked up — Pricing v1
``/v1/Messaging/Countries/{ISO}`` once per destination country for SMS, Pricing
v2 ``/v2/Voice/Numbers/{Number}`` once per number for calls. Not one create
request, and the rerun ledger is never opened. ``result.plan``:

    {"recipients": N, "segments": S, "estimated_cost": "7.90" or null,
     "currency": "USD", "unpriced_recipients": 0,
     "by_country": {"US": {"recipients": …, "segments": …, "price": "0.0079",
                           "cost": "7.90"}}}

``price`` is Twilio's highest listed price for the country (per segment; per
minute for a call, counted as one minute a call): carrier and number type are
only known once sent, so the estimate is an upper one. A price Twilio does not
give (no such country, WhatsApp, a refused lookup) is null with ``reason``,
never a failure; ``estimated_cost`` sums the priced countries and is null
when none is priced.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote

from ..commands.base import get_patiently
from ..commands.preflight import inspect_sender
from ..exceptions import Cancelled, TwilioTaskError
from ..inputs.config import TaskConfig
from ..inputs.countries import country_of
from ..inputs.fields import SMS, VOICE
from ..inputs.regions import MESSAGING, PRICING
from ..inputs.settings import Settings
from ..models import RecipientResult, ReplyKind, Status
from ..output.echo import echo_config
from ..output.encoding import message_facts
from ..output.logsafe import SafeLog
from ..output.outcome import Outcome, build_output, stats
from ..redact import Redactor, scrub_tree
from ..transport.client import TwilioClient, open_client
from .run import Cancel

UNKNOWN_COUNTRY = "unknown"
NO_WHATSAPP_PRICES = "Twilio's Pricing API has no WhatsApp prices"
# Prices: (price or None, currency or None, reason or None)
Price = Tuple[Optional[Decimal], Optional[str], Optional[str]]


def dry_run(
    config: TaskConfig,
    settings: Settings,
    cancel: Cancel,
    log: SafeLog,
    redactor: Redactor,
) -> Outcome:
    """The plan as an Outcome (exit 0); TwilioTaskError when the Sender is not
    the account's or Twilio cannot be reached or refuses the credentials."""
    account, proxy = config.account, config.proxy
    trace: Any = log  # the client traces through the scrubbing log, as a send's
    api = open_client(account, settings, proxy=proxy, log=trace)
    messaging = open_client(
        account, settings, proxy=proxy, log=trace, product=MESSAGING
    )
    pricing = open_client(account, settings, proxy=proxy, log=trace, product=PRICING)
    try:
        checked = inspect_sender(api, messaging, config.sender, config.action, cancel)
        for warning in checked.warnings:
            log.warning("Pre-flight: %s", warning)
        plan = _plan(config, pricing, cancel)
    finally:
        for client in (api, messaging, pricing):
            client.close()
    return _outcome(config, plan, checked.facts, checked.warnings, redactor)


def _plan(config: TaskConfig, pricing: TwilioClient, cancel: Cancel) -> Dict[str, Any]:
    facts = message_facts(config.action, config.message)
    per_message = facts["segments"] if facts else None
    groups = _by_country(config, pricing, cancel)
    by_country: Dict[str, Dict[str, Any]] = {}
    total, currency, unpriced = Decimal(0), None, 0
    for country, (numbers, price) in sorted(groups.items()):
        amount, unit, reason = price
        units = _units(config.action, len(numbers), per_message)
        entry: Dict[str, Any] = {
            "recipients": len(numbers),
            "segments": units if config.action == SMS else None,
            "price": _money(amount) if amount is not None else None,
        }
        if config.action == VOICE:
            entry["minutes"] = units
        if amount is None or units is None:
            unpriced += len(numbers)
            entry["cost"] = None
            entry["reason"] = reason
        else:
            cost = amount * units
            total += cost
            currency = currency or unit
            entry["cost"] = _money(cost)
        by_country[country] = entry
    priced = len(config.recipients) - unpriced
    return {
        "recipients": len(config.recipients),
        "segments": per_message * len(config.recipients) if per_message else None,
        "estimated_cost": _money(total) if priced else None,
        "currency": currency or "USD",
        "unpriced_recipients": unpriced,
        "by_country": by_country,
    }


def _units(action: str, recipients: int, per_message: Optional[int]) -> Optional[int]:
    """What is priced: segments of an SMS, one minute a call; None for WhatsApp."""
    if action == SMS:
        return recipients * per_message if per_message else None
    if action == VOICE:
        return recipients
    return None


def _by_country(
    config: TaskConfig, pricing: TwilioClient, cancel: Cancel
) -> Dict[str, Tuple[List[str], Price]]:
    """Recipients grouped by country, with the country's price."""
    groups: Dict[str, Tuple[List[str], Price]] = {}
    if config.action == VOICE:
        for number in config.recipients:
            country, price = _voice_price(pricing, number, config.sender, cancel)
            groups.setdefault(country, ([], price))[0].append(number)
        return groups
    for number in config.recipients:
        country = country_of(number) or UNKNOWN_COUNTRY
        if country not in groups:
            groups[country] = ([], _sms_price(pricing, country, config.action, cancel))
        groups[country][0].append(number)
    return groups


def _sms_price(
    pricing: TwilioClient, country: str, action: str, cancel: Cancel
) -> Price:
    if action != SMS:
        return None, None, NO_WHATSAPP_PRICES
    if country == UNKNOWN_COUNTRY:
        return None, None, "the country of these numbers is not known"
    url = "{}/v1/Messaging/Countries/{}".format(pricing.base_url, country)
    body, problem = _lookup(pricing, url, cancel)
    if body is None:
        return None, None, "no SMS price for {}: {}".format(country, problem)
    prices = (
        price.get("current_price")
        for row in _rows(body.get("outbound_sms_prices"))
        for price in _rows(row.get("prices"))
    )
    return _highest(prices, body, "no outbound SMS price listed for " + country)


def _voice_price(
    pricing: TwilioClient, number: str, sender: str, cancel: Cancel
) -> Tuple[str, Price]:
    """(country, price per minute) of calling ``number`` from ``sender``."""
    url = "{}/v2/Voice/Numbers/{}?OriginationNumber={}".format(
        pricing.base_url, quote(number), quote(sender)
    )
    body, problem = _lookup(pricing, url, cancel)
    if body is None:
        country = country_of(number) or UNKNOWN_COUNTRY
        return country, (None, None, "no voice price: {}".format(problem))
    iso = body.get("iso_country")
    country = iso.upper() if isinstance(iso, str) and iso else UNKNOWN_COUNTRY
    prices = (
        row.get("current_price") for row in _rows(body.get("outbound_call_prices"))
    )
    return country, _highest(prices, body, "no outbound call price listed")


def _lookup(
    client: TwilioClient, url: str, cancel: Cancel
) -> Tuple[Optional[Dict[str, Any]], str]:
    """(body, '') or (None, why): a price lookup never fails the dry run."""
    try:
        reply = get_patiently(lambda: client.get(url), cancel)
    except Cancelled:
        raise
    except TwilioTaskError as exc:
        return None, exc.description
    if reply.kind == ReplyKind.OK and reply.body:
        return dict(reply.body), ""
    return None, reply.describe_error()


def _rows(value: Any) -> List[Dict[str, Any]]:
    return [row for row in value or [] if isinstance(row, dict)]


def _highest(prices: Iterable[Any], body: Dict[str, Any], reason: str) -> Price:
    """The highest listed price (an upper estimate) and the currency."""
    amounts = [a for a in (_decimal(p) for p in prices) if a is not None]
    if not amounts:
        return None, None, reason
    unit = body.get("price_unit")
    return max(amounts), unit.upper() if isinstance(unit, str) else None, None


def _decimal(value: Any) -> Optional[Decimal]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return abs(amount) if amount.is_finite() else None


def _money(value: Decimal) -> str:
    """Exact, with at least two decimals: 7.9 → "7.90", 0.0079 → "0.0079"."""
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return "{}.{}".format(whole, fraction.ljust(2, "0"))


def _outcome(
    config: TaskConfig,
    plan: Dict[str, Any],
    sender: Dict[str, Any],
    warnings: List[str],
    redactor: Redactor,
) -> Outcome:
    """Exit 0: nothing was sent, so every recipient counts as not sent."""
    results = [RecipientResult(to, Status.NOT_SENT) for to in config.recipients]
    result: Dict[str, Any] = {
        "stats": stats(results),
        "dry_run": True,
        "plan": plan,
        "sender": sender,
        "warnings": warnings,
        "message": message_facts(config.action, config.message),
    }
    status = "SUCCESS: Dry run: {} recipient(s), {}; nothing was sent.".format(
        plan["recipients"], _cost_words(plan)
    )
    output = scrub_tree(build_output(0, status, echo_config(config), result), redactor)
    return Outcome(0, status, output, status)


def _cost_words(plan: Dict[str, Any]) -> str:
    segments = plan["segments"]
    counted = "{} segment(s), ".format(segments) if segments else ""
    cost = plan["estimated_cost"]
    if cost is None:
        return counted + "no price known"
    return "{}estimated cost {} {}".format(counted, cost, plan["currency"])
