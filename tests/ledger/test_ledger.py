"""The per-recipient ledger (issue 19): edits, links, clocks, damage, chains,
cancels and crashes never text anyone twice, nor drop anyone.

Each test asserts what reached the sandbox (its journal and store) and what a
user reads (exit code, output, STDERR), against a real CLI process where the
state file's path or the process matters, else the Task in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from support.calls import PERSON, called, voice_fields
from support.events import when_answered
from support.runner import cli_env, fields_for, record, run_cli, run_task
from support.tasks import run_live, statuses
from ue_twilio.engine import workers
from ue_twilio.inputs.config import parse
from ue_twilio.ledger.journal import HEADER
from ue_twilio.ledger.state import message_digest, recipient_key

UNSENT_ONLY = {"resend_policy": ["unsent_only"]}
BAD = "+15005550001"  # the sandbox refuses it: 21211, nothing created
FAST = dict(reconcile_delay=0.2, reconcile_recheck=0.2, read_timeout=1.0)


def _numbers(count, first=0):
    return ["+1555{:07d}".format(i) for i in range(first, first + count)]


def _texted(box):
    return Counter(e.params["To"][0] for e in box.creates())


def _state(tmp_path):
    return str(tmp_path / "state.ledger")


def _run(box, numbers, state, **extra):
    fields = fields_for(box, recipients=",".join(numbers), **UNSENT_ONLY)
    fields.update(extra)
    return run_cli(fields, box.url, "--state-file", state)


# -- edits keep the record -----------------------------------------------------


def test_fixing_a_bad_number_sends_only_to_the_fixed_one(sandbox, tmp_path):
    state = _state(tmp_path)
    numbers = _numbers(9) + [BAD]
    first = _run(sandbox, numbers, state)
    assert first.rc == 21
    fixed = _numbers(9) + ["+15557777777"]
    second = _run(sandbox, fixed, state)
    assert second.rc == 0
    assert _texted(sandbox) == Counter(fixed)  # the nine once, the fixed one once
    assert statuses(second) == ["skipped"] * 9 + ["queued"]
    assert "9 recipient(s) were queued by an earlier run" in second.stderr


@pytest.mark.parametrize(
    "edit",
    [
        lambda n: n + _numbers(2, first=100),  # add
        lambda n: n[2:],  # remove
        lambda n: list(reversed(n)),  # reorder
    ],
    ids=["add", "remove", "reorder"],
)
def test_an_edited_list_texts_only_who_was_not_texted(sandbox, tmp_path, edit):
    state = _state(tmp_path)
    numbers = _numbers(6)
    assert _run(sandbox, numbers, state).rc == 0
    edited = edit(numbers)
    second = _run(sandbox, edited, state)
    assert second.rc == 0
    assert _texted(sandbox) == Counter(set(numbers) | set(edited))
    old = set(numbers)
    assert statuses(second) == ["skipped" if n in old else "queued" for n in edited]


def test_a_changed_message_is_a_new_message(sandbox, tmp_path):
    state = _state(tmp_path)
    numbers = _numbers(3)
    assert _run(sandbox, numbers, state).rc == 0
    changed = _run(sandbox, numbers, state, message_body_text="Load fixed")
    assert statuses(changed) == ["queued"] * 3
    again = _run(sandbox, numbers, state)  # the first message: still known
    assert statuses(again) == ["skipped"] * 3
    bodies = Counter(e.params["Body"][0] for e in sandbox.creates())
    assert bodies == {"Nightly load failed": 3, "Load fixed": 3}


def test_the_cli_refuses_unsent_only_without_a_state_file(sandbox):
    run = run_cli(fields_for(sandbox, **UNSENT_ONLY), sandbox.url)
    assert run.rc == 20
    status = run.output["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: Resend Policy: ")
    assert "--state-file" in status
    assert sandbox.journal == []


# -- one lock per file ---------------------------------------------------------------


def test_a_symlinked_state_path_stays_a_link_and_is_one_record(sandbox, tmp_path):
    real = tmp_path / "real.ledger"
    link = tmp_path / "link.ledger"
    link.symlink_to(real)
    numbers = _numbers(3)
    assert _run(sandbox, numbers, str(link)).rc == 0
    assert link.is_symlink() and real.read_text().startswith(HEADER + "\n")
    again = _run(sandbox, numbers, str(real))
    assert statuses(again) == ["skipped"] * 3
    assert _texted(sandbox) == Counter(numbers)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "link.ledger",
        "real.ledger",
        "real.ledger.lock",
    ]


def test_two_processes_through_two_paths_to_one_file_text_everyone_once(
    sandbox, tmp_path
):
    sandbox.faults.latency = 0.05
    real = tmp_path / "state.ledger"
    link = tmp_path / "link.ledger"
    real.write_text(HEADER + "\n")
    link.symlink_to(real)
    numbers = _numbers(20)
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=2, **UNSENT_ONLY
    )
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ue_twilio", "run", "--fields", str(path)]
            + ["--state-file", str(state), "--state-lock-timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(sandbox.url),
        )
        for state in (real, link)
    ]
    codes = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        record(stdout, stderr)
        codes.append(proc.returncode)
    assert codes == [0, 0]
    assert _texted(sandbox) == Counter(numbers)


# -- Twilio's clock ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [600.0, -600.0], ids=["ahead", "behind"])
def test_lost_answers_are_found_whatever_the_agent_clock(sandbox, offset):
    """Twilio's clock 10 minutes off ours: a lost answer is still found, not
    sent again (the agent's clock used to decide, to 60 s)."""
    sandbox.clock_offset = offset
    sandbox.script("lost_body", 2)
    sandbox.script("reset_after", 1)
    numbers = _numbers(4)
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=1
    )
    run = run_task(fields, sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert _texted(sandbox) == Counter(numbers)
    assert "Found at Twilio" in run.stderr


@pytest.mark.parametrize("offset", [600.0, -600.0], ids=["ahead", "behind"])
def test_an_earlier_in_flight_request_is_found_whatever_the_clock(
    sandbox, tmp_path, offset
):
    """A run killed before any answer (its ledger knows no Twilio clock)
    left one recipient in flight; Twilio had created it."""
    sandbox.clock_offset = offset
    numbers = _numbers(2)
    fields = fields_for(sandbox, recipients=",".join(numbers), **UNSENT_ONLY)
    run_task(
        dict(fields, resend_policy=["all"], recipient_list=numbers[0]), sandbox.url
    )
    key = recipient_key(message_digest(parse(fields)), numbers[0])
    moment = int(time.time()) - 2
    state = tmp_path / "state.ledger"
    state.write_text("{}\nR {}\nI {} {}\n".format(HEADER, moment, key, moment))
    rerun = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert rerun.rc == 0, rerun.stderr
    assert statuses(rerun) == ["skipped", "queued"]
    assert _texted(sandbox) == Counter(numbers)


# -- damage ---------------------------------------------------------------------------


def test_a_truncated_state_file_is_reported_and_its_recipients_looked_up(
    sandbox, tmp_path
):
    state = _state(tmp_path)
    numbers = _numbers(4)
    assert _run(sandbox, numbers, state).rc == 0
    text = open(state).read()
    with open(state, "w") as handle:  # power lost mid-line: the tail is gone
        handle.write(text[: text.index("\nQ ") + 5])
    again = _run(sandbox, numbers, state)
    assert again.rc == 0
    assert "is damaged (its last line is cut short)" in again.stderr
    assert "asking Twilio about" in again.stderr
    assert statuses(again) == ["skipped"] * 4
    assert _texted(sandbox) == Counter(numbers)


# -- call chains ----------------------------------------------------------------------


def test_a_chain_rerun_looks_up_an_earlier_unknown_first_person(sandbox, tmp_path):
    """The first on-call person was in flight when the earlier run ended and
    Twilio has no such call: they are called first, not silently skipped."""
    sandbox.status_interval = 0.05
    numbers = ["+15558675310", PERSON]
    fields = voice_fields(
        sandbox,
        numbers,
        call_order=["one_by_one_until_answered"],
        delivery_timeout=60,
        **UNSENT_ONLY,
    )
    key = recipient_key(message_digest(parse(fields)), numbers[0])
    moment = int(time.time()) - 2
    state = tmp_path / "state.ledger"
    state.write_text("{}\nR {}\nI {} {}\n".format(HEADER, moment, key, moment))
    run = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert "asking Twilio about 1 recipient(s)" in run.stderr
    assert called(sandbox)[0] == numbers[0]


# -- cancel and crash ----------------------------------------------------------


def test_a_cancel_while_a_lookup_hangs_returns_without_its_answer(sandbox):
    """The lookup's GET is still held by the sandbox when the task returns."""
    sandbox.script("reset_after", 1)  # created, the answer lost: looked up
    when_answered(
        sandbox,
        lambda: len(sandbox.creates()) >= 1,
        then=lambda: setattr(sandbox.faults, "latency", 30.0),  # lookups hang
    )
    looking = threading.Event()
    sandbox.on_request(lambda method, path: method == "GET" and looking.set())
    fields = fields_for(sandbox, recipients=",".join(_numbers(1)))
    run = run_live(
        fields, sandbox.url, cancel_on=looking, **dict(FAST, read_timeout=40)
    )
    held = sandbox.in_flight
    sandbox.faults.latency = 0.0
    assert looking.is_set()
    assert held >= 1  # returned while the lookup still hung
    assert run.output["result"]["cancelled"] is True
    assert statuses(run) == ["unknown"]
    problem = run.output["result"]["recipients"][0]["error_message"]
    assert "the lookup at Twilio was cancelled" in problem


def test_a_worker_that_fails_to_start_after_the_probe_never_raises(
    sandbox, tmp_path, monkeypatch
):
    """The probe's SMS was created; the crash output lists it queued, the
    counts add up, and the ledger lets a rerun skip it."""
    started = []
    plain = workers.Crew.start

    def start(self, count, target):
        started.append(count)
        if len(started) > 1:
            raise RuntimeError("can't start new thread")
        return plain(self, count, target)

    monkeypatch.setattr(workers.Crew, "start", start)
    numbers = _numbers(3)
    fields = fields_for(sandbox, recipients=",".join(numbers), **UNSENT_ONLY)
    state = _state(tmp_path)
    run = run_task(fields, sandbox.url, state_file=state)
    assert run.rc == 1
    assert run.output["status_description"] == "FAIL: Unexpected error: RuntimeError."
    assert statuses(run) == ["queued", "not_sent", "not_sent"]
    stats = run.stats
    assert stats["msg_queued_count"] + stats["msg_failed_count"] == 3
    assert "Traceback" not in run.stderr
    monkeypatch.setattr(workers.Crew, "start", plain)
    rerun = run_task(fields, sandbox.url, state_file=state)
    assert rerun.rc == 0
    assert _texted(sandbox) == Counter(numbers)


def test_state_files_are_private(sandbox, tmp_path):
    state = _state(tmp_path)
    assert _run(sandbox, _numbers(1), state).rc == 0
    for path in (state, state + ".lock"):
        assert os.stat(path).st_mode & 0o077 == 0, path


def test_the_field_holds_what_fits_and_says_so(sandbox, tmp_path, caplog):
    """600 queued recipients do not fit in the Resend State field: it holds
    495 of them (4,000 characters at most), and STDERR says so."""
    import logging

    from ue_twilio.ledger.state import ResendState

    numbers = _numbers(600)
    listed = tmp_path / "numbers.txt"
    listed.write_text("\n".join(numbers))
    fields = fields_for(
        sandbox,
        recipients="",
        recipient_source=["recipient_list_file"],
        recipient_list_file=str(listed),
        **UNSENT_ONLY,
    )
    config = parse(fields)
    log = logging.getLogger("test.ledger.field")
    with caplog.at_level(logging.INFO, logger="test.ledger.field"):
        ledger = ResendState(config, fields, log)
        for number in numbers:
            ledger.intent(number)
            ledger.mark_queued(number)
        record = ledger.record()
    assert len(record) <= 4000
    assert "holds 495 of the 600 recipients" in caplog.text
    rerun = ResendState(config, dict(fields, resend_state=record), log)
    assert len(rerun.skipped_indices()) == 495
