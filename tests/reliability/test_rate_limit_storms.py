"""429 storms: retried (Twilio did not process them), bounded, never a double send.

Budget under test: at most 10 retries per recipient; Retry-After honoured and
capped at 30 s; without it, exponential backoff 0.1 s, 0.2 s, ... capped at
5 s with jitter (each delay between half and all of its ceiling).
"""

from __future__ import annotations

import re
from email.utils import formatdate

import pytest
from reliability_kit import (
    ACTIONS,
    THREE,
    assert_counts,
    assert_created_at_most_once,
    attempts_per_number,
    creates_per_number,
    number_of,
)

from support.runner import fields_for, run_task

RETRY = re.compile(r"429 for (\+\d+), retry (\d+) in ([0-9.]+) s")


def _retries(stderr: str):
    return [
        (m.group(1), int(m.group(2)), float(m.group(3))) for m in RETRY.finditer(stderr)
    ]


def _post_times(box, number: str):
    return [
        e.time for e in box.journal if e.method == "POST" and number_of(e) == number
    ]


@pytest.mark.parametrize("action", ACTIONS)
def test_storm_against_a_concurrency_cap_queues_everyone_once(sandbox, action):
    sandbox.faults.concurrency_cap = 1
    sandbox.faults.latency = 0.03
    numbers = ["+1555{:07d}".format(i) for i in range(12)]
    fields = fields_for(sandbox, action=action, recipients=",".join(numbers))
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.output["status_description"]
    assert_counts(run, 12, queued=12)
    assert creates_per_number(sandbox, action) == {n: 1 for n in numbers}
    assert any(e.status == 429 for e in sandbox.journal), "no storm happened"
    assert max(n for _, n, _ in _retries(run.stderr)) <= 10


@pytest.mark.parametrize("action", ACTIONS)
def test_endless_429_gives_up_after_10_retries(sandbox, action):
    sandbox.faults.concurrency_cap = 0  # every request answered 429 / 20429
    sandbox.faults.retry_after = 0
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    run = run_task(fields, sandbox.url)
    assert run.rc == 1
    assert run.output["status_description"] == (
        "FAIL: No message could be queued. {}: Twilio error 20429: still rate "
        "limited after 10 retries: Too Many Requests.".format(THREE[0])
    )
    assert_counts(run, 3, queued=0, refused=3)
    for number in THREE:
        line = "Not queued: {}: Twilio error 20429: still rate limited after 10"
        assert line.format(number) in run.stderr
    assert attempts_per_number(sandbox) == {n: 11 for n in THREE}
    assert sum(creates_per_number(sandbox, action).values()) == 0


def test_retry_after_seconds_are_honoured(sandbox):
    sandbox.faults.retry_after = 1
    sandbox.script("rate_limited", 1)
    run = run_task(fields_for(sandbox), sandbox.url)
    assert run.rc == 0
    first, second = _post_times(sandbox, "+15558675310")
    assert second - first >= 0.95
    assert _retries(run.stderr) == [("+15558675310", 1, 1.0)]
    assert_created_at_most_once(sandbox, "sms_message")


def test_retry_after_as_http_date_is_honoured(sandbox):
    sandbox.faults.retry_after = formatdate(usegmt=True)  # "now": wait 0..1 s
    sandbox.script("rate_limited", 1)
    run = run_task(fields_for(sandbox), sandbox.url)
    assert run.rc == 0
    ((_, attempt, delay),) = _retries(run.stderr)
    assert attempt == 1 and 0.0 <= delay <= 1.0


@pytest.mark.parametrize("header", [None, "soon", "-5", "nan"])
def test_without_a_usable_retry_after_backoff_is_capped_exponential(sandbox, header):
    sandbox.faults.retry_after = header
    sandbox.script("rate_limited", 4)
    run = run_task(fields_for(sandbox), sandbox.url)
    assert run.rc == 0
    retries = _retries(run.stderr)
    assert [n for _, n, _ in retries] == [1, 2, 3, 4]
    for _, attempt, delay in retries:
        ceiling = min(5.0, 0.1 * 2 ** (attempt - 1))
        if header == "-5":  # a negative Retry-After means "now": the floor
            assert delay == 0.1
        else:
            assert ceiling / 2 - 0.01 <= delay <= ceiling + 0.01
    times = _post_times(sandbox, "+15558675310")
    assert len(times) == 5
    assert_created_at_most_once(sandbox, "sms_message")
