"""Everything the sandbox accepts, and everything it answers, fits Twilio's OpenAPI."""

from __future__ import annotations

import pytest
from sandbox_helpers import RECIPIENT, SENDER, TWIML, Api

from support import oai

MG = "MG" + "0123456789abcdef" * 2
HX = "HX" + "fedcba9876543210" * 2
WA_TO, WA_FROM = "whatsapp:" + RECIPIENT, "whatsapp:" + SENDER

MESSAGE_CREATES = [
    {"To": RECIPIENT, "From": SENDER, "Body": "plain SMS"},
    {"To": RECIPIENT, "From": SENDER, "Body": "x" * 1600},
    {"To": WA_TO, "From": WA_FROM, "Body": "WhatsApp"},
    {
        "To": WA_TO,
        "From": WA_FROM,
        "ContentSid": HX,
        "ContentVariables": '{"1": "db01"}',
    },
    {"To": RECIPIENT, "MessagingServiceSid": MG, "Body": "via a service"},
    {
        "To": RECIPIENT,
        "From": SENDER,
        "MediaUrl": ["https://e.x/a.png", "https://e.x/b.png"],
    },
    {
        "To": RECIPIENT,
        "From": SENDER,
        "Body": "with callback",
        "StatusCallback": "https://example.com/status",
        "ValidityPeriod": "600",
        "ProvideFeedback": "true",
    },
    {"To": "+15005550011", "From": "+15005550006", "Body": "will be undelivered"},
]
CALL_CREATES = [
    {
        "To": RECIPIENT,
        "From": SENDER,
        "Twiml": TWIML,
        "Timeout": "30",
        "TimeLimit": "60",
    },
    {
        "To": RECIPIENT,
        "From": SENDER,
        "Url": "https://example.com/twiml",
        "Method": "GET",
    },
    {"To": RECIPIENT, "From": SENDER, "ApplicationSid": "AP" + "1" * 32},
    {
        "To": "+15005550012",
        "From": SENDER,
        "Twiml": TWIML,
        "StatusCallbackEvent": ["ringing", "answered"],
    },
]


@pytest.fixture
def populated(make_sandbox):
    box = make_sandbox(status_interval=0.05)
    api = Api(box)
    responses = [api.send_message(**params) for params in MESSAGE_CREATES]
    responses += [api.create_call(**params) for params in CALL_CREATES]
    assert [r.status_code for r in responses] == [201] * len(responses), [
        r.text for r in responses if r.status_code != 201
    ]
    return box, api, responses


def test_every_accepted_create_conforms(populated):
    box, _, _ = populated
    assert len(box.creates("")) == len(MESSAGE_CREATES) + len(CALL_CREATES)
    oai.check_journal(box.journal, accepted_only=True)


def test_every_answer_and_fetch_is_shaped_like_the_schema(populated):
    box, api, responses = populated
    for response in responses:
        resource = response.json()
        kind = "call" if resource["sid"].startswith("CA") else "message"
        oai.check_resource(kind, resource)
    for sid in box.messages:
        oai.check_resource("message", api.message(sid))
    for sid in box.calls:
        oai.check_resource("call", api.fetch_call(sid))
    oai.check_resource("account", api.get(".json").json())


def test_final_resources_conform_too(populated):
    box, _, _ = populated
    from support.servers import wait_until

    finals = {"delivered", "undelivered", "completed", "busy"}
    assert wait_until(
        lambda: (
            all(m["status"] in finals for m in box.messages.values())
            and all(c["status"] in finals for c in box.calls.values())
        )
    )
    for message in box.messages.values():
        oai.check_resource("message", message)
    for call in box.calls.values():
        oai.check_resource("call", call)


def test_list_pages_conform(populated):
    _, api, _ = populated
    page = api.get("/Messages.json").json()
    schema = oai.spec()["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
    body = schema["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    oai._validate(page, oai.to_json_schema(body), "message list")
    calls = api.get("/Calls.json").json()
    schema = oai.spec()["paths"]["/2010-04-01/Accounts/{AccountSid}/Calls.json"]
    body = schema["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    oai._validate(calls, oai.to_json_schema(body), "call list")


BAD_REQUESTS = [
    ("POST", "/2010-04-01/Accounts/ACshort/Messages.json", {"To": "+1"}),
    ("POST", "/2010-04-01/Accounts/{sid}/Messages.json", {"Body": "no To"}),
    ("POST", "/2010-04-01/Accounts/{sid}/Messages.json", {"To": "+1", "Bogus": "x"}),
    (
        "POST",
        "/2010-04-01/Accounts/{sid}/Calls.json",
        {"To": "+1", "From": "+1", "Timeout": "x"},
    ),
    (
        "POST",
        "/2010-04-01/Accounts/{sid}/Calls.json",
        {"To": "+1", "From": "+1", "Method": "PUT"},
    ),
    ("POST", "/2010-04-01/Accounts/{sid}/Messages.json", {"To": ["+1", "+2"]}),
    (
        "POST",
        "/2010-04-01/Accounts/{sid}/Messages.json",
        {"To": "+1", "ContentSid": "HX1"},
    ),
    ("POST", "/2010-04-01/Accounts/{sid}/Nowhere.json", {}),
    ("PATCH", "/2010-04-01/Accounts/{sid}/Messages.json", {}),
]


@pytest.mark.parametrize("method,path,params", BAD_REQUESTS)
def test_the_checker_rejects_nonconforming_requests(method, path, params):
    path = path.format(sid="AC" + "0" * 32)
    with pytest.raises(AssertionError):
        oai.check_request(method, path, params)


def test_the_checker_rejects_misshapen_resources(populated):
    box, _, _ = populated
    message = next(iter(box.messages.values()))
    with pytest.raises(AssertionError):
        oai.check_resource("message", dict(message, status="teleported"))
    with pytest.raises(AssertionError):
        oai.check_resource("message", dict(message, extra_field=1))
    with pytest.raises(AssertionError):
        oai.check_resource("message", {k: v for k, v in message.items() if k != "uri"})
    with pytest.raises(AssertionError):
        oai.check_resource("message", dict(message, num_segments=1))


def test_a_missing_description_fails_instead_of_skipping(tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_OAI_SPEC", str(tmp_path / "absent.json"))
    with pytest.raises(pytest.fail.Exception, match="fetch_twilio_oai"):
        oai.spec()


def test_the_checker_reads_the_messaging_v1_description_too():
    oai.check_request("GET", "/v1/Services", {"PageSize": "20"})
    oai.check_request("POST", "/v1/Services", {"FriendlyName": "alerts"})
    service = "/v1/Services/MG" + "0" * 32
    assert oai.match_path(service)[0] == "/v1/Services/{Sid}"
    with pytest.raises(AssertionError, match="unknown parameters"):
        oai.check_request("POST", "/v1/Services", {"To": "+15558675310"})
    assert "properties" in oai.resource_schema("messaging.v1.service")
