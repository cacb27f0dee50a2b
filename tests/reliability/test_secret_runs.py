"""The rule, checked exactly (issue 20): no run of 8 or more consecutive
characters of a secret (auth token, API key secret, proxy password), in any
case, appears in STDOUT, STDERR, the debug trace, the Extension Output or a
file the task writes, whatever field the secret was pasted into and
whichever error path the run takes.

Each case runs the real command line (a subprocess, trace on). The secrets
are pasted where the task quotes a value back: cut to 40 characters after a
number, lower-cased in a host name, inside a proxy URL whose password holds
an '@', in a recipient file, in the environment read as a file, in a usage
error. ``assert_no_runs`` is the rule; the autouse guard of conftest.py
applies it to every test of the suite as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from support.leaks import assert_no_runs
from support.runner import cli_env, fields_for, record, run_cli

PROXY_USER = "alice"
PROXY_PASSWORD = "Winter@2026!Sn0wFall"
API_SECRET = "kEy5ecretMixedCase0123456789abcd"
NUMBER = "+15558675310"


def _pastes(secret: str) -> List[str]:
    """The ways a secret reaches a field: after a number (cut at 40
    characters), alone in upper case, glued to other text."""
    return [NUMBER + " " + secret, secret.upper(), "x" + secret + "y"]


FIELDS = [
    "sender",
    "recipient_list",
    "message_body_text",
    "content_sid",
    "content_variables",
    "voice_name",
    "voice_language",
    "account_sid",
    "status_callback_url",
    "recipient_list_file",
    "proxy_ca_bundle_file",
    "action",
    "twilio_region",
    "twilio_edge",
    "answering_machine",
]


def _check(texts: List[str], *secrets: str) -> None:
    record(*texts)
    assert_no_runs("\n".join(texts), secrets)


def _fields(sandbox, field: str, value: str) -> Dict[str, Any]:
    action = "voice_message" if field.startswith(("voice", "answering")) else None
    action = action or ("whatsapp_message" if "content" in field else "sms_message")
    fields = fields_for(sandbox, action=action, recipients=NUMBER)
    if field == "content_variables":
        fields["content_sid"] = "HX" + "0" * 32
    if field == "proxy_ca_bundle_file":
        fields.update(proxy_type=["HTTP"], proxy="http://127.0.0.1:9")
    choices = ("action", "twilio_region", "twilio_edge", "answering_machine")
    fields[field] = [value] if field in choices else value
    return fields


@pytest.mark.parametrize("field", FIELDS)
def test_the_token_pasted_into_any_field_never_shows_8_characters(sandbox, field):
    token = sandbox.auth_token
    for value in _pastes(token):
        run = run_cli(_fields(sandbox, field, value), sandbox.url)
        _check([run.stdout, run.stderr], token)


def test_a_recipient_file_and_the_environment_read_as_one(sandbox, tmp_path):
    token = sandbox.auth_token
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("{}\n{} {}\n{}\n".format(NUMBER, NUMBER, token, token.upper()))
    run = run_cli(fields_for(sandbox, recipient_list_file=str(numbers)), sandbox.url)
    _check([run.stdout, run.stderr], token)
    # /proc/self/environ holds TWILIO_AUTH_TOKEN, which fills the credentials
    fields = fields_for(sandbox, recipient_list_file="/proc/self/environ")
    del fields["twilio_credentials"]
    env = cli_env(
        sandbox.url, TWILIO_ACCOUNT_SID=sandbox.account_sid, TWILIO_AUTH_TOKEN=token
    )
    run = run_cli(fields, None, env=env)
    _check([run.stdout, run.stderr], token)


@pytest.mark.parametrize(
    "proxy",
    [
        "http://{}:{}@proxy.corp.example:3128".format(PROXY_USER, PROXY_PASSWORD),
        "http://{}.invalid:3128".format("Sn0wFallWinter"),
        "http://{}:3128".format(PROXY_PASSWORD),
    ],
)
def test_the_proxy_password_in_the_proxy_url(sandbox, proxy):
    fields = fields_for(
        sandbox,
        proxy_type=["HTTP_WITH_CREDENTIALS"],
        proxy=proxy,
        proxy_credentials={"user": PROXY_USER, "password": "Sn0wFallWinter@Ab"},
    )
    run = run_cli(fields, sandbox.url)
    _check([run.stdout, run.stderr], PROXY_PASSWORD, "Sn0wFallWinter@Ab")
    fields["proxy_credentials"]["password"] = PROXY_PASSWORD
    run = run_cli(fields, sandbox.url)
    _check([run.stdout, run.stderr], PROXY_PASSWORD)


def test_an_api_key_secret_in_a_usage_error_and_the_state_file(sandbox, tmp_path):
    env = cli_env(sandbox.url)
    env.update(
        TWILIO_ACCOUNT_SID=sandbox.account_sid,
        TWILIO_API_KEY=sandbox.api_key_sid,
        TWILIO_API_SECRET=API_SECRET,
    )
    command = ["send", "--from", "+15005550006", "--to", NUMBER, "--message", "x"]
    state = tmp_path / "state.json"
    texts = []
    for extra in (
        ["--max-concurrent", API_SECRET[:20]],
        ["--region", API_SECRET.upper()],
        ["--to", API_SECRET, "--state-file", str(state)]
        + ["--resend-policy", "unsent_only"],
    ):
        proc = _cli(command + extra, env)
        texts += [proc.stdout, proc.stderr]
        json.loads(proc.stdout)
    texts.append(state.read_text())  # the run sent to NUMBER: the file exists
    _check(texts, API_SECRET)


def _cli(args: List[str], env: Dict[str, str]):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "ue_twilio"] + args + ["--log-level", "DEBUG"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_rule_is_what_the_guard_checks():
    with pytest.raises(AssertionError):
        assert_no_runs("… 9F8E7D6C …", ["9f8e7d6c5b4a3928"])
    assert_no_runs("… 9F8E7D6 …", ["9f8e7d6c5b4a3928"])
    assert Path(__file__).name.startswith("test_")
