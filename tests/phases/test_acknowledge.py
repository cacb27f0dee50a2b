"""Wait For Acknowledgement (issue 21) as a user runs it: the real CLI in a
subprocess against the sandbox, which answers pages with replies and
keypresses. UE_TWILIO_TIME_SCALE makes the 30-second minimums pass in a
second or so; nothing here asserts a duration."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import pytest

from support import oai
from support.events import journal_reaches
from support.runner import cli_env, fields_for, record, run_cli
from ue_twilio.inputs.settings import Settings
from ue_twilio.transport.client import TwilioClient

A, B, C = "+15558675310", "+15558675311", "+15558675312"
EVERYONE = ",".join((A, B, C))
FAST = "0.02"  # 30 s of the fields become 0.6 s
CLI = [sys.executable, "-m", "ue_twilio"]


def ack_fields(sandbox, action="sms_message", **extra):
    fields = fields_for(
        sandbox,
        action=action,
        recipients=EVERYONE,
        message="db01 load failed",
        wait_for_acknowledgement=True,
    )
    fields.update(extra)
    return fields


def run_fast(sandbox, fields):
    return run_cli(fields, None, env=cli_env(sandbox.url, UE_TWILIO_TIME_SCALE=FAST))


def pages(sandbox):
    """(To, Body) of every message created, in order."""
    return [
        (e.params["To"][0], e.params["Body"][0])
        for e in sandbox.creates("Messages.json")
    ]


def flags(run, key):
    return [entry[key] for entry in run.output["result"]["recipients"]]


def test_one_by_one_the_second_persons_reply_ends_it(sandbox):
    sandbox.script_reply(A, "ok", after=0.1)
    sandbox.script_reply(B, "on it {code}", after=0.1)
    fields = ack_fields(sandbox, escalation=["one_by_one"], escalation_interval=30)
    run = run_fast(sandbox, fields)
    ack = run.output["result"]["acknowledgement"]
    assert run.rc == 0, run.stderr
    assert ack["acknowledged"] is True and ack["by"] == B
    assert ack["channel"] == "sms" and ack["after_seconds"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ack["at"])
    assert [to for to, _ in pages(sandbox)] == [A, B]  # C was never paged
    assert flags(run, "paged") == [True, True, False]
    assert flags(run, "acknowledged") == [False, True, False]
    assert run.output["result"]["recipients"][2]["status"] == "not_called"
    assert run.stats["msg_not_called_count"] == 1
    assert "Waiting for acknowledgement: 1 paged, " in run.stderr
    assert "replied without their code" in run.stderr


def test_each_page_ends_with_its_own_code_on_the_last_line(sandbox):
    sandbox.script_reply(C, after=0.1)
    run = run_fast(sandbox, ack_fields(sandbox))
    assert run.rc == 0 and run.output["result"]["acknowledgement"]["by"] == C
    codes = []
    for _, body in pages(sandbox):
        first, last = body.rsplit("\n", 1)
        assert first == "db01 load failed"
        codes.append(re.fullmatch(r"Reply (\d{3,6}) to acknowledge\.", last).group(1))
    assert len(set(codes)) == 3
    assert run.output["invocation"]["fields"]["wait_for_acknowledgement"] is True
    assert run.output["invocation"]["fields"]["escalation"] == "all_at_once"


def test_nobody_acknowledging_ends_with_23_and_wrong_replies_do_not_count(sandbox):
    sandbox.script_reply(A, "ok", after=0.05)
    sandbox.script_reply(B, "x{code}1 and 9{code}", after=0.05)  # code inside words
    sandbox.script_reply(C, "STOP", after=0.05)
    fields = ack_fields(sandbox, acknowledgement_timeout=30)
    run = run_fast(sandbox, fields)
    result = run.output["result"]
    assert run.rc == 23, run.stderr
    assert run.output["status_description"] == (
        "FAIL: Nobody acknowledged within 30 seconds."
    )
    assert result["acknowledgement"] == {
        "acknowledged": False,
        "by": None,
        "at": None,
        "channel": None,
        "after_seconds": None,
    }
    assert flags(run, "paged") == [True, True, True]
    assert flags(run, "acknowledged") == [False, False, False]
    assert result["recipients"][2]["opted_out"] is True
    assert "replied STOP: opted out" in run.stderr
    inbound = [m for m in sandbox.messages.values() if m["direction"] == "inbound"]
    assert len(inbound) == 3  # every reply was there to be read


def test_voice_keypress_1_acknowledges_and_the_rest_are_ended(sandbox):
    sandbox.script_press(A, "2", after=0.05)
    sandbox.script_press(B, "1", after=0.3)
    run = run_fast(sandbox, ack_fields(sandbox, action="voice_message"))
    ack = run.output["result"]["acknowledgement"]
    assert run.rc == 0, run.stderr
    assert ack["by"] == B and ack["channel"] == "voice"
    assert flags(run, "acknowledged") == [False, True, False]
    assert "pressed: 2" in run.stderr
    flow = sandbox.flows[0]
    assert flow["status"] == "published"
    assert flow["friendly_name"] == "ue-twilio acknowledgement"
    assert "Press 1 to acknowledge." in json.dumps(flow["definition"])
    starts = sandbox.creates("/Executions")
    assert sorted(e.params["To"][0] for e in starts) == [A, B, C]
    assert json.loads(starts[0].params["Parameters"][0]) == {
        "message": "db01 load failed"
    }
    ended = [e for e in sandbox.journal if e.params.get("Status") == ["ended"]]
    assert len(ended) == 1  # C's call was still active: ended, and hung up
    assert [e for e in sandbox.journal if e.params.get("Status") == ["completed"]]


def test_a_second_voice_run_reuses_the_flow(sandbox):
    sandbox.script_press(A, "1")
    fields = ack_fields(sandbox, action="voice_message", recipient_list=A)
    assert run_fast(sandbox, fields).rc == 0
    sandbox.script_press(A, "1")
    assert run_fast(sandbox, dict(fields, voice_repeat=2)).rc == 0
    sandbox.script_press(A, "1")
    assert run_fast(sandbox, dict(fields, voice_repeat=2)).rc == 0
    flow_posts = [e.path for e in sandbox.journal if e.method == "POST"]
    flow_posts = [
        p for p in flow_posts if p.startswith("/v2/Flows") and "Exec" not in p
    ]
    assert len(sandbox.flows) == 1
    assert flow_posts[0] == "/v2/Flows" and len(flow_posts) == 2  # one update
    assert sandbox.flows[0]["revision"] == 2


def test_another_digit_or_none_does_not_acknowledge(sandbox):
    sandbox.script_press(A, "9", after=0.05)
    fields = ack_fields(
        sandbox,
        action="voice_message",
        recipient_list=f"{A},{B}",
        acknowledgement_timeout=30,
    )
    run = run_fast(sandbox, fields)
    assert run.rc == 23
    assert flags(run, "paged") == [True, True]


def test_a_cancel_ends_the_executions_and_hangs_up_the_calls(sandbox, tmp_path):
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(ack_fields(sandbox, action="voice_message")))
    proc = subprocess.Popen(
        CLI + ["run", "--fields", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox.url),
    )
    assert journal_reaches(
        sandbox,
        lambda: any(
            "Executions?" in e.path
            or (e.method == "GET" and e.path.endswith("/Executions"))
            for e in sandbox.journal
        ),
    )
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    record(stdout, stderr)
    output = json.loads(stdout)
    assert proc.returncode == 21, stderr
    assert output["result"]["cancelled"] is True
    ended = [e for e in sandbox.journal if e.params.get("Status") == ["ended"]]
    hung = [e for e in sandbox.journal if e.params.get("Status") == ["completed"]]
    assert len(ended) == 3 and len(hung) == 3
    assert {e["status"] for e in sandbox.executions} == {"ended"}
    assert all("/Calls/" in e.path for e in hung)


def test_notify_on_acknowledgement_texts_the_others_paged(sandbox):
    sandbox.script_reply(A, "{code}", after=0.05)
    run = run_fast(sandbox, ack_fields(sandbox, notify_on_acknowledgement=True))
    assert run.rc == 0
    notices = pages(sandbox)[3:]
    assert sorted(to for to, _ in notices) == [B, C]
    assert all(body.startswith("Acknowledged by " + A) for _, body in notices)


@pytest.mark.parametrize(
    "extra, field",
    [
        (
            {"escalation_interval": 29, "escalation": ["one_by_one"]},
            "Escalation Interval",
        ),
        ({"acknowledgement_timeout": 86401}, "Acknowledgement Timeout"),
        ({"message_body_text": "x" * 1580}, "Message"),
        (
            {"action": ["voice_message"], "call_order": ["one_by_one_until_answered"]},
            "Call Order",
        ),
    ],
)
def test_what_cannot_wait_for_an_acknowledgement_is_refused(sandbox, extra, field):
    run = run_fast(sandbox, dict(ack_fields(sandbox), **extra))
    assert run.rc == 20
    assert run.output["status_description"].startswith(
        "DATA_VALIDATION_ERROR: {}: ".format(field)
    )
    assert sandbox.journal == []


def test_replies_and_studio_answers_conform_to_twilios_descriptions(sandbox):
    sandbox.script_reply(A, "ok")
    sandbox.script_press(B, "1")
    run_fast(sandbox, ack_fields(sandbox, recipient_list=A, acknowledgement_timeout=30))
    inbound = [m for m in sandbox.messages.values() if m["direction"] == "inbound"]
    oai.check_resource("message", inbound[0])
    run_fast(sandbox, ack_fields(sandbox, action="voice_message", recipient_list=B))
    execution = sandbox.executions[0]
    oai.check_resource("studio.v2.flow.execution", execution)
    oai.check_resource("studio.v2.flow", sandbox.flows[0])


def test_studio_answers_are_the_documented_ones(sandbox):
    sandbox.script_press(A, "1")
    run_fast(sandbox, ack_fields(sandbox, action="voice_message", recipient_list=A))
    client = TwilioClient(
        sandbox.account_sid, sandbox.auth_token, Settings(api_url=sandbox.url)
    )
    flow = sandbox.flows[0]["sid"]
    execution = sandbox.executions[0]["sid"]
    for path in (
        "/v2/Flows",
        "/v2/Flows/" + flow,
        "/v2/Flows/{}/Executions".format(flow),
        "/v2/Flows/{}/Executions/{}".format(flow, execution),
        "/v2/Flows/{}/Executions/{}/Context".format(flow, execution),
    ):
        reply = client.get_path(path)
        oai.check_response("GET", path, reply.http_status, reply.body)
    query = {"Status": "ended"}
    path = "/v2/Flows/{}/Executions/{}".format(flow, execution)
    reply = client.post_path(path, query)
    oai.check_response("POST", path, reply.http_status, reply.body)
    client.close()


def test_a_page_twilio_refuses_escalates_to_the_next_at_once(sandbox):
    refused = "+15005550001"  # the sandbox answers 400/21211
    sandbox.script_reply(A, "{code}", after=0.05)
    fields = ack_fields(
        sandbox,
        recipient_list="{},{},{}".format(refused, A, B),
        escalation=["one_by_one"],
        escalation_interval=3600,  # scaled: 72 s, longer than the test waits
        acknowledgement_timeout=3600,
    )
    run = run_fast(sandbox, fields)
    assert run.rc == 0, run.stderr
    assert run.output["result"]["acknowledgement"]["by"] == A
    assert flags(run, "paged") == [False, True, False]
    assert run.output["result"]["recipients"][0]["status"] == "failed"


def test_nothing_paged_ends_at_once_with_the_usual_failure(sandbox):
    fields = ack_fields(
        sandbox, recipient_list="+15005550001", acknowledgement_timeout=86400
    )
    run = run_fast(sandbox, fields)
    assert run.rc == 1
    assert run.output["result"]["acknowledgement"]["acknowledged"] is False
    assert not [e for e in sandbox.journal if e.method == "GET"]


@pytest.mark.parametrize("kind", ["whatsapp", "messaging_service"])
def test_whatsapp_and_messaging_service_replies_acknowledge(sandbox, kind):
    sandbox.script_reply(B, "{code}", after=0.05)
    extra = {"action": "whatsapp_message"} if kind == "whatsapp" else {}
    if kind == "messaging_service":
        extra["sender"] = sandbox.catalog.add_service("Paging")["sid"]
    run = run_fast(sandbox, ack_fields(sandbox, **extra))
    assert run.rc == 0, run.stderr
    ack = run.output["result"]["acknowledgement"]
    assert ack["by"] == B
    assert ack["channel"] == ("whatsapp" if kind == "whatsapp" else "sms")
    polls = [e for e in sandbox.journal if e.method == "GET"]
    if kind == "whatsapp":
        assert polls[0].params["To"] == ["whatsapp:+15005550006"]
    else:
        assert "To" not in polls[0].params


def test_a_studio_flow_twilio_refuses_ends_the_run_before_any_call(sandbox):
    sandbox.faults.forbidden = True
    run = run_fast(sandbox, ack_fields(sandbox, action="voice_message"))
    assert run.rc == 3
    assert sandbox.executions == [] and sandbox.calls == {}


def test_the_ledger_records_who_was_paged_and_who_acknowledged(sandbox, tmp_path):
    """Issue 21's "Reruns": pages are queued sends in the ledger (skipped on an
    unsent_only rerun) and the acknowledgement is kept, compaction included."""
    from ue_twilio.inputs.config import parse
    from ue_twilio.ledger.state import message_digest, recipient_key

    sandbox.script_reply(B, "on it {code}", after=0.1)
    fields = ack_fields(
        sandbox,
        escalation=["one_by_one"],
        escalation_interval=30,
        resend_policy=["unsent_only"],
    )
    state = tmp_path / "state.ledger"
    env = cli_env(sandbox.url, UE_TWILIO_TIME_SCALE=FAST)
    run = run_cli(fields, None, "--state-file", str(state), env=env)
    assert run.rc == 0, run.stderr
    digest = message_digest(parse(fields))
    lines = state.read_text().splitlines()
    assert "Q " + recipient_key(digest, A) in lines  # paged, no acknowledgement
    assert "A " + recipient_key(digest, B) in lines  # paged and acknowledged
    assert not any(line.endswith(recipient_key(digest, C)) for line in lines)

    sandbox.clear_journal()
    rerun = run_cli(fields, None, "--state-file", str(state), env=env)
    assert "1 of them acknowledged the page in an earlier run" in rerun.stderr
    assert {to for to, _ in pages(sandbox)} <= {C}  # A and B are never paged twice
    assert "A " + recipient_key(digest, B) in state.read_text().splitlines()


def test_an_earlier_runs_page_in_flight_is_looked_up_then_paged(sandbox, tmp_path):
    """A run killed while paging A left A "in flight": the rerun asks Twilio
    first (nothing there with A's page) and pages A, instead of skipping A."""
    import time

    from ue_twilio.inputs.config import parse
    from ue_twilio.ledger.journal import HEADER
    from ue_twilio.ledger.state import message_digest, recipient_key

    sandbox.script_reply(A, "ack {code}", after=0.1)
    fields = ack_fields(sandbox, resend_policy=["unsent_only"], recipient_list=A)
    key = recipient_key(message_digest(parse(fields)), A)
    state = tmp_path / "state.ledger"
    now = int(time.time())
    state.write_text("{}\nR {}\nI {} {}\n".format(HEADER, now, key, now))
    env = cli_env(sandbox.url, UE_TWILIO_TIME_SCALE=FAST)
    run = run_cli(fields, None, "--state-file", str(state), env=env)
    assert run.rc == 0, run.stderr
    assert "asking Twilio about 1 recipient(s) an earlier run may" in run.stderr
    assert [to for to, _ in pages(sandbox)] == [A]
    assert run.output["result"]["acknowledgement"]["by"] == A


def test_a_page_whose_answer_was_lost_is_found_with_its_code_not_paged_twice(sandbox):
    """The lookup matches the page's own body (the message and its code)."""
    from support.runner import run_task

    sandbox.script("reset_after")  # A's page is created, its answer lost
    sandbox.script_reply(A, "ack {code}", after=0.1)
    fields = ack_fields(sandbox, recipient_list=A)
    run = run_task(
        fields,
        sandbox.url,
        reconcile_delay=0.0,
        reconcile_recheck=0.0,
        time_scale=float(FAST),
    )
    assert run.rc == 0, run.stderr
    assert [to for to, _ in pages(sandbox)] == [A]  # one page, found at Twilio
    assert "Found at Twilio" in run.stderr
