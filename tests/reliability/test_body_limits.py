"""An answer body is read up to 1 MB and never inflated: the memory a run needs
does not depend on what a (hostile or broken) endpoint sends back.

The 10 MB body of the sandbox is in the fault matrix; here the compressed
case: a gzip "bomb" (about 64 KB that inflate to 64 MB) from an
endpoint reached through a wrong API URL or a TLS-intercepting proxy.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc

import pytest

from support.runner import fields_for, run_task
from support.servers import LocalServer, QuietHandler

INFLATED = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip.compress(b"\0" * INFLATED, compresslevel=9)


class CompressingServer(LocalServer):
    """Answers every POST 201 with ``Content-Encoding: gzip`` and the bomb."""

    def __init__(self, body: bytes) -> None:
        self.headers_seen = []
        seen = self.headers_seen

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append(dict(self.headers))
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def test_a_gzip_bomb_is_not_inflated(sandbox, bomb):
    with CompressingServer(bomb) as server:
        tracemalloc.start()
        try:
            run = run_task(fields_for(sandbox), server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert run.rc == 0  # HTTP 201 is queued, whatever the body
    assert run.output["result"]["recipients"][0]["sid"] is None
    assert "Queued without a SID: +15558675310" in run.stderr
    assert peak < INFLATED // 4, "the answer was inflated in memory"
    assert server.headers_seen[0]["Accept-Encoding"] == "identity"


def test_the_client_asks_twilio_for_uncompressed_answers(sandbox):
    run = run_task(fields_for(sandbox), sandbox.url)
    assert run.rc == 0
    (entry,) = sandbox.journal
    assert entry.headers["Accept-Encoding"] == "identity"
    assert json.dumps(run.output)  # a normal answer still parses (sid present)
    assert run.output["result"]["recipients"][0]["sid"].startswith("SM")
