"""The agent adapter under the ``universal_extension`` stand-in.

Live progress through ``ui.update_output_fields``, the Test Connection
dynamic command, resend state across reruns, and the same rc and output as
the CLI for the same fields, with both credential shapes.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile

import pytest

from support import agent, runner
from support.runner import cli_env, fields_for, run_cli
from ue_twilio.engine.dispatcher import MAX_RATE_LIMIT_RETRIES
from ue_twilio.output.verdict import PARTIAL

THREE = "+15558675310, +15005550001, +15558675312"
UNSENT_ONLY = {"resend_policy": ["unsent_only"]}


def _ui():
    agent._support_on_path()
    return sys.modules["universal_extension"].ui


def _run(fields, **kwargs):
    run = agent.run_extension(fields, **kwargs)
    runner.record(run.stdout, run.stderr, run.result.message, run.result.unv_output)
    runner.record(*[json.dumps(update) for update in _ui().calls()])
    return run


def _output(run):
    return json.loads(run.result.unv_output)


def _without_sids(output):
    for recipient in output["result"]["recipients"]:
        recipient["sid"] = "SID" if recipient["sid"] else None
    return output


@pytest.fixture
def point(monkeypatch):
    """Point the agent adapter at a sandbox, as UE_TWILIO_API_URL does."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)

    def to(box):
        monkeypatch.setenv("UE_TWILIO_API_URL", box.url)
        return box

    return to


@pytest.fixture
def sandbox(sandbox, point):
    return point(sandbox)


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """The agent's temporary directory, where the resend state file goes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("nested", [True, False], ids=["nested", "flattened"])
@pytest.mark.parametrize("tracking", [False, True], ids=["queue", "track"])
def test_agent_and_cli_give_the_same_rc_and_output(sandbox, nested, tracking):
    extra = {"wait_for_delivery": True, "delivery_timeout": 30} if tracking else {}
    fields = fields_for(sandbox, recipients=THREE, nested=nested, **extra)
    cli = run_cli(fields, sandbox.url)
    ran = _run(fields)
    assert ran.result.rc == cli.rc == 21
    assert ran.result.message == cli.output["status_description"]
    assert _without_sids(_output(ran)) == _without_sids(cli.output)
    assert "Twilio SMS: 3 recipient(s), 2 queued" in ran.stdout
    assert len(sandbox.creates()) == 4  # the failing number is never created


def test_live_progress_at_most_once_a_second_then_final(sandbox):
    sandbox.faults.latency = 0.05
    numbers = ["+1555{:07d}".format(i) for i in range(45)] + ["+15005550001"]
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=1
    )
    ran = _run(fields)
    assert ran.result.rc == 21
    updates = _ui().updates[:]
    assert len(updates) >= 3, updates
    times = [t for t, _ in updates]
    gaps = [b - a for a, b in zip(times[:-2], times[1:-1])]
    assert all(gap >= 0.99 for gap in gaps), gaps
    values = [fields for _, fields in updates]
    assert all(set(v) == {"queued_count", "failed_count"} for v in values)
    assert values[-1] == {"queued_count": 45, "failed_count": 1}
    queued = [v["queued_count"] for v in values]
    assert queued == sorted(queued) and 0 < queued[1] < 45
    stats = _output(ran)["result"]["stats"]
    assert stats["msg_queued_count"] == 45 and stats["msg_failed_count"] == 1


def test_live_progress_includes_delivered_count_when_tracking(sandbox):
    fields = fields_for(
        sandbox,
        recipients="+15558675310, +15005550011",
        wait_for_delivery=True,
        delivery_timeout=30,
    )
    ran = _run(fields)
    assert ran.result.rc == 22
    assert ran.result.message == "FAIL: Not all messages were delivered."
    values = _ui().calls()
    assert all("delivered_count" in v for v in values)
    assert values[-1] == {"queued_count": 2, "failed_count": 0, "delivered_count": 1}


def test_cancel_while_tracking_returns_promptly(sandboxes, point):
    box = point(sandboxes.start(status_interval=1000.0))
    fields = fields_for(
        box, recipients="+15558675310, +15558675311", wait_for_delivery=True
    )
    ran = _run(fields, cancel_after=1.5, cancel_times=2)
    assert ran.finished - ran.cancel_times[0][0] < 0.5
    assert ran.result.rc == 21
    assert ran.result.message == PARTIAL  # the seed's text for 21
    assert json.loads(ran.result.unv_output)["result"]["cancelled"] is True
    last = _ui().calls()[-1]
    assert last == {"queued_count": 2, "failed_count": 0, "delivered_count": 0}


def test_test_connection_command(sandbox):
    fields = {
        "twilio_credentials.user": sandbox.account_sid,
        "twilio_credentials.password": sandbox.auth_token,
        "proxy_type": [None],
    }
    result, stdout, stderr = agent.run_command("test_connection", fields)
    runner.record(stdout, stderr, result.message, result.output_data)
    assert result.rc == 0
    assert result.message.startswith("SUCCESS: Connected to Twilio")
    assert result.output is True
    assert result.output_name == "test_connection.json"
    document = json.loads(result.output_data)
    assert document["exit_code"] == 0
    assert document["result"]["account"]["status"] == "active"
    assert [e.method for e in sandbox.journal] == ["GET"]
    assert sandbox.creates() == []


def test_test_connection_command_bad_token(sandbox):
    fields = {"twilio_credentials": {"user": sandbox.account_sid, "password": "bad"}}
    result, stdout, stderr = agent.run_command("test_connection", fields)
    runner.record(stdout, stderr, result.message, result.output_data)
    assert result.rc == 2
    assert result.message.startswith("AUTHENTICATION_ERROR: ")
    assert json.loads(result.output_data)["exit_code"] == 2


def _resend_fields(sandbox):
    # the probe is refused until its retries run out: not queued, not created
    sandbox.faults.retry_after = 0
    sandbox.script("rate_limited", MAX_RATE_LIMIT_RETRIES + 1)
    return fields_for(
        sandbox, recipients=THREE.replace("+15005550001", "+15558675311"), **UNSENT_ONLY
    )


def _sent_to(sandbox):
    return [e.params["To"][0] for e in sandbox.creates()]


def test_rerun_reads_the_preserved_resend_state_field(sandbox):
    fields = _resend_fields(sandbox)
    first = _run(fields, uip={"instance_id": "instance-a"})
    assert first.result.rc == 21
    record = _ui().latest()["resend_state"]
    assert record.startswith("3.")
    sandbox.clear_journal()
    rerun = dict(fields, resend_state=record)
    second = _run(rerun, uip={"instance_id": "instance-b"})
    assert second.result.rc == 0
    assert _sent_to(sandbox) == ["+15558675310"]
    output = _output(second)
    assert output["result"]["resend"] == {"record_source": "resend_state field"}
    assert [r["status"] for r in output["result"]["recipients"]] == [
        "queued",
        "skipped",
        "skipped",
    ]


def test_rerun_falls_back_to_the_state_file(sandbox, private_tempdir):
    fields = _resend_fields(sandbox)
    _run(fields, uip={"instance_id": "0f3a6b1c"})
    assert (_private(private_tempdir) / "resend-0f3a6b1c.ledger").exists()
    sandbox.clear_journal()
    second = _run(fields, uip={"instance_id": "0f3a6b1c"})
    assert second.result.rc == 0
    assert _sent_to(sandbox) == ["+15558675310"]
    assert _output(second)["result"]["resend"] == {"record_source": "state file"}


def test_rerun_without_any_record_sends_to_all_with_a_warning(sandbox):
    fields = _resend_fields(sandbox)
    _run(fields, uip={"instance_id": "first"})
    sandbox.clear_journal()
    second = _run(fields, uip={"instance_id": "other"})
    assert second.result.rc == 0
    assert len(sandbox.creates()) == 3
    assert "no record of an earlier run" in second.stderr


def test_instance_id_cannot_escape_the_temp_dir(sandbox, private_tempdir):
    fields = fields_for(sandbox, **UNSENT_ONLY)
    _run(fields, uip={"instance_id": "../../etc/evil id"})
    assert [p.name for p in private_tempdir.iterdir()] == [
        _private(private_tempdir).name
    ]
    names = sorted(p.name for p in _private(private_tempdir).iterdir())
    assert names == ["resend-etcevilid.ledger", "resend-etcevilid.ledger.lock"]


def _private(tempdir):
    return tempdir / "ue-twilio-{}".format(os.geteuid())


def test_the_state_directory_is_private_and_its_files_0600(sandbox, private_tempdir):
    _run(_resend_fields(sandbox), uip={"instance_id": "0f3a6b1c"})
    folder = _private(private_tempdir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_state_directory_open_to_others_is_refused(sandbox, private_tempdir):
    folder = _private(private_tempdir)
    folder.mkdir()
    folder.chmod(0o777)
    run = _run(_resend_fields(sandbox), uip={"instance_id": "0f3a6b1c"})
    assert run.result.rc == 20
    assert run.result.message.startswith("DATA_VALIDATION_ERROR: Resend Policy: ")
    assert "is open to other users (mode 777)" in run.result.message
    assert sandbox.journal == [] and list(folder.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_a_state_file_of_another_user_is_refused(sandbox, private_tempdir):
    folder = _private(private_tempdir)
    folder.mkdir(mode=0o700)
    crafted = folder / "resend-0f3a6b1c.ledger"
    crafted.write_text("ue-twilio ledger 3\n")
    os.chown(str(crafted), 4242, 4242)
    run = _run(_resend_fields(sandbox), uip={"instance_id": "0f3a6b1c"})
    assert run.result.rc == 20
    assert "belongs to another user" in run.result.message
    assert sandbox.journal == []


def test_a_fifo_in_the_shared_temp_dir_changes_nothing(sandbox, private_tempdir):
    """The old default path, pre-created by someone else: no longer used."""
    os.mkfifo(str(private_tempdir / "ue-twilio-resend-0f3a6b1c.json"))
    run = _run(_resend_fields(sandbox), uip={"instance_id": "0f3a6b1c"})
    assert run.result.rc == 21  # the probe's 429s: as without the FIFO


def test_a_foreign_file_at_the_fallback_path_is_never_written(sandbox, private_tempdir):
    _private(private_tempdir).mkdir(mode=0o700)
    foreign = _private(private_tempdir) / "resend-0f3a6b1c.ledger"
    foreign.write_text("my notes\n")
    run = _run(_resend_fields(sandbox), uip={"instance_id": "0f3a6b1c"})
    assert run.result.rc == 20
    assert run.result.message.startswith("DATA_VALIDATION_ERROR: Resend Policy: ")
    assert "is not a ue-twilio resend state file" in run.result.message
    assert foreign.read_text() == "my notes\n"
    assert sandbox.journal == []


def test_a_failing_progress_update_does_not_fail_the_task(sandbox, monkeypatch):
    def refuse(fields):
        raise RuntimeError("controller unreachable")

    monkeypatch.setattr(_ui(), "update_output_fields", refuse)
    ran = _run(fields_for(sandbox, recipients="+15558675310, +15558675311"))
    assert ran.result.rc == 0
    assert ran.stderr.count("Progress update failed (RuntimeError)") == 1


def _form_defaults():
    """A new task's fields as the agent receives them: the template's defaults
    (a Choice as a one-item list, an Integer as a number)."""
    template = json.loads(
        (runner.REPO / "src" / "templates" / "template.json").read_text("utf-8")
    )
    fields = {}
    for field in template["fields"]:
        if field["fieldRestriction"] == "Output Only":
            continue
        value = field["fieldValue"]
        if field["fieldType"] == "Choice":
            value = [value] if value is not None else []
        elif field["fieldType"] == "Integer" and value is not None:
            value = int(value)
        fields[field["name"]] = value
    return fields


def test_a_task_saved_with_the_forms_defaults_runs(sandbox):
    """Recipients From and Use Content Template at their defaults: the seed's
    Recipient List and Message are what the task sends."""
    fields = _form_defaults()
    assert fields["recipient_source"] == ["recipient_list"]
    assert fields["use_content_template"] is False
    fields.update(
        fields_for(sandbox, recipients="+15558675310\n+15558675311", message="hi")
    )
    ran = _run(fields)
    output = _output(ran)
    assert ran.result.rc == 0, ran.result.message
    assert output["result"]["stats"]["msg_queued_count"] == 2
    assert [e.params["Body"] for e in sandbox.creates()] == [["hi"], ["hi"]]


def test_test_connection_preflights_the_sender_the_template_sends(sandbox):
    """The template sends Action and Sender to Test Connection (issue 22)."""
    fields = {
        "twilio_credentials.user": sandbox.account_sid,
        "twilio_credentials.password": sandbox.auth_token,
        "proxy_type": [None],
        "action": ["sms_message"],
        "sender": "+15550001234",
    }
    result, stdout, stderr = agent.run_command("test_connection", fields)
    runner.record(stdout, stderr, result.message, result.output_data)
    assert result.rc == 20
    assert "Sender: +15550001234 is not a phone number" in result.message
    voice_only = sandbox.catalog.add_phone_number("+15550009999", sms=False)
    fields["sender"] = voice_only["phone_number"]
    result, stdout, stderr = agent.run_command("test_connection", fields)
    runner.record(stdout, stderr, result.message, result.output_data)
    assert result.rc == 0
    (warning,) = json.loads(result.output_data)["result"]["warnings"]
    assert "no SMS capability" in warning


def test_dry_run_gives_the_same_plan_as_the_cli(sandbox, point):
    point(sandbox)
    fields = fields_for(sandbox, recipients="+15558675310,+447700900123", dry_run=True)
    via_agent = _run(fields)
    cli = run_cli(fields, sandbox.url)
    assert via_agent.result.rc == cli.rc == 0
    assert _output(via_agent) == cli.output
    assert _output(via_agent)["result"]["plan"]["recipients"] == 2
    assert sandbox.creates() == []


def test_agent_and_cli_agree_when_nobody_acknowledges(sandbox, monkeypatch):
    monkeypatch.setenv("UE_TWILIO_TIME_SCALE", "0.02")
    fields = fields_for(
        sandbox,
        recipients=THREE,
        wait_for_acknowledgement=True,
        acknowledgement_timeout=30,
    )
    cli = run_cli(fields, None, env=cli_env(sandbox.url, UE_TWILIO_TIME_SCALE="0.02"))
    ran = _run(fields)
    assert ran.result.rc == cli.rc == 23
    assert ran.result.message == cli.output["status_description"]
    assert _without_sids(_output(ran)) == _without_sids(cli.output)
    assert _output(ran)["result"]["acknowledgement"]["acknowledged"] is False
