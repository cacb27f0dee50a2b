"""The sandbox account's senders: phone numbers and Messaging Services.

``GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json`` pages with
``PageSize`` (1-1000, default 50) and ``Page`` in Twilio's v2010 envelope
(``next_page_uri`` is a path); ``GET /v1/Services`` (Messaging v1) pages the
same way in the v1 envelope ``{"services": [...], "meta": {...}}`` whose
links are absolute URLs on the sandbox. The account comes from the path for
v2010 and from the credentials for v1, as at Twilio.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Dict, List, Optional, Tuple

from .compliance import Compliance
from .errors import ApiError
from .resources import API_VERSION, BASE, new_sid, rfc2822
from .validation import Params, first

NUMBERS = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/IncomingPhoneNumbers\.json$"
)
SERVICES_PATH = "/v1/Services"
DEFAULT_PAGE_SIZE = 50

# (number, friendly name, sms, mms, voice)
DEFAULT_NUMBERS = (
    ("+15005550006", "Alerts (SMS and voice)", True, True, True),
    ("+15017122661", "Voice line", False, False, True),
    ("+447700900123", "UK SMS", True, False, False),
)
DEFAULT_SERVICES = (("On-call alerts", "notifications"), ("Marketing", "marketing"))


class Catalog:
    """Numbers and services of the account; tests may add more (paging)."""

    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.base_url = ""  # set by the server once it knows its address
        self._lock = threading.Lock()
        self._numbers: List[dict] = []
        self._services: List[dict] = []
        for number, name, sms, mms, voice in DEFAULT_NUMBERS:
            self.add_phone_number(number, name, sms=sms, mms=mms, voice=voice)
        for name, usecase in DEFAULT_SERVICES:
            self.add_service(name, usecase)
        # The pre-flight's questions (compliance.py): the first service has a
        # verified A2P 10DLC campaign, the second none.
        self.compliance = Compliance(account_sid)
        self.compliance.set_a2p(self._services[0]["sid"], "VERIFIED")

    def add_phone_number(
        self, number: str, name: str = "", sms=True, mms=False, voice=True
    ) -> dict:
        resource = _phone_number(self.account_sid, number, name or number)
        resource["capabilities"] = {
            "fax": False,
            "mms": mms,
            "sms": sms,
            "voice": voice,
        }
        with self._lock:
            self._numbers.append(resource)
        return resource

    def add_service(self, name: str, usecase: str = "undeclared") -> dict:
        resource = _service(self.account_sid, name, usecase)
        with self._lock:
            self._services.append(resource)
        return resource

    def answer(
        self, method: str, path: str, params: Params, forbidden: bool
    ) -> Optional[dict]:
        """The list document for our paths, None for any other path."""
        numbers = NUMBERS.match(path)
        if numbers is None and path != SERVICES_PATH:
            return self._compliance(method, path, params, forbidden)
        if numbers is not None and numbers.group("account") != self.account_sid:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        if forbidden:
            raise ApiError(403, 20403, "Forbidden: the account may not do this.")
        if method != "GET":
            raise ApiError(405, 20004, "Method not allowed")
        size, page = _paging(params)
        with self._lock:
            rows = list(self._numbers if numbers is not None else self._services)
        wanted = first(params, "PhoneNumber")
        if numbers is not None and wanted:  # exact match: what the pre-flight asks
            rows = [row for row in rows if row["phone_number"] == wanted]
        chunk = rows[page * size : (page + 1) * size]
        more = (page + 1) * size < len(rows)
        if numbers is not None:
            return _v2010_page(path, chunk, size, page, more)
        return self._v1_page(chunk, size, page, more)

    def _compliance(
        self, method: str, path: str, params: Params, forbidden: bool
    ) -> Optional[dict]:
        """Caller IDs, one service, A2P, toll-free, prices (compliance.py)."""
        with self._lock:
            services = list(self._services)
        found = self.compliance.answer(path, params, self.base_url, services)
        if found is None:
            return None
        if forbidden:
            raise ApiError(403, 20403, "Forbidden: the account may not do this.")
        if method != "GET":
            raise ApiError(405, 20004, "Method not allowed")
        return found

    def _v1_page(self, rows: List[dict], size: int, page: int, more: bool) -> dict:
        url = self.base_url + SERVICES_PATH + "?PageSize={}&Page={}"
        rows = [dict(row, url=self.base_url + row["url"]) for row in rows]
        return {
            "services": rows,
            "meta": {
                "first_page_url": url.format(size, 0),
                "key": "services",
                "next_page_url": url.format(size, page + 1) if more else None,
                "page": page,
                "page_size": size,
                "previous_page_url": url.format(size, page - 1) if page else None,
                "url": url.format(size, page),
            },
        }


def _digits(raw: str) -> bool:
    """ASCII digits only ("²" is a digit to str.isdigit, not to int)."""
    return raw.isascii() and raw.isdigit()


def _paging(params: Params) -> Tuple[int, int]:
    raw_size, raw_page = first(params, "PageSize"), first(params, "Page")
    ascii_size, ascii_page = _digits(raw_size), _digits(raw_page)
    size = int(raw_size) if ascii_size and int(raw_size) else DEFAULT_PAGE_SIZE
    page = int(raw_page) if ascii_page else 0
    return min(size, 1000), page


def _v2010_page(path: str, rows: List[dict], size: int, page: int, more: bool):
    uri = path + "?PageSize={}&Page={}"
    start = page * size
    token = "&PageToken=PA{}".format(page + 1)
    return {
        "incoming_phone_numbers": rows,
        "end": start + max(len(rows) - 1, 0),
        "first_page_uri": uri.format(size, 0),
        "next_page_uri": uri.format(size, page + 1) + token if more else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri.format(size, page - 1) if page else None,
        "start": start,
        "uri": uri.format(size, page),
    }


def _phone_number(account_sid: str, number: str, name: str) -> dict:
    sid = new_sid("PN")
    now = rfc2822(time.time())
    uri = BASE.format(account_sid) + f"/IncomingPhoneNumbers/{sid}.json"
    fields: Dict[str, object] = {
        "account_sid": account_sid,
        "address_requirements": "none",
        "api_version": API_VERSION,
        "beta": False,
        "date_created": now,
        "date_updated": now,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": name,
        "origin": "twilio",
        "phone_number": number,
        "sid": sid,
        "sms_method": "POST",
        "status": "in-use",
        "status_callback_method": "POST",
        "uri": uri,
        "voice_caller_id_lookup": False,
        "voice_method": "POST",
        "voice_receive_mode": "voice",
    }
    for key in (
        "address_sid",
        "bundle_sid",
        "emergency_address_sid",
        "identity_sid",
        "sms_application_sid",
        "sms_fallback_method",
        "sms_fallback_url",
        "sms_url",
        "status_callback",
        "trunk_sid",
        "type",
        "voice_application_sid",
        "voice_fallback_method",
        "voice_fallback_url",
        "voice_url",
    ):
        fields.setdefault(key, None)
    return fields


def _service(account_sid: str, name: str, usecase: str) -> dict:
    sid = new_sid("MG")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "account_sid": account_sid,
        "area_code_geomatch": True,
        "date_created": now,
        "date_updated": now,
        "fallback_method": "POST",
        "fallback_to_long_code": False,
        "fallback_url": None,
        "friendly_name": name,
        "inbound_method": "POST",
        "inbound_request_url": None,
        "links": {},
        "mms_converter": True,
        "scan_message_content": "inherit",
        "sid": sid,
        "smart_encoding": True,
        "status_callback": None,
        "sticky_sender": True,
        "synchronous_validation": False,
        "url": SERVICES_PATH + "/" + sid,
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": False,
        "usecase": usecase,
        "validity_period": 36000,
    }


def load_catalog(catalog: Catalog, data: dict) -> None:
    """Add ``ue-twilio sandbox --catalog FILE``'s senders, states and prices."""
    compliance = catalog.compliance
    for item in data.get("numbers", []):
        number = catalog.add_phone_number(
            item["phone_number"],
            item.get("friendly_name", ""),
            sms=item.get("sms", True),
            mms=item.get("mms", False),
            voice=item.get("voice", True),
        )
        compliance.set_tollfree(number, item.get("toll_free_verification"))
    for item in data.get("services", []):
        service = catalog.add_service(
            item["friendly_name"], item.get("usecase", "undeclared")
        )
        for key in ("inbound_request_url", "use_inbound_webhook_on_number"):
            if key in item:
                service[key] = item[key]
        compliance.set_a2p(service["sid"], item.get("a2p_campaign_status"))
    for number in data.get("caller_ids", []):
        compliance.add_caller_id(number)
    for iso, amount in data.get("sms_prices", {}).items():
        compliance.set_sms_price(iso, amount)
    for prefix, (iso, amount) in data.get("voice_prices", {}).items():
        compliance.set_voice_price(prefix, iso, amount)
