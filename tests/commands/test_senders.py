"""List Senders (``ue-twilio senders`` and the agent command): numbers and
Messaging Services, paged and bounded, sending nothing."""

from __future__ import annotations

import json
import subprocess
import sys

from support import agent, runner
from support.runner import cli_env
from ue_twilio import Settings
from ue_twilio.commands import senders as senders_module
from ue_twilio.commands.senders import list_senders


def _fields(sandbox, api_key=False):
    if api_key:
        return {
            "twilio_credentials": {
                "user": sandbox.api_key_sid,
                "password": sandbox.api_key_secret,
            },
            "account_sid": sandbox.account_sid,
        }
    return {
        "twilio_credentials": {
            "user": sandbox.account_sid,
            "password": sandbox.auth_token,
        },
        "proxy_type": [],
    }


def _cli(args, url, stdin=None, env_extra=None):
    command = [sys.executable, "-m", "ue_twilio", "senders", "--log-level", "DEBUG"]
    proc = subprocess.run(
        command + args,
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(url, **(env_extra or {})),
        timeout=60,
    )
    runner.record(proc.stdout, proc.stderr)
    return proc


def _in_process(fields, url):
    with runner.captured_log() as (logger, stream):
        outcome = list_senders(fields, Settings(api_url=url), logger)
    runner.record(outcome.output_json(), stream.getvalue())
    return outcome


def _numbers(sandbox):
    path = "/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json".format(
        sandbox.account_sid
    )
    return [e for e in sandbox.journal if e.path == path]


def test_cli_lists_the_sandbox_numbers_and_services(sandbox):
    proc = _cli(["--fields", "-"], sandbox.url, stdin=json.dumps(_fields(sandbox)))
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)
    assert output["invocation"]["command"] == "list_senders"
    assert output["status_description"] == (
        "SUCCESS: Found 3 phone number(s) and 2 Messaging Service(s)."
    )
    numbers = {n["phone_number"]: n for n in output["result"]["phone_numbers"]}
    assert numbers["+15005550006"]["sms"] and numbers["+15005550006"]["voice"]
    assert numbers["+15017122661"]["voice"] and not numbers["+15017122661"]["sms"]
    assert numbers["+447700900123"]["sms"] and not numbers["+447700900123"]["voice"]
    services = output["result"]["messaging_services"]
    assert [s["friendly_name"] for s in services] == ["On-call alerts", "Marketing"]
    assert all(s["sid"].startswith("MG") for s in services)
    assert output["result"]["phone_numbers_truncated"] is False
    assert [e.method for e in sandbox.journal] == ["GET", "GET"]
    assert sandbox.journal[1].path == "/v1/Services"
    assert sandbox.creates() == []


def test_cli_with_api_key_options(sandbox):
    args = ["--account-sid", sandbox.account_sid, "--api-key", sandbox.api_key_sid]
    env = {"TWILIO_API_SECRET": sandbox.api_key_secret}
    proc = _cli(args, sandbox.url, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    assert {e.auth_user for e in sandbox.journal} == {sandbox.api_key_sid}


def test_every_page_is_followed(sandbox):
    for n in range(120):
        sandbox.catalog.add_phone_number("+1555020{:04d}".format(n))
    for n in range(60):
        sandbox.catalog.add_service("Service {}".format(n))
    outcome = _in_process(_fields(sandbox), sandbox.url)
    assert outcome.exit_code == 0, outcome.status_description
    result = outcome.output["result"]
    assert len(result["phone_numbers"]) == 123
    assert len({n["sid"] for n in result["phone_numbers"]}) == 123
    assert len(result["messaging_services"]) == 62
    assert len(_numbers(sandbox)) == 3  # 50 a page
    assert [e.path for e in sandbox.journal].count("/v1/Services") == 2


def test_the_list_stops_at_the_bound_and_says_so(sandbox, monkeypatch):
    monkeypatch.setattr(senders_module, "MAX_ITEMS", 100)
    for n in range(120):
        sandbox.catalog.add_phone_number("+1555030{:04d}".format(n))
    outcome = _in_process(_fields(sandbox), sandbox.url)
    assert outcome.exit_code == 0
    result = outcome.output["result"]
    assert len(result["phone_numbers"]) == 100
    assert result["phone_numbers_truncated"] is True
    assert result["messaging_services_truncated"] is False
    assert "the first 100 phone number(s)" in outcome.status_description
    assert len(_numbers(sandbox)) == 2


def test_bad_credentials_are_exit_2(sandbox):
    fields = _fields(sandbox)
    fields["twilio_credentials"]["password"] = "wrong"
    outcome = _in_process(fields, sandbox.url)
    assert outcome.exit_code == 2
    assert outcome.output["result"]["phone_numbers"] is None
    assert len(sandbox.journal) == 1


def test_api_key_without_account_sid_is_exit_20(sandbox):
    fields = _fields(sandbox, api_key=True)
    del fields["account_sid"]
    outcome = _in_process(fields, sandbox.url)
    assert outcome.exit_code == 20
    assert "Account SID" in outcome.status_description
    assert sandbox.journal == []


def test_agent_list_senders_command(sandbox, monkeypatch):
    monkeypatch.setenv("UE_TWILIO_API_URL", sandbox.url)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    fields = _fields(sandbox, api_key=True)
    result, stdout, stderr = agent.run_command("list_senders", fields)
    runner.record(stdout, stderr, result.message, result.output_data)
    assert result.rc == 0, result.message
    assert result.output is True and result.output_name == "list_senders.json"
    document = json.loads(result.output_data)
    assert len(document["result"]["phone_numbers"]) == 3
    assert len(document["result"]["messaging_services"]) == 2
    assert {e.auth_user for e in sandbox.journal} == {sandbox.api_key_sid}
