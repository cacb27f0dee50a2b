"""Every validation rule: exit 20 naming the field, and nothing reaches Twilio."""

from __future__ import annotations

import dataclasses

import pytest

from support.runner import fields_for, run_task
from ue_twilio.exceptions import ValidationError
from ue_twilio.inputs import config

SID = "AC" + "0123456789abcdef" * 2


def _case(**changes):
    return changes


INVALID = {
    "action unknown": ({"action": ["fax_message"]}, "Action"),
    "action not text": ({"action": [5]}, "Action"),
    "action two values": ({"action": ["sms_message", "voice_message"]}, "Action"),
    "credentials missing": (
        {"twilio_credentials": None},
        "Twilio Credentials",
    ),
    "credentials user not a SID": (
        {"twilio_credentials": {"user": "someone", "password": "x"}},
        "Twilio Credentials",
    ),
    "credentials SID too short": (
        {"twilio_credentials": {"user": "AC123", "password": "x"}},
        "Twilio Credentials",
    ),
    "credentials token empty": (
        {"twilio_credentials": {"user": SID, "password": ""}},
        "Twilio Credentials",
    ),
    "credentials not a dict": ({"twilio_credentials": "AC:tok"}, "Twilio Credentials"),
    "credentials user not text": (
        {"twilio_credentials": {"user": ["x"], "password": "y"}},
        "Twilio Credentials",
    ),
    "sender missing": ({"sender": None}, "Sender"),
    "sender blank": ({"sender": "  "}, "Sender"),
    "sender without plus": ({"sender": "15005550006"}, "Sender"),
    "sender leading zero": ({"sender": "+0123456"}, "Sender"),
    "sender with space": ({"sender": "+1 5005550006"}, "Sender"),
    "sender 16 digits": ({"sender": "+1234567890123456"}, "Sender"),
    "sender other-script digits": ({"sender": "+\u0661\u0662\u0663\u0664"}, "Sender"),
    "sender a list": ({"sender": ["+15005550006"]}, "Sender"),
    "sender trailing newline": ({"sender": "+15005550006\n+1"}, "Sender"),
    "recipients missing": ({"recipient_list": None}, "Recipient List"),
    "recipients only commas": ({"recipient_list": " , ,, "}, "Recipient List"),
    "recipient not a number": (
        {"recipient_list": "call me"},
        "Recipient List",
    ),
    "recipient with a bad line": (
        {"recipient_list": "call me\n12345"},
        "Recipient List",
    ),
    "recipients from the list, list empty": (
        {"recipient_source": ["recipient_list"], "recipient_list": ""},
        "Recipient List",
    ),
    "recipients from somewhere else": (
        {"recipient_source": ["fax"]},
        "Recipients From",
    ),
    "recipients from a file, none given": (
        {"recipient_source": ["recipient_list_file"]},
        "Recipient List File",
    ),
    "recipient with whatsapp: for SMS": (
        {"recipient_list": "whatsapp:+15558675310"},
        "Recipient List",
    ),
    "sender with whatsapp: for SMS": ({"sender": "whatsapp:+15005550006"}, "Sender"),
    "message with NUL": ({"message_body_text": "load\x00failed"}, "Message"),
    "message with escape": ({"message_body_text": "\x1b[31mred"}, "Message"),
    "message with DEL": ({"message_body_text": "a\x7f"}, "Message"),
    "recipients too long": (
        {"recipient_list": "+15558675310," * 308},
        "Recipient List",
    ),
    "recipients an integer": ({"recipient_list": 15558675310}, "Recipient List"),
    "message missing": ({"message_body_text": None}, "Message"),
    "message blank": ({"message_body_text": "   "}, "Message"),
    "message too long": ({"message_body_text": "x" * 1601}, "Message"),
    "message a list": ({"message_body_text": ["hi"]}, "Message"),
    "max concurrency zero": ({"max_concurrent_requests": 0}, "Max Concurrent Requests"),
    "max concurrency text": (
        {"max_concurrent_requests": "10"},
        "Max Concurrent Requests",
    ),
}

VOICE_INVALID = {
    "answer timeout zero": ({"answer_timeout": 0}, "Answer Timeout"),
    "answer timeout above 600": ({"answer_timeout": 601}, "Answer Timeout"),
    "answer timeout text": ({"answer_timeout": "30"}, "Answer Timeout"),
    "answer timeout boolean": ({"answer_timeout": True}, "Answer Timeout"),
    "answer timeout float": ({"answer_timeout": 3.5}, "Answer Timeout"),
    "call duration zero": ({"call_max_duration": 0}, "Call Max Duration"),
    "call duration above limit": ({"call_max_duration": 14401}, "Call Max Duration"),
    "twiml over 4000 once escaped": ({"message_body_text": "&" * 1000}, "Message"),
    "control character in speech": ({"message_body_text": "a\x01b"}, "Message"),
    "messaging service for voice": (
        {"sender": "MG" + "0" * 32},
        "Sender",
    ),
}


def _assert_refused(sandbox, fields, label):
    run = run_task(fields, sandbox.url)
    assert run.rc == 20
    prefix = "DATA_VALIDATION_ERROR: {}: ".format(label)
    assert run.output["status_description"].startswith(prefix)
    assert run.output["exit_code"] == 20
    assert run.output["changed"] is False
    assert prefix.strip() in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.journal == []
    return run


@pytest.mark.parametrize("changes,label", INVALID.values(), ids=list(INVALID))
def test_invalid_field_is_refused_before_sending(sandbox, changes, label):
    fields = fields_for(sandbox, recipients="+15558675310,+15558675311")
    fields.update(changes)
    _assert_refused(sandbox, fields, label)


@pytest.mark.parametrize(
    "changes,label", VOICE_INVALID.values(), ids=list(VOICE_INVALID)
)
def test_invalid_voice_field_is_refused(sandbox, changes, label):
    fields = fields_for(sandbox, action="voice_message")
    fields.update(changes)
    _assert_refused(sandbox, fields, label)


def test_fields_not_a_mapping(sandbox):
    run = run_task(["not", "a", "dict"], sandbox.url)
    assert run.rc == 20
    assert run.output["status_description"].startswith("DATA_VALIDATION_ERROR: Fields:")


def test_voice_fields_are_ignored_for_sms(sandbox):
    fields = fields_for(sandbox, answer_timeout="junk", call_max_duration=-1)
    run = run_task(fields, sandbox.url)
    assert run.rc == 0
    echoed = run.output["invocation"]["fields"]
    assert echoed["answer_timeout"] is None and echoed["call_max_duration"] is None


@pytest.mark.parametrize("empty", [None, "", [], [None], [""]])
def test_empty_optional_values_take_defaults(sandbox, empty):
    fields = fields_for(
        sandbox,
        action="voice_message",
        answer_timeout=empty,
        call_max_duration=empty,
        proxy_type=empty,
        max_concurrent_requests=empty,
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.output["status_description"]
    echoed = run.output["invocation"]["fields"]
    assert (echoed["answer_timeout"], echoed["call_max_duration"]) == (30, 60)
    assert echoed["proxy_type"] is None
    (call,) = sandbox.creates("Calls.json")
    assert call.params["Timeout"] == ["30"] and call.params["TimeLimit"] == ["60"]


@pytest.mark.parametrize("empty", [None, "", [], [None], [""]])
def test_empty_action_means_sms(sandbox, empty):
    fields = fields_for(sandbox)
    fields["action"] = empty
    run = run_task(fields, sandbox.url)
    assert run.rc == 0
    assert run.output["invocation"]["fields"]["action"] == "sms_message"
    assert len(sandbox.creates("Messages.json")) == 1


def test_recipient_list_is_trimmed_and_deduplicated(sandbox):
    fields = fields_for(
        sandbox, recipients="\n +15558675310 ,, +15558675311,\n+15558675310 ,"
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0
    assert run.output["invocation"]["fields"]["recipient_list"] == [
        "+15558675310",
        "+15558675311",
    ]
    assert [e.params["To"] for e in sandbox.creates()] == [
        ["+15558675310"],
        ["+15558675311"],
    ]
    assert "+15558675310 is listed more than once; it is sent once" in run.stderr


def test_recipient_list_of_exactly_4000_characters_is_accepted(sandbox):
    numbers = ",".join("+1555{:07d}".format(i) for i in range(307))
    text = numbers + " " * (4000 - len(numbers))
    assert len(text) == 4000
    fields = fields_for(sandbox, recipients=text, max_concurrent_requests=20)
    run = run_task(fields, sandbox.url)
    assert run.rc == 0
    assert run.stats["msg_queued_count"] == 307


def test_message_of_1600_characters_is_accepted(sandbox):
    run = run_task(fields_for(sandbox, message="y" * 1600), sandbox.url)
    assert run.rc == 0
    assert sandbox.creates()[0].params["Body"] == ["y" * 1600]


# -- issue 11: the seed's required fields and their alternatives ----------------


def test_numbers_one_per_line_are_accepted(sandbox):
    run = run_task(
        fields_for(sandbox, recipients="+15558675310\r\n+15558675311\n"), sandbox.url
    )
    assert run.rc == 0, run.output["status_description"]
    assert [e.params["To"] for e in sandbox.creates()] == [
        ["+15558675310"],
        ["+15558675311"],
    ]


def test_recipients_from_a_file_need_no_list(sandbox, tmp_path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+15558675310\n")
    fields = fields_for(
        sandbox,
        recipients="",
        recipient_source=["recipient_list_file"],
        recipient_list_file=str(numbers),
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.output["status_description"]
    assert run.output["invocation"]["fields"]["recipient_count"] == 1


def test_a_content_template_needs_no_message(sandbox):
    fields = fields_for(
        sandbox,
        action="whatsapp_message",
        message="",
        use_content_template=True,
        content_sid="HX" + "0" * 32,
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.output["status_description"]
    assert sandbox.creates()[0].params["ContentSid"] == ["HX" + "0" * 32]


def test_use_content_template_needs_the_sid(sandbox):
    fields = fields_for(sandbox, action="whatsapp_message", use_content_template=True)
    _assert_refused(sandbox, fields, "Content Template SID")


@pytest.mark.parametrize("action", ["sms_message", "whatsapp_message"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused_in_text_messages(sandbox, action, char):
    fields = fields_for(sandbox, action=action, message="load" + char + "failed")
    run = _assert_refused(sandbox, fields, "Message")
    assert (
        "U+{:04X} at position 5".format(ord(char)) in run.output["status_description"]
    )


def test_tab_and_line_breaks_are_text(sandbox):
    message = "Nightly load\tfailed\r\nat 02:00"
    run = run_task(fields_for(sandbox, message=message), sandbox.url)
    assert run.rc == 0
    assert sandbox.creates()[0].params["Body"] == [message]


def test_the_whatsapp_prefix_is_dropped_for_whatsapp(sandbox):
    fields = fields_for(
        sandbox,
        action="whatsapp_message",
        sender="whatsapp:+15005550006",
        recipients="whatsapp:+15558675310, WhatsApp:+15558675311",
    )
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.output["status_description"]
    sent = [(e.params["From"], e.params["To"]) for e in sandbox.creates()]
    assert sent == [
        (["whatsapp:+15005550006"], ["whatsapp:+15558675310"]),
        (["whatsapp:+15005550006"], ["whatsapp:+15558675311"]),
    ]
    assert "Sender: the whatsapp: prefix was dropped" in run.stderr
    assert "prefix was dropped from 2 number(s)" in run.stderr
    assert run.output["invocation"]["fields"]["sender"] == "+15005550006"


def test_the_whatsapp_prefix_for_sms_says_what_to_do(sandbox):
    fields = fields_for(sandbox, recipients="whatsapp:+15558675310")
    run = _assert_refused(sandbox, fields, "Recipient List")
    assert run.output["status_description"] == (
        "DATA_VALIDATION_ERROR: Recipient List: entry 1 'whatsapp:+15558675310' has "
        "a whatsapp: prefix; drop it, or choose Send WhatsApp Message."
    )


def test_a_proxy_without_a_proxy_type_is_ignored_with_a_warning(sandbox):
    fields = fields_for(sandbox, proxy="http://127.0.0.1:9")
    run = run_task(fields, sandbox.url)
    assert run.rc == 0  # sent directly, as before
    assert "Proxy: ignored because Proxy Type is empty" in run.stderr
    assert run.output["invocation"]["fields"]["proxy_type"] is None


def test_the_parsed_config_cannot_change(sandbox):
    """Workers, trackers and the output read the config from several threads:
    it is built once, frozen, and its lists are tuples."""
    fields = fields_for(sandbox, recipients="+15558675310, +15558675311,+15558675310")
    parsed = config.parse(fields)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.message = "changed"  # type: ignore[misc]
    assert parsed.recipients == ("+15558675310", "+15558675311")
    assert parsed.notices == (
        "Recipient List: +15558675310 is listed more than once; it is sent once.",
    )


@pytest.mark.parametrize(
    "changes, blamed",
    [
        # Wait For Delivery: its timeout is read before the Resend Policy ...
        ({"wait_for_delivery": True}, "Delivery Timeout"),
        # ... a call chain's after it (it is bounded by the timeout too).
        ({"call_order": ["one_by_one_until_answered"]}, "Resend Policy"),
    ],
)
def test_of_several_bad_fields_the_first_read_is_reported(sandbox, changes, blamed):
    fields = fields_for(sandbox, action="voice_message", **changes)
    fields.update(delivery_timeout=5, resend_policy=["sometimes"], validity_period=0)
    with pytest.raises(ValidationError) as caught:
        config.parse(fields)
    prefix = "DATA_VALIDATION_ERROR: {}: ".format(blamed)
    assert caught.value.status_description.startswith(prefix)
