"""Issue 12, voice options: TwiML for voice, language and repeats, answering
machine detection, and the seed's request unchanged at the defaults."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from support import calls
from support.calls import (
    FAST,
    MACHINE,
    PERSON,
    UNSURE,
    called,
    entries,
    voice_fields,
)
from support.runner import REPO, cli_env, record, run_cli, run_task
from ue_twilio.exceptions import ValidationError
from ue_twilio.inputs import config, twiml

make_box = calls.make_box

GOOD = "+15558675310"
NEW_FIELDS = (  # the six fields, by name
    "voice_name",
    "voice_language",
    "voice_repeat",
    "answering_machine",
    "call_order",
    "fallback_sms",
)
DEFAULTS = {
    "voice_name": "",
    "voice_language": None,
    "voice_repeat": 1,
    "answering_machine": ["ignore"],
    "call_order": ["all_at_once"],
    "fallback_sms": False,
}


def _twiml(entry):
    return entry.params["Twiml"][0]


def test_speech_repeats_with_a_pause_and_escapes():
    text = twiml.speech('DB "01" <down> & out', "Polly.Joanna-Neural", "en-US", 3)
    root = ET.fromstring(text)
    assert [child.tag for child in root] == ["Say", "Pause", "Say", "Pause", "Say"]
    for say in root.findall("Say"):
        assert say.text == 'DB "01" <down> & out'
        assert say.attrib == {"voice": "Polly.Joanna-Neural", "language": "en-US"}
    assert {p.attrib["length"] for p in root.findall("Pause")} == {"1"}


def test_speech_at_the_defaults_is_the_seeds_say():
    assert twiml.speech("a & b") == twiml.say("a & b")


def test_defaults_send_the_seeds_request_byte_for_byte(make_box):
    box = make_box()
    seed = voice_fields(box, [GOOD])
    explicit = dict(seed, **DEFAULTS)
    assert run_task(seed, box.url).rc == 0
    assert run_task(explicit, box.url).rc == 0
    first, second = box.creates("Calls.json")
    expected = {
        "From": ["+15005550006"],
        "To": [GOOD],
        "Twiml": ["<Response><Say>Nightly load failed</Say></Response>"],
        "Timeout": ["30"],
        "TimeLimit": ["60"],
    }
    assert first.params == expected
    assert second.params == expected


def test_voice_language_and_repeats_reach_twilio(make_box):
    box = make_box()
    fields = voice_fields(
        box,
        [GOOD],
        message="Load failed </Say><Hangup/> & retry",
        voice_name="Google.de-DE-Standard-A",
        voice_language="de-DE",
        voice_repeat=2,
    )
    run = run_cli(fields, box.url)
    assert run.rc == 0, run.stderr
    (create,) = box.creates("Calls.json")
    assert _twiml(create) == (
        '<Response><Say voice="Google.de-DE-Standard-A" language="de-DE">'
        "Load failed &lt;/Say&gt;&lt;Hangup/&gt; &amp; retry</Say>"
        '<Pause length="1"/>'
        '<Say voice="Google.de-DE-Standard-A" language="de-DE">'
        "Load failed &lt;/Say&gt;&lt;Hangup/&gt; &amp; retry</Say></Response>"
    )
    echoed = run.output["invocation"]["fields"]
    assert echoed["voice_name"] == "Google.de-DE-Standard-A"
    assert echoed["voice_repeat"] == 2


@pytest.mark.parametrize(
    "choice, detection",
    [
        ("ignore", None),
        ("leave_message", "DetectMessageEnd"),
        ("count_as_unanswered", "Enable"),
    ],
)
def test_detection_parameter_for_each_answering_machine_choice(
    make_box, choice, detection
):
    box = make_box()
    fields = voice_fields(box, [GOOD], answering_machine=[choice])
    assert run_task(fields, box.url).rc == 0
    (create,) = box.creates("Calls.json")
    assert create.params.get("MachineDetection") == ([detection] if detection else None)


@pytest.mark.parametrize(
    "voice",
    [
        "man",
        "woman",
        "alice",
        "Polly.Amy",
        "Polly.Joanna-Neural",
        "Polly.Ruth-Generative",
        "Google.en-GB-Standard-A",
        "Google.en-US-Neural2-J",
        "Google.en-US-Chirp3-HD-Aoede",
        "Google.cmn-CN-Wavenet-A",
    ],
)
def test_documented_voices_are_accepted(make_box, voice):
    parsed = config.parse(voice_fields(make_box(), [GOOD], voice_name=voice))
    assert parsed.voice_name == voice


@pytest.mark.parametrize(
    "name, value, label",
    [
        ("voice_name", "Joanna", "Voice"),
        ("voice_name", "Polly.joanna", "Voice"),
        ("voice_name", "Polly.Joanna-Turbo", "Voice"),
        ("voice_name", 'man" loop="0', "Voice"),
        ("voice_name", "Google.english-Standard-A", "Voice"),
        ("voice_language", "english", "Voice Language"),
        ("voice_language", "en_US", "Voice Language"),
        ("voice_language", 'en-US"><Dial', "Voice Language"),
        ("voice_repeat", 11, "Repeat Message"),
        ("voice_repeat", 0, "Repeat Message"),
        ("answering_machine", ["hang_up"], "Answering Machine"),
        ("call_order", ["random"], "Call Order"),
    ],
)
def test_bad_voice_options_exit_20_naming_the_field(make_box, name, value, label):
    box = make_box()
    run = run_task(voice_fields(box, [GOOD], **{name: value}), box.url)
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: {}: ".format(label)
    )
    assert box.journal == []


def test_repeats_beyond_the_twiml_limit_blame_repeat_message(make_box):
    box = make_box()
    message = "x" * 1000  # fits once, not four times
    fields = voice_fields(box, [GOOD], message=message, voice_repeat=4)
    run = run_cli(fields, box.url)
    assert run.rc == 20
    status = run.output["status_description"]
    assert status.startswith("DATA_VALIDATION_ERROR: Repeat Message: ")
    assert "4000" in status
    assert box.journal == []
    fits = voice_fields(box, [GOOD], message=message, voice_repeat=3)
    assert run_task(fits, box.url).rc == 0
    assert len(_twiml(box.creates("Calls.json")[0])) <= twiml.MAX_TWIML_LENGTH


def test_new_fields_are_read_for_voice_only(make_box):
    box = make_box()
    fields = voice_fields(box, [GOOD], voice_name="nobody", fallback_sms=True)
    fields["action"] = ["sms_message"]
    run = run_task(fields, box.url)
    assert run.rc == 0
    echoed = run.output["invocation"]["fields"]
    assert all(echoed[name] is None for name in NEW_FIELDS)
    assert "channel" not in run.output["result"]["recipients"][0]


def test_fallback_needs_calls_that_are_followed(make_box):
    with pytest.raises(ValidationError) as caught:
        config.parse(voice_fields(make_box(), [GOOD], fallback_sms=True))
    assert caught.value.status_description.startswith(
        "DATA_VALIDATION_ERROR: SMS Fallback: "
    )


def test_machine_counts_as_unanswered_for_wait_for_delivery(make_box):
    box = make_box()
    fields = voice_fields(
        box,
        [MACHINE, PERSON, UNSURE],
        answering_machine=["count_as_unanswered"],
        wait_for_delivery=True,
        delivery_timeout=30,
    )
    run = run_task(fields, box.url, **FAST)
    assert run.rc == 22, run.stderr
    calls = entries(run, "call")
    assert [c["status"] for c in calls] == ["completed"] * 3
    assert [c["answered_by"] for c in calls] == ["machine_start", "human", "unknown"]
    assert run.stats["msg_delivered_count"] == 1
    assert run.stats["msg_undelivered_count"] == 2
    assert "not by a person (answered_by: machine_start)" in calls[0]["error_message"]
    assert calls[1]["error_message"] is None
    assert "Not delivered: +15005550013: completed" in run.stderr


def test_leave_message_counts_a_mailbox_as_reached(make_box):
    box = make_box()
    fields = voice_fields(
        box,
        [MACHINE, PERSON],
        answering_machine=["leave_message"],
        wait_for_delivery=True,
        delivery_timeout=30,
    )
    run = run_task(fields, box.url, **FAST)
    assert run.rc == 0, run.stderr
    assert [c["answered_by"] for c in entries(run, "call")] == [
        "machine_end_beep",
        "human",
    ]
    assert called(box) == [MACHINE, PERSON]


def test_without_detection_answered_by_is_null(make_box):
    box = make_box()
    fields = voice_fields(box, [MACHINE], wait_for_delivery=True, delivery_timeout=30)
    run = run_task(fields, box.url, **FAST)
    assert run.rc == 0
    (call,) = entries(run, "call")
    assert call["answered_by"] is None and call["status"] == "completed"


def test_template_shows_the_new_fields_for_voice_only():
    template = json.loads(
        (REPO / "src" / "templates" / "template.json").read_text(encoding="utf-8")
    )
    by_name = {field["name"]: field for field in template["fields"]}
    action = by_name["action"]["fieldMapping"]
    for name in NEW_FIELDS:
        assert by_name[name]["showIfField"] == action, name
        assert by_name[name]["showIfFieldValue"] == "voice_message", name
    assert by_name["voice_repeat"]["intFieldMin"] == 1
    assert by_name["voice_repeat"]["intFieldMax"] == 10
    assert [c["fieldValue"] for c in by_name["call_order"]["choices"]] == [
        "all_at_once",
        "one_by_one_until_answered",
    ]


def test_send_command_takes_the_voice_options(make_box):
    box = make_box()
    options = (
        "--voice Polly.Joanna --voice-language en-US --voice-repeat 2 "
        "--answering-machine count_as_unanswered "
        "--call-order one_by_one_until_answered --fallback-sms"
    )
    command = [sys.executable, "-m", "ue_twilio", "send", "--action", "voice"]
    command += ["--from", "+15005550006", "--to", MACHINE + "," + PERSON]
    command += ["--message", "Nightly load failed"] + options.split()
    env = cli_env(
        box.url, TWILIO_ACCOUNT_SID=box.account_sid, TWILIO_AUTH_TOKEN=box.auth_token
    )
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    record(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert called(box) == [MACHINE, PERSON]
    first = box.creates("Calls.json")[0].params
    assert first["MachineDetection"] == ["Enable"]
    assert _twiml(box.creates("Calls.json")[0]).count('voice="Polly.Joanna"') == 2
    assert [e.params["To"][0] for e in box.creates("Messages.json")] == [MACHINE]
