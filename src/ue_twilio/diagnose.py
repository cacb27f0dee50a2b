"""Explain a network failure in words a user can act on."""

from __future__ import annotations

import requests

from .redact import Redactor


def describe_connection_error(exc: BaseException, proxy=None) -> str:
    """One line naming what failed; credentials in URLs are scrubbed."""
    where = " through proxy {}".format(proxy.display) if proxy is not None else ""
    if isinstance(exc, requests.exceptions.ProxyError):
        text = "Cannot reach Twilio through proxy {}".format(
            proxy.display if proxy is not None else "(environment)"
        )
    elif isinstance(exc, requests.exceptions.SSLError):
        text = "TLS certificate verification failed" + where
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        text = "Timed out connecting to Twilio" + where
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        text = "Twilio did not answer in time" + where
    else:
        text = "Cannot connect to Twilio" + where
    return "{} ({})".format(text, _root_cause(exc))


def _root_cause(exc: BaseException) -> str:
    return Redactor()("{}: {}".format(type(exc).__name__, exc))
