"""The pre-flight: is the Sender this account's, and can it send what we ask?

Test Connection (and ``ue-twilio check``) and the dry run ask Twilio about the
Sender before anything is sent. A phone number must be one of the account's
(``IncomingPhoneNumbers.json?PhoneNumber=``; for a voice call a verified
caller ID, ``OutgoingCallerIds.json``, will do too); a Messaging Service SID
must be one of its services (Messaging v1 ``/v1/Services/{MG}``). Anything else
fails with exit 20 naming the Sender. The rest are warnings, where the API can
tell: the number's capabilities against the Action, a toll-free number's
verification (``/v1/Tollfree/Verifications``), a service's US A2P 10DLC
campaign (``/v1/Services/{MG}/Compliance/Usa2p``) and whether a service logs
inbound messages (acknowledgement by reply needs them). A lookup Twilio
refuses (403, 404) becomes a warning too, never a failure.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from ..engine.cancel import Cancel
from ..exceptions import AuthorizationError, ValidationError
from ..inputs.fields import SMS, VOICE, WHATSAPP
from ..inputs.readers import label
from ..models import Reply, ReplyKind
from ..transport.client import TwilioClient
from .base import get_patiently, require_ok

# North American toll-free area codes (NANP): verification applies to them.
TOLL_FREE = re.compile(r"^\+1(800|833|844|855|866|877|888)\d{7}$")
# Twilio's shared WhatsApp Sandbox number: no account owns it.
WHATSAPP_SANDBOX = "+14155238886"
CAPABILITY = {SMS: "sms", VOICE: "voice"}
A2P_OK = "VERIFIED"
TOLL_FREE_OK = "TWILIO_APPROVED"


class Sender:
    """What the pre-flight found: facts for the output, warnings for people."""

    def __init__(self, sender: str, kind: str) -> None:
        self.facts: Dict[str, Any] = {"sender": sender, "kind": kind}
        self.warnings: List[str] = []


def inspect_sender(
    api: TwilioClient,
    messaging: TwilioClient,
    sender: str,
    action: str,
    cancel: Cancel,
) -> Sender:
    """Look the Sender up; ValidationError (exit 20) when it is not the account's."""
    if sender.startswith("MG"):
        return _service(messaging, sender, cancel)
    return _number(api, messaging, sender, action, cancel)


def _not_ours(sender: str, what: str) -> ValidationError:
    return ValidationError(
        label("sender"), "{} is not {} of this Twilio account".format(sender, what)
    )


def _number(
    api: TwilioClient,
    messaging: TwilioClient,
    sender: str,
    action: str,
    cancel: Cancel,
) -> Sender:
    found = _first(
        api, "IncomingPhoneNumbers", sender, cancel, "incoming_phone_numbers"
    )
    if found is None:
        return _unowned(api, sender, action, cancel)
    result = Sender(sender, "phone_number")
    capabilities = found.get("capabilities")
    capabilities = capabilities if isinstance(capabilities, dict) else {}
    result.facts["sid"] = found.get("sid")
    result.facts["capabilities"] = {
        key: capabilities.get(key) is True for key in ("sms", "mms", "voice")
    }
    needed = CAPABILITY.get(action)
    if needed and capabilities.get(needed) is not True:
        result.warnings.append(
            "Sender {} has no {} capability: Twilio will refuse every {} "
            "(choose a number with it; ue-twilio senders lists them).".format(
                sender, needed.upper() if needed == "sms" else needed, _noun(action)
            )
        )
    if action == SMS and TOLL_FREE.match(sender):
        _toll_free(messaging, result, found.get("sid"), cancel)
    return result


def _unowned(api: TwilioClient, sender: str, action: str, cancel: Cancel) -> Sender:
    """Not a number of the account: a voice caller ID may be a verified one;
    Twilio's WhatsApp Sandbox number is shared."""
    if action == VOICE:
        found = _first(api, "OutgoingCallerIds", sender, cancel, "outgoing_caller_ids")
        if found is None:
            raise _not_ours(sender, "a phone number or a verified caller ID")
        result = Sender(sender, "verified_caller_id")
        result.facts["sid"] = found.get("sid")
        return result
    if action == WHATSAPP and sender == WHATSAPP_SANDBOX:
        result = Sender(sender, "whatsapp_sandbox")
        result.warnings.append(
            "Sender {} is Twilio's WhatsApp Sandbox: only recipients who joined "
            "the sandbox receive messages; use your own WhatsApp sender in "
            "production.".format(sender)
        )
        return result
    raise _not_ours(sender, "a phone number")


def _first(
    api: TwilioClient,
    resource: str,
    number: str,
    cancel: Cancel,
    key: str,
) -> Optional[Dict[str, Any]]:
    """The account's resource for this exact number, None when it has none."""
    reply = get_patiently(
        lambda: api.list_page(resource, {"PhoneNumber": number}), cancel
    )
    body = require_ok(reply, "the account's {}".format(resource))
    for item in body.get(key) or []:
        if isinstance(item, dict) and item.get("phone_number") == number:
            return item
    return None


def _toll_free(
    messaging: TwilioClient,
    result: Sender,
    number_sid: Any,
    cancel: Cancel,
) -> None:
    """A toll-free number must be verified to text US and Canadian numbers."""
    url = "{}/v1/Tollfree/Verifications?TollfreePhoneNumberSid={}".format(
        messaging.base_url, number_sid
    )
    what = "its toll-free verification"
    answered, status = _first_status(messaging, url, cancel, result, what)
    if not answered:
        return
    result.facts["toll_free_verification"] = status
    if status != TOLL_FREE_OK:
        result.warnings.append(
            "Sender {} is a toll-free number {}: Twilio blocks its messages to US "
            "and Canadian numbers until it is approved (error 30032).".format(
                result.facts["sender"],
                "without a verification"
                if status is None
                else "whose verification is {}".format(status),
            )
        )


def _service(messaging: TwilioClient, sid: str, cancel: Cancel) -> Sender:
    url = "{}/v1/Services/{}".format(messaging.base_url, sid)
    reply = _get(messaging, url, cancel)
    if reply.http_status == 404:
        raise _not_ours(sid, "a Messaging Service")
    service = require_ok(reply, "the Messaging Service")
    result = Sender(sid, "messaging_service")
    result.facts["friendly_name"] = service.get("friendly_name")
    _a2p(messaging, result, cancel)
    if not service.get("inbound_request_url") and not service.get(
        "use_inbound_webhook_on_number"
    ):
        result.facts["logs_inbound"] = False
        result.warnings.append(
            "Messaging Service {} has no Incoming Message URL and does not defer "
            "to its numbers' webhooks: replies are not logged, so acknowledgement "
            "by reply cannot work.".format(sid)
        )
    else:
        result.facts["logs_inbound"] = True
    return result


def _a2p(messaging: TwilioClient, result: Sender, cancel: Cancel) -> None:
    """US 10DLC numbers of a service need a verified A2P campaign (30034)."""
    url = "{}/v1/Services/{}/Compliance/Usa2p".format(
        messaging.base_url, result.facts["sender"]
    )
    what = "its US A2P 10DLC campaign"
    answered, status = _first_status(messaging, url, cancel, result, what)
    if not answered:
        return
    result.facts["a2p_campaign_status"] = status
    if status != A2P_OK:
        result.warnings.append(
            "Messaging Service {} {}: US carriers block its US long code (10DLC) "
            "messages to US numbers (error 30034).".format(
                result.facts["sender"],
                "has no US A2P 10DLC campaign"
                if status is None
                else "has a US A2P 10DLC campaign in status {}".format(status),
            )
        )


# The list key and the status key of each compliance lookup's answer.
_STATUS_KEYS = {
    "its toll-free verification": ("verifications", "status"),
    "its US A2P 10DLC campaign": ("compliance", "campaign_status"),
}


def _first_status(
    messaging: TwilioClient, url: str, cancel: Cancel, result: Sender, what: str
) -> Tuple[bool, Optional[str]]:
    """(answered, the first row's status): a compliance lookup, where a
    refused lookup is a warning (``_optional``) and no row is no status."""
    body = _optional(messaging, url, cancel, result, what)
    if body is None:
        return False, None
    rows_key, status_key = _STATUS_KEYS[what]
    rows = [row for row in body.get(rows_key) or [] if isinstance(row, dict)]
    status = rows[0].get(status_key) if rows else None
    return True, status if isinstance(status, str) else None


def _optional(
    client: TwilioClient,
    url: str,
    cancel: Cancel,
    result: Sender,
    what: str,
) -> Optional[Dict[str, Any]]:
    """A lookup that only informs: a refusal is a warning, not a failure."""
    try:
        reply = _get(client, url, cancel)
    except AuthorizationError as exc:
        reply = Reply(ReplyKind.REFUSED, 403, error_message=exc.description)
    if reply.kind == ReplyKind.OK and reply.body:
        return dict(reply.body)
    result.warnings.append(
        "Could not read {} of {} ({}).".format(
            what, result.facts["sender"], reply.describe_error()
        )
    )
    return None


def _get(client: TwilioClient, url: str, cancel: Cancel) -> Reply:
    return get_patiently(lambda: client.get(url), cancel)


def _noun(action: str) -> str:
    return "call" if action == VOICE else "message"
