"""Test Connection (``ue-twilio check`` and the agent command): one Account GET."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from support import runner
from support.runner import cli_env
from ue_twilio import Cancel, Settings
from ue_twilio.commands.check import check_connection

SUCCESS = "SUCCESS: Connected to Twilio; the account (ue-twilio sandbox) is active."


def _command_fields(sandbox, token=None, **extra):
    """Only what the template's Test Connection command sends."""
    fields = {
        "twilio_credentials": {
            "user": sandbox.account_sid,
            "password": token or sandbox.auth_token,
        },
        "proxy_type": [],
        "proxy": "",
        "proxy_ca_bundle_file": "",
        "proxy_credentials": {"user": None, "password": None},
    }
    fields.update(extra)
    return fields


def _check(fields, url):
    with runner.captured_log() as (logger, stream):
        outcome = check_connection(fields, Settings(api_url=url), logger)
    runner.record(outcome.output_json(), stream.getvalue(), outcome.summary)
    return outcome, stream.getvalue()


def _cli_check(args, url, stdin=None, env_extra=None):
    env = cli_env(url, **(env_extra or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "ue_twilio", "check", "--log-level", "DEBUG"] + args,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    runner.record(proc.stdout, proc.stderr)
    return proc


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _only_the_account_get(sandbox):
    (entry,) = sandbox.journal
    assert entry.method == "GET"
    assert entry.path == "/2010-04-01/Accounts/{}.json".format(sandbox.account_sid)
    assert entry.params == {}
    assert sandbox.creates() == [] and sandbox.creates("Calls.json") == []


def test_good_credentials_succeed_and_send_nothing(sandbox):
    outcome, stderr = _check(_command_fields(sandbox), sandbox.url)
    assert outcome.exit_code == 0
    assert outcome.status_description == SUCCESS
    out = outcome.output
    assert out["changed"] is False
    assert out["invocation"]["command"] == "test_connection"
    assert out["invocation"]["fields"]["twilio_credentials_user"] == "****"
    assert out["invocation"]["fields"]["twilio_credentials_password"] == "****"
    assert out["invocation"]["fields"]["proxy_type"] is None
    assert out["result"]["account"] == {
        "friendly_name": "ue-twilio sandbox",
        "status": "active",
        "type": "Full",
    }
    assert "API GET" in stderr
    _only_the_account_get(sandbox)


def test_cli_check_with_fields_file(sandbox, tmp_path):
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(_command_fields(sandbox)))
    proc = _cli_check(["--fields", str(path)], sandbox.url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status_description"] == SUCCESS
    _only_the_account_get(sandbox)


def test_cli_check_with_environment_credentials(sandbox):
    env = {
        "TWILIO_ACCOUNT_SID": sandbox.account_sid,
        "TWILIO_AUTH_TOKEN": sandbox.auth_token,
    }
    proc = _cli_check([], sandbox.url, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    _only_the_account_get(sandbox)


def test_bad_token_is_exit_2(sandbox):
    proc = _cli_check(
        ["--fields", "-"],
        sandbox.url,
        stdin=json.dumps(_command_fields(sandbox, token="wrong-token")),
    )
    assert proc.returncode == 2
    status = json.loads(proc.stdout)["status_description"]
    assert status.startswith(
        "AUTHENTICATION_ERROR: Account cannot be authenticated. Twilio error 20003"
    )
    assert len(sandbox.journal) == 1


def test_forbidden_is_exit_3(sandbox):
    sandbox.faults.forbidden = True
    outcome, _ = _check(_command_fields(sandbox), sandbox.url)
    assert outcome.exit_code == 3
    assert outcome.status_description.startswith(
        "AUTHORIZATION_ERROR: Account is not authorized to perform the requested "
        "action. Twilio error 20403"
    )
    assert outcome.output["result"]["account"] is None
    _only_the_account_get(sandbox)


def test_proxy_on_a_closed_port_is_exit_10(sandbox):
    port = _closed_port()
    fields = _command_fields(
        sandbox, proxy_type=["HTTP"], proxy="http://127.0.0.1:{}".format(port)
    )
    outcome, _ = _check(fields, sandbox.url)
    assert outcome.exit_code == 10
    assert outcome.status_description.startswith("CONNECTION_ERROR: ")
    assert "127.0.0.1:{}".format(port) in outcome.status_description
    assert outcome.output["invocation"]["fields"]["proxy_type"] == "HTTP"
    assert sandbox.journal == []


def test_sandbox_down_is_exit_10(sandbox):
    url = sandbox.url
    sandbox.stop()
    outcome, _ = _check(_command_fields(sandbox), url)
    assert outcome.exit_code == 10
    assert outcome.status_description.startswith("CONNECTION_ERROR: ")


@pytest.mark.parametrize(
    "changes, label",
    [
        (
            {"twilio_credentials": {"user": "nobody", "password": "x"}},
            "Twilio Credentials",
        ),
        ({"twilio_credentials": None}, "Twilio Credentials"),
        ({"proxy_type": ["HTTP"], "proxy": ""}, "Proxy"),
        ({"proxy_type": ["SOCKS"]}, "Proxy Type"),
    ],
)
def test_bad_fields_are_exit_20_and_send_nothing(sandbox, changes, label):
    outcome, _ = _check(_command_fields(sandbox, **changes), sandbox.url)
    assert outcome.exit_code == 20
    assert outcome.status_description.startswith(
        "DATA_VALIDATION_ERROR: {}".format(label)
    )
    assert sandbox.journal == []


def test_flattened_credentials_work_too(sandbox):
    fields = {
        "twilio_credentials.user": sandbox.account_sid,
        "twilio_credentials.password": sandbox.auth_token,
    }
    outcome, _ = _check(fields, sandbox.url)
    assert outcome.exit_code == 0
    _only_the_account_get(sandbox)


def test_rate_limited_check_is_retried(sandbox):
    sandbox.faults.concurrency_cap = 0
    outcome, _ = _check(_command_fields(sandbox), sandbox.url)
    assert outcome.exit_code == 1
    assert "Twilio error 20429" in outcome.status_description
    assert [e.status for e in sandbox.journal] == [429, 429, 429]


def test_a_cancel_before_the_request_sends_nothing(sandbox):
    cancel = Cancel()
    cancel.set()
    with runner.captured_log() as (logger, stream):
        settings = Settings(api_url=sandbox.url)
        outcome = check_connection(_command_fields(sandbox), settings, logger, cancel)
    runner.record(outcome.output_json(), stream.getvalue())
    assert outcome.exit_code == 1
    assert outcome.status_description == (
        "FAIL: Task was cancelled before anything was sent."
    )
    assert outcome.output["result"] == {"account": None}
    assert sandbox.journal == []


@pytest.fixture(scope="module")
def squid(tmp_path_factory):
    from support.pki import TestPKI
    from support.squid import PROXY_PASSWORD, PROXY_USER, Squid, squid_available

    if not squid_available():
        pytest.fail("squid/htpasswd not installed: run scripts/install-system-deps.sh")
    pki = TestPKI(tmp_path_factory.mktemp("check-pki"))
    proxy = Squid(pki.proxy.combined, users={PROXY_USER: PROXY_PASSWORD}).start()
    try:
        yield proxy
    finally:
        proxy.cleanup()


def test_through_a_real_proxy(sandbox, squid):
    fields = _command_fields(sandbox, proxy_type=["HTTP"], proxy=squid.url("http"))
    mark = squid.mark()
    outcome, stderr = _check(fields, sandbox.url)
    assert outcome.exit_code == 0, outcome.status_description
    assert "via proxy " + squid.display["http"] in stderr
    (entry,) = squid.entries_since(mark)
    assert entry.method == "GET" and entry.target.endswith(
        "/Accounts/{}.json".format(sandbox.account_sid)
    )
    _only_the_account_get(sandbox)


def test_proxy_refusing_the_credentials_is_exit_10(sandbox, squid, secret_guard):
    from support.squid import PROXY_USER

    secret_guard.add("not-the-proxy-pa55word")
    fields = _command_fields(
        sandbox,
        proxy_type=["HTTP_WITH_CREDENTIALS"],
        proxy=squid.url("http_auth"),
        proxy_credentials={"user": PROXY_USER, "password": "not-the-proxy-pa55word"},
    )
    outcome, _ = _check(fields, sandbox.url)
    assert outcome.exit_code == 10
    assert "refused the credentials (HTTP 407)" in outcome.status_description
    assert outcome.output["invocation"]["fields"]["proxy_credentials_password"] == (
        "****"
    )
    assert sandbox.journal == []
