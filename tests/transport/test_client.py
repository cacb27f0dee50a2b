"""The client's one error boundary, over real sockets: every fault of the
sending path becomes a reply whose kind says whether the request may have
reached Twilio."""

from __future__ import annotations

import threading

import pytest

from ue_twilio import Settings
from ue_twilio.exceptions import TwilioConnectionError
from ue_twilio.models import ReplyKind
from ue_twilio.transport.client import TwilioClient

PARAMS = {"From": "+15005550006", "To": "+15558675310", "Body": "hello"}


def _client(box, **settings):
    settings.setdefault("read_timeout", 0.5)
    return TwilioClient(
        box.account_sid, box.auth_token, Settings(api_url=box.url, **settings)
    )


@pytest.mark.parametrize(
    "fault, kind, created",
    [
        ("reset_before", ReplyKind.UNKNOWN, 0),
        ("reset_after", ReplyKind.UNKNOWN, 1),
        ("stall", ReplyKind.UNKNOWN, 1),
        ("stall_body", ReplyKind.OK, 1),  # the 201 arrived: created, body lost
        ("lost_body", ReplyKind.OK, 1),
        ("malformed_json", ReplyKind.OK, 1),
        ("http_500", ReplyKind.UNKNOWN, 0),
        ("html_error", ReplyKind.UNKNOWN, 0),
        ("rate_limited", ReplyKind.RATE_LIMITED, 0),
    ],
)
def test_each_fault_becomes_the_reply_that_says_what_may_have_happened(
    sandbox, fault, kind, created
):
    sandbox.faults.stall_seconds = 1.0
    sandbox.script(fault)
    client = _client(sandbox)
    try:
        reply = client.create("Messages", PARAMS)
    finally:
        client.close()
    assert reply.kind == kind
    if fault in ("stall_body", "lost_body", "malformed_json"):
        assert reply.sid is None and reply.http_status == 201
    for _ in range(300):  # a stalled create is recorded when the stall ends
        if len(sandbox.creates()) >= created:
            break
        threading.Event().wait(0.01)
    assert len(sandbox.creates()) == created


def test_a_400_is_refused_not_unknown(sandbox):
    client = _client(sandbox)
    try:
        reply = client.create("Messages", dict(PARAMS, To="+15005550001"))
    finally:
        client.close()
    assert reply.kind == ReplyKind.REFUSED
    assert reply.error_code == 21211


def test_nothing_listening_never_left_and_stops_the_run(sandbox):
    url = sandbox.url
    sandbox.stop()
    client = TwilioClient(
        sandbox.account_sid, sandbox.auth_token, Settings(api_url=url)
    )
    with pytest.raises(TwilioConnectionError):
        client.create("Messages", PARAMS)
    client.close()


def test_close_waits_for_the_request_in_flight(sandbox):
    """After a cancel the task closes the client while a late request still
    waits for its answer: that request must end normally, not on a closed pool."""
    sandbox.faults.latency = 0.5
    client = _client(sandbox, read_timeout=5.0)
    replies = []
    sender = threading.Thread(
        target=lambda: replies.append(client.create("Messages", PARAMS))
    )
    sender.start()
    for _ in range(100):
        if sandbox.in_flight:
            break
        threading.Event().wait(0.01)
    client.close()
    sender.join(10)
    assert [r.kind for r in replies] == [ReplyKind.OK]
    assert replies[0].sid in sandbox.messages
    posts = len(sandbox.journal)
    with pytest.raises(TwilioConnectionError):  # after close nothing leaves
        client.create("Messages", PARAMS)
    assert len(sandbox.journal) == posts


def test_next_page_follows_only_this_accounts_path(sandbox):
    client = _client(sandbox)
    try:
        first = client.list_page("Messages", {"PageSize": "1"})
        assert first.kind == ReplyKind.OK
        forged = first._replace(
            body={"next_page_uri": "/2010-04-01/Accounts/ACother/Messages.json"}
        )
        assert client.next_page(forged) is None
        absolute = first._replace(body={"next_page_uri": "https://evil.example/x"})
        assert client.next_page(absolute) is None
    finally:
        client.close()


def test_leaving_the_with_block_closes_the_client_even_on_an_error(sandbox):
    """Test Connection and List Senders hold their clients in a ``with``: the
    pool is closed however the block ends, and nothing leaves afterwards."""
    with pytest.raises(KeyError):
        with _client(sandbox) as client:
            assert client.fetch_account().kind == ReplyKind.OK
            raise KeyError("the work failed")
    with pytest.raises(TwilioConnectionError, match="the run has ended"):
        client.fetch_account()
    assert [entry.method for entry in sandbox.journal] == ["GET"]
