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
