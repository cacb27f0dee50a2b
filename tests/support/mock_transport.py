"""An in-process transport for TwilioClient, like httpx's ``MockTransport``.

``MockTransport(handler)`` is a requests adapter: every request the client
sends is handed to ``handler(request)``, which returns an :class:`Answer`
(status, JSON body, headers) or raises to simulate a connection fault. The
answer becomes a real ``requests.Response`` with a streamed raw body, so the
client's whole path (``_exchange``, ``_read_reply``, reply kinds, trace) runs
as it does over a socket. Handlers synchronise on events, not on time.
"""

from __future__ import annotations

import http
import io
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "mock-transport-auth-token-0123456789"
BASE_URL = "https://api.twilio.test"


@dataclass
class Answer:
    """What the handler answers. ``body`` (bytes) wins over ``json``;
    ``lose_body`` sends the status line and headers, then breaks the body."""

    status: int = 200
    json: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    body: Optional[bytes] = None
    lose_body: bool = False

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        return b"" if self.json is None else json.dumps(self.json).encode("utf-8")


Handler = Callable[[requests.PreparedRequest], Answer]


class _BrokenBody(io.RawIOBase):
    """A body whose connection resets on the first read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise ConnectionResetError("connection reset while reading the body")


class MockTransport(BaseAdapter):
    """Answers every request in process; ``requests`` lists them in order."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self._handler = handler
        self._lock = threading.Lock()
        self.requests: List[requests.PreparedRequest] = []

    def send(self, request, stream=False, timeout=None, verify=True, **kwargs):
        with self._lock:
            self.requests.append(request)
        answer = self._handler(request)
        return _response(request, answer)

    def close(self) -> None:
        pass


def _response(request: requests.PreparedRequest, answer: Answer) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    headers.update(answer.headers)
    data = answer.payload()
    stream = _BrokenBody() if answer.lose_body else io.BytesIO(data)
    raw = HTTPResponse(
        body=stream,
        headers=headers,
        status=answer.status,
        preload_content=False,
        decode_content=False,
    )
    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(headers)
    response.raw = raw
    response.reason = _reason(answer.status)
    response.url = request.url
    response.request = request
    response.encoding = "utf-8"
    return response


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def form(request: requests.PreparedRequest) -> Dict[str, str]:
    """The request's form body (a create's parameters), one value a name."""
    body = request.body or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return {name: values[0] for name, values in parse_qs(body).items()}


def path(request: requests.PreparedRequest) -> str:
    return urlsplit(request.url).path


def created(sid: str, to: str, status: str = "queued") -> Answer:
    """A 201 as Twilio answers a create."""
    return Answer(201, {"sid": sid, "to": to, "status": status})


def rate_limited(retry_after: Optional[str] = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"code": 20429, "message": "Too Many Requests", "status": 429}
    return Answer(429, body, headers)


def client_for(handler: Handler, **options: Any):
    """(client, transport): a TwilioClient whose every request goes to
    ``handler``; ``transport.requests`` holds them in order."""
    from support.leaks import register_secret
    from ue_twilio import Settings
    from ue_twilio.transport.client import ClientOptions, TwilioClient

    register_secret(AUTH_TOKEN, ACCOUNT_SID)
    transport = MockTransport(handler)
    settings = options.pop("settings", None) or Settings(api_url=BASE_URL)
    connect = ClientOptions(transport=transport, **options)
    client = TwilioClient(ACCOUNT_SID, AUTH_TOKEN, settings, connect)
    return client, transport
