"""The ``ue-twilio`` command as a user runs it: real subprocesses, real sandbox."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from support.events import journal_reaches
from support.runner import cli_env, fields_for, record, run_cli
from support.servers import wait_until
from ue_twilio.output.verdict import PARTIAL

CLI = [sys.executable, "-m", "ue_twilio"]


def _run(args, env=None, timeout=60, **kwargs):
    proc = subprocess.run(
        CLI + args,
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=timeout,
        **kwargs,
    )
    record(proc.stdout, proc.stderr)
    return proc


def test_demo_sends_through_the_built_in_sandbox():
    proc = _run(["demo"])
    assert proc.returncode == 0, proc.stderr
    assert "Sandbox (local Twilio-compatible API) at http://127.0.0.1:" in proc.stdout
    start = proc.stdout.index("{")
    output, _ = json.JSONDecoder().raw_decode(proc.stdout[start:])
    assert output["exit_code"] == 0
    assert output["result"]["stats"]["msg_queued_count"] == 3
    assert proc.stdout.count("POST /2010-04-01/Accounts/") == 3


def test_demo_shows_an_acknowledged_page():
    proc = _run(["demo", "--acknowledge"])
    assert proc.returncode == 0, proc.stderr
    start = proc.stdout.index("{")
    output, _ = json.JSONDecoder().raw_decode(proc.stdout[start:])
    acknowledgement = output["result"]["acknowledgement"]
    assert acknowledgement["acknowledged"] is True
    assert acknowledgement["by"] == "+15558675311"
    assert proc.stdout.count("POST /2010-04-01/Accounts/") == 2  # the third: never


def test_send_uses_twilio_environment_credentials(sandbox):
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.auth_token,
    )
    args = ["send", "--from", "+15005550006", "--to", "+15558675310,+15558675311"]
    proc = _run(args + ["--to", "+15558675312", "--message", "db01 down"], env=env)
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)
    assert output["invocation"]["fields"]["recipient_list"] == [
        "+15558675310",
        "+15558675311",
        "+15558675312",
    ]
    bodies = {e.params["Body"][0] for e in sandbox.creates()}
    assert bodies == {"db01 down"} and len(sandbox.journal) == 3


def test_send_voice_and_run_give_the_same_output(sandbox):
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.auth_token,
    )
    send = _run(
        [
            "send",
            "--action",
            "voice",
            "--from",
            "+15005550006",
            "--to",
            "+15558675310",
            "--message",
            "Wake up",
            "--answer-timeout",
            "20",
            "--call-max-duration",
            "90",
        ],
        env=env,
    )
    fields = fields_for(
        sandbox,
        action="voice_message",
        message="Wake up",
        answer_timeout=20,
        call_max_duration=90,
    )
    run = run_cli(fields, sandbox.url)
    sent = json.loads(send.stdout)
    assert send.returncode == run.rc == 0
    for output in (sent, run.output):
        for recipient in output["result"]["recipients"]:
            recipient["sid"] = "CA-any"
    assert sent == run.output
    calls = sandbox.creates("Calls.json")
    assert [c.params["Timeout"] for c in calls] == [["20"], ["20"]]


def test_send_without_credentials_is_a_validation_error(sandbox):
    env = cli_env(sandbox.url)
    env.pop("TWILIO_ACCOUNT_SID", None)
    env.pop("TWILIO_AUTH_TOKEN", None)
    proc = _run(
        ["send", "--from", "+15005550006", "--to", "+15558675310", "--message", "x"],
        env=env,
    )
    assert proc.returncode == 20
    output = json.loads(proc.stdout)
    assert output["status_description"] == (
        "DATA_VALIDATION_ERROR: --account-sid: is required "
        "(or set $TWILIO_ACCOUNT_SID)."
    )
    assert sandbox.journal == []


def test_send_without_the_token_names_the_option_and_its_variable(sandbox):
    env = cli_env(sandbox.url, TWILIO_ACCOUNT_SID=sandbox.account_sid)
    env.pop("TWILIO_AUTH_TOKEN", None)
    proc = _run(
        ["send", "--from", "+15005550006", "--to", "+15558675310", "--message", "x"],
        env=env,
    )
    assert proc.returncode == 20
    assert json.loads(proc.stdout)["status_description"] == (
        "DATA_VALIDATION_ERROR: --auth-token: is required (or set $TWILIO_AUTH_TOKEN)."
    )
    assert sandbox.journal == []


def test_api_url_option_beats_the_environment(sandbox):
    env = cli_env("http://127.0.0.1:9")  # nothing listens on the discard port
    run = run_cli(fields_for(sandbox), None, "--api-url", sandbox.url, env=env)
    assert run.rc == 0
    assert len(sandbox.creates()) == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_during_a_run_cancels_like_the_agent(sandbox, tmp_path, signum):
    sandbox.faults.latency = 0.3
    numbers = ",".join("+1555{:07d}".format(i) for i in range(40))
    fields = fields_for(sandbox, recipients=numbers, max_concurrent_requests=2)
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields))
    proc = subprocess.Popen(
        CLI + ["run", "--fields", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox.url),
    )
    assert journal_reaches(sandbox, lambda: len(sandbox.journal) >= 3)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=20)
    record(stdout, stderr)
    output = json.loads(stdout)
    stats = output["result"]["stats"]
    assert proc.returncode == 21
    assert output["status_description"] == PARTIAL  # the seed's text for 21
    assert output["result"]["cancelled"] is True
    assert "WARNING Task was cancelled: " in stderr
    assert stats["msg_not_sent_count"] > 0
    assert stats["msg_queued_count"] + stats["msg_failed_count"] == 40
    assert "Failed, not sent (" in stderr


@pytest.mark.parametrize("command", ["check", "senders"])
def test_a_signal_during_a_429_backoff_ends_a_command_at_once(
    sandbox, tmp_path, command
):
    sandbox.faults.concurrency_cap = 0  # every request: 429/20429
    sandbox.faults.retry_after = 30  # the longest backoff the client honours
    path = tmp_path / "fields.json"
    credentials = {"user": sandbox.account_sid, "password": sandbox.auth_token}
    path.write_text(json.dumps({"twilio_credentials": credentials}))
    proc = subprocess.Popen(
        CLI + [command, "--fields", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox.url),
    )
    try:
        assert wait_until(lambda: len(sandbox.journal) == 1, timeout=20)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)  # one backoff alone: 30 s
    finally:
        proc.kill()
    record(stdout, stderr)
    output = json.loads(stdout)
    assert proc.returncode == 1
    assert output["status_description"] == (
        "FAIL: Task was cancelled before anything was sent."
    )
    assert output["invocation"]["command"] in ("test_connection", "list_senders")
    assert [entry.status for entry in sandbox.journal] == [429]  # never retried


def test_sandbox_command_serves_until_terminated():
    proc = subprocess.Popen(
        CLI + ["sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("SANDBOX_URL="):
                url = line.strip().split("=", 1)[1]
        assert url and url.startswith("http://127.0.0.1:")
        from ue_twilio.sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

        fields = {
            "twilio_credentials": {
                "user": DEFAULT_ACCOUNT_SID,
                "password": DEFAULT_AUTH_TOKEN,
            },
            "sender": "+15005550006",
            "recipient_list": "+15558675310",
            "message_body_text": "hello",
        }
        run = run_cli(fields, url)
        assert run.rc == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_version():
    proc = _run(["--version"])
    assert proc.returncode == 0
    assert proc.stdout.strip() == "1.0.0"


# -- issue 11 §5: command-line conventions ---------------------------------------


def _without_credentials(sandbox):
    fields = fields_for(sandbox)
    del fields["twilio_credentials"]
    return fields


def test_run_takes_missing_credentials_from_the_environment(sandbox, tmp_path):
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.auth_token,
    )
    run = run_cli(_without_credentials(sandbox), None, env=env)
    assert run.rc == 0, run.stderr
    assert len(sandbox.creates()) == 1


def test_run_fields_win_over_the_environment(sandbox):
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN="not-the-token",
    )
    run = run_cli(fields_for(sandbox), None, env=env)
    assert run.rc == 0, run.stderr


def test_check_reads_the_account_options_beside_a_fields_file(sandbox, tmp_path):
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(_without_credentials(sandbox)))
    args = ["check", "--fields", str(path), "--account-sid", sandbox.account_sid]
    env = cli_env(sandbox.url, TWILIO_AUTH_TOKEN=sandbox.auth_token)
    proc = _run(args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status_description"].startswith("SUCCESS: ")


def test_check_and_senders_offer_only_their_options():
    for command in ("check", "senders"):
        text = _run([command, "--help"]).stdout
        assert "--account-sid" in text and "--connect-timeout" in text
        for option in ("--state-file", "--state-lock-timeout", "--message"):
            assert option not in text, (command, option)


def test_connection_options_work_before_the_command(sandbox):
    env = cli_env(None)  # no UE_TWILIO_API_URL: only the option points at the sandbox
    args = ["--api-url", sandbox.url, "--log-level", "DEBUG", "--read-timeout", "5"]
    proc = _run(
        args + ["run", "--fields", "-"], env=env, input=json.dumps(fields_for(sandbox))
    )
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG API POST {}/2010-04-01/".format(sandbox.url) in proc.stderr
    proc = _run(["--connect-timeout", "900", "check"], env=env)
    assert proc.returncode == 20
    assert (
        "--connect-timeout: 900 is out of range"
        in json.loads(proc.stdout)["status_description"]
    )


def test_an_option_after_the_command_wins(sandbox):
    env = cli_env(None)
    args = ["--api-url", "http://127.0.0.1:9", "run", "--api-url", sandbox.url]
    proc = _run(
        args + ["--fields", "-"], env=env, input=json.dumps(fields_for(sandbox))
    )
    assert proc.returncode == 0, proc.stderr


def test_send_whatsapp_drops_the_prefix_and_sms_refuses_it(sandbox):
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.auth_token,
    )
    base = ["send", "--from", "whatsapp:+15005550006", "--to", "whatsapp:+15558675310"]
    proc = _run(base + ["--action", "whatsapp", "--message", "hi"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert "the whatsapp: prefix was dropped" in proc.stderr
    assert sandbox.creates()[0].params["To"] == ["whatsapp:+15558675310"]
    proc = _run(base + ["--action", "sms", "--message", "hi"], env=env)
    assert proc.returncode == 20
    status = json.loads(proc.stdout)["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: Sender: ")
    assert "drop it, or choose Send WhatsApp Message." in status
    assert len(sandbox.creates()) == 1


def test_check_warns_about_a_proxy_without_a_proxy_type(sandbox, tmp_path):
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields_for(sandbox, proxy="http://127.0.0.1:9")))
    proc = _run(["check", "--fields", str(path)], env=cli_env(sandbox.url))
    assert proc.returncode == 0, proc.stderr
    assert "WARNING Proxy: ignored because Proxy Type is empty" in proc.stderr
