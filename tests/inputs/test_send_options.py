"""Validity Period, Smart Encoding, Status Callback URL and ``result.message``:
what reaches Twilio and what the Extension Output says."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import runner
from support.runner import cli_env, fields_for, run_cli, run_task
from ue_twilio.sandbox import Sandbox

CALLBACK = "https://hooks.example.com/twilio/status"
EMOJI = "\U0001f6a8"
ACTIONS = ["sms_message", "whatsapp_message", "voice_message"]
DEFAULTS = {
    "account_sid": "",
    "twilio_region": ["us1"],
    "twilio_edge": [None],
    "validity_period": None,
    "smart_encoding": False,
    "status_callback_url": "",
}


def _requests(box: Sandbox):
    return [(e.method, e.path, e.auth_user, e.params) for e in box.journal]


@pytest.mark.parametrize("action", ACTIONS)
def test_the_new_fields_at_their_defaults_change_no_request(action, sandboxes):
    """Same sandbox account, same fields with and without the defaults spelled
    out: the journals are identical, parameter for parameter."""
    journals = []
    for extra in ({}, DEFAULTS):
        box = sandboxes.start(auth_token="defaults-token")
        recipients = "+15558675310, +15558675311"
        fields = fields_for(box, action=action, recipients=recipients, **extra)
        run = run_task(fields, box.url)
        assert run.rc == 0, run.stderr
        journals.append(sorted(_requests(box), key=lambda r: r[3]["To"]))
    assert journals[0] == journals[1]
    assert len(journals[0]) == 2


def test_validity_period_and_smart_encoding_reach_twilio_for_sms(sandbox):
    fields = fields_for(sandbox, validity_period=600, smart_encoding=True)
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    (entry,) = sandbox.creates()
    assert entry.params["ValidityPeriod"] == ["600"]
    assert entry.params["SmartEncoded"] == ["true"]
    echoed = run.output["invocation"]["fields"]
    assert echoed["validity_period"] == 600 and echoed["smart_encoding"] is True


def test_whatsapp_gets_the_validity_period_but_not_smart_encoding(sandbox):
    fields = fields_for(
        sandbox,
        action="whatsapp_message",
        validity_period=36000,
        smart_encoding=True,
        status_callback_url=CALLBACK,
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    (entry,) = sandbox.creates()
    assert entry.params["ValidityPeriod"] == ["36000"]
    assert entry.params["StatusCallback"] == [CALLBACK]
    assert "SmartEncoded" not in entry.params


def test_voice_gets_the_status_callback_only(sandbox):
    fields = fields_for(
        sandbox,
        action="voice_message",
        validity_period=60,
        smart_encoding=True,
        status_callback_url=CALLBACK,
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    (entry,) = sandbox.creates("Calls.json")
    assert entry.params["StatusCallback"] == [CALLBACK]
    assert "ValidityPeriod" not in entry.params
    assert "SmartEncoded" not in entry.params
    assert run.output["result"]["message"] is None


def test_send_command_options(sandbox):
    command = [sys.executable, "-m", "ue_twilio", "send", "--from", "+15005550006"]
    command += ["--to", "+15558675310", "--message", "hi", "--smart-encoding"]
    command += ["--validity-period", "30", "--status-callback", CALLBACK]
    env = cli_env(
        sandbox.url,
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.auth_token,
    )
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    runner.record(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    (entry,) = sandbox.creates()
    assert entry.params["ValidityPeriod"] == ["30"]
    assert entry.params["SmartEncoded"] == ["true"]
    assert entry.params["StatusCallback"] == [CALLBACK]


@pytest.mark.parametrize(
    "extra,problem",
    [
        ({"validity_period": 0}, "Validity Period: 0 is out of range 1-36000"),
        ({"validity_period": 36001}, "Validity Period: 36001 is out of range"),
        ({"validity_period": "60"}, "Validity Period: expected a whole number"),
        ({"smart_encoding": "yes"}, "Smart Encoding: expected true or false"),
        ({"status_callback_url": "http://hooks.example.com/x"}, "Status Callback URL"),
        ({"status_callback_url": "https://"}, "Status Callback URL"),
        ({"twilio_region": ["eu9"]}, "Twilio Region: 'eu9' is not one of"),
        ({"twilio_edge": ["paris"]}, "Twilio Edge: 'paris' is not one of"),
    ],
)
def test_bad_values_are_exit_20_naming_the_field(sandbox, extra, problem):
    run = run_task(fields_for(sandbox, **extra), sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: " + problem
    )
    assert sandbox.journal == []


BODIES = [
    "Nightly load failed",
    "a" * 161,
    "a" * 152 + "€" + "a" * 152,
    "Disk full " + EMOJI,
    "ł" * 66 + EMOJI + "ł" * 66,
]


@pytest.mark.parametrize("body", BODIES)
def test_result_message_agrees_with_twilios_num_segments(sandbox, body):
    """Our count before sending equals what the sandbox (an independent
    implementation of Twilio's rule) reports after."""
    run = run_task(fields_for(sandbox, message=body), sandbox.url)
    assert run.rc == 0, run.stderr
    (message,) = sandbox.messages.values()
    assert run.output["result"]["message"]["segments"] == int(message["num_segments"])


def test_an_emoji_is_reported_and_warned_about(sandbox):
    run = run_cli(fields_for(sandbox, message="Disk full " + EMOJI), sandbox.url)
    assert run.rc == 0
    assert run.output["result"]["message"] == {
        "encoding": "UCS-2",
        "segments": 1,
        "characters": 11,
        "ucs2_characters": [EMOJI],
    }
    assert "WARNING Message: UCS-2" in run.stderr
    assert "U+1F6A8" in run.stderr and "Smart Encoding" in run.stderr


def test_a_gsm_message_is_not_warned_about(sandbox):
    run = run_cli(fields_for(sandbox), sandbox.url)
    assert run.output["result"]["message"]["encoding"] == "GSM-7"
    assert "UCS-2" not in run.stderr


def test_result_message_is_there_when_validation_fails(sandbox):
    run = run_task(fields_for(sandbox, sender="not-a-number"), sandbox.url)
    assert run.rc == 20
    assert run.output["result"]["message"]["segments"] == 1


def test_result_message_is_there_when_twilio_refuses(sandbox):
    sandbox.faults.forbidden = True
    run = run_task(fields_for(sandbox, message="a" * 161), sandbox.url)
    assert run.rc == 3
    assert run.output["result"]["message"]["segments"] == 2


def test_whatsapp_has_no_segments(sandbox):
    run = run_task(fields_for(sandbox, action="whatsapp_message"), sandbox.url)
    assert run.rc == 0
    assert run.output["result"]["message"] is None
