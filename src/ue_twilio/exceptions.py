"""Every error the core raises, in one place.

Each class carries the exit code and the classification prefix of the status
description, so front ends never map exceptions to codes themselves.
"""

from __future__ import annotations

import ssl


class TwilioTaskError(Exception):
    """Base class: an error that ends the task with a known exit code."""

    exit_code = 1
    classification = "FAIL"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    @property
    def status_description(self) -> str:
        return "{}: {}".format(self.classification, sentence(self.description))


def sentence(text: str) -> str:
    """End ``text`` with exactly one period, as the seed writes every status."""
    text = text.rstrip()
    return text if text.endswith(".") else text + "."


class ValidationError(TwilioTaskError):
    """A field value is wrong; raised before any request is sent."""

    exit_code = 20
    classification = "DATA_VALIDATION_ERROR"

    def __init__(self, label: str, problem: str) -> None:
        super().__init__("{}: {}".format(label, problem))
        self.label = label
        self.problem = problem


class AuthenticationError(TwilioTaskError):
    """Twilio answered 401: the Account SID / Auth Token pair is wrong."""

    exit_code = 2
    classification = "AUTHENTICATION_ERROR"

    def __init__(self, details: str) -> None:
        super().__init__("Account cannot be authenticated. " + details)


class AuthorizationError(TwilioTaskError):
    """Twilio answered 403: the account may not do this."""

    exit_code = 3
    classification = "AUTHORIZATION_ERROR"

    def __init__(self, details: str) -> None:
        super().__init__(
            "Account is not authorized to perform the requested action. " + details
        )


class TwilioConnectionError(TwilioTaskError):
    """No usable answer reached us: DNS, refused, TLS, proxy or timeout."""

    exit_code = 10
    classification = "CONNECTION_ERROR"


class ProxyTLSError(ssl.SSLError):
    """TLS to the HTTPS proxy itself failed (not TLS to Twilio inside the tunnel).

    urllib3 reports both hops with the same SSLError; this subclass, raised by
    the proxy-hop context, lets ``diagnose`` tell the user which CA is missing.
    """


RUN_WIDE_ERRORS = (AuthenticationError, AuthorizationError, TwilioConnectionError)


class Cancelled(TwilioTaskError):
    """The task was cancelled (agent cancel, SIGINT, SIGTERM) before sending."""

    def __init__(self) -> None:
        super().__init__("Task was cancelled before anything was sent.")


class StateFileBusy(TwilioTaskError):
    """Another run holds the resend state file; this one must not send."""
