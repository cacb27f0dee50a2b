"""Create-request validation with Twilio's error codes, magic numbers included.

The checks run in a fixed order (presence, format, then magic numbers) so a test
knows which single code a request with several problems gets. Unknown
parameters are ignored, as Twilio does; conformance to the OpenAPI description
is checked separately by the test suite.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from typing import Dict, List, Tuple
from urllib.parse import urlsplit

from .errors import CREATE_ERROR_PREFIX, ApiError, bad_request, coded_error

Params = Dict[str, List[str]]

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
APPLICATION_SID = re.compile(r"^AP[0-9a-fA-F]{32}$")
WHATSAPP = "whatsapp:"
MAX_BODY = 1600
MAX_TWIML = 4000
MAX_MEDIA = 10
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
CALL_UPDATE_STATUSES = ("canceled", "completed")

# Magic numbers of Twilio's documented test credentials: number -> (code, message).
MESSAGE_FROM_MAGIC = {
    "+15005550001": (21212, "The 'From' number {} is not a valid phone number."),
    "+15005550007": (
        21606,
        "The 'From' phone number {} is not a valid, SMS-capable inbound phone "
        "number or short code for your account.",
    ),
    "+15005550008": (
        21611,
        "This 'From' number {} has exceeded the maximum number of queued messages.",
    ),
}
MESSAGE_TO_MAGIC = {
    "+15005550001": (21211, "Invalid 'To' Phone Number: {}"),
    "+15005550002": (21612, "The 'To' phone number {} is not currently reachable."),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region "
        "indicated by the 'To' number: {}",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient {}"),
    "+15005550009": (21614, "'To' number {} is not a valid mobile number"),
}
CALL_FROM_MAGIC = {
    "+15005550001": (21212, "Invalid 'From' Phone Number: {}"),
}
CALL_TO_MAGIC = {
    "+15005550001": (21217, "Phone number {} does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number {} cannot be reached"),
    "+15005550003": (
        21215,
        "Account not authorized to call {}. Perhaps you need to enable some "
        "international permissions.",
    ),
    "+15005550004": (21216, "Account not allowed to call {}"),
}


def first(params: Params, name: str) -> str:
    """The first value of a form parameter, '' when absent."""
    values = params.get(name)
    return values[0] if values else ""


def split_channel(address: str) -> Tuple[str, str]:
    """('whatsapp:', '+1555...') or ('', '+1555...')."""
    if address.startswith(WHATSAPP):
        return WHATSAPP, address[len(WHATSAPP) :]
    return "", address


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _magic(table: dict, number: str) -> None:
    hit = table.get(number)
    if hit is not None:
        raise bad_request(hit[0], hit[1].format(number))


def _coded(to: str) -> None:
    """To +15005551CCCCC: refused with Twilio error CCCCC (any five digits)."""
    coded = coded_error(to, CREATE_ERROR_PREFIX)
    if coded is not None:
        raise bad_request(coded[0], "{}: {}".format(coded[1], to))


def validate_message(params: Params) -> None:
    """Raise ApiError for the first problem a Twilio Messages create would report."""
    to, sender = first(params, "To"), first(params, "From")
    service = first(params, "MessagingServiceSid")
    if not to:
        raise bad_request(21604, "A 'To' phone number is required.")
    if not sender and not service:
        raise bad_request(
            21603, "A 'From' or 'MessagingServiceSid' parameter is required."
        )
    if service and not MESSAGING_SERVICE_SID.match(service):
        raise bad_request(21701, f"The Messaging Service Sid {service} is invalid.")
    _check_content(params)
    _check_message_addresses(to, sender)
    check_status_callback(params)
    check_delivery_options(params)
    if sender:
        _magic(MESSAGE_FROM_MAGIC, split_channel(sender)[1])
    _magic(MESSAGE_TO_MAGIC, split_channel(to)[1])
    _coded(split_channel(to)[1])


def check_status_callback(params: Params) -> None:
    callback = first(params, "StatusCallback")
    if callback and not _is_http_url(callback):
        raise bad_request(21609, "Invalid StatusCallback URL.")


def check_delivery_options(params: Params) -> None:
    """ValidityPeriod 1..36000 (21624, Twilio's code) and SmartEncoded true or
    false (code 20001 is a guess, as for TimeLimit: Twilio documents none)."""
    if "ValidityPeriod" in params:
        raw = first(params, "ValidityPeriod")
        if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= 36000:
            raise bad_request(
                21624,
                f"Invalid validity period value: {raw} (1-36000 seconds).",
            )
    if "SmartEncoded" in params:
        raw = first(params, "SmartEncoded")
        if raw.lower() not in ("true", "false"):
            raise bad_request(20001, f"Invalid SmartEncoded: {raw} (true or false).")


def _check_content(params: Params) -> None:
    body = first(params, "Body")
    content_sid = first(params, "ContentSid")
    variables = params.get("ContentVariables")
    media = [url for url in params.get("MediaUrl", []) if url]
    if not body and not content_sid and not media:
        raise bad_request(
            21619, "A text message body, media URL or ContentSid is required."
        )
    if len(body) > MAX_BODY:
        raise bad_request(
            21617, "The concatenated message body exceeds the 1600 character limit."
        )
    if content_sid and not CONTENT_SID.match(content_sid):
        raise bad_request(21655, "The ContentSid is Invalid.")
    if variables is not None:
        if not content_sid:
            raise bad_request(21654, "A ContentSid is required with ContentVariables.")
        _check_content_variables(variables[0] if variables else "")
    if len(media) > MAX_MEDIA:
        raise bad_request(21623, "Too many media URLs: at most 10 are allowed.")
    if any(not _is_http_url(url) for url in media):
        raise bad_request(21620, "Invalid media URL(s).")


def _check_content_variables(raw: str) -> None:
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise bad_request(21656, "The ContentVariables Parameter is invalid.")


def _check_message_addresses(to: str, sender: str) -> None:
    to_channel, to_number = split_channel(to)
    if not E164.match(to_number):
        raise bad_request(21211, f"Invalid 'To' Phone Number: {to}")
    if not sender:
        return
    from_channel, from_number = split_channel(sender)
    if not E164.match(from_number):
        raise bad_request(21212, f"Invalid 'From' Number: {sender}")
    if to_channel != from_channel:
        raise bad_request(
            21910,
            "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the "
            "same channel.",
        )
    if to_number == from_number:
        raise bad_request(21266, "'To' and 'From' number cannot be the same.")


def validate_call(params: Params) -> None:
    """Raise ApiError for the first problem a Twilio Calls create would report."""
    to, sender = first(params, "To"), first(params, "From")
    if not to:
        raise bad_request(21201, "No 'To' number is specified.")
    if not sender:
        raise bad_request(21213, "No 'From' number is specified.")
    if not E164.match(to):
        raise bad_request(21211, f"Invalid 'To' Phone Number: {to}")
    if not E164.match(sender):
        raise bad_request(21212, f"Invalid 'From' Phone Number: {sender}")
    _check_instructions(params)
    _check_call_integers(params)
    _check_machine_detection(params)
    check_status_callback(params)
    _magic(CALL_FROM_MAGIC, sender)
    _magic(CALL_TO_MAGIC, to)
    _coded(to)


def _check_instructions(params: Params) -> None:
    given = [name for name in ("Twiml", "Url", "ApplicationSid") if first(params, name)]
    if len(given) != 1:
        raise bad_request(
            21205, "Exactly one of 'Twiml', 'Url' or 'ApplicationSid' is required."
        )
    if given[0] == "Url" and not _is_http_url(first(params, "Url")):
        raise bad_request(
            21205, "Url is not a valid URL: {}".format(first(params, "Url"))
        )
    if given[0] == "ApplicationSid" and not APPLICATION_SID.match(
        first(params, "ApplicationSid")
    ):
        raise bad_request(21218, "Invalid ApplicationSid.")
    if given[0] == "Twiml":
        check_twiml(first(params, "Twiml"))


def check_twiml(twiml: str) -> None:
    """Twilio refuses inline TwiML over 4000 characters or that does not parse."""
    if len(twiml) > MAX_TWIML:
        raise bad_request(
            32018, "Twiml size exceeded maximum allowed value of 4000 characters."
        )
    if "<!" in twiml.replace("<![CDATA[", ""):
        # No DOCTYPE/ENTITY: keeps entity-expansion attacks away from the parser.
        raise bad_request(12100, "Document parse failure: declarations not allowed.")
    try:
        root = ElementTree.fromstring(twiml)  # noqa: S314 - no DTD, <= 4000 chars
    except ElementTree.ParseError as exc:
        raise bad_request(12100, f"Document parse failure: {exc}") from None
    if root.tag != "Response":
        raise bad_request(
            12100, "Document parse failure: root element must be <Response>."
        )


def _check_call_integers(params: Params) -> None:
    timeout = _optional_int(params, "Timeout")
    if timeout is not None and not 1 <= timeout <= 600:
        raise _invalid_timeout(first(params, "Timeout"))
    limit = _optional_int(params, "TimeLimit")
    if limit is not None and limit < 1:
        raise _invalid_time_limit(first(params, "TimeLimit"))


def _check_machine_detection(params: Params) -> None:
    """Twilio's 21234: MachineDetection other than Enable / DetectMessageEnd, or
    MachineDetectionTimeout outside 3..59. Other AMD tuning is ignored."""
    detection = first(params, "MachineDetection")
    if detection and detection not in MACHINE_DETECTION:
        raise _invalid_detection(f"MachineDetection {detection!r}")
    timeout = first(params, "MachineDetectionTimeout")
    if "MachineDetectionTimeout" in params and not (
        re.fullmatch(r"[0-9]{1,2}", timeout) and 3 <= int(timeout) <= 59
    ):
        raise _invalid_detection(f"MachineDetectionTimeout {timeout!r} (3-59)")


def _invalid_detection(what: str) -> ApiError:
    return bad_request(21234, f"Invalid Machine Detection configuration value: {what}")


def validate_call_update(params: Params) -> str:
    """The update's Status (may be ''); 400/20001 for a value Twilio's
    OpenAPI does not list (``canceled``, ``completed``)."""
    status = first(params, "Status")
    if "Status" in params and status not in CALL_UPDATE_STATUSES:
        raise bad_request(
            20001, f"Invalid Status {status!r}: one of canceled, completed."
        )
    return status


def _optional_int(params: Params, name: str) -> int | None:
    if name not in params:
        return None
    raw = first(params, name)
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", raw):
        raise _invalid_timeout(raw) if name == "Timeout" else _invalid_time_limit(raw)
    return int(raw)


def _invalid_timeout(raw: str) -> ApiError:
    return bad_request(21208, f"Invalid Timeout: {raw} (1-600 seconds).")


def _invalid_time_limit(raw: str) -> ApiError:
    return bad_request(20001, f"Invalid TimeLimit: {raw} (a positive integer).")
