"""``recipient_list_file``: bulk recipients from a file on the agent machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.runner import cli_env, fields_for, record, run_cli, run_task
from ue_twilio.inputs import config
from ue_twilio.inputs.phone import MAX_FILE_RECIPIENTS


def numbers(count, start=0):
    return ["+1555{:07d}".format(start + i) for i in range(count)]


def write(tmp_path, content, name="recipients.txt"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def file_fields(sandbox, path, recipients="", **extra):
    return fields_for(
        sandbox,
        recipients=recipients,
        recipient_list_file=path,
        max_concurrent_requests=1,  # one at a time: journal order = recipient order
        **extra,
    )


def sent_to(sandbox):
    return [e.params["To"][0] for e in sandbox.creates()]


def assert_refused(run, sandbox, *fragments):
    assert run.rc == 20
    status = run.output["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: Recipient List File: "), status
    for fragment in fragments:
        assert fragment in status
    assert sandbox.journal == []


def test_newlines_commas_blank_lines_comments_and_bom(sandbox, tmp_path):
    content = (
        "\ufeff# on-call rota, week 12\r\n"
        "+15558675310, +15558675311\r\n"
        "\r\n"
        "   +15558675312   # primary DBA\n"
        "#+15558675399\n"
        ",,+15558675313,\n"
        "+15558675314"  # no final newline
    )
    path = write(tmp_path, content)
    run = run_cli(file_fields(sandbox, path), sandbox.url)
    assert run.rc == 0, run.stderr
    assert sent_to(sandbox) == numbers(5, start=8675310)
    assert run.stats["msg_queued_count"] == 5


def test_combined_with_recipient_list_in_order_without_duplicates(sandbox, tmp_path):
    a, b, c, d = numbers(4)
    path = write(tmp_path, "{}\n{}\n{}\n{}\n".format(b, c, a, b))
    run = run_cli(
        file_fields(sandbox, path, recipients="{}, {}".format(a, d)), sandbox.url
    )
    assert run.rc == 0, run.stderr
    assert sent_to(sandbox) == [a, d, b, c]
    assert [r["to"] for r in run.output["result"]["recipients"]] == [a, d, b, c]
    assert "{} is listed more than once; it is sent once.".format(a) in run.stderr
    assert "{} is listed more than once; it is sent once.".format(b) in run.stderr


def test_output_reports_the_file_and_count_not_its_numbers(sandbox, tmp_path):
    from_file = numbers(30, start=100)
    path = write(tmp_path, "\n".join(from_file) + "\n")
    listed = "+15558675310"
    run = run_task(file_fields(sandbox, path, recipients=listed), sandbox.url)
    assert run.rc == 0, run.stderr
    echoed = run.output["invocation"]["fields"]
    assert echoed["recipient_list_file"] == path
    assert echoed["recipient_count"] == 31
    assert echoed["recipient_list"] == [listed]
    assert not any(n in json.dumps(echoed) for n in from_file)
    assert run.stats["msg_queued_count"] == 31


def test_file_alone_is_enough(sandbox, tmp_path):
    path = write(tmp_path, "+15558675310\n")
    run = run_task(file_fields(sandbox, path, recipients=None), sandbox.url)
    assert run.rc == 0, run.stderr
    assert sent_to(sandbox) == ["+15558675310"]


def _rejected(run, entry):
    """The failed entry of a malformed recipient: its reason."""
    found = [r for r in run.output["result"]["recipients"] if r["to"] == entry]
    assert [r["status"] for r in found] == ["failed"], run.output
    return found[0]["error_message"]


def test_bad_entry_names_its_line(sandbox, tmp_path):
    content = "# header\n+15558675310\n\n+1555 867 5311, +15558675312\n"
    path = write(tmp_path, content)
    run = run_cli(file_fields(sandbox, path), sandbox.url)
    assert run.rc == 21
    reason = _rejected(run, "+1555 867 5311")
    assert reason.startswith("Recipient List File: line 4: '+1555 867 5311' ")
    assert "E.164" in reason and reason in run.stderr
    assert sorted(sent_to(sandbox)) == ["+15558675310", "+15558675312"]


def test_bad_entry_after_a_comma_names_its_line(sandbox, tmp_path):
    path = write(tmp_path, "+15558675310\n+15558675311, 5558675312\n")
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert run.rc == 21
    assert "line 2: '5558675312'" in _rejected(run, "5558675312")


def test_a_file_of_nothing_but_bad_entries_is_refused(sandbox, tmp_path):
    path = write(tmp_path, "# header\n12345\ncall me\n")
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert_refused(run, sandbox, "line 2: ", "'12345'", "E.164")


def test_more_than_100000_numbers_is_refused(sandbox, tmp_path):
    path = write(tmp_path, "\n".join(numbers(MAX_FILE_RECIPIENTS + 1)))
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert_refused(run, sandbox, "more than 100000 numbers")


def test_exactly_100000_numbers_are_accepted(sandbox, tmp_path):
    path = write(tmp_path, "\n".join(numbers(MAX_FILE_RECIPIENTS)))
    raw = file_fields(sandbox, path)
    parsed = config.parse(raw)
    assert len(parsed.recipients) == MAX_FILE_RECIPIENTS
    assert parsed.recipients[-1] == "+15550099999"


def test_missing_file_is_refused(sandbox, tmp_path):
    run = run_cli(file_fields(sandbox, str(tmp_path / "absent.txt")), sandbox.url)
    assert_refused(run, sandbox, "does not exist")


def test_a_directory_is_refused(sandbox, tmp_path):
    run = run_task(file_fields(sandbox, str(tmp_path)), sandbox.url)
    assert_refused(run, sandbox, "is a directory")


def test_non_utf8_file_is_refused(sandbox, tmp_path):
    path = write(tmp_path, "+15558675310 # M\xfcller\n".encode("latin-1"))
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert_refused(run, sandbox, "is not UTF-8 text")


def test_utf16_file_is_refused(sandbox, tmp_path):
    path = write(tmp_path, "+15558675310\n".encode("utf-16"))
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert_refused(run, sandbox, "is not UTF-8 text")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their mode",
)
def test_unreadable_file_is_refused(sandbox, tmp_path):
    path = write(tmp_path, "+15558675310\n")
    (tmp_path / "recipients.txt").chmod(0)
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert_refused(run, sandbox, "permission denied")


def test_a_huge_wrong_file_is_refused_before_reading(sandbox, tmp_path):
    path = tmp_path / "backup.img"
    with open(path, "wb") as handle:
        handle.truncate(config.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    run = run_task(file_fields(sandbox, str(path)), sandbox.url)
    assert_refused(run, sandbox, "over the limit")


def test_file_of_comments_only_and_no_list_is_refused(sandbox, tmp_path):
    path = write(tmp_path, "# nobody on call this week\n\n")
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert run.rc == 20
    assert (
        "Recipient List: at least one number is required"
        in (run.output["status_description"])
    )
    assert sandbox.journal == []


def test_validation_error_output_still_names_the_file(sandbox, tmp_path):
    path = write(tmp_path, "not-a-number\n")
    run = run_task(file_fields(sandbox, path), sandbox.url)
    assert run.rc == 20
    assert run.output["invocation"]["fields"]["recipient_list_file"] == path


def test_cli_send_takes_a_file(sandbox, tmp_path):
    path = write(tmp_path, "+15558675310\n+15558675311\n")
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.auth_token,
    )
    command = [sys.executable, "-m", "ue_twilio", "send", "--from", "+15005550006"]
    command += ["--to-file", path, "--message", "Disk full"]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert sorted(sent_to(sandbox)) == ["+15558675310", "+15558675311"]
    assert json.loads(proc.stdout)["invocation"]["fields"]["recipient_count"] == 2
