"""Who we are at Twilio and where: credentials, region and edge.

The Twilio Credentials user is either the Account SID (password: the Auth
Token) or an API Key SID (password: the key's secret; then Account SID names
the account in every URL). Sends, Test Connection and List Senders all read
them here, so the three authenticate and route identically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ..exceptions import ValidationError
from . import regions
from .readers import label, read_choice, read_credential, read_text
from .settings import Settings

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
_CREDENTIALS = "twilio_credentials"
_ACCOUNT = "account_sid"


@dataclass(frozen=True)
class TwilioAccount:
    """The account in the URL, the Basic auth pair, and the region/edge."""

    account_sid: str
    auth_user: str
    secret: str = field(repr=False)
    region: str = regions.DEFAULT_REGION
    edge: Optional[str] = None

    @property
    def uses_api_key(self) -> bool:
        return self.auth_user != self.account_sid

    def api_url(self, settings: Settings) -> str:
        """The 2010-04-01 API base: the override if any, else the region's host."""
        return self.url_for(settings, regions.API)

    def url_for(self, settings: Settings, product: str) -> str:
        """A product's base (``api``, ``messaging``, ``pricing``, ``studio``).

        An overridden API URL (the sandbox, a test) serves every product: their
        paths do not collide (``/2010-04-01/…``, ``/v1/Services``, ``/v2/Flows``).
        """
        return settings.api_url or regions.base_url(product, self.region, self.edge)

    @property
    def auth_hint(self) -> str:
        return regions.credentials_hint(self.region)


def read_account(raw: Mapping[str, Any]) -> TwilioAccount:
    """Validate the credential, Account SID, region and edge (exit 20 if wrong)."""
    user, secret = read_credential(raw, _CREDENTIALS)
    name = label(_CREDENTIALS)
    if user is None:
        raise ValidationError(name, "the user (Account SID or API Key SID) is empty")
    account = _account_sid(raw)
    if API_KEY_SID.fullmatch(user):
        if account is None:
            problem = "is required when the Twilio Credentials user is an API Key SID"
            raise ValidationError(label(_ACCOUNT), problem)
        what = "API key secret"
    elif ACCOUNT_SID.fullmatch(user):
        if account is not None and account != user:
            problem = "differs from the Account SID in Twilio Credentials"
            raise ValidationError(label(_ACCOUNT), problem)
        account = user
        what = "Auth Token"
    else:
        problem = (
            "the user must be an Account SID (AC + 32 hex digits) or an API Key "
            "SID (SK + 32 hex digits)"
        )
        raise ValidationError(name, problem)
    if secret is None:
        raise ValidationError(name, "the {} (password) is empty".format(what))
    region = read_choice(raw, "twilio_region") or regions.DEFAULT_REGION
    edge = read_choice(raw, "twilio_edge")
    return TwilioAccount(account, user, secret, region, edge)


def _account_sid(raw: Mapping[str, Any]) -> Optional[str]:
    value = read_text(raw, _ACCOUNT)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if ACCOUNT_SID.fullmatch(value) is None:
        raise ValidationError(label(_ACCOUNT), "must be AC followed by 32 hex digits")
    return value
