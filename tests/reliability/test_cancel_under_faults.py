"""Cancelling while the network misbehaves still returns inside the agent's window.

The agent gives ``extension_cancel`` 10 seconds. A backoff wait is cut at once;
a request stuck in a stall or in a DNS lookup cannot be interrupted, so the
dispatcher waits at most Settings.cancel_grace (5 s) for it, then counts it
failed with "delivery state unknown". Counts always add up.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from reliability_kit import (
    ACTIONS,
    THREE,
    CancelledRun,
    assert_counts,
    attempts_per_number,
    creates_per_number,
    in_flight,
)

from support import runner
from support.runner import cli_env, fields_for
from support.servers import wait_until
from ue_twilio import Settings
from ue_twilio.output.verdict import PARTIAL

AGENT_CANCEL_WINDOW = 10.0
GRACE = Settings().cancel_grace
IN_FLIGHT_UNKNOWN = "cancelled while the request was in flight; delivery state unknown"


def _status(queued, unknown, not_sent):
    """Exit 21 carries the seed's text; exit 1 the cancel's details."""
    if queued:
        return PARTIAL
    text = (
        "FAIL: Task was cancelled: {} queued, {} failed "
        "(0 rejected, {} unknown, {} not sent)."
    )
    return text.format(queued, unknown + not_sent, unknown, not_sent)


# -- during a backoff ---------------------------------------------------------
@pytest.mark.parametrize("action", ACTIONS)
def test_cancel_during_a_429_backoff_returns_at_once(sandbox, action):
    sandbox.faults.concurrency_cap = 0
    sandbox.faults.retry_after = 3600  # capped at 30 s by the client
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    rejected = lambda: any(e.status == 429 for e in sandbox.journal)  # noqa: E731
    cancelled = CancelledRun(fields, Settings(api_url=sandbox.url), rejected)
    run = cancelled.run()
    # woken, not run out: neither the 30 s pause nor the grace passed
    assert cancelled.seconds_after_cancel < GRACE
    assert "429 for {}, retry 1 in 30.00 s".format(THREE[0]) in run.stderr
    assert run.rc == 1
    assert run.output["status_description"] == _status(0, 0, 3)
    assert_counts(run, 3, queued=0, not_sent=3)
    assert attempts_per_number(sandbox) == {THREE[0]: 1}  # no retry after cancel


# -- during a stalled request -------------------------------------------------
@pytest.mark.parametrize("action", ACTIONS)
def test_cancel_during_a_stalled_request_returns_after_the_grace(sandbox, action):
    """Stall 30 s = read timeout 30 s: only the grace bounds the wait."""
    sandbox.faults.stall_seconds = 30
    sandbox.faults.latency = 0.2
    fields = fields_for(
        sandbox, action=action, recipients=", ".join(THREE), max_concurrent_requests=1
    )

    def stall_the_second_create():
        if wait_until(lambda: creates_per_number(sandbox, action)[THREE[0]], 10):
            sandbox.script("stall", 1)  # before the next create passes its latency

    threading.Thread(target=stall_the_second_create, daemon=True).start()
    stalled = lambda: any(  # noqa: E731
        e.status is None and e.params.get("To", [""])[0].endswith(THREE[1])
        for e in sandbox.journal
    )
    cancelled = CancelledRun(fields, Settings(api_url=sandbox.url), stalled)
    run = cancelled.run()
    assert GRACE - 0.5 <= cancelled.seconds_after_cancel < GRACE + 2.0
    assert cancelled.seconds_after_cancel < AGENT_CANCEL_WINDOW
    assert run.rc == 21
    assert run.output["status_description"] == _status(1, 1, 1)
    assert_counts(run, 3, queued=1, unknown=1, not_sent=1)
    second = run.output["result"]["recipients"][1]
    assert second["status"] == "unknown"
    assert second["error_message"] == IN_FLIGHT_UNKNOWN
    assert "Failed, not sent (1): {}".format(THREE[2]) in run.stderr
    assert attempts_per_number(sandbox) == {THREE[0]: 1, THREE[1]: 1}


def test_sigterm_during_a_stalled_request_through_the_cli(sandbox, tmp_path):
    sandbox.faults.stall_seconds = 30
    sandbox.script("stall", 1)
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields_for(sandbox, recipients=", ".join(THREE))))
    command = [sys.executable, "-m", "ue_twilio", "run", "--fields", str(path)]
    command += ["--log-level", "DEBUG"]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox.url),
    )
    try:
        assert wait_until(in_flight(sandbox), 15), (
            "the request never reached the sandbox"
        )
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=AGENT_CANCEL_WINDOW + 5)
        elapsed = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    runner.record(stdout, stderr)
    assert elapsed < AGENT_CANCEL_WINDOW
    assert proc.returncode == 1
    output = json.loads(stdout)
    assert output["status_description"] == _status(0, 1, 2)
    assert output["result"]["recipients"][0]["error_message"] == IN_FLIGHT_UNKNOWN
    assert "Traceback" not in stderr


# -- during a DNS lookup ------------------------------------------------------
class HangingResolver:
    """getaddrinfo that hangs for one host name until released, then fails.

    The system resolver here answers at once; a real one can hang for many
    seconds (no connect timeout covers it), which is what this reproduces.
    """

    HOST = "slow-dns.invalid"

    def __init__(self, monkeypatch) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self._getaddrinfo)

    def _getaddrinfo(self, host, *args, **kwargs):
        if host != self.HOST:
            return self._real(host, *args, **kwargs)
        self.entered.set()
        self.release.wait(30)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_cancel_during_a_hanging_dns_lookup_returns_after_the_grace(
    sandbox, monkeypatch
):
    """The lookup happens before anything action-specific: SMS stands for all."""
    resolver = HangingResolver(monkeypatch)
    fields = fields_for(sandbox, recipients=", ".join(THREE))
    settings = Settings(api_url="http://{}".format(resolver.HOST))
    cancelled = CancelledRun(fields, settings, resolver.entered.is_set)
    try:
        run = cancelled.run()
    finally:
        resolver.release.set()
    assert cancelled.seconds_after_cancel < GRACE + 2.0
    assert run.rc == 1
    assert run.output["status_description"] == _status(0, 1, 2)
    assert run.output["result"]["recipients"][0]["error_message"] == IN_FLIGHT_UNKNOWN
    assert_counts(run, 3, queued=0, unknown=1, not_sent=2)


def test_dns_failure_after_the_cancel_still_reports_the_cancel(sandbox, monkeypatch):
    """The lookup fails during the grace: the run says it was cancelled (the
    user's request), and the probe's line names the DNS failure."""
    resolver = HangingResolver(monkeypatch)
    fields = fields_for(sandbox, recipients=", ".join(THREE))
    settings = Settings(api_url="http://{}".format(resolver.HOST))

    cancelled = CancelledRun(fields, settings, resolver.entered.is_set)

    def fail_the_lookup_after_the_cancel():
        wait_until(lambda: cancelled.cancelled_at is not None, 10)
        time.sleep(0.3)
        resolver.release.set()

    threading.Thread(target=fail_the_lookup_after_the_cancel, daemon=True).start()
    run = cancelled.run()
    assert cancelled.seconds_after_cancel < GRACE  # ended by the failure
    assert run.rc == 1
    # The lookup failed: the request never left, so nobody is "unknown".
    assert run.output["status_description"] == _status(0, 0, 3)
    first = run.output["result"]["recipients"][0]
    assert first["error_message"].startswith("Cannot resolve slow-dns.invalid (DNS)")
