"""Masking never corrupts the task's own words, and no secret leaks.

A secret can be as short as ``sms`` or ``on``: replacing every occurrence
once turned ``sms_message`` into ``****_message``. The redactor now scrubs
only forms that cannot be ordinary text (see ue_twilio.redact), and secrets
stay out of output by construction. The proof for short secrets is
differential: the same task, run with the short secret and with a long random
one, must produce identical output once SIDs, ports and timings are
normalised, so nothing written depends on the short secret. For the long
secret the secret guard (tests/conftest.py) searches every form.
"""

from __future__ import annotations

import re
import secrets

import pytest

from support.runner import fields_for, run_cli, run_task
from ue_twilio.redact import MIN_SECRET_CHARS, Redactor, redactor_for_raw, scrub_tree

SHORT_SECRETS = ["a", "on", "sms", "message", "1"]
RECIPIENTS = "+15558675310, +15005550001"  # one queued, one refused (21211)
_VOLATILE = [
    (re.compile(r"\b(SM|MM|CA)[0-9a-f]{32}\b"), "SID"),
    (re.compile(r"127\.0\.0\.1:\d+"), "HOST:PORT"),
    (re.compile(r"\b\d+ ms\b"), "N ms"),
]


def _normalised(*texts: str) -> str:
    text = "\n".join(texts)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _long_secret() -> str:
    return secrets.token_hex(16)  # a realistic 32-hex auth token


def _token_run(token: str, sandboxes, via_cli: bool, **extra):
    box = sandboxes.start(auth_token=token)
    fields = fields_for(box, recipients=RECIPIENTS, max_concurrent_requests=1, **extra)
    run = run_cli(fields, box.url) if via_cli else run_task(fields, box.url)
    return run


@pytest.mark.parametrize("via_cli", [True, False], ids=["cli", "in-process"])
@pytest.mark.parametrize("short", SHORT_SECRETS)
def test_a_short_auth_token_changes_nothing_in_the_output(sandboxes, short, via_cli):
    baseline = _token_run(_long_secret(), sandboxes, via_cli)
    run = _token_run(short, sandboxes, via_cli)
    assert run.rc == baseline.rc == 21
    assert _normalised(run.stdout, run.stderr) == _normalised(
        baseline.stdout, baseline.stderr
    )
    echoed = run.output["invocation"]["fields"]
    assert echoed["action"] == "sms_message"
    assert echoed["message_body_text"] == "Nightly load failed"
    assert echoed["twilio_credentials_password"] == "****"
    assert "+15558675310" in run.stderr and "+15005550001" in run.stderr


@pytest.mark.parametrize("short", SHORT_SECRETS)
def test_a_short_token_in_a_refused_task_changes_nothing(sandboxes, short):
    """Validation fails before the token is known valid: the raw redactor."""
    bad = {"sender": "sms_message 1 on a"}
    baseline = _token_run(_long_secret(), sandboxes, True, **bad)
    run = _token_run(short, sandboxes, True, **bad)
    assert run.rc == baseline.rc == 20
    assert run.stdout == baseline.stdout
    assert "'sms_message 1 on a'" in run.output["status_description"]


@pytest.mark.parametrize("short", SHORT_SECRETS)
def test_a_short_proxy_password_changes_nothing_in_the_output(
    sandbox, secret_guard, short
):
    def run_with(password):
        secret_guard.add_pair("ops", password)
        fields = fields_for(
            sandbox,
            proxy_type=["HTTP_WITH_CREDENTIALS"],
            proxy="http://127.0.0.1:9",  # nothing listens: a connection error
            proxy_credentials={"user": "ops", "password": password},
        )
        return run_task(fields, sandbox.url, connect_timeout=2.0)

    baseline = run_with(_long_secret())
    run = run_with(short)
    assert run.rc == baseline.rc == 10
    assert _normalised(run.stdout, run.stderr) == _normalised(
        baseline.stdout, baseline.stderr
    )
    assert "Cannot connect to the proxy" in run.output["status_description"]
    assert "connect" in run.stderr and "****nect" not in run.stderr


@pytest.mark.parametrize("short", SHORT_SECRETS)
def test_the_redactor_leaves_ordinary_text_alone_for_a_short_secret(short):
    text = (
        "invocation.fields.action sms_message; connect to +15558675310 "
        "message_body_text on a 1"
    )
    redact = Redactor([short], pairs=[("AC" + "0" * 32, short)])
    assert redact(text) == text
    tree = {"action": "sms_message", "note": [text]}
    assert (
        scrub_tree(tree, redactor_for_raw({"twilio_credentials": {"password": short}}))
        == tree
    )


def test_forms_that_cannot_be_ordinary_text_are_still_scrubbed():
    import base64

    user, short = "AC" + "0" * 32, "sms"
    basic = base64.b64encode("{}:{}".format(user, short).encode()).decode()
    redact = Redactor([short], pairs=[(user, short)])
    text = "Authorization: Basic {} at http://u:sms@host/x".format(basic)
    assert redact(text) == "Authorization: Basic **** at http://****@host/x"
    token = _long_secret()
    assert len(token) >= MIN_SECRET_CHARS
    assert Redactor([token])("token={} end".format(token)) == "token=**** end"
