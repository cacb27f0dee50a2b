"""The sandbox's request logic, independent of sockets: route, admit, answer.

``App.handle`` takes a parsed request and returns a ``Response`` to write, or
None to close the connection without answering. Order of checks for every
request: concurrency cap (429), injected latency, Basic auth (401), path
(404), ``forbidden`` (403), then the endpoint. Create requests additionally
consume a scripted fault or roll ``error_rate`` before validation; a later
page of a list (a ``PageToken``) consumes a scripted page fault.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import threading
import time
import traceback
from typing import Callable, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from .catalog import Catalog
from .errors import ApiError, error_body
from .faults import (
    BODY_CUTS,
    FAULT_KINDS,
    PAGE_FAULT_KINDS,
    Faults,
    FaultScript,
    Gate,
)
from .journal import Journal, JournalEntry, safe_headers
from .listing import list_page
from .resources import Store
from .studio import Studio
from .validation import (
    Params,
    validate_call,
    validate_call_update,
    validate_message,
)

JSON = "application/json; charset=utf-8"
ROUTE = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+?)"
    r"(?:/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/]+?))?)?\.json$"
)
HUGE_BODY_BYTES = 10 * 1024 * 1024
HTML_502 = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server is unavailable."
    b"</p></body></html>"
)


class Response(NamedTuple):
    """An answer to write; ``cut`` (a ``BODY_CUTS`` fault) sends only half the
    body after a full Content-Length, then closes (``stall_body``: after
    ``faults.stall_seconds``)."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: Tuple[Tuple[str, str], ...] = ()
    cut: Optional[str] = None


Outcome = Tuple[Optional[Response], Optional[str]]  # (answer or None, created sid)


def error(status: int, code: int, message: str, headers=()) -> Response:
    return Response(status, error_body(status, code, message), JSON, tuple(headers))


def json_response(status: int, document: dict) -> Response:
    return Response(status, json.dumps(document).encode("utf-8"))


class App:
    """Everything a request touches: store, faults, gate, journal."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        status_interval: float,
        journal: bool = True,
        api_key: Tuple[str, str] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self._token = auth_token.encode("utf-8")
        self._api_key = (
            (api_key[0], api_key[1].encode("utf-8")) if api_key is not None else None
        )
        self.catalog = Catalog(account_sid)
        self.store = Store(account_sid, status_interval)
        self.studio = Studio(account_sid, self.store.create_call)
        self.faults = Faults()
        self.script = FaultScript()
        self.page_script = FaultScript(PAGE_FAULT_KINDS)
        self.gate = Gate()
        self.journal = Journal(journal)
        self.stopping = threading.Event()
        self.errors: List[str] = []
        # Called after each answer is decided (journal entry complete), before
        # it is written: tests wait on these instead of sleeping.
        self.answered: List[Callable[[], None]] = []
        # Called with (method, path) once a request is read, before it waits
        # out the latency: a test knows a request is held.
        self.arrived: List[Callable[[str, str], None]] = []

    # -- entry point --------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers, body: bytes
    ) -> Response | None:
        if not raw_path.startswith("/"):  # absolute-form, as sent to a proxy
            parts = urlsplit(raw_path)
            raw_path = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = raw_path.partition("?")
        form = body.decode("utf-8", "replace") if method == "POST" else query
        params: Params = parse_qs(form, keep_blank_values=True)
        user, authenticated = self._auth(headers.get("Authorization"))
        entry = None
        if self.journal.enabled:
            entry = JournalEntry(
                method, path, params, user, safe_headers(headers.items()), time.time()
            )
            self.journal.append(entry)
        for arrival in list(self.arrived):
            arrival(method, path)
        try:
            response, sid = self._admit(method, path, params, authenticated)
        except Exception:  # noqa: BLE001 - a sandbox bug must still get an answer
            self.errors.append(traceback.format_exc())
            response, sid = error(500, 20500, "Internal Server Error"), None
        if entry is not None:
            entry.status = response.status if response is not None else 0
            entry.created_sid = sid
        for callback in list(self.answered):
            callback()
        return response

    def _auth(self, header: str | None) -> Tuple[str | None, bool]:
        if not header or header[:6].lower() != "basic ":
            return None, False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True)
        except ValueError:
            return None, False
        user, _, password = decoded.partition(b":")
        name = user.decode("utf-8", "replace")
        ok = name == self.account_sid and hmac.compare_digest(password, self._token)
        return name, ok or self._api_key_matches(name, password)

    def _api_key_matches(self, name: str, password: bytes) -> bool:
        """An API key of the account: the account comes from the path."""
        if self._api_key is None:
            return False
        sid, secret = self._api_key
        return name == sid and hmac.compare_digest(password, secret)

    def _admit(
        self, method: str, path: str, params: Params, authenticated: bool
    ) -> Outcome:
        faults = self.faults
        if not self.gate.enter(faults.concurrency_cap):
            return self.rate_limited(), None
        try:
            delay = faults.delay()
            if delay > 0 and self.stopping.wait(delay):
                return None, None
            return self._route(method, path, params, authenticated)
        finally:
            self.gate.leave()

    def rate_limited(self) -> Response:
        headers = [("Twilio-Concurrent-Requests", str(self.gate.in_flight))]
        if self.faults.retry_after is not None:
            headers.append(("Retry-After", str(self.faults.retry_after)))
        return error(429, 20429, "Too Many Requests", headers)

    # -- routing ------------------------------------------------------------
    def _route(
        self, method: str, path: str, params: Params, authenticated: bool
    ) -> Outcome:
        if not authenticated:
            headers = [("WWW-Authenticate", 'Basic realm="Twilio API"')]
            return error(401, 20003, "Authenticate", headers), None
        listed = self._catalog(method, path, params)
        if listed is not None:
            return listed, None
        studio = self._studio(method, path, params)
        if studio is not None:
            return studio
        match = ROUTE.match(path)
        if match is None or match.group("account") != self.account_sid:
            message = f"The requested resource {path} was not found"
            return error(404, 20404, message), None
        if self.faults.forbidden:
            return error(403, 20403, "Forbidden: the account may not do this."), None
        kind, sid = match.group("kind"), match.group("sid")
        if method == "POST" and kind and not sid:
            return self._create(kind, params)
        if method == "POST" and kind == "Calls":
            return self._update_call(sid, params, path), None
        if method == "GET" and kind and not sid and "PageToken" in params:
            fault = self.page_script.take()
            if fault is not None:
                return _refusal(fault, self), None
        if method == "GET":
            return self._read(kind, sid, params, path), None
        return error(405, 20004, "Method not allowed"), None

    def _catalog(self, method: str, path: str, params: Params) -> Response | None:
        """IncomingPhoneNumbers and Messaging v1 Services (see catalog.py)."""
        try:
            found = self.catalog.answer(method, path, params, self.faults.forbidden)
        except ApiError as exc:
            return Response(exc.status, exc.body())
        return None if found is None else json_response(200, found)

    def _studio(self, method: str, path: str, params: Params) -> Outcome | None:
        """Studio v2 Flows and Executions (see studio.py)."""
        try:
            found = self.studio.answer(method, path, params, self.faults.forbidden)
        except ApiError as exc:
            return Response(exc.status, exc.body()), None
        if found is None:
            return None
        if found.pop("_created", False):
            return json_response(201, found), found["sid"]
        return json_response(200, found), None

    def _read(
        self, kind: str | None, sid: str | None, params: Params, path: str
    ) -> Response:
        if kind is None:
            return json_response(200, self.store.render_account())
        if sid is None:
            return self._list(kind, params, path)
        found = self.store.message(sid) if kind == "Messages" else self.store.call(sid)
        if found is None:
            message = f"The requested resource {path} was not found"
            return error(404, 20404, message)
        return json_response(200, found)

    def _list(self, kind: str, params: Params, path: str) -> Response:
        every = (
            self.store.all_messages() if kind == "Messages" else self.store.all_calls()
        )
        try:
            page = list_page(kind, list(every.values()), params, path)
        except ApiError as exc:
            return Response(exc.status, exc.body())
        return json_response(200, page)

    def _update_call(self, sid: str, params: Params, path: str) -> Response:
        """Status=canceled / completed; Url or Twiml alone are accepted and
        change nothing (the sandbox runs no TwiML)."""
        try:
            status = validate_call_update(params)
        except ApiError as exc:
            return Response(exc.status, exc.body())
        found = self.store.update_call(sid, status) if status else self.store.call(sid)
        if found is None:
            message = f"The requested resource {path} was not found"
            return error(404, 20404, message)
        return json_response(200, found)

    # -- creation -----------------------------------------------------------
    def _create(self, kind: str, params: Params) -> Outcome:
        fault = self.script.take()
        if fault is None:
            status = self.faults.roll_error()
            if status is not None:
                return _server_error(status), None
        elif not FAULT_KINDS[fault]:
            return _refusal(fault, self), None
        elif fault == "stall" and self.stopping.wait(self.faults.stall_seconds):
            return None, None
        try:
            if kind == "Messages":
                validate_message(params)
                resource = self.store.create_message(params)
            else:
                validate_call(params)
                resource = self.store.create_call(params)
        except ApiError as exc:
            return Response(exc.status, exc.body()), None
        return _created(fault, resource), resource["sid"]


def _server_error(status: int) -> Response:
    if status == 503:
        return error(503, 20503, "Service Unavailable")
    return error(500, 20500, "Internal Server Error")


def _refusal(fault: str, app: App) -> Response | None:
    """Answer for a scripted fault that creates nothing (None: drop)."""
    if fault == "reset_before":
        return None
    if fault == "html_error":
        return Response(502, HTML_502, "text/html; charset=utf-8")
    if fault == "rate_limited":
        return app.rate_limited()
    return _server_error(503 if fault == "http_503" else 500)


def _created(fault: str | None, resource: dict) -> Response | None:
    """The 201 answer, possibly mangled by a scripted fault (None: drop)."""
    if fault == "reset_after":
        return None
    if fault in BODY_CUTS:
        return json_response(201, resource)._replace(cut=fault)
    if fault == "malformed_json":
        text = '{{"sid": "{}", "status": "{}", '.format(
            resource["sid"], resource["status"]
        )
        return Response(201, text.encode("utf-8"))
    if fault == "no_sid":
        return json_response(201, {k: v for k, v in resource.items() if k != "sid"})
    if fault == "huge_body":
        padded = dict(resource, padding="x" * HUGE_BODY_BYTES)
        return json_response(201, padded)
    return json_response(201, resource)
