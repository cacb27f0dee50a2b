"""API keys, IncomingPhoneNumbers, Messaging v1 Services, ValidityPeriod,
SmartEncoded, StatusCallback, num_segments and price in the sandbox."""

from __future__ import annotations

import pytest
import requests
from sandbox_helpers import RECIPIENT, SENDER, Api, assert_twilio_error

from support import oai
from ue_twilio.sandbox import DEFAULT_AUTH_TOKEN
from ue_twilio.sandbox.resources import num_segments


def test_an_api_key_authenticates_with_the_account_from_the_path(box):
    client = Api(box, auth=(box.api_key_sid, box.api_key_secret))
    response = client.sms()
    assert response.status_code == 201
    assert response.json()["account_sid"] == box.account_sid
    (entry,) = box.journal
    assert entry.auth_user == box.api_key_sid
    assert entry.path == f"/2010-04-01/Accounts/{box.account_sid}/Messages.json"


@pytest.mark.parametrize(
    "secret", ["wrong-secret", DEFAULT_AUTH_TOKEN], ids=["wrong", "account-token"]
)
def test_an_api_key_with_a_wrong_secret_is_401(box, secret):
    client = Api(box, auth=(box.api_key_sid, secret))
    assert_twilio_error(client.sms(), 401, 20003)
    assert box.messages == {}


def test_an_api_key_cannot_reach_another_account(box):
    client = Api(box, auth=(box.api_key_sid, box.api_key_secret))
    client.base = client.base.replace(box.account_sid, "AC" + "1" * 32)
    assert_twilio_error(client.sms(), 404, 20404)


@pytest.mark.nonconforming_requests
@pytest.mark.parametrize("value", ["0", "36001", "ten", "-5", "1.5"])
def test_validity_period_out_of_range_is_21624(api, box, value):
    assert_twilio_error(api.sms(ValidityPeriod=value), 400, 21624)
    assert box.messages == {}


@pytest.mark.parametrize("value", ["1", "36000"])
def test_validity_period_in_range_is_accepted(api, value):
    assert api.sms(ValidityPeriod=value).status_code == 201


@pytest.mark.nonconforming_requests
def test_smart_encoded_must_be_a_boolean(api):
    assert api.sms(SmartEncoded="true").status_code == 201
    assert api.sms(SmartEncoded="False").status_code == 201
    assert_twilio_error(api.sms(SmartEncoded="yes"), 400, 20001)


@pytest.mark.parametrize("create", ["sms", "call"])
def test_status_callback_must_be_an_http_url(api, create):
    send = getattr(api, create)
    assert send(StatusCallback="https://hooks.example.com/status").status_code == 201
    assert_twilio_error(send(StatusCallback="ftp://example.com/x"), 400, 21609)


def _list(box, path, **params):
    response = requests.get(
        box.url + path, params=params, auth=box.credentials, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_incoming_phone_numbers_page_in_the_v2010_envelope(box):
    for n in range(5):
        box.catalog.add_phone_number("+1555010000{}".format(n))
    path = f"/2010-04-01/Accounts/{box.account_sid}/IncomingPhoneNumbers.json"
    first = _list(box, path, PageSize=4)
    assert len(first["incoming_phone_numbers"]) == 4 and first["page"] == 0
    second = requests.get(
        box.url + first["next_page_uri"], auth=box.credentials, timeout=10
    ).json()
    assert len(second["incoming_phone_numbers"]) == 4 and second["page"] == 1
    assert second["next_page_uri"] is None  # 3 defaults + 5 = 8 numbers
    numbers = first["incoming_phone_numbers"] + second["incoming_phone_numbers"]
    assert len({n["sid"] for n in numbers}) == 8
    for number in numbers:
        oai.check_resource("api.v2010.account.incoming_phone_number", number)
    for entry in box.journal:
        oai.check_request(entry.method, entry.path, entry.params)


def test_messaging_services_in_the_v1_envelope(box):
    document = _list(box, "/v1/Services")
    names = [s["friendly_name"] for s in document["services"]]
    assert names == ["On-call alerts", "Marketing"]
    assert all(s["sid"].startswith("MG") for s in document["services"])
    meta = document["meta"]
    assert meta["key"] == "services" and meta["next_page_url"] is None
    assert meta["url"].startswith(box.url + "/v1/Services")


def test_messaging_services_page_with_absolute_links(box):
    box.catalog.add_service("Third")
    first = _list(box, "/v1/Services", PageSize=2)
    link = first["meta"]["next_page_url"]
    assert link.startswith(box.url)
    second = requests.get(link, auth=box.credentials, timeout=10).json()
    assert [s["friendly_name"] for s in second["services"]] == ["Third"]


def test_lists_need_credentials(box):
    response = requests.get(box.url + "/v1/Services", timeout=10)
    assert_twilio_error(response, 401, 20003)


@pytest.mark.parametrize(
    "body,segments",
    [
        ("a" * 152 + "€", 1),  # 154 septets fit one unsplit message
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the pair moves whole
        ("a" * 153 + "€" * 76, 2),
        ("a" * 153 + "€" * 77, 3),
        ("ł" * 66 + "👍" + "ł" * 3, 2),  # the surrogate pair opens segment 2
        ("ł" * 66 + "👍" + "ł" * 66, 3),  # 134 units, but the pair moves whole
    ],
)
def test_num_segments_never_split_a_pair(body, segments):
    assert num_segments(body) == segments


def test_price_is_null_until_final_then_per_segment(make_sandbox):
    box = make_sandbox(status_interval=0)
    api = Api(box)
    try:
        long = api.send_message(To=RECIPIENT, From=SENDER, Body="x" * 200).json()
        short = api.sms().json()
        call = api.call().json()
    finally:
        api.close()
    messages = box.messages
    assert messages[long["sid"]]["num_segments"] == "2"
    assert messages[long["sid"]]["price"] == "-0.01580"
    assert messages[short["sid"]]["price"] == "-0.00790"
    assert messages[long["sid"]]["price_unit"] == "USD"
    assert box.calls[call["sid"]]["price"] == "-0.01300"


def test_price_of_a_pending_message_is_null(make_sandbox):
    box = make_sandbox(status_interval=60)
    api = Api(box)
    try:
        created = api.sms().json()
    finally:
        api.close()
    assert created["price"] is None
    assert box.messages[created["sid"]]["price"] is None
