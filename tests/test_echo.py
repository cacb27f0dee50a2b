"""``invocation.fields``: the same keys on every exit path (issue 11), and a
status description that ends with one period, as the seed writes them all.

A workflow reading the Extension Output must find every key whether the task
succeeded, was refused, crashed or never started; a value not known on a path
is null. Each path is reached the way a user reaches it: the CLI as a real
subprocess against the sandbox, and the agent adapter for a crash.
"""

from __future__ import annotations

import json

from support.runner import fields_for, run_cli, run_crashing_cli
from ue_twilio.echo import ECHO_KEYS
from ue_twilio.filelock import FileLock

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
