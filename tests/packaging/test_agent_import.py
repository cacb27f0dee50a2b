"""Run the built archive the way the agent does: parity with the CLI, cancel, commands.

Each run is a fresh ``python -I -S`` with only the standard library, the built
``extension_archive.zip`` (zipimport, never extracted) and the
``universal_extension`` test double on ``sys.path``; the Twilio API is the
sandbox (``UE_TWILIO_API_URL``).  The agent front end must give the same exit
code and Extension Output as the CLI for the same fields.  These deeper checks
run on the oldest and newest agent Python; test_agent_matrix.py runs every
3.7-3.13 interpreter, zipped and extracted.
"""

from __future__ import annotations

import json
import os

import pytest
from build_helpers import agent_pythons

from support import agent, runner

RECIPIENTS = "+15558675310, +15558675311, +15558675312"
ACTIONS = {
    "sms": ("sms_message", {}),
    "whatsapp": ("whatsapp_message", {}),
    "voice": ("voice_message", {"answer_timeout": 30, "call_max_duration": 60}),
}
CREATE_PATH = {"voice_message": "Calls.json"}
PYTHONS = agent_pythons()


def _normalised(document):
    """The Extension Output with per-run SIDs blanked (each run creates new ones)."""
    if isinstance(document, dict):
        return {
            key: "<sid>" if key == "sid" and value else _normalised(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [_normalised(item) for item in document]
    return document


def _run(python, archive, fields, sandbox, **options):
    run = agent.run_isolated(
        python,
        str(archive),
        fields,
        env=runner.cli_env(sandbox.url),
        **options,
    )
    runner.record(run.stdout, run.stderr, json.dumps(run.report))
    assert run.returncode == 0 and run.report, run.stderr
    return run


@pytest.mark.parametrize("nested", [True, False], ids=["nested", "flattened"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("python", PYTHONS)
def test_agent_run_matches_the_cli(python, action, nested, extension_archive, sandbox):
    name, extra = ACTIONS[action]
    fields = runner.fields_for(
        sandbox, action=name, recipients=RECIPIENTS, nested=nested, **extra
    )
    run = _run(python, extension_archive, fields, sandbox)
    assert run.report["files"]["extension"].startswith(str(extension_archive))
    assert run.report["files"]["requests"].startswith(str(extension_archive))
    assert run.rc == 0, run.report["message"]
    output = json.loads(run.unv_output)
    assert run.report["message"] == output["status_description"]
    assert len(sandbox.creates(CREATE_PATH.get(name, "Messages.json"))) == 3
    assert run.report["ui_latest"].get("queued_count") == 3  # Output Only fields

    cli = runner.run_cli(fields, sandbox.url)
    assert cli.rc == run.rc
    assert _normalised(cli.output) == _normalised(output)


@pytest.mark.parametrize("python", PYTHONS)
def test_failures_give_the_same_exit_code_and_output_as_the_cli(
    python, extension_archive, sandbox
):
    fields = runner.fields_for(
        sandbox, recipients="+15558675310, +15005550001", nested=False
    )
    run = _run(python, extension_archive, fields, sandbox)
    cli = runner.run_cli(fields, sandbox.url)
    assert run.rc == cli.rc == 21
    assert _normalised(json.loads(run.unv_output)) == _normalised(cli.output)
    assert "+15005550001" in run.stderr

    bad = dict(fields, **{"twilio_credentials.password": "wrong-token"})
    run = _run(python, extension_archive, bad, sandbox)
    cli = runner.run_cli(bad, sandbox.url)
    assert run.rc == cli.rc == 2
    assert _normalised(json.loads(run.unv_output)) == _normalised(cli.output)

    invalid = dict(fields, sender="not-a-number")
    run = _run(python, extension_archive, invalid, sandbox)
    cli = runner.run_cli(invalid, sandbox.url)
    assert run.rc == cli.rc == 20
    assert json.loads(run.unv_output) == cli.output


@pytest.mark.parametrize("python", PYTHONS)
def test_cancel_from_a_second_thread_mid_run(python, extension_archive, sandbox):
    sandbox.faults.latency = 0.2
    recipients = ", ".join(f"+1555867{n:04d}" for n in range(50))
    fields = runner.fields_for(sandbox, recipients=recipients)
    run = _run(
        python, extension_archive, fields, sandbox, cancel_after=0.5, cancel_times=2
    )
    output = json.loads(run.unv_output)
    stats = output["result"]["stats"]
    assert len(run.report["cancel_delays"]) == 2
    assert run.report["returned_after_cancel"] < 3.0
    assert stats["msg_not_sent_count"] > 0
    assert stats["msg_queued_count"] + stats["msg_failed_count"] == 50
    assert run.rc == (21 if stats["msg_queued_count"] else 1)
    assert output["result"]["cancelled"] is True
    assert output["status_description"] == run.report["message"]
    cancelled_at = run.report["cancel_wall_times"][0]
    late = [e for e in sandbox.journal if e.time > cancelled_at + 0.25]
    assert late == [], "requests started after the cancel"
    assert len(sandbox.creates("Messages.json")) == stats["msg_queued_count"]


@pytest.mark.parametrize("python", PYTHONS[:1])
def test_debug_log_level_traces_api_calls_on_stderr(python, extension_archive, sandbox):
    fields = runner.fields_for(sandbox, recipients="+15558675310")
    run = _run(python, extension_archive, fields, sandbox, log_level="DEBUG")
    assert "Messages.json" in run.stderr
    assert sandbox.auth_token not in run.stderr + run.stdout


def test_in_process_runner_reads_the_source_tree(sandbox):
    fields = runner.fields_for(sandbox, recipients="+15558675310", nested=False)
    env_url = sandbox.url
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UE_TWILIO_API_URL", env_url)
        result, stdout, stderr = agent.run_extension(fields)
    runner.record(stdout, stderr, result.unv_output)
    assert result.rc == 0
    assert json.loads(result.unv_output)["result"]["stats"]["msg_queued_count"] == 1
    assert "SUCCESS" in stdout


def _has_command(name):
    ue = agent._support_on_path()
    with agent._imported_from(agent.SRC_DIR) as module:
        return ue.deco.find_command(module.Extension(), name) is not None


@pytest.mark.parametrize("python", PYTHONS[:1])
def test_template_commands_run_from_the_zip(python, extension_archive, sandbox):
    path = os.path.join(agent.SRC_DIR, "templates", "template.json")
    with open(path, encoding="utf-8") as handle:
        template = json.load(handle)
    for command in template["commands"]:
        if not _has_command(command["name"]):
            pytest.skip(
                "Extension has no dynamic command {!r} yet".format(command["name"])
            )
        fields = runner.fields_for(sandbox, nested=False)
        sandbox.clear_journal()
        run = _run(python, extension_archive, fields, sandbox, command=command["name"])
        assert run.rc == 0, run.report
        assert run.report["message"].startswith("SUCCESS")
        assert {e.method for e in sandbox.journal} == {"GET"}
        assert sandbox.creates("Messages.json") == []
