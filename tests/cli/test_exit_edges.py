"""Exit paths at the edges (issue 20): a reader that closes STDOUT early, a
signal while the command is still importing, JSON nested beyond Python's
recursion limit, and a usage error of the sandbox. Real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.runner import cli_env, fields_for, record

CLI = [sys.executable, "-m", "ue_twilio"]


def test_a_reader_closing_stdout_early_keeps_the_runs_exit_code(sandbox, tmp_path):
    """``ue-twilio run … | head -1``: everyone was queued, so exit 0 and no
    traceback, though the Extension Output could not be written in full."""
    numbers = ["+1555867{:04d}".format(i) for i in range(1000)]
    listing = tmp_path / "numbers.txt"
    listing.write_text("\n".join(numbers) + "\n")
    fields = fields_for(sandbox, recipient_list_file=str(listing))
    fields["recipient_list"] = ""
    fields_file = tmp_path / "fields.json"
    fields_file.write_text(json.dumps(fields))
    proc = subprocess.Popen(
        CLI + ["run", "--fields", str(fields_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(sandbox.url),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # the JSON is far larger than a pipe's buffer
    proc.stdout.close()  # as `head -1` does
    stderr = proc.stderr.read().decode()
    rc = proc.wait(timeout=120)
    record(first.decode(), stderr)
    assert first.strip() == b"{"
    assert rc == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert len(sandbox.messages) == 1000


# Sends the signal to itself in the middle of the heavy imports (when
# `requests` is first imported), then runs the command as the console script does.
_SIGNAL_DURING_IMPORT = """
import os, signal, sys
import importlib.abc

class Trap(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "requests":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))
        return None

sys.meta_path.insert(0, Trap())
from ue_twilio.cli import main
sys.exit(main(["run", "--fields", "-"]))
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_during_start_up_still_writes_the_extension_output(name, sandbox):
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_DURING_IMPORT, name],
        input=json.dumps(fields_for(sandbox)),
        capture_output=True,
        text=True,
        env=cli_env(sandbox.url),
        timeout=60,
    )
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    output = json.loads(proc.stdout)
    assert output["status_description"] == (
        "FAIL: Task was cancelled before anything was sent."
    )
    assert len(sandbox.messages) == 0


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_fields_file_nested_too_deeply_exits_20_naming_the_option(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"content_variables": ' + _deep(100000) + "}")
    proc = subprocess.run(
        CLI + ["run", "--fields", str(path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 20, proc.stderr
    assert "Traceback" not in proc.stderr
    status = json.loads(proc.stdout)["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: --fields: ")
    assert "nested too deeply" in status


def test_a_usage_error_of_the_sandbox_exits_20_not_2():
    proc = subprocess.run(
        CLI + ["sandbox", "--bogus"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 20
    assert "unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def _status_of(args):
    proc = subprocess.run(
        CLI + args, input="", capture_output=True, text=True, env=cli_env(), timeout=60
    )
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 20, proc.stderr
    return json.loads(proc.stdout)["status_description"]


def test_out_of_range_seconds_are_quoted_exactly_with_the_range_of_the_help():
    status = _status_of(["run", "--fields", "-", "--read-timeout", "600.0001"])
    assert "600.0001 is out of range 0.1-600 seconds." in status
    status = _status_of(["run", "--fields", "-", "--state-lock-timeout", "601"])
    assert "601 is out of range 0-600 seconds." in status  # as its help says
    help_text = subprocess.run(
        CLI + ["run", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "0-600 (default 10)" in help_text


def test_run_help_shows_a_fields_file_that_is_valid_json():
    proc = subprocess.run(
        CLI + ["run", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    example = proc.stdout.split("example fields file", 1)[1]
    text = example[example.index("{") : example.rindex("}") + 1]
    fields = json.loads(text)
    assert fields["action"] == ["sms_message"]
    assert "twilio_credentials" in fields
