"""The command line's error paths, as a user hits them (real subprocesses).

Usage errors exit 20, never argparse's 2 (AUTHENTICATION_ERROR here), with
``DATA_VALIDATION_ERROR: <what>.`` on STDERR and the Extension Output JSON on
STDOUT; so do unreadable ``--fields``; an unexpected error exits 1 with JSON.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from support.runner import cli_env, fields_for, record, run_crashing_cli

CLI = [sys.executable, "-m", "ue_twilio"]
ZERO_STATS = {
    "msg_queued_count": 0,
    "msg_failed_count": 0,
    "msg_unknown_count": 0,
    "msg_not_sent_count": 0,
}


def _run(args, env=None, stdin_text="", timeout=60):
    proc = subprocess.run(
        CLI + args,
        input=stdin_text,
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=timeout,
    )
    record(proc.stdout, proc.stderr)
    return proc


def _assert_envelope(proc, exit_code, *fragments):
    assert proc.returncode == exit_code, proc.stderr
    assert "Traceback" not in proc.stderr
    output = json.loads(proc.stdout)
    status = output["status_description"]
    assert output["exit_code"] == exit_code
    assert output["changed"] is False
    assert output["result"]["stats"] == ZERO_STATS
    assert output["invocation"]["extension"] == "ue-twilio"
    assert status in proc.stderr
    assert "action" in output["invocation"]["fields"]  # every key, every path
    assert status.endswith(".") and not status.endswith("..")
    for fragment in fragments:
        assert fragment in status
    return status


@pytest.mark.parametrize(
    "args, fragment",
    [
        ([], "the following arguments are required: COMMAND"),
        (["fly"], "invalid choice: 'fly'"),
        (["run"], "the following arguments are required: --fields"),
        (["run", "--fields", "-", "--bogus"], "unrecognized arguments: --bogus"),
        (["send", "--to", "+15558675310"], "required: --from"),
        (["send", "--from", "+1", "--action", "fax"], "argument --action"),
        (["send", "--from", "+1", "--max-concurrent", "ten"], "--max-concurrent"),
        (["run", "--fields", "-", "--log-level", "LOUD"], "argument --log-level"),
    ],
)
def test_usage_errors_exit_20_with_the_extension_output(args, fragment):
    proc = _run(args)
    status = _assert_envelope(proc, 20, fragment)
    assert status.startswith("DATA_VALIDATION_ERROR: ue-twilio")


@pytest.mark.parametrize("option", ["--connect-timeout", "--read-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "1e12", "soon"])
def test_bad_timeouts_are_refused_before_anything_is_sent(sandbox, option, value):
    fields = json.dumps(fields_for(sandbox))
    proc = _run(
        ["run", "--fields", "-", option, value],
        env=cli_env(sandbox.url),
        stdin_text=fields,
    )
    _assert_envelope(proc, 20, "argument {}: ".format(option))
    assert sandbox.journal == []


def test_timeouts_in_range_are_accepted(sandbox):
    fields = json.dumps(fields_for(sandbox))
    args = ["run", "--fields", "-", "--connect-timeout", "0.1", "--read-timeout"]
    proc = _run(args + ["600"], env=cli_env(sandbox.url), stdin_text=fields)
    assert proc.returncode == 0, proc.stderr
    assert len(sandbox.creates()) == 1


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "does not exist."),
        ("", "is empty; expected a JSON object."),
        ("  \n", "is empty; expected a JSON object."),
        ("{not json", "is not valid JSON (line 1, column 2)."),
        ("[1, 2]", "must hold a JSON object of fields, not list."),
        ('"sms"', "must hold a JSON object of fields, not str."),
        (b"\xff\xfe{}", "is not UTF-8 text."),
    ],
    ids=["missing", "empty", "blank", "not-json", "list", "string", "not-utf8"],
)
def test_unreadable_or_invalid_fields_file_exits_20_with_json(
    tmp_path, content, fragment
):
    path = tmp_path / "fields.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    for command in ("run", "check"):
        proc = _run([command, "--fields", str(path)])
        status = _assert_envelope(proc, 20, fragment)
        assert status.startswith("DATA_VALIDATION_ERROR: --fields: ")


def test_invalid_fields_on_stdin_exit_20_with_json():
    proc = _run(["run", "--fields", "-"], stdin_text="")
    _assert_envelope(proc, 20, "--fields: STDIN is empty")


def test_help_and_version_still_exit_0():
    assert _run(["--help"]).returncode == 0
    assert _run(["run", "--help"]).returncode == 0
    version = _run(["--version"])
    assert version.returncode == 0 and version.stdout.strip() == "1.0.0"


def test_an_unexpected_error_exits_1_with_json_and_no_traceback(sandbox):
    """The crash fallback: a bug anywhere below main still gives the envelope."""
    proc = run_crashing_cli(fields_for(sandbox), sandbox.url)
    _assert_envelope(proc, 1, "FAIL: Unexpected error: RuntimeError.")
    assert sandbox.journal == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_waiting_for_fields_on_stdin_stops_at_once(signum):
    """A blocked read (STDIN open, nothing written) still honours the signal."""
    proc = subprocess.Popen(
        CLI + ["run", "--fields", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        _wait_until_blocked_in_read(proc)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill() if proc.poll() is None else None
    record(stdout, stderr)
    assert proc.returncode == 1
    output = json.loads(stdout)
    assert output["status_description"] == (
        "FAIL: Task was cancelled before anything was sent."
    )
    assert "Traceback" not in stderr


def _wait_until_blocked_in_read(proc) -> None:
    """The child is asleep in read(2) on STDIN (Linux /proc), else give it time."""
    deadline = time.monotonic() + 20
    path = "/proc/{}/wchan".format(proc.pid)
    while time.monotonic() < deadline:
        try:
            with open(path) as handle:
                state = handle.read()
        except OSError:
            time.sleep(2)  # no /proc: the interpreter starts well within this
            return
        if "pipe" in state or "wait" in state:
            return
        time.sleep(0.05)
