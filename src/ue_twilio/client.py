"""A small Twilio REST client over one pooled requests.Session.

It never retries by itself: whether a request may be sent again is the
dispatcher's decision, made from the Reply kind this module reports.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any, Dict, Mapping, NamedTuple, Optional

import requests
from urllib3.exceptions import ProtocolError

from ._version import EXTENSION_NAME, __version__
from .diagnose import describe_connection_error
from .exceptions import (
    AuthenticationError,
    AuthorizationError,
    TwilioConnectionError,
)
from .proxy import prepare_session
from .regions import API
from .regions import base_url as base_url_for
from .settings import Settings

API_VERSION = "2010-04-01"
MAX_BODY_BYTES = 1024 * 1024
RATE_LIMIT_CODE = 20429
MAX_RETRY_AFTER = 30.0

OK = "ok"
RATE_LIMITED = "rate_limited"
FAILED = "failed"
UNKNOWN = "unknown"
UNREACHABLE = "unreachable"  # never leaves the client: raised as a run-wide error


class Reply(NamedTuple):
    """What one request produced; ``kind`` is one of the constants above."""

    kind: str
    http_status: Optional[int] = None
    body: Optional[Mapping[str, Any]] = None
    error_code: Optional[int] = None
    error_message: Optional[str] = None
    retry_after: Optional[float] = None

    @property
    def sid(self) -> Optional[str]:
        value = self.body.get("sid") if self.body else None
        return value if isinstance(value, str) else None

    @property
    def status(self) -> Optional[str]:
        value = self.body.get("status") if self.body else None
        return value if isinstance(value, str) else None


class TwilioClient:
    """Creates and fetches Messages and Calls; raises only run-wide errors.

    ``auth_user`` is the Basic auth user when it is not the Account SID (an
    API Key SID, with its secret as ``auth_token``); ``base_url`` the host
    (default: the override in ``settings``, else ``https://api.twilio.com``);
    ``auth_hint`` is appended to a 401 (e.g. the region advice).
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        settings: Settings,
        proxy=None,
        pool_size: int = 10,
        log=None,
        auth_user: Optional[str] = None,
        base_url: Optional[str] = None,
        auth_hint: str = "",
    ) -> None:
        self.base_url = base_url or settings.api_url or base_url_for(API)
        self._account_url = "{}/{}/Accounts/{}".format(
            self.base_url, API_VERSION, account_sid
        )
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._proxy = proxy
        self._log = log
        self._auth_hint = auth_hint
        user = auth_user or account_sid
        self._session = _new_session(user, auth_token, proxy, pool_size)
        self._templates: Dict[str, requests.PreparedRequest] = {}
        if proxy is not None:
            self._per_request = proxy.requests_kwargs()
        else:
            self._per_request = _environment_once(self._session, self._account_url)

    def create(self, resource: str, params: Mapping[str, str]) -> Reply:
        """POST a new Message or Call (``resource`` is "Messages" or "Calls")."""
        url = "{}/{}.json".format(self._account_url, resource)
        return self._request("POST", url, data=params)

    def fetch(self, resource: str, sid: str) -> Reply:
        url = "{}/{}/{}.json".format(self._account_url, resource, sid)
        return self._request("GET", url)

    def fetch_account(self) -> Reply:
        return self._request("GET", self._account_url + ".json")

    def account_list(self, resource: str, page_size: int) -> Reply:
        """GET the first page of an account list (e.g. "IncomingPhoneNumbers")."""
        url = "{}/{}.json?PageSize={}".format(self._account_url, resource, page_size)
        return self._request("GET", url)

    def get(self, url: str) -> Reply:
        """GET a link Twilio gave us (``next_page_uri`` / ``next_page_url``).

        Only on this client's host: the credentials never follow a link away.
        """
        if url.startswith("/"):
            url = self.base_url + url
        if not url.startswith(self.base_url + "/"):
            return Reply(
                FAILED, error_message="a link to another host was not followed"
            )
        return self._request("GET", url)

    def close(self) -> None:
        self._session.close()

    def _request(self, method: str, url: str, data=None) -> Reply:
        started = time.monotonic()
        try:
            response = self._session.send(
                self._prepared(method, url, data),
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
                **self._per_request,
            )
            reply = _read_reply(response)
        except requests.exceptions.RequestException as exc:
            reply = self._failure(exc)
        self._trace(method, url, reply, started)
        _raise_run_wide(reply, self._proxy, self._auth_hint)
        return reply

    def _prepared(self, method: str, url: str, data) -> requests.PreparedRequest:
        """The request for ``url`` with this body, prepared once per create URL.

        Session.request re-merges headers, cookies and auth and re-parses the
        URL on every call (about a sixth of our CPU per message); a create
        URL never changes, so that is done once and only the body is new.
        """
        template = self._templates.get(url) if data is not None else None
        if template is None:
            template = self._session.prepare_request(requests.Request(method, url))
            if data is not None:
                self._templates[url] = template
        prepared = template.copy()
        prepared.prepare_body(data, None)
        return prepared

    def _failure(self, exc: requests.exceptions.RequestException) -> Reply:
        """Lost answers are UNKNOWN (never resent); the rest are UNREACHABLE."""
        if _answer_lost(exc):
            message = "No answer from Twilio ({}); delivery state unknown".format(
                describe_connection_error(exc, self._proxy)
            )
            return Reply(UNKNOWN, error_message=message)
        description = describe_connection_error(exc, self._proxy)
        return Reply(UNREACHABLE, error_message=description)

    def _trace(self, method: str, url: str, reply: Reply, started: float) -> None:
        if self._log is None:
            return
        via = " via proxy " + self._proxy.display if self._proxy is not None else ""
        self._log.debug(
            "API %s %s -> %s code=%s %.0f ms%s",
            method,
            url,
            reply.http_status if reply.http_status is not None else reply.kind,
            reply.error_code if reply.error_code is not None else "-",
            (time.monotonic() - started) * 1000,
            via,
        )


def _new_session(account_sid, auth_token, proxy, pool_size) -> requests.Session:
    session = requests.Session()
    # UTF-8 bytes: requests encodes str credentials as Latin-1 and raises on
    # anything else (a pasted token with a stray character would crash).
    session.auth = (account_sid.encode("utf-8"), auth_token.encode("utf-8"))
    session.headers["User-Agent"] = "{}/{} {}".format(
        EXTENSION_NAME, __version__, requests.utils.default_user_agent()
    )
    session.headers["Accept"] = "application/json"
    # Never inflate an answer: 1 MB of gzip can become 1 GB (see _read_json).
    session.headers["Accept-Encoding"] = "identity"
    # A configured proxy must not be overridden by HTTPS_PROXY or REQUESTS_CA_BUNDLE.
    session.trust_env = proxy is None
    prepare_session(session, proxy, pool_size)
    return session


def _environment_once(session: requests.Session, url: str) -> Dict[str, Any]:
    """Resolve HTTPS_PROXY / NO_PROXY / REQUESTS_CA_BUNDLE once, not per request.

    requests re-reads the whole environment on every call (about a quarter of
    our CPU per message); the host never changes, so the answer cannot either.
    """
    found = session.merge_environment_settings(url, {}, None, None, None)
    session.trust_env = False
    return {"proxies": found["proxies"], "verify": found["verify"]}


def _answer_lost(exc: requests.exceptions.RequestException) -> bool:
    """True when the request went out but its answer did not come back."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(
        exc,
        (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ),
    ):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        return isinstance(exc.args[0], ProtocolError)
    return False


def _read_reply(response: requests.Response) -> Reply:
    status = response.status_code
    body = _read_json(response)
    code = body.get("code") if body else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("message") if body else None
    message = message if isinstance(message, str) else None
    if status == 429 or code == RATE_LIMIT_CODE:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        return Reply(RATE_LIMITED, status, body, code, message, retry_after)
    if 200 <= status < 300:
        return Reply(OK, status, body)
    if message is None:
        message = "HTTP {} {}".format(status, response.reason or "").strip()
    kind = UNKNOWN if status >= 500 else FAILED
    return Reply(kind, status, body, code, message)


def _read_json(response: requests.Response) -> Optional[Dict[str, Any]]:
    """Read at most MAX_BODY_BYTES; anything else than a JSON object is None.

    The bytes are read as sent (decode_content=False) and a body compressed
    despite ``Accept-Encoding: identity`` counts as unreadable: decoding it
    would let a hostile endpoint or proxy inflate it without bound.
    """
    data = response.raw.read(MAX_BODY_BYTES + 1, decode_content=False)
    if len(data) > MAX_BODY_BYTES:
        response.close()
        return None
    response.raw.release_conn()
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        return None
    try:
        parsed = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _raise_run_wide(reply: Reply, proxy=None, auth_hint: str = "") -> None:
    if reply.kind == UNREACHABLE:
        raise TwilioConnectionError(reply.error_message or "Cannot reach Twilio")
    if reply.http_status == 407:
        where = proxy.display if proxy is not None else "in the environment"
        raise TwilioConnectionError(
            "The proxy {} refused the credentials (HTTP 407)".format(where)
        )
    if reply.http_status == 401:
        raise AuthenticationError(_details(reply) + auth_hint)
    if reply.http_status == 403:
        raise AuthorizationError(_details(reply))


def _details(reply: Reply) -> str:
    if reply.error_code is not None:
        return "Twilio error {}: {}".format(reply.error_code, reply.error_message)
    return reply.error_message or "HTTP {}".format(reply.http_status)
