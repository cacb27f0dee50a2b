"""Twilio-shaped API errors raised inside the sandbox request handlers."""

from __future__ import annotations

import json

MORE_INFO = "https://www.twilio.com/docs/errors/{}"


class ApiError(Exception):
    """An answer in Twilio's error format: HTTP status plus a Twilio code.

    Raised from validation and routing so the handler has one place that turns
    every refusal into the exact JSON body Twilio sends.
    """

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: int, message: str) -> bytes:
    """Serialise Twilio's error document: code, message, more_info, status."""
    document = {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code),
        "status": status,
    }
    return json.dumps(document).encode("utf-8")


def bad_request(code: int, message: str) -> ApiError:
    return ApiError(400, code, message)


# Twilio's wording of the errors the coded magic numbers produce (see
# ``coded_error``); any other five-digit code gets a generic message.
ERROR_TEXTS = {
    21211: "Invalid 'To' Phone Number",
    21215: "Account not authorized to call this number: geographic permission",
    21408: "Permission to send an SMS has not been enabled for the region "
    "indicated by the 'To' number",
    21606: "The 'From' phone number is not a valid, SMS-capable inbound phone "
    "number or short code for your account",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30024: "Numeric Sender ID not provisioned by carrier",
    30032: "Toll-Free Number Has Not Been Verified",
    30034: "Message from an Unregistered Number",
    30450: "Message delivery blocked by SMS Pumping Protection",
    63016: "Failed to send freeform message because you are outside the allowed "
    "window. If you are using WhatsApp, please use a Message Template.",
}
# To +15005551CCCCC: the create is refused with code CCCCC (HTTP 400);
# To +15005552CCCCC: created, then the delivery ends with code CCCCC.
CREATE_ERROR_PREFIX = "+15005551"
DELIVERY_ERROR_PREFIX = "+15005552"


def coded_error(number: str, prefix: str) -> "tuple[int, str] | None":
    """(code, message) when ``number`` is ``prefix`` + five digits."""
    code = number[len(prefix) :]
    if not number.startswith(prefix) or len(code) != 5 or not code.isdigit():
        return None
    value = int(code)
    return value, ERROR_TEXTS.get(value, "Error {}".format(value))
