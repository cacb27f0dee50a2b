"""Pool headroom (issue 20): the phases of a run can overlap (late senders
of a cancelled round, hang-ups, reconciliation, tracking, the SMS fallback),
each with up to Max Concurrent Requests workers. The connection pool keeps
that many connections, so urllib3 never discards one with "Connection pool
is full" (a warning the agent's log would show on every large cancel)."""

from __future__ import annotations

import json
import logging
import threading

from support.servers import LocalServer, QuietHandler
from ue_twilio import Settings
from ue_twilio.models import ReplyKind
from ue_twilio.transport.client import ClientOptions, TwilioClient

SID = "AC" + "0" * 32
MAX_CONCURRENT = 2
OVERLAPPING_CREWS = 5  # sending, reconciliation, tracking, hang-up, SMS fallback


class GatedServer(LocalServer):
    """Answers 201 only once ``parties`` requests are open at the same time:
    every connection of the test is in use at once, by construction."""

    def __init__(self, parties: int) -> None:
        gate = threading.Barrier(parties, timeout=30)

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gate.wait()
                body = json.dumps({"sid": "SM" + "0" * 32, "status": "queued"})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        super().__init__(Handler)


class Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.texts = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def test_overlapping_crews_never_overflow_the_pool():
    parties = MAX_CONCURRENT * OVERLAPPING_CREWS
    warnings = Warnings()
    pool_logger = logging.getLogger("urllib3.connectionpool")
    pool_logger.addHandler(warnings)
    try:
        with GatedServer(parties) as server:
            client = TwilioClient(
                SID,
                "t" * 32,
                Settings(api_url=server.url),
                ClientOptions(pool_size=MAX_CONCURRENT),
            )
            kinds = []

            def send() -> None:
                kinds.append(client.create("Messages", {"To": "+15558675310"}).kind)

            threads = [threading.Thread(target=send) for _ in range(parties)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            client.close()
    finally:
        pool_logger.removeHandler(warnings)
    assert kinds == [ReplyKind.OK] * parties
    assert not [t for t in warnings.texts if "Connection pool is full" in t]
