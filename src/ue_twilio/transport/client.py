"""A small Twilio REST client over one pooled requests.Session.

It never retries by itself: whether a request may be sent again is the
dispatcher's decision, made from the Reply kind this module reports. Every
exception of the sending path (requests, urllib3, socket, ssl, OS, overflow,
a body lost after the status line) is turned into a Reply in one place,
``_exchange``, by the only question that matters for sending twice: may the
request have reached Twilio?
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional
from urllib.parse import urlencode

import requests
from requests.adapters import BaseAdapter
from requests.auth import HTTPBasicAuth
from urllib3 import exceptions as u3

from .._version import EXTENSION_NAME, __version__
from ..exceptions import AuthenticationError, AuthorizationError, TwilioConnectionError
from ..inputs.account import TwilioAccount
from ..inputs.proxy import ProxyConfig
from ..inputs.regions import API
from ..inputs.regions import base_url as base_url_for
from ..inputs.settings import Settings
from ..models import Reply, ReplyKind, TwilioClock
from .adapter import prepare_session
from .diagnose import describe_connection_error

API_VERSION = "2010-04-01"
MAX_BODY_BYTES = 1024 * 1024
RATE_LIMIT_CODE = 20429
MAX_RETRY_AFTER = 30.0

MAX_LIST_BODY_BYTES = 16 * 1024 * 1024

if TYPE_CHECKING:  # pragma: no cover - read by mypy only (no Protocol on 3.7)
    from typing import Protocol  # novermin

    class DebugLog(Protocol):
        """Where the request trace goes: a ``logging.Logger``, or the task's
        ``SafeLog`` (the transport names no layer above it)."""

        def debug(self, __message: str, *args: Any) -> None: ...


@dataclass(frozen=True)
class ClientOptions:
    """How a client connects, apart from who it is and the run's settings.

    ``base_url`` is the host (default: the override in the settings, else
    ``https://api.twilio.com``); ``auth_hint`` is appended to a 401 (e.g. the
    region advice); ``transport`` (a ``requests.adapters.BaseAdapter``) is
    mounted instead of the proxy adapter, like httpx's ``MockTransport``:
    tests answer the requests in process while every reply, error and trace
    still takes the path a real answer takes.
    """

    proxy: Optional[ProxyConfig] = None
    pool_size: int = 10
    log: Optional[DebugLog] = None
    base_url: Optional[str] = None
    auth_hint: str = ""
    transport: Optional[BaseAdapter] = None


class TwilioClient:
    """Creates and fetches Messages and Calls; raises only run-wide errors.

    ``auth_user`` is the Basic auth user when it is not the Account SID (an
    API Key SID, with its secret as ``auth_token``); how it connects is one
    :class:`ClientOptions` value.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        settings: Settings,
        options: Optional[ClientOptions] = None,
        auth_user: Optional[str] = None,
    ) -> None:
        options = options or ClientOptions()
        proxy, base_url = options.proxy, options.base_url
        self.base_url = base_url or settings.api_url or base_url_for(API)
        self._account_path = "/{}/Accounts/{}".format(API_VERSION, account_sid)
        self._account_url = self.base_url + self._account_path
        self._flight = threading.Lock()
        self._in_flight = 0
        self._closing = False
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._proxy = proxy
        self._log = options.log
        self._auth_hint = options.auth_hint
        # Twilio's clock (the first answer's Date header), for lookups.
        self.clock = TwilioClock()
        user = auth_user or account_sid
        self._session = _new_session(
            user, auth_token, proxy, options.pool_size, options.transport
        )
        self._templates: Dict[str, requests.PreparedRequest] = {}
        if proxy is not None:
            self._per_request = proxy.requests_kwargs()
        else:
            self._per_request = _environment_once(self._session, self._account_url)

    def create(self, resource: str, params: Mapping[str, str]) -> Reply:
        """POST a new Message or Call (``resource`` is "Messages" or "Calls")."""
        url = "{}/{}.json".format(self._account_url, resource)
        return self._request("POST", url, data=params)

    def update(self, resource: str, sid: str, params: Mapping[str, str]) -> Reply:
        """POST to an existing resource, e.g. a call's ``Status=canceled``."""
        url = "{}/{}/{}.json".format(self._account_url, resource, sid)
        return self._request("POST", url, data=params, reuse=False)

    def fetch(self, resource: str, sid: str) -> Reply:
        url = "{}/{}/{}.json".format(self._account_url, resource, sid)
        return self._request("GET", url)

    def list_page(self, resource: str, query: Mapping[str, str]) -> Reply:
        """GET the first page of a list (``query`` holds Twilio's filters)."""
        url = "{}/{}.json?{}".format(self._account_url, resource, urlencode(query))
        return self._request("GET", url, max_body=MAX_LIST_BODY_BYTES)

    def next_page(self, reply: Reply) -> Optional[Reply]:
        """The page after ``reply``, or None at the end.

        Only a ``next_page_uri`` under this account's path is followed, so a
        hostile answer cannot send our credentials to another host or path.
        """
        uri = reply.body.get("next_page_uri") if reply.body else None
        if not isinstance(uri, str) or not uri.startswith(self._account_path + "/"):
            return None
        return self._request("GET", self.base_url + uri, max_body=MAX_LIST_BODY_BYTES)

    def get_path(self, path: str, query: Optional[Mapping[str, str]] = None) -> Reply:
        """GET a path of this client's product (e.g. Studio's ``/v2/Flows``)."""
        url = self.base_url + path + ("?" + urlencode(query) if query else "")
        return self._request("GET", url, max_body=MAX_LIST_BODY_BYTES)

    def post_path(self, path: str, params: Mapping[str, str]) -> Reply:
        """POST a form to a path of this client's product."""
        return self._request("POST", self.base_url + path, data=params, reuse=False)

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
                ReplyKind.REFUSED,
                error_message="a link to another host was not followed",
            )
        return self._request("GET", url)

    def close(self) -> None:
        """Close the pool once no request is in flight (a late worker may
        still be waiting for its answer after a cancel)."""
        with self._flight:
            self._closing = True
            if self._in_flight:
                return
        self._session.close()

    def __enter__(self) -> TwilioClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        url: str,
        data: Optional[Mapping[str, str]] = None,
        max_body: int = MAX_BODY_BYTES,
        reuse: bool = True,
    ) -> Reply:
        started = time.monotonic()
        reply = self._exchange(method, url, data, max_body, reuse)
        self._trace(method, url, reply, started)
        _raise_run_wide(reply, self._proxy, self._auth_hint)
        return reply

    def _exchange(
        self,
        method: str,
        url: str,
        data: Optional[Mapping[str, str]],
        max_body: int,
        reuse: bool = True,
    ) -> Reply:
        """The one boundary where an exception becomes a Reply."""
        with self._flight:
            if self._closing:
                return Reply(ReplyKind.UNREACHABLE, error_message="the run has ended")
            self._in_flight += 1
        try:
            try:
                response = self._session.send(
                    self._prepared(method, url, data, reuse),
                    timeout=self._timeout,
                    allow_redirects=False,
                    stream=True,
                    **self._per_request,
                )
            except Exception as exc:  # noqa: BLE001 - see the module docstring
                return self._failure(exc)
            if self.clock.offset is None:
                self.clock.learn(response.headers.get("Date"), time.time())
            try:
                return _read_reply(response, max_body)
            except Exception as exc:  # noqa: BLE001 - the status line arrived
                response.close()
                return _reply_without_body(response, exc)
        finally:
            self._finished()

    def _finished(self) -> None:
        with self._flight:
            self._in_flight -= 1
            last = self._closing and not self._in_flight
        if last:
            self._session.close()

    def _prepared(
        self,
        method: str,
        url: str,
        data: Optional[Mapping[str, str]],
        reuse: bool = True,
    ) -> requests.PreparedRequest:
        """The request for ``url`` with this body, prepared once per create URL.

        Session.request re-merges headers, cookies and auth and re-parses the
        URL on every call (about a sixth of our CPU per message); a create
        URL never changes, so that is done once and only the body is new.
        An update URL is used once (``reuse`` False) and is not kept.
        """
        keep = data is not None and reuse
        template = self._templates.get(url) if keep else None
        if template is None:
            template = self._session.prepare_request(requests.Request(method, url))
            if keep:
                self._templates[url] = template
        prepared = template.copy()
        prepared.prepare_body(data, None)
        return prepared

    def _failure(self, exc: Exception) -> Reply:
        """Never left: UNREACHABLE (run-wide). May have left: UNKNOWN."""
        description = _describe(exc, self._proxy)
        if _never_left(exc):
            return Reply(ReplyKind.UNREACHABLE, error_message=description)
        message = "No answer from Twilio ({}); delivery state unknown".format(
            description
        )
        return Reply(ReplyKind.UNKNOWN, error_message=message)

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


def _new_session(
    account_sid: str,
    auth_token: str,
    proxy: Optional[ProxyConfig],
    pool_size: int,
    transport: Optional[BaseAdapter] = None,
) -> requests.Session:
    session = requests.Session()
    # UTF-8 bytes: requests encodes str credentials as Latin-1 and raises on
    # anything else (a pasted token with a stray character would crash).
    user, secret = account_sid.encode("utf-8"), auth_token.encode("utf-8")
    session.auth = HTTPBasicAuth(user, secret)
    session.headers["User-Agent"] = "{}/{} {}".format(
        EXTENSION_NAME, __version__, requests.utils.default_user_agent()
    )
    session.headers["Accept"] = "application/json"
    # Never inflate an answer: 1 MB of gzip can become 1 GB (see _read_json).
    session.headers["Accept-Encoding"] = "identity"
    # A configured proxy must not be overridden by HTTPS_PROXY or REQUESTS_CA_BUNDLE.
    session.trust_env = proxy is None
    if transport is None:
        prepare_session(session, proxy, pool_size)
    else:
        session.mount("https://", transport)
        session.mount("http://", transport)
    return session


def _environment_once(session: requests.Session, url: str) -> Dict[str, Any]:
    """Resolve HTTPS_PROXY / NO_PROXY / REQUESTS_CA_BUNDLE once, not per request.

    requests re-reads the whole environment on every call (about a quarter of
    our CPU per message); the host never changes, so the answer cannot either.
    """
    found = session.merge_environment_settings(url, {}, None, None, None)
    session.trust_env = False
    return {"proxies": found["proxies"], "verify": found["verify"]}


# Causes that mean the request never reached Twilio: no connection, no tunnel,
# no TLS session. Anything else may have left (a reset, a timeout while
# waiting for the answer, an error we did not foresee) and counts UNKNOWN.
_NEVER_LEFT = (
    requests.exceptions.ConnectTimeout,
    requests.exceptions.ProxyError,
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
    u3.NewConnectionError,
    u3.ConnectTimeoutError,
    u3.ProxyError,
    u3.SSLError,
    u3.LocationParseError,
)


def _never_left(exc: Exception) -> bool:
    """True when the request certainly did not reach Twilio.

    requests wraps urllib3's MaxRetryError in a ConnectionError; its
    ``reason`` says which phase failed.
    """
    if isinstance(exc, _NEVER_LEFT):
        return True
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, u3.MaxRetryError):
        return isinstance(cause.reason, _NEVER_LEFT)
    return False


def _describe(exc: Exception, proxy: Optional[ProxyConfig]) -> str:
    """One line for any failure; our own describer never turns into a crash."""
    try:
        return describe_connection_error(exc, proxy)
    except Exception:  # noqa: BLE001 - a description must not lose the reply
        return type(exc).__name__


def _read_reply(response: requests.Response, max_body: int = MAX_BODY_BYTES) -> Reply:
    status = response.status_code
    body = _read_json(response, max_body)
    code = body.get("code") if body else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("message") if body else None
    message = message if isinstance(message, str) else None
    if status == 429 or code == RATE_LIMIT_CODE:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        return Reply(ReplyKind.RATE_LIMITED, status, body, code, message, retry_after)
    if 200 <= status < 300:
        return Reply(ReplyKind.OK, status, body)
    if message is None:
        message = "HTTP {} {}".format(status, response.reason or "").strip()
    kind = ReplyKind.UNKNOWN if status >= 500 else ReplyKind.REFUSED
    return Reply(kind, status, body, code, message)


def _reply_without_body(response: requests.Response, exc: Exception) -> Reply:
    """The status line arrived, the body did not: the status still decides.

    A 201 whose body was cut off is a created message (queued, SID unknown);
    reporting it failed would invite a resend.
    """
    status = response.status_code
    lost = "the answer's body was lost ({})".format(type(exc).__name__)
    if status == 429:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        return Reply(ReplyKind.RATE_LIMITED, status, None, None, lost, retry_after)
    if 200 <= status < 300:
        return Reply(ReplyKind.OK, status, None, error_message=lost)
    message = "HTTP {}; {}".format(status, lost)
    return Reply(
        ReplyKind.UNKNOWN if status >= 500 else ReplyKind.REFUSED,
        status,
        None,
        None,
        message,
    )


def _read_json(
    response: requests.Response, max_body: int = MAX_BODY_BYTES
) -> Optional[Dict[str, Any]]:
    """Read at most ``max_body`` bytes; anything else than a JSON object is None.

    The bytes are read as sent (decode_content=False) and a body compressed
    despite ``Accept-Encoding: identity`` counts as unreadable: decoding it
    would let a hostile endpoint or proxy inflate it without bound.
    """
    data = response.raw.read(max_body + 1, decode_content=False)
    if len(data) > max_body:
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


def _raise_run_wide(
    reply: Reply, proxy: Optional[ProxyConfig] = None, auth_hint: str = ""
) -> None:
    if reply.kind == ReplyKind.UNREACHABLE:
        raise TwilioConnectionError(reply.error_message or "Cannot reach Twilio")
    if reply.http_status == 407:
        where = proxy.display if proxy is not None else "in the environment"
        raise TwilioConnectionError(
            "The proxy {} refused the credentials (HTTP 407)".format(where)
        )
    if reply.http_status == 401:
        raise AuthenticationError(reply.describe_error() + auth_hint)
    if reply.http_status == 403:
        raise AuthorizationError(reply.describe_error())


def open_client(
    account: TwilioAccount,
    settings: Settings,
    proxy: Optional[ProxyConfig] = None,
    pool_size: int = 1,
    log: Optional[DebugLog] = None,
    product: str = API,
) -> TwilioClient:
    """A client for one product of this account (the 2010-04-01 API by default)."""
    options = ClientOptions(
        proxy=proxy,
        pool_size=pool_size,
        log=log,
        base_url=account.url_for(settings, product),
        auth_hint=account.auth_hint,
    )
    return TwilioClient(
        account.account_sid, account.secret, settings, options, account.auth_user
    )
