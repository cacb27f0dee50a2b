"""Magic numbers of Twilio's documented test credentials, and asynchronous outcomes."""

from __future__ import annotations

import pytest
from sandbox_helpers import RECIPIENT, SENDER, Api, assert_twilio_error

from support.servers import wait_until

MESSAGE_FROM = [
    ("+15005550001", 21212),
    ("+15005550007", 21606),
    ("+15005550008", 21611),
]
MESSAGE_TO = [
    ("+15005550001", 21211),
    ("+15005550002", 21612),
    ("+15005550003", 21408),
    ("+15005550004", 21610),
    ("+15005550009", 21614),
]
CALL_TO = [
    ("+15005550001", 21217),
    ("+15005550002", 21214),
    ("+15005550003", 21215),
    ("+15005550004", 21216),
]


@pytest.mark.parametrize("sender,code", MESSAGE_FROM)
def test_message_magic_from(box, api, sender, code):
    assert_twilio_error(
        api.send_message(To=RECIPIENT, From=sender, Body="x"), 400, code
    )
    assert box.messages == {}


@pytest.mark.parametrize("recipient,code", MESSAGE_TO)
def test_message_magic_to(box, api, recipient, code):
    body = assert_twilio_error(api.sms(to=recipient), 400, code)
    assert recipient in body["message"]
    assert box.messages == {}


@pytest.mark.parametrize("recipient,code", MESSAGE_TO[:2])
def test_message_magic_to_behind_whatsapp_prefix(api, recipient, code):
    response = api.send_message(
        To="whatsapp:" + recipient, From="whatsapp:" + SENDER, Body="x"
    )
    assert_twilio_error(response, 400, code)


def test_message_magic_from_ok_number_is_accepted(api):
    response = api.send_message(To=RECIPIENT, From="+15005550006", Body="x")
    assert response.status_code == 201


@pytest.mark.parametrize("recipient,code", CALL_TO)
def test_call_magic_to(box, api, recipient, code):
    assert_twilio_error(api.call(to=recipient), 400, code)
    assert box.calls == {}


def test_call_magic_from_invalid(api):
    response = api.create_call(
        To=RECIPIENT, From="+15005550001", Twiml="<Response><Say>x</Say></Response>"
    )
    assert_twilio_error(response, 400, 21212)


@pytest.mark.parametrize("sender", ["+15005550006", SENDER, "+447700900123"])
def test_calls_accept_any_valid_from_unlike_test_credentials(api, sender):
    """Deliberate deviation: real test credentials answer 21210 for these."""
    response = api.create_call(
        To=RECIPIENT, From=sender, Twiml="<Response><Say>x</Say></Response>"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "recipient,message_final,error_code,call_final",
    [
        ("+15005550011", "undelivered", 30003, "no-answer"),
        ("+15005550012", "failed", 30008, "busy"),
        (RECIPIENT, "delivered", None, "completed"),
    ],
)
def test_async_magic_outcomes(
    make_sandbox, recipient, message_final, error_code, call_final
):
    box = make_sandbox(status_interval=0.05)
    api = Api(box)
    created = api.sms(to=recipient)
    call = api.call(to=recipient)
    assert created.status_code == 201 and created.json()["status"] == "queued"
    assert call.status_code == 201 and call.json()["status"] == "queued"
    sid, call_sid = created.json()["sid"], call.json()["sid"]
    assert wait_until(lambda: api.message(sid)["status"] == message_final)
    assert api.message(sid)["error_code"] == error_code
    assert wait_until(lambda: api.fetch_call(call_sid)["status"] == call_final)
