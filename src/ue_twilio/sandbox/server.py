"""HTTP(S) plumbing and the ``Sandbox`` facade tests and the CLI use.

One daemon thread per connection (ThreadingHTTPServer), HTTP/1.1 keep-alive
with Content-Length on every answer, and each answer written in a single send
with Nagle off, so pooled clients reuse connections without 40 ms stalls.
TLS handshakes run in the connection's thread, never in the accept loop.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Callable, Dict, List, Set, Tuple

from .app import App, Response
from .defaults import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY_SECRET,
    DEFAULT_API_KEY_SID,
    DEFAULT_AUTH_TOKEN,
)
from .faults import Faults
from .journal import JournalEntry

MAX_BODY_BYTES = 1024 * 1024
IDLE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 10.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ue-twilio-sandbox"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(HANDSHAKE_TIMEOUT)
            self.connection.do_handshake()
            self.connection.settimeout(self.timeout)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - base signature
        """Silent: the journal is the log."""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        response = self.server.app.handle(self.command, self.path, self.headers, body)
        if response is None:
            self._drop()
        else:
            self._write(response)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse(411, "Length Required: send Content-Length")
            return None
        try:
            raw = self.headers.get("Content-Length") or "0"
            length = int(raw) if raw.isascii() else -1
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._refuse(413, "Payload Too Large")
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        text = message.encode("utf-8")
        self._write(Response(status, text, "text/plain; charset=utf-8"))

    def _write(self, response: Response) -> None:
        lines = [
            "HTTP/1.1 {} {}".format(response.status, _reason(response.status)),
            "Content-Type: " + response.content_type,
            f"Content-Length: {len(response.body)}",
            "Twilio-Request-Id: RQ" + uuid.uuid4().hex,
            "Date: " + self._date(),
        ]
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = response.body
        if response.cut:
            body = body[: len(body) // 2]
        try:
            self.wfile.write(head + body)
        except OSError:  # the client went away (e.g. it timed out during a stall)
            self.close_connection = True
        if response.cut:
            self._cut_short(response.cut)

    def _date(self) -> str:
        """The Date header, by the sandbox's Twilio clock (Store.clock_offset)."""
        offset = self.server.app.store.clock_offset
        return email.utils.formatdate(time.time() + offset, usegmt=True)

    def _cut_short(self, fault: str) -> None:
        """End an answer whose body was cut: close (after a stall) with a FIN,
        so the client reads the bytes sent, then finds the body incomplete."""
        app = self.server.app
        if fault == "stall_body":
            app.stopping.wait(app.faults.stall_seconds)
        self.close_connection = True

    def _drop(self) -> None:
        """Close with a TCP reset and no answer, like a crashed peer or proxy."""
        self.close_connection = True
        try:
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        self.connection.close()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address, app: App, context: ssl.SSLContext | None) -> None:
        self.app = app
        self._context = context
        self._connections: Set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.accepted = 0
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the FQDN, which can hang without DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, address = self.socket.accept()
        if self._context is not None:
            sock = self._context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """Disconnects and TLS failures (OSError) are normal here: stay quiet.

        Anything else is a sandbox bug: keep it for ``Sandbox.errors``.
        """
        if not isinstance(sys.exc_info()[1], OSError):
            self.app.errors.append(traceback.format_exc())

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Sandbox:
    """A local Twilio-compatible API server; see the package docstring."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: str | None = None,
        keyfile: str | None = None,
        status_interval: float = 0.5,
        journal: bool = True,
        api_key_sid: str = DEFAULT_API_KEY_SID,
        api_key_secret: str = DEFAULT_API_KEY_SECRET,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_key_sid = api_key_sid
        self.api_key_secret = api_key_secret
        self.host = host
        self._requested_port = port
        self._certfile = certfile
        self._keyfile = keyfile
        self._app = App(
            self.account_sid,
            self.auth_token,
            status_interval,
            journal,
            api_key=(api_key_sid, api_key_secret),
        )
        self._server: _Server | None = None
        self._last_server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> "Sandbox":
        if self._server is not None:
            raise RuntimeError("sandbox already started")
        context = None
        if self._certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self._certfile, self._keyfile)
        self._app.stopping.clear()
        self._server = _Server((self.host, self._requested_port), self._app, context)
        self._last_server = self._server
        self._app.catalog.base_url = self.url
        self._app.studio.base_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # bounds stop() latency
            name="ue-twilio-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open keep-alive connections; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._app.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Sandbox":
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port; still known after stop (a URL nobody answers on)."""
        if self._last_server is None:
            raise RuntimeError("sandbox not started")
        return self._last_server.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self._certfile else "http"
        wildcard = self.host in ("", "0.0.0.0", "::")  # noqa: S104 - not a bind
        host = "127.0.0.1" if wildcard else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def credentials(self) -> Tuple[str, str]:
        return self.account_sid, self.auth_token

    # -- faults -------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        return self._app.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._app.faults = value

    def on_answer(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` each time an answer is decided (its journal
        entry complete), before it is written to the client."""
        self._app.answered.append(callback)

    def on_request(self, callback: Callable[[str, str], None]) -> None:
        """Call ``callback(method, path)`` each time a request has been read,
        before the latency and the answer."""
        self._app.arrived.append(callback)

    @property
    def clock_offset(self) -> float:
        """Seconds the sandbox's Twilio clock runs ahead of this host's."""
        return self._app.store.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self._app.store.clock_offset = value

    def script(self, kind: str, count: int = 1) -> None:
        """Give the next ``count`` create requests the scripted fault ``kind``."""
        self._app.script.add(kind, count)

    def clear_script(self) -> None:
        self._app.script.clear()

    def script_next_pages(self, kind: str, count: int = 1) -> None:
        """Give the next ``count`` requests for a later page of a Messages or
        Calls list (a ``next_page_uri``, with ``PageToken``) the fault
        ``kind``, one of ``PAGE_FAULT_KINDS``: a list that fails mid-way."""
        self._app.page_script.add(kind, count)

    @property
    def status_interval(self) -> float:
        """Seconds per status step; may be changed while the sandbox runs."""
        return self._app.store.status_interval

    @status_interval.setter
    def status_interval(self, value: float) -> None:
        self._app.store.status_interval = value

    @property
    def in_flight(self) -> int:
        return self._app.gate.in_flight

    @property
    def max_in_flight(self) -> int:
        """Highest number of requests processed at once since the last reset."""
        return self._app.gate.max_in_flight

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far: keep-alive reuse keeps this low."""
        return self._last_server.accepted if self._last_server is not None else 0

    def reset_max_in_flight(self) -> None:
        self._app.gate.reset_peak()

    # -- journal ------------------------------------------------------------
    @property
    def journal(self) -> List[JournalEntry]:
        return self._app.journal.entries()

    def creates(self, path_suffix: str = "Messages.json") -> List[JournalEntry]:
        """Journal entries that created a resource, on paths ending with the suffix."""
        return [
            e
            for e in self._app.journal.entries()
            if e.created_sid is not None and e.path.endswith(path_suffix)
        ]

    def clear_journal(self) -> None:
        self._app.journal.clear()

    def dump_journal(self, path: str) -> int:
        return self._app.journal.dump(path)

    @property
    def errors(self) -> List[str]:
        """Tracebacks of sandbox bugs (answered 500); empty in a healthy run."""
        return list(self._app.errors)

    # -- resources ----------------------------------------------------------
    @property
    def messages(self) -> Dict[str, dict]:
        """sid -> Message resource as a fetch would return it now."""
        return self._app.store.all_messages()

    @property
    def calls(self) -> Dict[str, dict]:
        return self._app.store.all_calls()

    @property
    def catalog(self):
        """The account's phone numbers and Messaging Services (``add_…`` more)."""
        return self._app.catalog

    def set_outcome(self, number: str, outcome: str | None) -> None:
        """Force the final status for a To number (None clears it)."""
        self._app.store.set_outcome(number, outcome)

    # -- acknowledgements (replies and keypresses) ------------------------------
    def script_reply(
        self, number: str, text: str | None = None, after: float = 0.0
    ) -> None:
        """The next message created to ``number`` is answered from that number
        ``after`` seconds later with ``text``; None: with the code the message
        carried (the last 3-6 digit word of its last line), for which
        ``{code}`` in ``text`` also stands."""
        self._app.store.script_reply(number, text, after)

    def receive(self, sender: str, to: str, body: str, at: float | None = None) -> dict:
        """An inbound message from ``sender`` to ``to`` now (or at ``at``)."""
        record = self._app.store.receive(sender, to, body, at=at)
        return self._app.store.render_message(record)

    def script_press(self, number: str, digit: str, after: float = 0.0) -> None:
        """The next Studio execution to ``number`` gets ``digit`` pressed
        ``after`` seconds after it started, and then ends."""
        self._app.studio.script_press(number, digit, after)

    @property
    def unanswered_after(self) -> float:
        """Seconds a Studio execution without a press stays active."""
        return self._app.studio.unanswered_after

    @unanswered_after.setter
    def unanswered_after(self, value: float) -> None:
        self._app.studio.unanswered_after = value

    @property
    def executions(self) -> List[dict]:
        """Every Studio execution as a fetch would return it now."""
        return self._app.studio.executions()

    @property
    def flows(self) -> List[dict]:
        return self._app.studio.flows()
