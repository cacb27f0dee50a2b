"""API keys, the Account SID field and the region hint: what reaches Twilio."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import runner
from support.runner import cli_env, fields_for, run_cli, run_task
from ue_twilio import Settings
from ue_twilio.commands.check import check_connection

OTHER_ACCOUNT = "AC" + "0f" * 16


def _key_fields(sandbox, **extra):
    credentials = {"user": sandbox.api_key_sid, "password": sandbox.api_key_secret}
    fields = fields_for(sandbox, account_sid=sandbox.account_sid, **extra)
    fields["twilio_credentials"] = credentials
    return fields


def test_a_send_with_an_api_key(sandbox):
    fields = _key_fields(sandbox, recipients="+15558675310, +15558675311")
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    creates = sandbox.creates("Messages.json")
    assert len(creates) == 2
    path = "/2010-04-01/Accounts/{}/Messages.json".format(sandbox.account_sid)
    for entry in creates:
        assert entry.auth_user == sandbox.api_key_sid
        assert entry.path == path
    fields = run.output["invocation"]["fields"]
    assert fields["twilio_credentials_password"] == "****"
    assert fields["account_sid"] == sandbox.account_sid


def test_send_command_takes_the_api_key_from_the_environment(sandbox):
    command = [sys.executable, "-m", "ue_twilio", "send", "--log-level", "DEBUG"]
    command += ["--from", "+15005550006", "--to", "+15558675310", "--message", "hi"]
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_API_KEY=sandbox.api_key_sid,
        TWILIO_API_SECRET=sandbox.api_key_secret,
    )
    env.pop("TWILIO_AUTH_TOKEN", None)
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    runner.record(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    (entry,) = sandbox.creates("Messages.json")
    assert entry.auth_user == sandbox.api_key_sid


@pytest.mark.parametrize(
    "account_sid,problem",
    [
        (None, "Account SID: is required when the Twilio Credentials user is an API"),
        ("AC123", "Account SID: must be AC followed by 32 hex digits"),
    ],
    ids=["missing", "malformed"],
)
def test_an_api_key_needs_a_valid_account_sid(sandbox, account_sid, problem):
    fields = _key_fields(sandbox)
    fields["account_sid"] = account_sid
    run = run_task(fields, sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"] == "DATA_VALIDATION_ERROR: " + (
        problem + "." if account_sid else problem + " Key SID."
    )
    assert sandbox.journal == []


def test_two_different_account_sids_are_refused(sandbox):
    run = run_task(fields_for(sandbox, account_sid=OTHER_ACCOUNT), sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: Account SID: differs from the Account SID in"
    )
    assert sandbox.journal == []


def test_the_same_account_sid_twice_is_fine(sandbox):
    run = run_task(fields_for(sandbox, account_sid=sandbox.account_sid), sandbox.url)
    assert run.rc == 0, run.stderr
    assert sandbox.creates()[0].auth_user == sandbox.account_sid


def test_the_user_must_be_an_account_or_key_sid(sandbox):
    fields = fields_for(sandbox)
    fields["twilio_credentials"]["user"] = "SK123"
    run = run_task(fields, sandbox.url)
    assert run.rc == 20
    assert "API Key SID (SK + 32 hex digits)" in run.output["status_description"]


def test_a_wrong_api_key_secret_is_exit_2_and_masked(sandbox, secret_guard):
    fields = _key_fields(sandbox)
    wrong = "wrong-key-secret-{}".format(id(fields))
    secret_guard.add_pair(sandbox.api_key_sid, wrong)
    fields["twilio_credentials"]["password"] = wrong
    run = run_cli(fields, sandbox.url)
    assert run.rc == 2
    assert len(sandbox.journal) == 1


def test_a_401_outside_us1_says_credentials_belong_to_one_region(sandbox):
    fields = fields_for(sandbox, twilio_region=["ie1"])
    fields["twilio_credentials"]["password"] = "wrong-token"
    run = run_task(fields, sandbox.url)
    assert run.rc == 2
    status = run.output["status_description"]
    assert "Twilio error 20003" in status
    assert "belong to one region" in status and "ie1" in status
    assert run.output["invocation"]["fields"]["twilio_region"] == "ie1"


def test_a_401_in_us1_has_no_region_hint(sandbox):
    fields = fields_for(sandbox)
    fields["twilio_credentials"]["password"] = "wrong-token"
    run = run_task(fields, sandbox.url)
    assert run.rc == 2 and "region" not in run.output["status_description"]


def test_test_connection_with_an_api_key(sandbox):
    fields = {
        "twilio_credentials": {
            "user": sandbox.api_key_sid,
            "password": sandbox.api_key_secret,
        },
        "account_sid": sandbox.account_sid,
    }
    with runner.captured_log() as (logger, stream):
        outcome = check_connection(fields, Settings(api_url=sandbox.url), logger)
    runner.record(outcome.output_json(), stream.getvalue())
    assert outcome.exit_code == 0, outcome.status_description
    (entry,) = sandbox.journal
    assert entry.auth_user == sandbox.api_key_sid
    assert entry.path == "/2010-04-01/Accounts/{}.json".format(sandbox.account_sid)
    echoed = outcome.output["invocation"]["fields"]
    assert echoed["account_sid"] == sandbox.account_sid


def test_cli_check_with_api_key_options(sandbox):
    command = [sys.executable, "-m", "ue_twilio", "check", "--log-level", "DEBUG"]
    command += ["--account-sid", sandbox.account_sid, "--api-key", sandbox.api_key_sid]
    env = cli_env(sandbox.url, TWILIO_API_SECRET=sandbox.api_key_secret)
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    runner.record(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 0
    assert [e.auth_user for e in sandbox.journal] == [sandbox.api_key_sid]
