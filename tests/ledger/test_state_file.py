"""The resend state file cannot double-send or destroy.

Two real ``ue-twilio run`` processes on one state file against one sandbox
with latency: the second waits for the lock, or gives up with exit 1 before
sending; the sandbox journal shows nobody texted twice. The file carries a
header, the previous release's file is still read, a file that is not ours is
never written, and the record is written while the run goes.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import zlib
from collections import Counter

from support.events import journal_reaches
from support.runner import cli_env, fields_for, record, run_cli
from support.tasks import statuses
from ue_twilio.inputs.config import parse
from ue_twilio.ledger.journal import HEADER
from ue_twilio.ledger.legacy import fingerprint
from ue_twilio.ledger.state import ResendState, StateFile

CLI = [sys.executable, "-m", "ue_twilio", "run", "--log-level", "DEBUG"]
UNSENT_ONLY = {"resend_policy": ["unsent_only"]}


def _numbers(count):
    return ["+1555{:07d}".format(i) for i in range(count)]


def _start(fields_path, state, url, *options):
    return subprocess.Popen(
        CLI
        + ["--fields", str(fields_path), "--state-file", str(state)]
        + list(options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(url),
    )


def _finish(proc):
    stdout, stderr = proc.communicate(timeout=60)
    record(stdout, stderr)
    return proc.returncode, json.loads(stdout), stderr


def _wait_for_creates(sandbox, count):
    assert journal_reaches(sandbox, lambda: len(sandbox.creates()) >= count)


def _times_texted(sandbox):
    return Counter(e.params["To"][0] for e in sandbox.creates())


def _setup(sandbox, tmp_path, count, latency):
    sandbox.faults.latency = latency
    numbers = _numbers(count)
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=1, **UNSENT_ONLY
    )
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields))
    return numbers, fields, path


def test_a_second_process_gives_up_on_a_busy_state_file(sandbox, tmp_path):
    numbers, _, fields_path = _setup(sandbox, tmp_path, 15, 0.2)
    state = tmp_path / "state.json"
    first = _start(fields_path, state, sandbox.url)
    _wait_for_creates(sandbox, 1)
    second = _start(fields_path, state, sandbox.url, "--state-lock-timeout", "0.5")
    rc2, output2, stderr2 = _finish(second)
    rc1, output1, _ = _finish(first)
    assert rc2 == output2["exit_code"] == 1
    status = output2["status_description"]
    assert status.startswith("FAIL: Another run is using the state file ")
    assert str(state) in status and "--state-file" in status
    assert status.endswith("Nothing was sent.") and status in stderr2
    assert output2["result"]["stats"]["msg_queued_count"] == 0
    assert rc1 == 0
    assert _times_texted(sandbox) == Counter(numbers)  # everyone exactly once


def test_a_second_process_waits_and_then_skips_everyone(sandbox, tmp_path):
    numbers, _, fields_path = _setup(sandbox, tmp_path, 8, 0.2)
    state = tmp_path / "state.json"
    first = _start(fields_path, state, sandbox.url)
    _wait_for_creates(sandbox, 1)
    second = _start(fields_path, state, sandbox.url, "--state-lock-timeout", "60")
    rc1, _, _ = _finish(first)
    rc2, output2, _ = _finish(second)
    assert rc1 == rc2 == 0
    assert output2["result"]["stats"]["msg_skipped_count"] == 8
    assert output2["changed"] is False
    assert _times_texted(sandbox) == Counter(numbers)


def test_the_record_survives_a_kill_and_the_rerun_sends_the_rest(sandbox, tmp_path):
    numbers, _, fields_path = _setup(sandbox, tmp_path, 40, 0.1)
    state = tmp_path / "state.json"
    first = _start(fields_path, state, sandbox.url)
    _wait_for_creates(sandbox, 15)
    first.send_signal(signal.SIGKILL)  # no compaction: only the journal's lines
    first.communicate(timeout=20)
    # A request in flight at the kill is still processed (and maybe created)
    # by the sandbox: what the first run sent is known once it has answered.
    assert journal_reaches(
        sandbox, lambda: all(e.status is not None for e in sandbox.journal)
    )
    sent_first = set(_times_texted(sandbox))
    assert state.read_text().startswith(HEADER + "\n")
    sandbox.faults.latency = 0.0
    rc, output, _ = _finish(_start(fields_path, state, sandbox.url))
    assert rc == 0
    skipped = {
        n
        for n, r in zip(numbers, output["result"]["recipients"])
        if r["status"] == "skipped"
    }
    assert skipped and skipped <= sent_first  # never claims an unsent one
    # Written ahead: whoever the killed run may have texted is looked up.
    assert _times_texted(sandbox) == Counter(numbers)


def test_the_previous_release_file_is_read_and_upgraded(sandbox, tmp_path):
    numbers = _numbers(3)
    fields = fields_for(sandbox, recipients=",".join(numbers), **UNSENT_ONLY)
    digest = fingerprint(parse(fields))
    packed = base64.b64encode(zlib.compress(bytes([0xC0]), 9)).decode()
    state = tmp_path / "state.json"
    old = {"version": 1, "resend_state": "1.{}.3.{}".format(digest, packed)}
    state.write_text(json.dumps(old))
    run = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert run.rc == 0
    assert statuses(run) == ["skipped", "skipped", "queued"]
    assert list(_times_texted(sandbox)) == [numbers[2]]
    assert state.read_text().startswith(HEADER + "\n")
    again = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert statuses(again) == ["skipped"] * 3
    assert list(_times_texted(sandbox)) == [numbers[2]]


def test_an_empty_file_is_damaged_and_everyone_is_looked_up_first(sandbox, tmp_path):
    """0 bytes (power lost after a rename, say) is no "no record": whoever
    it does not show queued is looked up before anything is sent."""
    state = tmp_path / "state.json"
    state.write_bytes(b"")
    numbers = _numbers(2)
    fields = fields_for(sandbox, recipients=",".join(numbers), **UNSENT_ONLY)
    run_cli(dict(fields, resend_policy=["all"]), sandbox.url)  # texted already
    sandbox.clear_journal()
    run = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert run.rc == 0
    assert "is damaged (it is empty (0 bytes))" in run.stderr
    assert statuses(run) == ["skipped", "skipped"]  # found at Twilio
    assert sandbox.creates() == []
    assert state.read_text().startswith(HEADER + "\n")


def test_unknown_recipients_are_recorded_apart_from_queued(sandbox, tmp_path):
    """The API the rounds use: in flight is neither skipped nor sent."""
    import logging

    numbers = _numbers(4)
    fields = fields_for(sandbox, recipients=",".join(numbers), **UNSENT_ONLY)
    config = parse(fields)
    log = logging.getLogger("test.resend")
    state = str(tmp_path / "state.json")
    first = ResendState(config, fields, log, StateFile(state, "--state-file"))
    for number in numbers[:3]:
        first.intent(number)
    first.mark_queued(numbers[0])
    first.mark_unknown(numbers[1])
    first.mark_unsent(numbers[2])  # refused, or a lookup proved it absent
    record_text = first.record()
    first.close()

    second = ResendState(config, fields, log, StateFile(state, "--state-file"))
    try:
        assert second.skipped_indices() == [0]
        assert second.unknown_indices() == [1]
        assert second.unknown_since() <= first.started
        for number in numbers[1:]:
            second.intent(number)
            second.mark_queued(number)
    finally:
        second.close()
    third = ResendState(config, {"resend_state": record_text}, log)
    assert third.unknown_indices() == [1] and third.source == "resend_state field"
    assert third.skipped_indices() == [0]
    fourth = ResendState(config, fields, log, StateFile(state, "--state-file"))
    try:
        assert fourth.skipped_indices() == [0, 1, 2, 3]
        assert fourth.unknown_indices() == []
    finally:
        fourth.close(save=False)


def test_a_state_file_in_a_missing_directory_is_refused(sandbox, tmp_path):
    state = tmp_path / "nowhere" / "state.json"
    run = run_cli(
        fields_for(sandbox, **UNSENT_ONLY), sandbox.url, "--state-file", str(state)
    )
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: --state-file: "
    )
    assert sandbox.journal == []
