"""Twilio misbehaving: every scripted fault of the sandbox, for SMS, WhatsApp, voice.

Three recipients each; the fault hits the first create (the dispatcher's probe
goes alone, so "first" is deterministic). For every fault: the exit code, the
three counts, the STDERR line a user reads, and the journal, which proves no
recipient was created twice and that only a 429 (not processed) was retried.

Decisions (see docs/reliability.md): HTTP 201 means queued whatever the body
says, so a 201 with malformed JSON, without a sid or with an oversized body is
queued with sid null and a warning; a lost answer (reset, read timeout) is
failed with "delivery state unknown" and never resent; 5xx and HTML error pages
fail that recipient only.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple

import pytest
from reliability_kit import (
    ACTIONS,
    THREE,
    assert_counts,
    assert_created_at_most_once,
    attempts_per_number,
    creates_per_number,
    wait_until,
)

from support.runner import fields_for, run_cli, run_task

FIRST = THREE[0]
LOST = "delivery state unknown"
MAYBE = "Twilio may or may not have processed it"
NO_SID = "Queued without a SID: {}: Twilio answered 201".format(FIRST)


class Fault(NamedTuple):
    kind: str
    count: int  # how many creates get the fault
    rc: int
    first_queued: bool
    words: Tuple[str, ...]  # on STDERR, in this order on one line
    first_created: int  # resources the sandbox created for the first recipient
    first_attempts: int  # POSTs the sandbox received for the first recipient


FAULTS = [
    Fault(
        "http_500", 1, 21, False, ("Twilio error 20500: Internal Server", MAYBE), 0, 1
    ),
    Fault(
        "http_503", 1, 21, False, ("Twilio error 20503: Service Unavail", MAYBE), 0, 1
    ),
    Fault("html_error", 1, 21, False, ("HTTP 502 Bad Gateway", MAYBE), 0, 1),
    Fault("reset_before", 1, 21, False, ("closed unexpectedly", LOST), 0, 1),
    Fault("reset_after", 1, 21, False, ("closed unexpectedly", LOST), 1, 1),
    Fault("stall", 1, 21, False, ("within the read timeout", LOST), 1, 1),
    Fault("malformed_json", 1, 0, True, (NO_SID,), 1, 1),
    Fault("no_sid", 1, 0, True, (NO_SID,), 1, 1),
    Fault("huge_body", 1, 0, True, (NO_SID,), 1, 1),
    Fault("rate_limited", 3, 0, True, ("429 for {}, retry 3 in".format(FIRST),), 1, 4),
]
READ_TIMEOUT = 0.5
STALL = 1.0


def _arrange(sandbox, fault: Fault) -> None:
    sandbox.faults.stall_seconds = STALL
    sandbox.faults.retry_after = 0  # keep the 429 retries of this matrix quick
    sandbox.script(fault.kind, fault.count)


def _line_with(text: str, words: Tuple[str, ...]) -> str:
    for line in text.splitlines():
        positions = [line.find(w) for w in words]
        if all(p >= 0 for p in positions) and positions == sorted(positions):
            return line
    raise AssertionError("no STDERR line with {}:\n{}".format(words, text))


def _check(run, sandbox, action: str, fault: Fault) -> None:
    failed = 0 if fault.first_queued else 1
    assert run.rc == fault.rc, run.stderr
    assert_counts(run, 3, queued=3 - failed, failed=failed, not_sent=0)
    _line_with(run.stderr, fault.words)
    first = run.output["result"]["recipients"][0]
    assert first["to"] == FIRST
    if fault.first_queued:
        assert first["status"] == "queued"
        # only the retried 429 ends with a readable 201 body; the others: sid null
        assert (first["sid"] is not None) == (fault.kind == "rate_limited")
    else:
        assert first["status"] == "failed"
        assert "Failed (1): {}".format(FIRST) in run.stderr
        assert "Queued (2): {}, {}".format(THREE[1], THREE[2]) in run.stderr
    if fault.kind == "stall":  # the sandbox creates it once the stall ends
        wait_until(lambda: creates_per_number(sandbox, action)[FIRST] == 1, 5)
    created = creates_per_number(sandbox, action)
    assert created[FIRST] == fault.first_created
    assert [created[n] for n in THREE[1:]] == [1, 1]
    assert attempts_per_number(sandbox)[FIRST] == fault.first_attempts
    assert_created_at_most_once(sandbox, action)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.kind)
def test_fault_in_process(sandbox, action, fault):
    _arrange(sandbox, fault)
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    run = run_task(fields, sandbox.url, read_timeout=READ_TIMEOUT)
    _check(run, sandbox, action, fault)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.kind)
def test_fault_through_the_cli(sandbox, fault):
    """The same through ``ue-twilio run`` (real STDERR, DEBUG trace, exit code)."""
    _arrange(sandbox, fault)
    fields = fields_for(sandbox, recipients=", ".join(THREE))
    run = run_cli(fields, sandbox.url, "--read-timeout", str(READ_TIMEOUT))
    _check(run, sandbox, "sms_message", fault)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("action", ACTIONS)
def test_every_create_failing_with_5xx_exits_1(sandbox, action):
    sandbox.faults.error_rate = 1.0
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    run = run_task(fields, sandbox.url)
    assert run.rc == 1
    assert run.output["status_description"].startswith(
        "FAIL: No message could be queued. {}: Twilio error 2050".format(FIRST)
    )
    assert run.output["changed"] is False
    assert_counts(run, 3, queued=0, failed=3, not_sent=0)
    assert sum(creates_per_number(sandbox, action).values()) == 0
    assert attempts_per_number(sandbox) == {n: 1 for n in THREE}  # never retried
