"""Authentication, routing and Twilio's error document."""

from __future__ import annotations

import pytest
import requests
from sandbox_helpers import RECIPIENT, SENDER, Api, assert_twilio_error

from ue_twilio.sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox


def test_defaults_are_a_valid_account_sid_and_token():
    box = Sandbox()
    assert box.credentials == (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    assert DEFAULT_ACCOUNT_SID.startswith("AC") and len(DEFAULT_ACCOUNT_SID) == 34
    int(DEFAULT_ACCOUNT_SID[2:], 16)


def test_right_credentials_fetch_the_account(box, api):
    response = api.get(".json")
    assert response.status_code == 200
    account = response.json()
    assert account["sid"] == box.account_sid and account["status"] == "active"
    assert account["auth_token"] is None  # never echo the token


@pytest.mark.parametrize(
    "auth",
    [
        None,
        (DEFAULT_ACCOUNT_SID, "wrong-token"),
        ("AC" + "0" * 32, DEFAULT_AUTH_TOKEN),
    ],
    ids=["no-auth", "wrong-token", "wrong-user"],
)
def test_bad_credentials_get_401_20003_and_create_nothing(box, auth):
    client = Api(box, auth=auth)
    client.session.auth = auth
    response = client.sms()
    body = assert_twilio_error(response, 401, 20003)
    assert body["message"] == "Authenticate"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert box.messages == {} and box.creates() == []
    assert box.journal[-1].status == 401


def test_malformed_authorization_header_is_401(box):
    url = f"{box.url}/2010-04-01/Accounts/{box.account_sid}.json"
    for header in ("Bearer abc", "Basic !!!not-base64", "Basic"):
        response = requests.get(url, headers={"Authorization": header}, timeout=5)
        assert_twilio_error(response, 401, 20003)


def test_path_account_other_than_the_credentials_is_404_20404(box, api):
    other = "AC" + "1" * 32
    url = f"{box.url}/2010-04-01/Accounts/{other}/Messages.json"
    response = api.session.post(
        url, data={"To": RECIPIENT, "From": SENDER, "Body": "x"}
    )
    body = assert_twilio_error(response, 404, 20404)
    assert other in body["message"]
    assert box.messages == {}


def test_unknown_path_and_unknown_sid_are_404(api):
    assert_twilio_error(api.get("/Queues.json"), 404, 20404)
    assert_twilio_error(api.get("/Messages/SM" + "0" * 32 + ".json"), 404, 20404)
    assert_twilio_error(api.get("/Calls/CA" + "0" * 32 + ".json"), 404, 20404)


@pytest.mark.nonconforming_requests
def test_other_methods_are_405(api):
    response = api.session.delete(api.base + "/Messages.json", timeout=5)
    assert_twilio_error(response, 405, 20004)


def test_forbidden_answers_every_request_403_20403(box, api):
    box.faults.forbidden = True
    assert_twilio_error(api.sms(), 403, 20403)
    assert_twilio_error(api.call(), 403, 20403)
    assert_twilio_error(api.get(".json"), 403, 20403)
    assert box.messages == {} and box.calls == {}
    box.faults.forbidden = False
    assert api.sms().status_code == 201


def test_wrong_credentials_still_401_while_forbidden(box):
    box.faults.forbidden = True
    client = Api(box, auth=(box.account_sid, "nope"))
    assert_twilio_error(client.sms(), 401, 20003)


def test_custom_credentials(make_sandbox):
    sid, token = "AC" + "ab" * 16, "custom-token-123"
    box = make_sandbox(account_sid=sid, auth_token=token)
    assert Api(box).sms().status_code == 201
    default_client = Api(box, auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN))
    assert_twilio_error(default_client.sms(), 401, 20003)
