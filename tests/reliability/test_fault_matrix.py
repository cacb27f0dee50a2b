"""Twilio misbehaving: every scripted fault of the sandbox, for SMS, WhatsApp, voice.

Three recipients each; the fault hits the first create (the dispatcher's probe
goes alone, so "first" is deterministic). For every fault: the exit code, the
counts, the STDERR line a user reads, and the journal, which proves every
recipient was created exactly once.

Decisions (see docs/reliability.md): HTTP 201 means queued whatever the body
says; a 201 whose body is unreadable is queued and its SID looked up in
Twilio's list. An answer that may have been lost (reset, read timeout, 5xx,
an HTML error page) is looked up too: found means queued, absent twice means
nothing was created and it is sent once more. Only a 429 is retried at once.
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
)

from support.runner import fields_for, run_cli, run_task

FIRST = THREE[0]
LOST = "delivery state unknown"
MAYBE = "Twilio may or may not have processed it"
NO_SID = "Queued without a SID: {}: Twilio answered 201".format(FIRST)


class Fault(NamedTuple):
    kind: str
    count: int  # how many creates get the fault
    words: Tuple[str, ...]  # on STDERR, in this order on one line
    first_attempts: int  # POSTs the sandbox received for the first recipient


FOUND = ("Found at Twilio: {} was queued".format(FIRST),)
FAULTS = [
    Fault("http_500", 1, ("Answer lost", "Twilio error 20500", MAYBE), 2),
    Fault("http_503", 1, ("Answer lost", "Twilio error 20503", MAYBE), 2),
    Fault("html_error", 1, ("Answer lost", "HTTP 502 Bad Gateway", MAYBE), 2),
    Fault("reset_before", 1, ("Answer lost", "closed unexpectedly", LOST), 2),
    Fault("reset_after", 1, FOUND, 1),
    Fault("stall", 1, FOUND, 1),
    Fault("malformed_json", 1, (NO_SID,), 1),
    Fault("no_sid", 1, (NO_SID,), 1),
    Fault("huge_body", 1, (NO_SID,), 1),
    Fault("rate_limited", 3, ("429 for {}, retry 3 in".format(FIRST),), 4),
]
# The faults the CLI repeats (each lookup path once; the rest is in-process).
CLI_FAULTS = ("http_500", "reset_before", "reset_after", "malformed_json")
READ_TIMEOUT = 0.5
STALL = 1.0
# The first look at Twilio's list waits until the stalled create has ended.
RECONCILE = {"reconcile_delay": STALL + 0.5, "reconcile_recheck": 0.2}


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
    assert run.rc == 0, run.stderr
    assert_counts(run, 3, queued=3)
    _line_with(run.stderr, fault.words)
    created = creates_per_number(sandbox, action)
    assert [created[n] for n in THREE] == [1, 1, 1]
    assert_created_at_most_once(sandbox, action)
    store = sandbox.calls if action == "voice_message" else sandbox.messages
    listed = run.output["result"]["recipients"]
    assert [r["to"] for r in listed] == THREE
    assert all(r["status"] == "queued" and r["sid"] in store for r in listed)
    assert attempts_per_number(sandbox)[FIRST] == fault.first_attempts


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.kind)
def test_fault_in_process(sandbox, action, fault):
    _arrange(sandbox, fault)
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    run = run_task(fields, sandbox.url, read_timeout=READ_TIMEOUT, **RECONCILE)
    _check(run, sandbox, action, fault)


@pytest.mark.parametrize(
    "fault", [f for f in FAULTS if f.kind in CLI_FAULTS], ids=lambda f: f.kind
)
def test_fault_through_the_cli(sandbox, fault):
    """The same through ``ue-twilio run`` (real STDERR, DEBUG trace, exit code)."""
    _arrange(sandbox, fault)
    fields = fields_for(sandbox, recipients=", ".join(THREE))
    run = run_cli(fields, sandbox.url, "--read-timeout", str(READ_TIMEOUT))
    _check(run, sandbox, "sms_message", fault)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("action", ACTIONS)
def test_every_create_failing_with_5xx_exits_1(sandbox, action):
    """Each 5xx is looked up, found absent and sent once more; then given up."""
    sandbox.faults.error_rate = 1.0
    fields = fields_for(sandbox, action=action, recipients=", ".join(THREE))
    run = run_task(fields, sandbox.url, reconcile_delay=0, reconcile_recheck=0)
    assert run.rc == 1
    assert run.output["status_description"].startswith(
        "FAIL: No message could be queued. {}: Twilio error 2050".format(FIRST)
    )
    assert "has no record of it after 2 attempts" in run.output["status_description"]
    assert run.output["changed"] is False
    assert_counts(run, 3, queued=0, not_sent=3)
    assert sum(creates_per_number(sandbox, action).values()) == 0
    assert attempts_per_number(sandbox) == {n: 2 for n in THREE}
