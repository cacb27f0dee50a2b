"""Concurrent sending: order, fan-out, 429s, cancel.

End to end through the real sandbox, each test asserts what a user or Twilio
would notice: the exit code and the Extension Output, the order of STDERR
lines, and what reached the sandbox (its journal and the concurrency it saw).
The Dispatcher on its own runs over an injected transport whose handler holds
requests on events, so ordering is proved by events, never by the clock.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from support.events import WAIT, quiet_logger, when_logged
from support.mock_transport import Answer, client_for, created, form, rate_limited
from support.runner import captured_log, cli_env, fields_for, record, run_cli, run_task
from ue_twilio import Settings, Task
from ue_twilio.engine.dispatcher import MAX_RATE_LIMIT_RETRIES, Dispatcher, Hooks
from ue_twilio.exceptions import AuthorizationError
from ue_twilio.models import Status

# Magic numbers the sandbox refuses (as Twilio's test credentials do).
FAILING = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}


def numbers(count, start=0):
    return ["+1555{:07d}".format(start + i) for i in range(count)]


def created_to(sandbox):
    return [e.params["To"][0] for e in sandbox.creates()]


def not_queued_lines(stderr):
    return re.findall(r"Not queued: (\+\d+): ", stderr)


class Over:
    """A Dispatcher whose requests go to ``handler`` (no server, no clock)."""

    def __init__(
        self, handler, recipients, max_concurrent, settings=None, on_result=None
    ):
        self.log = quiet_logger("dispatcher")
        self.client, self.transport = client_for(handler, pool_size=max_concurrent)
        self.dispatcher = Dispatcher(
            self._send,
            recipients,
            max_concurrent,
            self.log,
            settings or Settings(),
            Hooks(on_result=on_result and (lambda index, result: on_result())),
        )
        self.results = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _send(self, to):
        return self.client.create("Messages", {"From": "+15005550006", "To": to})

    def _run(self):
        try:
            self.results = self.dispatcher.run()
        finally:
            self.client.close()

    def run(self):
        self._run()
        return self.results

    def start(self):
        self._thread.start()

    def join(self):
        """The results, once run() returned (the bound is not a timing claim)."""
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the dispatcher never returned"
        return self.results


def sid_for(to):
    return "SM" + to.lstrip("+").rjust(32, "0")


# -- order ----------------------------------------------------------------
def test_results_and_stderr_stay_in_recipient_order_under_jitter(sandbox):
    sandbox.faults.latency = 0.01
    sandbox.faults.jitter = 0.08
    recipients = numbers(40)
    for position, number in zip((3, 11, 12, 25, 39), FAILING):
        recipients[position] = number
    fields = fields_for(
        sandbox, recipients=",".join(recipients), max_concurrent_requests=8
    )
    run = run_task(fields, sandbox.url)

    assert run.rc == 21
    listed = run.output["result"]["recipients"]
    assert [r["to"] for r in listed] == recipients
    expected = ["failed" if to in FAILING else "queued" for to in recipients]
    assert [r["status"] for r in listed] == expected
    assert [r["error_code"] for r in listed if r["error_code"]] == [
        FAILING[n] for n in recipients if n in FAILING
    ]
    assert not_queued_lines(run.stderr) == [n for n in recipients if n in FAILING]
    assert sandbox.max_in_flight > 1, "the requests were not concurrent"
    assert sorted(created_to(sandbox)) == sorted(
        n for n in recipients if n not in FAILING
    )


def test_one_concurrent_request_sends_to_everyone(sandbox):
    recipients = numbers(5)
    fields = fields_for(
        sandbox, recipients=",".join(recipients), max_concurrent_requests=1
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    assert created_to(sandbox) == recipients  # one at a time: arrival order
    assert sandbox.max_in_flight == 1


# -- run-wide failures ----------------------------------------------------
def _wide_fields(sandbox):
    return fields_for(
        sandbox, recipients=",".join(numbers(60)), max_concurrent_requests=50
    )


def test_wrong_token_costs_one_request_with_50_workers(sandbox):
    fields = _wide_fields(sandbox)
    fields["twilio_credentials"]["password"] = "not-the-token"
    run = run_cli(fields, sandbox.url)
    assert run.rc == 2
    assert run.output["status_description"].startswith("AUTHENTICATION_ERROR: ")
    assert len(sandbox.journal) == 1
    assert run.stats["msg_not_sent_count"] == 59


def test_forbidden_account_costs_one_request_with_50_workers(sandbox):
    sandbox.faults.forbidden = True
    run = run_cli(_wide_fields(sandbox), sandbox.url)
    assert run.rc == 3
    assert len(sandbox.journal) == 1
    assert run.stats["msg_not_sent_count"] == 59


def test_dead_network_costs_one_request_with_50_workers(sandbox):
    url = sandbox.url
    sandbox.stop()
    run = run_task(_wide_fields(sandbox), url, connect_timeout=2.0)
    assert run.rc == 10
    assert run.output["status_description"].startswith("CONNECTION_ERROR: ")
    # Only the probe was tried: every other recipient is "not sent".
    assert not_queued_lines(run.stderr) == ["+15550000000"]
    # The probe never left either: all 60 are "not sent", and all count failed.
    assert run.stats == {
        "msg_queued_count": 0,
        "msg_failed_count": 60,
        "msg_unknown_count": 0,
        "msg_not_sent_count": 60,
    }


def test_a_403_mid_run_stops_every_worker():
    """After the probe, the first 403 halts the run: only requests already in
    flight can still get one, never one per remaining recipient."""
    lock = threading.Lock()
    arrivals = []
    forbidden = []

    def handler(request):
        to = form(request)["To"]
        with lock:
            arrivals.append(to)
            if len(arrivals) > 20:
                forbidden.append(to)
                return Answer(403, {"code": 20403, "message": "Forbidden"})
        return created(sid_for(to), to)

    over = Over(handler, numbers(200), max_concurrent=10)
    results = over.run()

    assert isinstance(over.dispatcher.error, AuthorizationError)
    assert 1 <= len(forbidden) <= 10  # at most one in flight per worker
    statuses = Counter(r.status for r in results)
    assert statuses[Status.QUEUED] == 20
    assert statuses[Status.FAILED] == len(forbidden)
    assert statuses[Status.NOT_SENT] == 200 - 20 - len(forbidden)
    assert max(Counter(arrivals).values()) == 1


# -- adaptive rate control --------------------------------------------------
def test_adapts_to_a_concurrency_cap_without_failures_or_duplicates(sandbox):
    cap = 3
    sandbox.faults.concurrency_cap = cap
    sandbox.faults.latency = 0.03
    recipients = numbers(90)
    fields = fields_for(
        sandbox, recipients=",".join(recipients), max_concurrent_requests=20
    )
    samples = []
    done = threading.Event()

    def watch():
        """After a third of the creates, measure the concurrency the sandbox sees."""
        while len(sandbox.creates()) < 30 and not done.wait(0.005):
            pass
        sandbox.reset_max_in_flight()
        while not done.wait(0.005):
            samples.append(sandbox.in_flight)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run = run_task(fields, sandbox.url)
    finally:
        done.set()
        watcher.join()

    assert run.rc == 0, run.stderr
    assert run.stats["msg_queued_count"] == 90
    assert Counter(created_to(sandbox)) == Counter(recipients)  # each exactly once
    rejected = [e for e in sandbox.journal if e.status == 429]
    assert rejected, "the cap was never hit"
    # Adapted: far fewer 429s than one per recipient, and after adapting the
    # sandbox still sees the full cap in use (no collapse to one at a time).
    assert len(rejected) < len(recipients) / 2
    assert sandbox.max_in_flight == cap
    assert sum(samples) / max(len(samples), 1) >= 0.4 * cap


def test_retry_after_pauses_every_worker():
    """Two requests in flight; one answers 429 with Retry-After, the other
    201 once the pause is set: that worker's next request, too, leaves only
    when the pause is over."""
    lock = threading.Lock()
    both = threading.Barrier(2)
    arrivals = []
    limited = []  # (when, To) of the one 429
    later = []  # arrival of every request after the held one

    def handler(request):
        to = form(request)["To"]
        with lock:
            arrivals.append(to)
            number = len(arrivals)
        if number in (2, 3):  # both workers' first requests are in flight
            both.wait(WAIT)
        if number == 2:
            limited.append((time.monotonic(), to))
            return rate_limited("1")
        if number == 3:  # the other worker: held until the pause is set
            assert backing_off.wait(WAIT)
        elif number > 3:
            later.append(time.monotonic())
        return created(sid_for(to), to)

    recipients = numbers(6)
    over = Over(handler, recipients, max_concurrent=2)
    backing_off = when_logged(over.log, "429 for ")
    results = over.run()

    assert [r.status for r in results] == [Status.QUEUED] * 6
    assert Counter(arrivals) == Counter(recipients + [limited[0][1]])
    # three recipients and the retry, all after the pause: a lower bound only
    assert len(later) == 4
    assert min(later) >= limited[0][0] + 1.0


def test_spent_retry_budget_fails_that_recipient_only_once(sandbox):
    sandbox.faults.retry_after = "0"
    sandbox.script("rate_limited", MAX_RATE_LIMIT_RETRIES + 1)
    recipients = numbers(3)
    fields = fields_for(
        sandbox, recipients=",".join(recipients), max_concurrent_requests=1
    )
    run = run_task(fields, sandbox.url)

    assert run.rc == 21
    first = run.output["result"]["recipients"][0]
    assert first["status"] == "failed"
    assert first["error_code"] == 20429
    assert (
        "rate limited after {} retries".format(MAX_RATE_LIMIT_RETRIES)
        in (first["error_message"])
    )
    assert not_queued_lines(run.stderr) == [recipients[0]]
    tries = [e for e in sandbox.journal if e.params["To"] == [recipients[0]]]
    assert len(tries) == MAX_RATE_LIMIT_RETRIES + 1
    assert all(e.status == 429 for e in tries)
    assert created_to(sandbox) == recipients[1:]  # the others once each


def test_429_storm_without_retry_after_never_duplicates(sandbox):
    sandbox.faults.concurrency_cap = 1
    sandbox.faults.latency = 0.01
    recipients = numbers(25)
    fields = fields_for(
        sandbox, recipients=",".join(recipients), max_concurrent_requests=25
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    assert Counter(created_to(sandbox)) == Counter(recipients)


# -- cancel -----------------------------------------------------------------
# A cancel grace longer than any wait below: only waking the workers ends a run.
PATIENT = Settings(cancel_grace=600)


def test_cancel_while_the_probe_backs_off_wakes_it():
    """The probe answers 429 with Retry-After 30 s; a cancel during that wait
    ends the run at once, and it is never sent again."""
    over = Over(lambda request: rate_limited("30"), numbers(20), 5, PATIENT)
    backing_off = when_logged(over.log, "429 for ")
    over.start()
    assert backing_off.wait(WAIT)
    over.dispatcher.cancel()
    results = over.join()  # within WAIT: not after the 30 s pause

    assert over.dispatcher.cancelled and over.dispatcher.error is None
    assert len(over.transport.requests) == 1
    assert [r.status for r in results] == [Status.NOT_SENT] * 20


def test_cancel_while_workers_wait_out_a_pause_wakes_them():
    """Five requests in flight; one answers 429 (Retry-After 30 s), the four
    others 201 once the pause is set, so their workers wait for a slot; a
    cancel wakes them all, and nobody else is sent to."""
    lock = threading.Lock()
    all_five = threading.Barrier(5)
    arrivals = []
    after_pause = []

    def handler(request):
        to = form(request)["To"]
        with lock:
            arrivals.append(to)
            number = len(arrivals)
        if 2 <= number <= 6:  # the five workers' first requests are in flight
            all_five.wait(WAIT)
        if number == 2:
            return rate_limited("30")
        if 2 < number <= 6:  # the other workers' first requests
            assert backing_off.wait(WAIT)
        elif number > 6:
            after_pause.append(to)
        return created(sid_for(to), to)

    answered = threading.Semaphore(0)
    over = Over(handler, numbers(20), 5, PATIENT, on_result=answered.release)
    backing_off = when_logged(over.log, "429 for ")
    over.start()
    for _ in range(5):  # the probe and the four held: now waiting for a slot
        assert answered.acquire(timeout=WAIT)
    over.dispatcher.cancel()
    results = over.join()  # within WAIT: not after the 30 s pause

    assert over.dispatcher.cancelled and over.dispatcher.error is None
    assert after_pause == []
    statuses = [r.status for r in results]
    assert Counter(statuses) == {Status.QUEUED: 5, Status.NOT_SENT: 15}
    assert statuses[:6].count(Status.NOT_SENT) == 1  # the one rate limited


def test_a_cancel_through_the_task_ends_the_run_within_the_grace(sandbox):
    """End to end: everyone 429 with Retry-After 5 s; cancelled at the first
    backoff, the task returns within its cancel grace, before the pause ends."""
    sandbox.faults.concurrency_cap = 0
    sandbox.faults.retry_after = "5"
    fields = fields_for(
        sandbox, recipients=",".join(numbers(20)), max_concurrent_requests=5
    )
    with captured_log() as (logger, stream):
        task = Task(fields, Settings(api_url=sandbox.url), logger)
        backing_off = when_logged(logger, "429 for ")
        canceller = threading.Thread(
            target=lambda: backing_off.wait(WAIT) and task.cancel()
        )
        canceller.start()
        started = time.monotonic()
        outcome = task.run()
        took = time.monotonic() - started
    canceller.join(WAIT)
    record(outcome.output_json(), stream.getvalue())

    assert backing_off.is_set()
    assert took < Settings().cancel_grace  # the 5 s pause never ran out
    assert [e.status for e in sandbox.journal] == [429]  # the probe only
    assert outcome.output["result"]["cancelled"] is True
    assert outcome.output["result"]["stats"]["msg_not_sent_count"] == 20


# -- progress -----------------------------------------------------------------
PROGRESS = re.compile(
    r"Progress: (\d+) queued, (\d+) failed, (\d+) remaining of 40 \((\d+\.\d)/s\)"
)


def test_progress_lines_on_stderr(sandbox):
    sandbox.faults.latency = 0.05
    recipients = numbers(39) + ["+15005550001"]
    fields = fields_for(
        sandbox, recipients=",".join(recipients), max_concurrent_requests=2
    )
    run = run_task(fields, sandbox.url, progress_interval=0.2)

    assert run.rc == 21
    lines = [tuple(int(x) for x in m[:3]) for m in PROGRESS.findall(run.stderr)]
    assert len(lines) >= 3
    for queued, failed, remaining in lines:
        assert queued + failed + remaining == 40
    done = [queued + failed for queued, failed, _ in lines]
    assert done == sorted(done) and done[-1] > done[0]


def test_cli_draws_a_progress_bar_on_a_terminal(sandbox):
    """STDERR on a pseudo-terminal: the CLI redraws one bar line in place."""
    pty = pytest.importorskip("pty")
    sandbox.faults.latency = 0.05
    fields = fields_for(
        sandbox, recipients=",".join(numbers(40)), max_concurrent_requests=2
    )
    master, slave = pty.openpty()
    command = [sys.executable, "-m", "ue_twilio", "run", "--fields", "-"]
    proc = subprocess.Popen(
        command + ["--log-level", "WARNING"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=cli_env(sandbox.url),
    )
    os.close(slave)
    chunks = []
    reader = threading.Thread(target=_drain, args=(master, chunks))
    reader.start()
    stdout, _ = proc.communicate(json.dumps(fields).encode(), timeout=60)
    reader.join(10)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    record(stdout.decode(), terminal)

    assert proc.returncode == 0, terminal
    assert re.search(r"\r\[[#.]{30}\] \d+/40 queued \d+ failed 0", terminal)
    assert "\r[" + "#" * 30 + "] 40/40 queued 40 failed 0" in terminal


def _drain(fd, chunks):
    """Read the terminal until the child closes it (EIO on Linux)."""
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        os.close(fd)
