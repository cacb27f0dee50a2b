"""End to end through the sandbox: what reached Twilio, exit codes, output."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from support.events import when_answered
from support.runner import fields_for, run_cli, run_task

THREE = "+15558675310, +15558675311, +15558675312"
NUMBERS = ["+15558675310", "+15558675311", "+15558675312"]


def _expected_fields(sandbox, action, **changes):
    expected = {
        "action": action,
        "twilio_credentials_user": "****",
        "twilio_credentials_password": "****",
        "sender": "+15005550006",
        "recipient_list": NUMBERS,
        "message_body_text": "Nightly load failed",
        "call_max_duration": None,
        "answer_timeout": None,
        "proxy": None,
        "proxy_type": None,
        "proxy_ca_bundle_file": None,
        "proxy_credentials_user": None,
        "proxy_credentials_password": None,
    }
    expected.update(changes)
    return expected


def _assert_success(run, sandbox, action, **changes):
    assert run.rc == 0, run.stderr
    out = run.output
    assert out["exit_code"] == 0
    assert out["status_description"] == "SUCCESS: Task executed successfully."
    assert out["changed"] is True
    assert out["invocation"]["extension"] == "ue-twilio"
    assert out["invocation"]["version"] == "1.0.0"
    echoed = out["invocation"]["fields"]
    for key, value in _expected_fields(sandbox, action, **changes).items():
        assert echoed[key] == value, key
    assert out["result"]["stats"] == {
        "msg_queued_count": 3,
        "msg_failed_count": 0,
        "msg_unknown_count": 0,
        "msg_not_sent_count": 0,
    }
    recipients = out["result"]["recipients"]
    assert [r["to"] for r in recipients] == NUMBERS
    assert all(r["status"] == "queued" and r["sid"] for r in recipients)


def test_sms_to_three_recipients(sandbox):
    run = run_cli(fields_for(sandbox, recipients=THREE), sandbox.url)
    _assert_success(run, sandbox, "sms_message")
    creates = sandbox.creates("Messages.json")
    assert sorted(e.params["To"][0] for e in creates) == NUMBERS
    for entry in creates:
        assert entry.method == "POST"
        assert entry.auth_user == sandbox.account_sid
        assert entry.params["From"] == ["+15005550006"]
        assert entry.params["Body"] == ["Nightly load failed"]
        assert set(entry.params) == {"From", "To", "Body"}
    assert len(sandbox.journal) == 3


def test_whatsapp_prefixes_both_addresses(sandbox):
    fields = fields_for(sandbox, action="whatsapp_message", recipients=THREE)
    run = run_cli(fields, sandbox.url)
    _assert_success(run, sandbox, "whatsapp_message")
    creates = sandbox.creates("Messages.json")
    assert sorted(e.params["To"][0] for e in creates) == [
        "whatsapp:" + n for n in NUMBERS
    ]
    assert {e.params["From"][0] for e in creates} == {"whatsapp:+15005550006"}
    assert len(sandbox.journal) == 3


def test_voice_call_carries_twiml_and_timeouts(sandbox):
    fields = fields_for(
        sandbox,
        action="voice_message",
        recipients=THREE,
        answer_timeout=45,
        call_max_duration=120,
    )
    run = run_cli(fields, sandbox.url)
    _assert_success(
        run, sandbox, "voice_message", answer_timeout=45, call_max_duration=120
    )
    creates = sandbox.creates("Calls.json")
    assert len(creates) == 3 and len(sandbox.journal) == 3
    for entry in creates:
        assert entry.params["Timeout"] == ["45"]
        assert entry.params["TimeLimit"] == ["120"]
        say = ET.fromstring(entry.params["Twiml"][0]).find("Say")
        assert say.text == "Nightly load failed"


def test_twiml_injection_is_spoken_literally(sandbox):
    message = "Alert </Say><Dial>+15551234567</Dial><Say> & more"
    fields = fields_for(sandbox, action="voice_message", message=message)
    run = run_task(fields, sandbox.url)
    assert run.rc == 0
    (call,) = sandbox.creates("Calls.json")
    root = ET.fromstring(call.params["Twiml"][0])
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Say"]
    assert root.find("Say").text == message
    assert root.find(".//Dial") is None


def test_failing_magic_numbers_give_exit_21(sandbox):
    recipients = "+15558675310, +15005550001, +15005550002"
    run = run_cli(fields_for(sandbox, recipients=recipients), sandbox.url)
    assert run.rc == 21
    assert run.output["status_description"] == (
        "FAIL: Some messages were not possible to be queued. "
        "Check STDERR for more information."
    )
    assert run.output["changed"] is True
    assert run.stats == {
        "msg_queued_count": 1,
        "msg_failed_count": 2,
        "msg_unknown_count": 0,
        "msg_not_sent_count": 0,
    }
    assert "+15005550001: Twilio error 21211" in run.stderr
    assert "+15005550002: Twilio error 21612" in run.stderr
    codes = [r["error_code"] for r in run.output["result"]["recipients"]]
    assert codes == [None, 21211, 21612]
    assert (
        "Failed, rejected (by Twilio, or not a number) (2): +15005550001, +15005550002"
        in run.stderr
    )


def test_all_failed_gives_exit_1(sandbox):
    run = run_cli(fields_for(sandbox, recipients="+15005550001"), sandbox.url)
    assert run.rc == 1
    assert run.output["status_description"].startswith("FAIL: ")
    assert "21211" in run.output["status_description"]
    assert run.output["changed"] is False


def test_wrong_token_exits_2_after_one_request(sandbox):
    fields = fields_for(sandbox, recipients=THREE)
    fields["twilio_credentials"]["password"] = "wrong-token"
    run = run_cli(fields, sandbox.url)
    assert run.rc == 2
    assert run.output["status_description"].startswith(
        "AUTHENTICATION_ERROR: Account cannot be authenticated. Twilio error 20003"
    )
    assert len(sandbox.journal) == 1
    assert run.stats["msg_not_sent_count"] == 2


def test_forbidden_account_exits_3_after_one_request(sandbox):
    sandbox.faults.forbidden = True
    run = run_cli(fields_for(sandbox, recipients=THREE), sandbox.url)
    assert run.rc == 3
    assert run.output["status_description"].startswith(
        "AUTHORIZATION_ERROR: Account is not authorized to perform the requested "
        "action. Twilio error 20403"
    )
    assert len(sandbox.journal) == 1


def test_sandbox_not_running_exits_10(sandbox):
    url = sandbox.url
    sandbox.stop()
    started = time.monotonic()
    run = run_cli(fields_for(sandbox, recipients=THREE), url)
    assert run.rc == 10
    assert run.output["status_description"].startswith("CONNECTION_ERROR: ")
    assert time.monotonic() - started < 15
    assert run.stats["msg_queued_count"] == 0


def test_rate_limit_storm_queues_everyone_once(sandbox):
    sandbox.faults.concurrency_cap = 1
    sandbox.faults.latency = 0.02  # requests overlap, so the cap really bites
    numbers = ["+1555{:07d}".format(i) for i in range(30)]
    fields = fields_for(sandbox, recipients=",".join(numbers))
    run = run_task(fields, sandbox.url)
    assert run.rc == 0, run.output["status_description"]
    assert run.stats["msg_queued_count"] == 30
    created = [e.params["To"][0] for e in sandbox.creates()]
    assert sorted(created) == sorted(numbers)
    rejected = [e for e in sandbox.journal if e.status == 429]
    assert rejected, "the storm never happened"


MAX_CONCURRENT = 5


def test_cancel_stops_new_requests_at_once(sandbox):
    sandbox.faults.latency = 0.2
    numbers = ["+1555{:07d}".format(i) for i in range(50)]
    fields = fields_for(
        sandbox, recipients=",".join(numbers), max_concurrent_requests=MAX_CONCURRENT
    )
    from ue_twilio import Settings, Task

    task = Task(fields, Settings(api_url=sandbox.url))
    cancelled_at = []

    def cancel():
        cancelled_at.append(time.time())
        task.cancel()
        task.cancel()  # twice, as the agent may

    when_answered(sandbox, lambda: len(sandbox.creates()) >= 3, then=cancel)
    outcome = task.run()
    stats = outcome.output["result"]["stats"]
    assert stats["msg_queued_count"] + stats["msg_failed_count"] == 50
    assert 0 < stats["msg_not_sent_count"] < 50
    after = [e for e in sandbox.journal if e.time > cancelled_at[0]]
    assert len(after) <= MAX_CONCURRENT  # one already on its way per worker
    assert outcome.exit_code == 21
    assert outcome.output["result"]["cancelled"] is True
