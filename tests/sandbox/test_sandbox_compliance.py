"""The pre-flight's endpoints (compliance.py): caller IDs, one Messaging
Service, A2P campaigns, toll-free verifications, SMS and voice prices. Every
answer is held to Twilio's OpenAPI descriptions (v2010, Messaging v1, Pricing
v1 and v2)."""

from __future__ import annotations

import json

import pytest
from sandbox_helpers import Api

from support import oai
from ue_twilio.sandbox.cli import _sandbox, build_parser


def _get(api: Api, path: str, **params) -> dict:
    response = api.session.get(api.box.url + path, params=params, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    oai.check_response("GET", response.request.path_url, 200, body)
    return body


def test_phone_numbers_filtered_by_phone_number(api, box):
    path = "/2010-04-01/Accounts/{}/IncomingPhoneNumbers.json".format(box.account_sid)
    body = _get(api, path, PhoneNumber="+15017122661")
    assert [n["phone_number"] for n in body["incoming_phone_numbers"]] == [
        "+15017122661"
    ]
    assert _get(api, path, PhoneNumber="+15550001234")["incoming_phone_numbers"] == []


def test_caller_ids_service_a2p_and_toll_free(api, box):
    compliance = box.catalog.compliance
    caller = compliance.add_caller_id("+15550007777")
    path = "/2010-04-01/Accounts/{}/OutgoingCallerIds.json".format(box.account_sid)
    (found,) = _get(api, path, PhoneNumber="+15550007777")["outgoing_caller_ids"]
    oai.check_resource("api.v2010.account.outgoing_caller_id", found)
    assert found["sid"] == caller["sid"]

    service = box.catalog.add_service("Ops")
    body = _get(api, "/v1/Services/" + service["sid"])
    oai.check_resource("messaging.v1.service", body)
    usa2p = "/v1/Services/{}/Compliance/Usa2p".format(service["sid"])
    assert _get(api, usa2p)["compliance"] == []
    compliance.set_a2p(service["sid"], "IN_PROGRESS")
    (campaign,) = _get(api, usa2p)["compliance"]
    assert campaign["campaign_status"] == "IN_PROGRESS"

    number = box.catalog.add_phone_number("+18005550100")
    tollfree = "/v1/Tollfree/Verifications"
    assert (
        _get(api, tollfree, TollfreePhoneNumberSid=number["sid"])["verifications"] == []
    )
    compliance.set_tollfree(number, "TWILIO_REJECTED")
    (verification,) = _get(api, tollfree, TollfreePhoneNumberSid=number["sid"])[
        "verifications"
    ]
    assert verification["status"] == "TWILIO_REJECTED"
    assert verification["tollfree_phone_number"] == "+18005550100"


def test_another_service_sid_is_not_found(api):
    response = api.session.get(api.box.url + "/v1/Services/MG" + "0" * 32, timeout=10)
    assert response.status_code == 404 and response.json()["code"] == 20404


def test_prices_as_configured(api, box):
    box.catalog.compliance.set_sms_price("FR", "0.0800", "France")
    body = _get(api, "/v1/Messaging/Countries/FR")
    amounts = {
        p["current_price"] for r in body["outbound_sms_prices"] for p in r["prices"]
    }
    assert amounts == {"0.0800"} and body["price_unit"] == "USD"
    box.catalog.compliance.set_voice_price("+33", "FR", "0.0200", "France")
    body = _get(api, "/v2/Voice/Numbers/+33612345678", OriginationNumber="+15005550006")
    assert body["iso_country"] == "FR"
    assert body["outbound_call_prices"][0]["current_price"] == "0.0200"
    missing = api.session.get(api.box.url + "/v1/Messaging/Countries/ZZ", timeout=10)
    assert missing.status_code == 404


@pytest.mark.parametrize("code", [30034, 21610])
def test_coded_create_errors(api, code):
    response = api.sms(to="+15005551{}".format(code))
    assert response.status_code == 400 and response.json()["code"] == code


def test_the_catalog_file_of_the_command_line(tmp_path, sandboxes):
    catalog = {
        "numbers": [
            {"phone_number": "+18885550100", "sms": True, "voice": False,
             "toll_free_verification": "IN_REVIEW"}
        ],
        "services": [{"friendly_name": "Ops", "a2p_campaign_status": "VERIFIED"}],
        "caller_ids": ["+15550007777"],
        "sms_prices": {"FR": "0.0800"},
        "voice_prices": {"+33": ["FR", "0.0200"]},
    }  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    box = _sandbox(build_parser().parse_args(["--catalog", str(path)]))
    compliance = box.catalog.compliance
    assert compliance.sms_price("FR") == "0.0800"
    assert compliance.voice_price("+33612345678") == ("FR", "FR", "0.0200")
    services = box.catalog.answer("GET", "/v1/Services", {}, False)["services"]
    (ops,) = [s for s in services if s["friendly_name"] == "Ops"]
    campaigns = compliance.answer(
        "/v1/Services/{}/Compliance/Usa2p".format(ops["sid"]), {}, "", services
    )["compliance"]
    assert [c["campaign_status"] for c in campaigns] == ["VERIFIED"]
