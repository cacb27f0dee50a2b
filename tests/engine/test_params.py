"""Messaging Service senders and WhatsApp templates: what reaches Twilio."""

from __future__ import annotations

import json

import pytest

from support.runner import fields_for, run_cli, run_task

SERVICE = "MG" + "0123456789abcdef" * 2
TEMPLATE = "HX" + "fedcba9876543210" * 2
NUMBERS = ["+15558675310", "+15558675311"]
TWO = ", ".join(NUMBERS)


def _creates(sandbox):
    return sorted(sandbox.creates("Messages.json"), key=lambda e: e.params["To"][0])


def test_sms_from_a_messaging_service(sandbox):
    run = run_cli(fields_for(sandbox, recipients=TWO, sender=SERVICE), sandbox.url)
    assert run.rc == 0, run.stderr
    assert run.output["invocation"]["fields"]["sender"] == SERVICE
    assert run.stats["msg_queued_count"] == 2
    for entry, number in zip(_creates(sandbox), NUMBERS):
        assert entry.params["MessagingServiceSid"] == [SERVICE]
        assert "From" not in entry.params
        assert entry.params["To"] == [number]
        assert entry.params["Body"] == ["Nightly load failed"]


def test_accepted_status_counts_as_queued(sandbox):
    run = run_task(fields_for(sandbox, recipients=TWO, sender=SERVICE), sandbox.url)
    assert run.rc == 0
    assert [r["status"] for r in run.output["result"]["recipients"]] == [
        "queued",
        "queued",
    ]
    created = sandbox.messages
    assert len(created) == 2
    assert all(m["messaging_service_sid"] == SERVICE for m in created.values())


def test_whatsapp_from_a_messaging_service(sandbox):
    fields = fields_for(
        sandbox, action="whatsapp_message", recipients=TWO, sender=SERVICE
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    for entry, number in zip(_creates(sandbox), NUMBERS):
        assert entry.params["MessagingServiceSid"] == [SERVICE]
        assert entry.params["To"] == ["whatsapp:" + number]
        assert "From" not in entry.params


def test_voice_cannot_use_a_messaging_service(sandbox):
    fields = fields_for(sandbox, action="voice_message", sender=SERVICE)
    run = run_task(fields, sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: Sender: "
    )
    assert sandbox.journal == []


def test_whatsapp_template_without_body(sandbox):
    variables = '{ "1": "db01", "2": "02:00" }'
    fields = fields_for(
        sandbox,
        action="whatsapp_message",
        recipients=TWO,
        message=None,
        content_sid=TEMPLATE,
        content_variables=variables,
    )
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    echoed = run.output["invocation"]["fields"]
    assert echoed["content_sid"] == TEMPLATE
    assert echoed["message_body_text"] is None
    for entry in _creates(sandbox):
        assert entry.params["ContentSid"] == [TEMPLATE]
        sent = entry.params["ContentVariables"][0]
        assert json.loads(sent) == {"1": "db01", "2": "02:00"}
        assert "Body" not in entry.params
        assert entry.params["From"] == ["whatsapp:+15005550006"]


def test_whatsapp_template_with_body_and_service(sandbox):
    fields = fields_for(
        sandbox,
        action="whatsapp_message",
        sender=SERVICE,
        content_sid=TEMPLATE,
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    (entry,) = sandbox.creates()
    assert entry.params["ContentSid"] == [TEMPLATE]
    assert entry.params["Body"] == ["Nightly load failed"]
    assert entry.params["MessagingServiceSid"] == [SERVICE]
    assert "ContentVariables" not in entry.params


def test_sms_ignores_a_hidden_template_field(sandbox):
    """content_sid only shows for WhatsApp; a leftover value is not sent."""
    fields = fields_for(sandbox, content_sid=TEMPLATE, content_variables='{"1": "x"}')
    run = run_task(fields, sandbox.url)
    assert run.rc == 0
    (entry,) = sandbox.creates()
    assert "ContentSid" not in entry.params
    assert "ContentVariables" not in entry.params


@pytest.mark.parametrize(
    "changes, label, problem",
    [
        ({"content_sid": "HX123"}, "Content Template SID", "is not a Content SID"),
        (
            {"content_sid": "MG" + "0" * 32},
            "Content Template SID",
            "is not a Content SID",
        ),
        (
            {"content_sid": TEMPLATE, "content_variables": "{1: x}"},
            "Content Variables",
            "is not valid JSON",
        ),
        (
            {"content_sid": TEMPLATE, "content_variables": '["db01"]'},
            "Content Variables",
            "must be a JSON object",
        ),
        (
            {"content_variables": '{"1": "db01"}'},
            "Content Variables",
            "needs a Content Template SID",
        ),
        ({"message": None}, "Message", "is required"),
        ({"content_sid": ["HX"]}, "Content Template SID", "expected text"),
    ],
)
def test_template_validation_exit_20(sandbox, changes, label, problem):
    message = changes.pop("message", "Nightly load failed")
    fields = fields_for(sandbox, action="whatsapp_message", message=message, **changes)
    run = run_task(fields, sandbox.url)
    assert run.rc == 20
    status = run.output["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: {}: ".format(label)), status
    assert problem in status
    assert sandbox.journal == []
