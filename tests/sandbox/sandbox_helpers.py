"""Client and polling helpers shared by the sandbox tests."""

from __future__ import annotations

import requests

from ue_twilio.sandbox import Sandbox

TWIML = "<Response><Say>Disk full on db01</Say></Response>"
SENDER = "+15017122661"
RECIPIENT = "+15558675310"

ERROR_KEYS = {"code", "message", "more_info", "status"}


def assert_twilio_error(response: requests.Response, status: int, code: int) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code and body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return body


class Api:
    """A requests.Session bound to one sandbox account, as a client would use it."""

    def __init__(self, box: Sandbox, verify=True, auth=None) -> None:
        self.box = box
        self.session = requests.Session()
        self.session.auth = auth if auth is not None else box.credentials
        # REQUESTS_CA_BUNDLE in the environment beats Session.verify; passing
        # verify per request beats the environment.
        self.verify = verify
        self.base = f"{box.url}/2010-04-01/Accounts/{box.account_sid}"

    def send_message(self, **params) -> requests.Response:
        return self.session.post(
            self.base + "/Messages.json", data=params, timeout=10, verify=self.verify
        )

    def sms(self, to: str = RECIPIENT, **extra) -> requests.Response:
        return self.send_message(To=to, From=SENDER, Body="hello", **extra)

    def create_call(self, **params) -> requests.Response:
        return self.session.post(
            self.base + "/Calls.json", data=params, timeout=10, verify=self.verify
        )

    def call(self, to: str = RECIPIENT, **extra) -> requests.Response:
        return self.create_call(To=to, From=SENDER, Twiml=TWIML, **extra)

    def get(self, suffix: str, **params) -> requests.Response:
        return self.session.get(
            self.base + suffix, params=params, timeout=10, verify=self.verify
        )

    def message(self, sid: str) -> dict:
        return self.get(f"/Messages/{sid}.json").json()

    def fetch_call(self, sid: str) -> dict:
        return self.get(f"/Calls/{sid}.json").json()

    def close(self) -> None:
        self.session.close()
