"""Test Connection as a pre-flight (``ue-twilio check --from``): the Sender must
be the account's (else exit 20 naming it); capabilities, A2P 10DLC, toll-free
verification and inbound logging are warnings in its output."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import List

from support import runner
from support.runner import cli_env

NOT_OURS = "+15550001234"


def _check(box, *args: str, action: str = "sms"):
    command = [sys.executable, "-m", "ue_twilio", "check", "--action", action]
    proc = subprocess.run(
        command + list(args),
        capture_output=True,
        text=True,
        env=cli_env(
            box.url,
            TWILIO_ACCOUNT_SID=box.account_sid,
            TWILIO_AUTH_TOKEN=box.auth_token,
        ),
        timeout=60,
    )
    runner.record(proc.stdout, proc.stderr)
    return proc, json.loads(proc.stdout)


def _warned(out, stderr: str, *words: str) -> List[str]:
    """The warnings holding all ``words``; each also on STDERR."""
    found = [w for w in out["result"]["warnings"] if all(x in w for x in words)]
    for warning in found:
        assert "WARNING Pre-flight: " + warning in stderr
    return found


def test_a_sender_that_is_not_the_accounts_fails_naming_it(sandbox):
    proc, out = _check(sandbox, "--from", NOT_OURS)
    assert proc.returncode == 20
    assert out["status_description"] == (
        "DATA_VALIDATION_ERROR: Sender: {} is not a phone number of this "
        "Twilio account.".format(NOT_OURS)
    )
    (lookup,) = [e for e in sandbox.journal if "IncomingPhoneNumbers" in e.path]
    assert lookup.params == {"PhoneNumber": [NOT_OURS]}
    assert sandbox.creates() == []


def test_a_messaging_service_of_another_account_fails_naming_it(sandbox):
    other = "MG" + "0" * 32
    proc, out = _check(sandbox, "--from", other)
    assert proc.returncode == 20
    assert other in out["status_description"]
    assert "not a Messaging Service of this Twilio account" in out["status_description"]


def test_the_accounts_number_passes_without_warnings(sandbox):
    proc, out = _check(sandbox, "--from", "+15005550006")
    assert proc.returncode == 0, proc.stderr
    assert out["result"]["warnings"] == []
    sender = out["result"]["sender"]
    assert sender["kind"] == "phone_number"
    assert sender["capabilities"] == {"sms": True, "mms": True, "voice": True}
    assert "the Sender +15005550006 belongs to it." in out["status_description"]


def test_a_number_without_the_actions_capability_is_a_warning(sandbox):
    voice_only = sandbox.catalog.add_phone_number("+15550009999", sms=False)
    proc, out = _check(sandbox, "--from", voice_only["phone_number"])
    assert proc.returncode == 0
    assert _warned(out, proc.stderr, voice_only["phone_number"], "no SMS capability")
    assert "(1 warning(s): see result.warnings)" in out["status_description"]
    proc, out = _check(sandbox, "--from", voice_only["phone_number"], action="voice")
    assert proc.returncode == 0 and out["result"]["warnings"] == []


def test_a_toll_free_number_not_approved_is_a_warning(sandbox):
    number = sandbox.catalog.add_phone_number("+18885550100", voice=False)
    compliance = sandbox.catalog.compliance
    for status in (None, "IN_REVIEW", "TWILIO_REJECTED"):
        compliance.set_tollfree(number, status)
        proc, out = _check(sandbox, "--from", number["phone_number"])
        assert proc.returncode == 0
        assert out["result"]["sender"]["toll_free_verification"] == status
        (warning,) = _warned(out, proc.stderr, "toll-free", "30032")
        assert (status or "without a verification") in warning
    compliance.set_tollfree(number, "TWILIO_APPROVED")
    proc, out = _check(sandbox, "--from", number["phone_number"])
    assert out["result"]["warnings"] == []
    (asked,) = {
        tuple(e.params["TollfreePhoneNumberSid"])
        for e in sandbox.journal
        if e.path == "/v1/Tollfree/Verifications"
    }
    assert asked == (number["sid"],)


def test_a_service_without_a_verified_a2p_campaign_is_a_warning(sandbox):
    service = sandbox.catalog.add_service("Ops", "notifications")
    service["inbound_request_url"] = "https://example.com/inbound"
    compliance = sandbox.catalog.compliance
    for status in (None, "IN_PROGRESS", "FAILED"):
        compliance.set_a2p(service["sid"], status)
        proc, out = _check(sandbox, "--from", service["sid"])
        assert proc.returncode == 0
        assert out["result"]["sender"]["a2p_campaign_status"] == status
        (warning,) = out["result"]["warnings"]
        assert "A2P 10DLC" in warning and "30034" in warning
        assert "WARNING Pre-flight: " + warning in proc.stderr
    compliance.set_a2p(service["sid"], "VERIFIED")
    proc, out = _check(sandbox, "--from", service["sid"])
    assert out["result"]["warnings"] == []
    assert out["result"]["sender"]["logs_inbound"] is True


def test_a_service_that_logs_no_inbound_messages_warns_about_acknowledgement(sandbox):
    service = sandbox.catalog.add_service("Silent")
    sandbox.catalog.compliance.set_a2p(service["sid"], "VERIFIED")
    proc, out = _check(sandbox, "--from", service["sid"])
    assert proc.returncode == 0
    (warning,) = _warned(out, proc.stderr, "acknowledgement by reply cannot work")
    assert out["result"]["sender"]["logs_inbound"] is False
    service["use_inbound_webhook_on_number"] = True
    proc, out = _check(sandbox, "--from", service["sid"])
    assert out["result"]["warnings"] == []


def test_a_verified_caller_id_may_place_calls_but_not_send_sms(sandbox):
    caller = sandbox.catalog.compliance.add_caller_id("+15550007777")
    proc, out = _check(sandbox, "--from", caller["phone_number"], action="voice")
    assert proc.returncode == 0
    assert out["result"]["sender"]["kind"] == "verified_caller_id"
    proc, out = _check(sandbox, "--from", caller["phone_number"])
    assert proc.returncode == 20


def test_a_refused_compliance_lookup_is_a_warning_not_a_failure(sandbox):
    service = sandbox.catalog.add_service("Elsewhere")
    service["inbound_request_url"] = "https://example.com/inbound"
    sandbox.catalog.compliance.set_a2p(service["sid"], "VERIFIED")
    sandbox.catalog.compliance.refuse_a2p = True
    proc, out = _check(sandbox, "--from", service["sid"])
    assert proc.returncode == 0, proc.stderr
    (warning,) = out["result"]["warnings"]
    assert warning.startswith("Could not read its US A2P 10DLC campaign")
    assert "20403" in warning


def test_without_a_sender_the_check_is_one_account_get(sandbox):
    proc, out = _check(sandbox)
    assert proc.returncode == 0
    assert "sender" not in out["result"]
    assert [e.path for e in sandbox.journal] == [
        "/2010-04-01/Accounts/{}.json".format(sandbox.account_sid)
    ]
