"""Create validation: Twilio's codes, and nothing created when refused."""

from __future__ import annotations

import pytest
from sandbox_helpers import RECIPIENT, SENDER, TWIML, assert_twilio_error

MG = "MG" + "a" * 32
HX = "HX" + "b" * 32
WA_TO, WA_FROM = "whatsapp:" + RECIPIENT, "whatsapp:" + SENDER

BAD_MESSAGES = [
    ({"From": SENDER, "Body": "x"}, 21604),
    ({"To": RECIPIENT, "Body": "x"}, 21603),
    ({"To": RECIPIENT, "MessagingServiceSid": "MG123", "Body": "x"}, 21701),
    ({"To": RECIPIENT, "From": SENDER}, 21619),
    ({"To": RECIPIENT, "From": SENDER, "Body": ""}, 21619),
    ({"To": RECIPIENT, "From": SENDER, "Body": "x" * 1601}, 21617),
    ({"To": RECIPIENT, "From": SENDER, "ContentSid": "HX1"}, 21655),
    ({"To": RECIPIENT, "From": SENDER, "Body": "x", "ContentVariables": "{}"}, 21654),
    (
        {"To": RECIPIENT, "From": SENDER, "ContentSid": HX, "ContentVariables": "[1]"},
        21656,
    ),
    (
        {"To": RECIPIENT, "From": SENDER, "ContentSid": HX, "ContentVariables": "{"},
        21656,
    ),
    ({"To": RECIPIENT, "From": SENDER, "MediaUrl": ["https://e.x/a.png"] * 11}, 21623),
    ({"To": RECIPIENT, "From": SENDER, "MediaUrl": "ftp://e.x/a.png"}, 21620),
    ({"To": "5558675310", "From": SENDER, "Body": "x"}, 21211),
    ({"To": "+0558675310", "From": SENDER, "Body": "x"}, 21211),
    ({"To": "+1 555 867 5310", "From": SENDER, "Body": "x"}, 21211),
    ({"To": "+1234567890123456", "From": SENDER, "Body": "x"}, 21211),
    ({"To": "whatsapp:5558675310", "From": WA_FROM, "Body": "x"}, 21211),
    ({"To": RECIPIENT, "From": "Acme Ltd", "Body": "x"}, 21212),
    ({"To": WA_TO, "From": SENDER, "Body": "x"}, 21910),
    ({"To": RECIPIENT, "From": WA_FROM, "Body": "x"}, 21910),
    ({"To": SENDER, "From": SENDER, "Body": "x"}, 21266),
    ({"To": RECIPIENT, "From": SENDER, "Body": "x", "StatusCallback": "nope"}, 21609),
]

BAD_CALLS = [
    ({"From": SENDER, "Twiml": TWIML}, 21201),
    ({"To": RECIPIENT, "Twiml": TWIML}, 21213),
    ({"To": "555", "From": SENDER, "Twiml": TWIML}, 21211),
    ({"To": WA_TO, "From": SENDER, "Twiml": TWIML}, 21211),
    ({"To": RECIPIENT, "From": "+0123", "Twiml": TWIML}, 21212),
    ({"To": RECIPIENT, "From": SENDER}, 21205),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": TWIML, "Url": "https://e.x/t"}, 21205),
    ({"To": RECIPIENT, "From": SENDER, "Url": "not a url"}, 21205),
    ({"To": RECIPIENT, "From": SENDER, "ApplicationSid": "AP1"}, 21218),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": "<Response><Say>x</Say>"}, 12100),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": "<Say>x</Say>"}, 12100),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": "plain text"}, 12100),
    (
        {
            "To": RECIPIENT,
            "From": SENDER,
            "Twiml": '<!DOCTYPE r [<!ENTITY a "aaaa">]><Response>&a;</Response>',
        },
        12100,
    ),
    (
        {
            "To": RECIPIENT,
            "From": SENDER,
            "Twiml": "<Response><Say>" + "x" * 3980 + "</Say></Response>",
        },
        32018,
    ),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": TWIML, "Timeout": "0"}, 21208),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": TWIML, "Timeout": "601"}, 21208),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": TWIML, "Timeout": "ten"}, 21208),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": TWIML, "TimeLimit": "0"}, 20001),
    ({"To": RECIPIENT, "From": SENDER, "Twiml": TWIML, "TimeLimit": "1.5"}, 20001),
]


@pytest.mark.nonconforming_requests
@pytest.mark.parametrize("params,code", BAD_MESSAGES)
def test_invalid_message_is_refused_with_twilio_code(box, api, params, code):
    assert_twilio_error(api.send_message(**params), 400, code)
    assert box.messages == {}
    entry = box.journal[-1]
    assert entry.status == 400 and entry.created_sid is None


@pytest.mark.nonconforming_requests
@pytest.mark.parametrize("params,code", BAD_CALLS)
def test_invalid_call_is_refused_with_twilio_code(box, api, params, code):
    assert_twilio_error(api.create_call(**params), 400, code)
    assert box.calls == {}
    assert box.creates("Calls.json") == []


GOOD_MESSAGES = [
    ({"To": RECIPIENT, "From": SENDER, "Body": "x" * 1600}, "SM", "queued"),
    ({"To": WA_TO, "From": WA_FROM, "Body": "hi"}, "SM", "queued"),
    ({"To": RECIPIENT, "MessagingServiceSid": MG, "Body": "hi"}, "SM", "accepted"),
    ({"To": WA_TO, "MessagingServiceSid": MG, "ContentSid": HX}, "SM", "accepted"),
    (
        {
            "To": WA_TO,
            "From": WA_FROM,
            "ContentSid": HX,
            "ContentVariables": '{"1": "a"}',
        },
        "SM",
        "queued",
    ),
    (
        {"To": RECIPIENT, "From": SENDER, "MediaUrl": "https://e.x/a.png"},
        "MM",
        "queued",
    ),
]


@pytest.mark.parametrize("params,prefix,status", GOOD_MESSAGES)
def test_valid_message_variants_are_created(box, api, params, prefix, status):
    response = api.send_message(**params)
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["sid"].startswith(prefix) and message["status"] == status
    assert message["to"] == params["To"]
    assert message["from"] == params.get("From")
    assert message["messaging_service_sid"] == params.get("MessagingServiceSid")
    assert box.creates()[0].created_sid == message["sid"]


def test_valid_call_variants_are_created(box, api):
    twiml_max = "<Response><Say>" + "x" * (4000 - 32) + "</Say></Response>"
    assert len(twiml_max) == 4000
    variants = [
        {"Twiml": TWIML, "Timeout": "1", "TimeLimit": "1"},
        {"Twiml": TWIML, "Timeout": "600", "TimeLimit": "14400"},
        {"Twiml": twiml_max},
        {"Url": "https://example.com/twiml"},
        {"ApplicationSid": "AP" + "c" * 32},
    ]
    for extra in variants:
        response = api.create_call(To=RECIPIENT, From=SENDER, **extra)
        assert response.status_code == 201, (extra, response.text)
        assert response.json()["status"] == "queued"
    assert len(box.calls) == len(variants)


def test_escaped_user_text_in_say_is_accepted(api):
    escaped = "&lt;/Say&gt;&lt;Dial&gt;+15551234567&lt;/Dial&gt;"
    twiml = f"<Response><Say>{escaped}</Say></Response>"
    response = api.create_call(To=RECIPIENT, From=SENDER, Twiml=twiml)
    assert response.status_code == 201
