"""Every file the task or the CLI reads is a bounded regular file.

``/dev/zero`` as a recipient list once grew the process to 24 GB; a FIFO with
no writer blocked it forever, deaf to SIGTERM. These tests point every input
(recipient file, proxy CA bundle, state file, ``--fields``) at such files,
through the real CLI in a subprocess and the Task in-process.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest

from support.runner import cli_env, fields_for, record, run_cli, run_task
from ue_twilio.exceptions import Cancelled, ValidationError
from ue_twilio.inputs.files import read_regular_file
from ue_twilio.ledger.journal import MAX_JOURNAL_BYTES

CLI = [sys.executable, "-m", "ue_twilio"]
POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@pytest.fixture
def fifo(tmp_path):
    """A named pipe nobody ever writes to: opening it for reading blocks."""
    path = tmp_path / "pipe"
    os.mkfifo(str(path))
    return str(path)


@pytest.fixture
def unix_socket(tmp_path):
    path = os.path.join(str(tmp_path), "s.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    try:
        yield path
    finally:
        server.close()


def _irregular(request, tmp_path, kind):
    return {
        "fifo": lambda: request.getfixturevalue("fifo"),
        "device": lambda: os.devnull.replace("null", "zero"),
        "directory": lambda: str(tmp_path),
        "socket": lambda: request.getfixturevalue("unix_socket"),
    }[kind]()


KINDS = {
    "fifo": "a FIFO (named pipe)",
    "device": "a character device",
    "directory": "a directory",
    "socket": "a socket",
}


def _status(run) -> str:
    return run.output["status_description"]


@POSIX_ONLY
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_recipient_file_must_be_a_regular_file(sandbox, tmp_path, request, kind):
    path = _irregular(request, tmp_path, kind)
    fields = fields_for(sandbox, recipients="", recipient_list_file=path)
    run = run_cli(fields, sandbox.url, timeout=30)
    assert run.rc == 20
    assert _status(run).startswith("DATA_VALIDATION_ERROR: Recipient List File: ")
    assert "is not a regular file (it is {}).".format(KINDS[kind]) in _status(run)
    assert sandbox.journal == []


@POSIX_ONLY
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_proxy_ca_bundle_must_be_a_regular_file(sandbox, tmp_path, request, kind):
    path = _irregular(request, tmp_path, kind)
    fields = fields_for(
        sandbox,
        proxy_type=["HTTP"],
        proxy="http://127.0.0.1:9",
        proxy_ca_bundle_file=path,
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 20
    assert _status(run).startswith("DATA_VALIDATION_ERROR: Proxy CA Bundle File: ")
    assert "is not a regular file (it is {}).".format(KINDS[kind]) in _status(run)
    assert sandbox.journal == []


@POSIX_ONLY
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_state_file_must_be_a_regular_file(sandbox, tmp_path, request, kind):
    path = _irregular(request, tmp_path, kind)
    fields = fields_for(sandbox, resend_policy=["unsent_only"])
    run = run_cli(fields, sandbox.url, "--state-file", path, timeout=30)
    assert run.rc == 20
    assert _status(run).startswith("DATA_VALIDATION_ERROR: --state-file: ")
    assert "is not a regular file (it is {}).".format(KINDS[kind]) in _status(run)
    assert sandbox.journal == []


@POSIX_ONLY
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fields_file_must_be_a_regular_file(tmp_path, request, kind):
    path = _irregular(request, tmp_path, kind)
    proc = subprocess.run(
        CLI + ["run", "--fields", path],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=30,
    )
    record(proc.stdout, proc.stderr)
    output = json.loads(proc.stdout)
    assert proc.returncode == output["exit_code"] == 20
    status = output["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: --fields: ")
    assert "is not a regular file (it is {}).".format(KINDS[kind]) in status
    assert status in proc.stderr and "Traceback" not in proc.stderr


@POSIX_ONLY
def test_dev_zero_everywhere_keeps_memory_small(sandbox, tmp_path):
    """All three inputs on /dev/zero: refused at once, no child grows."""
    import resource

    zero = os.devnull.replace("null", "zero")
    listed = tmp_path / "listed.json"
    listed.write_text(json.dumps(fields_for(sandbox, recipient_list_file=zero)))
    unsent = tmp_path / "unsent.json"
    unsent.write_text(json.dumps(fields_for(sandbox, resend_policy=["unsent_only"])))
    for args, what in (
        (["run", "--fields", zero], "--fields"),
        (["run", "--fields", str(listed)], "Recipient List File"),
        (["run", "--fields", str(unsent), "--state-file", zero], "--state-file"),
    ):
        proc = subprocess.run(
            CLI + args,
            capture_output=True,
            text=True,
            env=cli_env(sandbox.url),
            timeout=30,
        )
        record(proc.stdout, proc.stderr)
        assert proc.returncode == 20, proc.stderr
        status = json.loads(proc.stdout)["status_description"]
        assert status.startswith("DATA_VALIDATION_ERROR: {}: ".format(what))
        assert "(it is a character device)." in status
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    assert peak < 400 * 1024
    assert sandbox.journal == []


@pytest.mark.parametrize(
    "field, limit_text",
    [
        ("recipient_list_file", "20,000,000 bytes"),
        ("proxy_ca_bundle_file", "5,000,000 bytes"),
    ],
)
def test_an_oversized_file_is_refused_naming_the_limit(
    sandbox, tmp_path, field, limit_text
):
    path = tmp_path / "big"
    with open(str(path), "wb") as handle:
        handle.truncate(20 * 1000 * 1000 + 1)  # sparse: costs no disk
    extra = {field: str(path)}
    if field == "proxy_ca_bundle_file":
        extra.update(proxy_type=["HTTP"], proxy="http://127.0.0.1:9")
    run = run_task(fields_for(sandbox, **extra), sandbox.url)
    assert run.rc == 20
    assert "over the limit of {}".format(limit_text) in _status(run)
    assert sandbox.journal == []


def test_oversized_state_and_fields_files_are_refused(sandbox, tmp_path):
    big = tmp_path / "big"
    with open(str(big), "wb") as handle:
        handle.truncate(MAX_JOURNAL_BYTES + 1)
    fields = fields_for(sandbox, resend_policy=["unsent_only"])
    run = run_cli(fields, sandbox.url, "--state-file", str(big))
    assert run.rc == 20
    assert "--state-file: " in _status(run)
    assert "over the limit of 64,000,000 bytes" in _status(run)
    proc = subprocess.run(
        CLI + ["run", "--fields", str(big)],
        capture_output=True,
        text=True,
        env=cli_env(sandbox.url),
        timeout=30,
    )
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 20
    status = json.loads(proc.stdout)["status_description"]
    assert "--fields: " in status and "over the limit of 10,000,000 bytes" in status
    assert sandbox.journal == []


def test_a_cancel_stops_the_read_between_chunks(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"+15558675310\n" * 100000)  # 1.3 MB: several chunks
    polls = []

    def cancelled():
        polls.append(1)
        return len(polls) > 2

    with pytest.raises(Cancelled):
        read_regular_file(str(path), "Recipient List File", 20 * 10**6, cancelled)
    assert len(polls) == 3


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path):
    """The size is checked up front and again while reading."""
    path = tmp_path / "grows.txt"
    path.write_bytes(b"x" * 1000)

    def grow():
        with open(str(path), "ab") as handle:
            handle.write(b"y" * 5000)
        return False

    with pytest.raises(ValidationError) as caught:
        read_regular_file(str(path), "Recipient List File", 2000, grow)
    assert "over the limit of 2,000 bytes" in caught.value.problem


def test_cancel_before_run_with_a_recipient_file_sends_nothing(sandbox, tmp_path):
    from support.runner import captured_log
    from ue_twilio import Settings, Task

    path = tmp_path / "list.txt"
    path.write_text("+15558675310\n")
    fields = fields_for(sandbox, recipients="", recipient_list_file=str(path))
    with captured_log() as (logger, stream):
        task = Task(fields, Settings(api_url=sandbox.url), logger)
        task.cancel()
        outcome = task.run()
    record(outcome.output_json(), stream.getvalue())
    assert outcome.exit_code == 1
    assert outcome.status_description == (
        "FAIL: Task was cancelled before anything was sent."
    )
    assert json.loads(outcome.output_json())["result"]["stats"]["msg_queued_count"] == 0
    assert sandbox.journal == []


def test_a_regular_file_is_read_whole(tmp_path):
    path = tmp_path / "ok.txt"
    data = os.urandom(700 * 1024)
    path.write_bytes(data)
    assert read_regular_file(str(path), "x", len(data)) == data
    mode = os.stat(str(path)).st_mode
    assert stat.S_ISREG(mode)
