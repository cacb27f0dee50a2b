"""What the pre-flight asks about a sender: compliance, caller IDs, prices.

Read-only documents shaped like Twilio's (OpenAPI: api v2010, Messaging v1,
Pricing v1 and v2), answered from data tests and the demo configure:

- ``GET /2010-04-01/Accounts/{sid}/OutgoingCallerIds.json[?PhoneNumber=]``:
  the account's verified caller IDs (``add_caller_id``);
- ``GET /v1/Services/{MG}``: one Messaging Service of the catalog (404/20404
  for another SID);
- ``GET /v1/Services/{MG}/Compliance/Usa2p``: the service's US A2P 10DLC
  campaign, if any (``set_a2p``: ``VERIFIED``, ``IN_PROGRESS``, ``FAILED``…);
- ``GET /v1/Tollfree/Verifications?TollfreePhoneNumberSid=PN…``: a toll-free
  number's verification, if any (``set_tollfree``: ``PENDING_REVIEW``,
  ``IN_REVIEW``, ``TWILIO_APPROVED``, ``TWILIO_REJECTED``);
- ``GET /v1/Messaging/Countries/{ISO}``: outbound SMS prices per carrier and
  number type (``set_sms_price``; 404/20404 for a country without prices);
- ``GET /v2/Voice/Numbers/{E.164}``: the per-minute price of calling a number,
  from the longest configured calling-code prefix (``set_voice_price``).

Prices are strings, as Twilio sends them (``"0.0079"``).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Dict, List, Optional, Tuple
from urllib.parse import quote, unquote

from .errors import ApiError
from .resources import BASE, new_sid, rfc2822
from .validation import Params, first

CALLER_IDS = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/OutgoingCallerIds\.json$"
)
SERVICE = re.compile(r"^/v1/Services/(?P<sid>MG[0-9a-fA-F]{32})$")
USA2P = re.compile(r"^/v1/Services/(?P<sid>[^/]+)/Compliance/Usa2p$")
TOLLFREE_PATH = "/v1/Tollfree/Verifications"
SMS_PRICES = re.compile(r"^/v1/Messaging/Countries/(?P<iso>[^/]+)$")
VOICE_PRICES = re.compile(r"^/v2/Voice/Numbers/(?P<number>[^/]+)$")

# (ISO, country, price per segment in USD, carriers): fake but plausible.
DEFAULT_SMS_PRICES = (
    ("US", "United States", "0.0079", ("AT&T", "T-Mobile", "Verizon")),
    ("CA", "Canada", "0.0075", ("Bell", "Rogers")),
    ("GB", "United Kingdom", "0.0400", ("EE", "Vodafone")),
    ("DE", "Germany", "0.0770", ("Telekom",)),
    ("GR", "Greece", "0.0520", ("Cosmote",)),
)
# (calling-code prefix, ISO, country, price per minute in USD)
DEFAULT_VOICE_PRICES = (
    ("+1", "US", "United States", "0.0140"),
    ("+44", "GB", "United Kingdom", "0.0150"),
    ("+49", "DE", "Germany", "0.0250"),
    ("+30", "GR", "Greece", "0.0300"),
)


class Compliance:
    """A2P campaigns, toll-free verifications, caller IDs and prices.

    ``refuse_a2p``: the A2P lookup answers 403/20403, as for an API key
    without the permission."""

    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.refuse_a2p = False
        self._lock = threading.Lock()
        self._a2p: Dict[str, str] = {}
        self._tollfree: Dict[str, Tuple[str, str]] = {}  # PN sid -> (number, status)
        self._caller_ids: List[dict] = []
        self._sms: Dict[str, Tuple[str, str, Tuple[str, ...]]] = {}
        self._voice: Dict[str, Tuple[str, str, str]] = {}
        for iso, country, amount, carriers in DEFAULT_SMS_PRICES:
            self.set_sms_price(iso, amount, country, carriers)
        for prefix, iso, country, amount in DEFAULT_VOICE_PRICES:
            self.set_voice_price(prefix, iso, amount, country)

    # -- configuration ------------------------------------------------------
    def set_a2p(self, service_sid: str, campaign_status: Optional[str]) -> None:
        """The service's campaign status; None: it has no campaign."""
        with self._lock:
            if campaign_status is None:
                self._a2p.pop(service_sid, None)
            else:
                self._a2p[service_sid] = campaign_status

    def set_tollfree(self, number: dict, status: Optional[str]) -> None:
        """``number``: a resource of ``Catalog.add_phone_number``; None: unverified."""
        with self._lock:
            if status is None:
                self._tollfree.pop(number["sid"], None)
            else:
                self._tollfree[number["sid"]] = (number["phone_number"], status)

    def add_caller_id(self, number: str, name: str = "") -> dict:
        now = rfc2822(time.time())
        sid = new_sid("PN")
        resource = {
            "account_sid": self.account_sid,
            "date_created": now,
            "date_updated": now,
            "friendly_name": name or number,
            "phone_number": number,
            "sid": sid,
            "uri": BASE.format(self.account_sid) + f"/OutgoingCallerIds/{sid}.json",
        }
        with self._lock:
            self._caller_ids.append(resource)
        return resource

    def set_sms_price(
        self,
        iso: str,
        amount: Optional[str],
        country: str = "",
        carriers: Tuple[str, ...] = ("Carrier",),
    ) -> None:
        """Price per outbound segment; None removes the country (404)."""
        with self._lock:
            if amount is None:
                self._sms.pop(iso.upper(), None)
            else:
                self._sms[iso.upper()] = (country or iso, amount, tuple(carriers))

    def set_voice_price(
        self, prefix: str, iso: str, amount: Optional[str], country: str = ""
    ) -> None:
        """Price per minute for numbers starting with ``prefix``; None removes it."""
        with self._lock:
            if amount is None:
                self._voice.pop(prefix, None)
            else:
                self._voice[prefix] = (iso.upper(), country or iso, amount)

    def sms_price(self, iso: str) -> Optional[str]:
        found = self._sms.get(iso.upper())
        return found[1] if found else None

    def voice_price(self, number: str) -> Optional[Tuple[str, str, str]]:
        """(ISO, country, price per minute) of the longest prefix of ``number``."""
        hits = [p for p in self._voice if number.startswith(p)]
        return self._voice[max(hits, key=len)] if hits else None

    # -- answers ------------------------------------------------------------
    def answer(
        self, path: str, params: Params, base_url: str, services: List[dict]
    ) -> Optional[dict]:
        """The document for one of our paths, None for any other path."""
        callers = CALLER_IDS.match(path)
        if callers is not None:
            return self._caller_page(path, callers.group("account"), params)
        service = SERVICE.match(path)
        if service is not None:
            return _absolute(_find(services, service.group("sid"), path), base_url)
        usa2p = USA2P.match(path)
        if usa2p is not None:
            return self._usa2p(usa2p.group("sid"), path, base_url, services)
        if path == TOLLFREE_PATH:
            return self._tollfree_page(params, base_url)
        sms = SMS_PRICES.match(path)
        if sms is not None:
            return self._sms_document(sms.group("iso"), path, base_url)
        voice = VOICE_PRICES.match(path)
        if voice is not None:
            number = unquote(voice.group("number"))
            return self._voice_document(number, path, params, base_url)
        return None

    def _caller_page(self, path: str, account: str, params: Params) -> dict:
        if account != self.account_sid:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        wanted = first(params, "PhoneNumber")
        with self._lock:
            rows = [
                r for r in self._caller_ids if not wanted or r["phone_number"] == wanted
            ]
        uri = path + "?PageSize=50&Page=0"
        return {
            "outgoing_caller_ids": rows,
            "end": max(len(rows) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def _usa2p(self, sid: str, path: str, base_url: str, services: List[dict]) -> dict:
        service = _find(services, sid, path)
        if self.refuse_a2p:
            raise ApiError(403, 20403, "Forbidden: the key may not read campaigns.")
        with self._lock:
            status = self._a2p.get(sid)
        rows = [] if status is None else [_campaign(service, status, base_url)]
        return _v1_page("compliance", rows, base_url + path)

    def _tollfree_page(self, params: Params, base_url: str) -> dict:
        wanted = first(params, "TollfreePhoneNumberSid")
        with self._lock:
            items = list(self._tollfree.items())
        rows = [
            _verification(self.account_sid, sid, number, status, base_url)
            for sid, (number, status) in items
            if not wanted or sid == wanted
        ]
        return _v1_page("verifications", rows, base_url + TOLLFREE_PATH)

    def _sms_document(self, iso: str, path: str, base_url: str) -> dict:
        with self._lock:
            found = self._sms.get(iso.upper())
        if found is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        country, amount, carriers = found
        return {
            "country": country,
            "iso_country": iso.upper(),
            "outbound_sms_prices": [
                {
                    "carrier": carrier,
                    "mcc": "310",
                    "mnc": "{:03d}".format(index),
                    "prices": [
                        {
                            "base_price": amount,
                            "current_price": amount,
                            "number_type": kind,
                        }
                        for kind in ("mobile", "local", "toll free")
                    ],
                }
                for index, carrier in enumerate(carriers)
            ],
            "inbound_sms_prices": [
                {"base_price": amount, "current_price": amount, "number_type": "local"}
            ],
            "price_unit": "USD",
            "url": base_url + path,
        }

    def _voice_document(
        self, number: str, path: str, params: Params, base_url: str
    ) -> dict:
        with self._lock:
            found = self.voice_price(number)
        if found is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        iso, country, amount = found
        origin = first(params, "OriginationNumber") or None
        return {
            "destination_number": number,
            "origination_number": origin,
            "country": country,
            "iso_country": iso,
            "outbound_call_prices": [
                {
                    "base_price": amount,
                    "current_price": amount,
                    "origination_prefixes": ["ALL"],
                }
            ],
            "inbound_call_price": None,
            "price_unit": "USD",
            "url": base_url + "/v2/Voice/Numbers/" + quote(number),
        }


def _find(services: List[dict], sid: str, path: str) -> dict:
    for service in services:
        if service["sid"] == sid:
            return service
    raise ApiError(404, 20404, f"The requested resource {path} was not found")


def _absolute(service: dict, base_url: str) -> dict:
    return dict(service, url=base_url + service["url"])


def _v1_page(key: str, rows: List[dict], url: str) -> dict:
    """One page of a v1 list (every row fits: these lists are short)."""
    page_url = url + "?PageSize=50&Page=0"
    return {
        key: rows,
        "meta": {
            "first_page_url": page_url,
            "key": key,
            "next_page_url": None,
            "page": 0,
            "page_size": 50,
            "previous_page_url": None,
            "url": page_url,
        },
    }


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _campaign(service: dict, status: str, base_url: str) -> dict:
    """A ``messaging.v1.service.us_app_to_person`` resource."""
    sid = new_sid("QE")
    now = _iso_now()
    return {
        "sid": sid,
        "account_sid": service["account_sid"],
        "brand_registration_sid": new_sid("BN"),
        "messaging_service_sid": service["sid"],
        "description": "On-call alerts for operations staff",
        "message_samples": ["Nightly load failed: see the runbook", "Job X ended"],
        "us_app_to_person_usecase": "MIXED",
        "has_embedded_links": False,
        "has_embedded_phone": False,
        "subscriber_opt_in": True,
        "age_gated": False,
        "direct_lending": False,
        "campaign_status": status,
        "campaign_id": "CSANDBOX" if status == "VERIFIED" else None,
        "is_externally_registered": False,
        "rate_limits": None,
        "message_flow": "Staff opt in when they join the on-call rota.",
        "opt_in_message": None,
        "opt_out_message": None,
        "help_message": None,
        "opt_in_keywords": None,
        "opt_out_keywords": None,
        "help_keywords": None,
        "date_created": now,
        "date_updated": now,
        "url": "{}/v1/Services/{}/Compliance/Usa2p/{}".format(
            base_url, service["sid"], sid
        ),
        "mock": False,
        "errors": [],
    }


def _verification(
    account_sid: str, number_sid: str, number: str, status: str, base_url: str
) -> dict:
    """A ``messaging.v1.tollfree_verification`` resource (null where unknown)."""
    sid = "HH" + number_sid[2:]
    now = _iso_now()
    resource: Dict[str, object] = {
        "sid": sid,
        "account_sid": account_sid,
        "date_created": now,
        "date_updated": now,
        "business_name": "ue-twilio sandbox",
        "tollfree_phone_number_sid": number_sid,
        "tollfree_phone_number": number,
        "status": status,
        "url": base_url + TOLLFREE_PATH + "/" + sid,
        "edit_allowed": False,
        "opt_in_type": "WEB_FORM",
    }
    for key in _VERIFICATION_NULLS:
        resource.setdefault(key, None)
    return resource


_VERIFICATION_NULLS = (
    "customer_profile_sid",
    "trust_product_sid",
    "regulated_item_sid",
    "business_street_address",
    "business_street_address2",
    "business_city",
    "business_state_province_region",
    "business_postal_code",
    "business_country",
    "business_website",
    "business_contact_first_name",
    "business_contact_last_name",
    "business_contact_email",
    "business_contact_phone",
    "notification_email",
    "use_case_categories",
    "use_case_summary",
    "production_message_sample",
    "opt_in_image_urls",
    "message_volume",
    "additional_information",
    "rejection_reason",
    "error_code",
    "edit_expiration",
    "business_registration_number",
    "business_registration_authority",
    "business_registration_country",
    "business_type",
    "business_registration_phone_number",
    "doing_business_as",
    "opt_in_confirmation_message",
    "help_message_sample",
    "privacy_policy_url",
    "terms_and_conditions_url",
    "age_gated_content",
    "opt_in_keywords",
    "rejection_reasons",
    "resource_links",
    "external_reference_id",
    "vetting_id",
    "vetting_provider",
    "vetting_id_expiration",
)
