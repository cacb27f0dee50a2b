"""``invocation.fields``: the same keys on every exit path (issue 11), and a
status description that ends with one period, as the seed writes them all.

A workflow reading the Extension Output must find every key whether the task
succeeded, was refused, crashed or never started; a value not known on a path
is null. Each path is reached the way a user reaches it: the CLI as a real
subprocess against the sandbox, and the agent adapter for a crash.
"""

from __future__ import annotations

import json

import pytest

from support import runner
from support.runner import fields_for, run_cli, run_crashing_cli
from ue_twilio import Settings
from ue_twilio.commands.check import check_connection
from ue_twilio.inputs.proxy import parse_proxy
from ue_twilio.ledger.lock import FileLock
from ue_twilio.output.echo import COMMAND_KEYS, ECHO_KEYS, echo_command

OK = "+15558675310"
REFUSED = "+15005550001"  # the sandbox answers 21211
UNDELIVERED = "+15005550011"
CLOSED_PORT_URL = "http://127.0.0.1:9"


def _run(sandbox, *options, url=None, **changes):
    fields = fields_for(sandbox, **changes)
    return run_cli(fields, url or sandbox.url, *options).output


def _paths(sandbox, tmp_path):
    """(name, expected exit code, Extension Output) for every exit path."""
    yield "success", 0, _run(sandbox)
    yield "nothing queued", 1, _run(sandbox, recipients=REFUSED)
    sandbox.faults.forbidden = True
    yield "forbidden", 3, _run(sandbox)
    sandbox.faults.forbidden = False
    bad_token = fields_for(sandbox)
    bad_token["twilio_credentials"]["password"] = "not-the-token"
    yield "bad token", 2, run_cli(bad_token, sandbox.url).output
    yield "no connection", 10, _run(sandbox, url=CLOSED_PORT_URL)
    yield "bad field", 20, _run(sandbox, sender="15005550006")
    yield "some queued", 21, _run(sandbox, recipients=OK + "," + REFUSED)
    yield (
        "undelivered",
        22,
        _run(
            sandbox, recipients=UNDELIVERED, wait_for_delivery=True, delivery_timeout=10
        ),
    )
    yield "usage error", 20, run_cli({}, sandbox.url, "--no-such-option").output
    yield "state file busy", 1, _busy_state_file(sandbox, tmp_path)
    yield "crash", 1, _crash(sandbox)


def _crash(sandbox):
    """A bug below the CLI's main: the crash fallback (outcome.crash_outcome)."""
    proc = run_crashing_cli(fields_for(sandbox), sandbox.url)
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def _busy_state_file(sandbox, tmp_path):
    state = tmp_path / "state.json"
    lock = FileLock(str(state) + ".lock", "test")
    assert lock.acquire(5)
    try:
        fields = fields_for(sandbox, resend_policy=["unsent_only"])
        options = ("--state-file", str(state), "--state-lock-timeout", "0")
        return run_cli(fields, sandbox.url, *options).output
    finally:
        lock.release()


def test_every_exit_path_echoes_the_same_keys(sandbox, tmp_path):
    seen = set()
    for name, exit_code, output in _paths(sandbox, tmp_path):
        assert output["exit_code"] == exit_code, (name, output["status_description"])
        assert list(output["invocation"]["fields"]) == list(ECHO_KEYS), name
        status = output["status_description"]  # the seed's sentences, too
        assert status.endswith(".") and not status.endswith(".."), (name, status)
        seen.add(exit_code)
    assert seen == {0, 1, 2, 3, 10, 20, 21, 22}


def test_a_refused_field_echoes_what_is_known_and_null_for_the_rest(sandbox):
    output = _run(sandbox, sender="15005550006", max_concurrent_requests=4)
    echoed = output["invocation"]["fields"]
    assert echoed["sender"] == "15005550006"
    assert echoed["max_concurrent_requests"] == 4
    assert echoed["recipient_count"] is None  # not validated: not known
    assert echoed["delivery_timeout"] is None


def test_a_crash_echoes_every_key_as_null(sandbox):
    output = _crash(sandbox)
    assert output["status_description"] == "FAIL: Unexpected error: RuntimeError."
    assert set(output["invocation"]["fields"].values()) == {None}


def _check(fields, url):
    with runner.captured_log() as (logger, stream):
        outcome = check_connection(fields, Settings(api_url=url), logger)
    runner.record(outcome.output_json(), stream.getvalue())
    return outcome.output


URL_PASSWORD = "url-pr0xy-s3cret"


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {
                "proxy_type": ["HTTP"],
                "proxy": "http://alice:{}@p:3128".format(URL_PASSWORD),
            },
            {"proxy": "http://****@p:3128", "proxy_type": "HTTP"},
        ),
        (  # only a field's own choice values are echoed
            {"proxy_type": ["SOCKS"], "twilio_edge": ["HTTP", "dublin"]},
            {"proxy_type": None, "twilio_edge": None},
        ),
        (  # given in a shape the reader refuses: still shown as given
            {"proxy_type": ["HTTP_WITH_CREDENTIALS"], "proxy_credentials": 3},
            {"proxy_credentials_user": "****", "proxy_credentials_password": "****"},
        ),
    ],
    ids=["url credentials", "unknown choices", "odd credential"],
)
def test_a_send_and_a_command_refused_alike_echo_alike(
    sandbox, secret_guard, changes, expected
):
    secret_guard.add(URL_PASSWORD)
    fields = fields_for(sandbox, **changes)
    send = run_cli(fields, sandbox.url).output
    command = _check(fields, sandbox.url)
    assert (send["exit_code"], command["exit_code"]) == (20, 20)
    echoed = command["invocation"]["fields"]
    assert list(echoed) == list(COMMAND_KEYS)
    assert echoed == {key: send["invocation"]["fields"][key] for key in COMMAND_KEYS}
    assert {key: echoed[key] for key in expected} == expected
    assert echoed["twilio_credentials_password"] == "****"
    assert "alice" not in json.dumps(echoed)
    assert sandbox.journal == []


def test_a_command_echoes_the_proxy_it_used():
    raw = {
        "proxy_type": ["HTTPS_WITH_CREDENTIALS"],
        "proxy": "https://P:3129",
        "proxy_credentials": {"user": "alice", "password": "pw"},
        "twilio_region": ["ie1"],
    }
    assert echo_command(raw, parse_proxy(raw)) == {
        "twilio_credentials_user": None,
        "twilio_credentials_password": None,
        "account_sid": None,
        "twilio_region": "ie1",
        "twilio_edge": None,
        "proxy": "https://P:3129",
        "proxy_type": "HTTPS_WITH_CREDENTIALS",
        "proxy_ca_bundle_file": None,
        "proxy_credentials_user": "****",
        "proxy_credentials_password": "****",
    }


def test_leftover_proxy_credentials_are_not_echoed_for_a_type_without_them():
    raw = {
        "proxy_type": ["HTTPS"],
        "proxy": "https://p:3129",
        "proxy_credentials": {"user": "alice", "password": "pw"},
    }
    echoed = echo_command(raw, parse_proxy(raw))
    assert echoed["proxy_credentials_user"] is None
    assert echoed["proxy_credentials_password"] is None


@pytest.mark.parametrize("raw", [None, [], "fields", {"proxy": 7, "proxy_type": [5]}])
def test_a_command_echo_never_raises_on_odd_shapes(raw):
    assert echo_command(raw) == dict.fromkeys(COMMAND_KEYS)
