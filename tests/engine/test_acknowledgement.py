"""Reply codes and how a reply is judged (engine/acknowledgement.py)."""

from __future__ import annotations

import email.utils
import random

import pytest

from ue_twilio.engine.acknowledgement import (
    ACKNOWLEDGED,
    IGNORED,
    OPTED_OUT,
    POLL_MAX,
    Inbox,
    Pace,
    Polled,
    Replies,
    assign_codes,
    code_digits,
    epoch,
)
from ue_twilio.models import Reply, ReplyKind

PAGED_AT = 1_800_000_000.0
A, B = "+15558675310", "+15558675311"


def row(sender, body, at=PAGED_AT + 5, direction="inbound", **extra):
    found = {
        "sid": "SM{:032x}".format(random.getrandbits(128)),
        "direction": direction,
        "from": sender,
        "body": body,
        "date_sent": email.utils.formatdate(at, usegmt=True),
        "date_created": email.utils.formatdate(at, usegmt=True),
    }
    found.update(extra)
    return found


@pytest.fixture
def replies():
    judge = Replies()
    judge.paged(A, "482", PAGED_AT)
    judge.paged(B, "517", PAGED_AT)
    return judge


@pytest.mark.parametrize(
    "sender, body, kind",
    [
        (A, "482", ACKNOWLEDGED),
        (A, "ok 482, on it", ACKNOWLEDGED),
        ("whatsapp:" + A, "Ack 482.", ACKNOWLEDGED),
        (A, "4821", IGNORED),  # the code must be a word of its own
        (A, "x482", IGNORED),
        (A, "517", IGNORED),  # another recipient's code
        (A, "ok", IGNORED),
        (A, "who is this?", IGNORED),
        (A, " stop ", OPTED_OUT),
        (A, "STOP 482", ACKNOWLEDGED),  # the code wins over a stop word
    ],
)
def test_a_reply_is_judged_by_its_sender_and_code(replies, sender, body, kind):
    assert replies.judge(row(sender, body)).kind == kind


def test_what_is_not_a_paged_recipients_reply_is_not_judged(replies):
    assert replies.judge(row("+15550000000", "482")) is None
    assert replies.judge(row(A, "482", direction="outbound-api")) is None
    assert replies.judge(row(A, "482", at=PAGED_AT - 1)) is None  # before the page
    assert replies.judge(row(A, "482", at=PAGED_AT)).kind == ACKNOWLEDGED


@pytest.mark.parametrize(
    "count, digits", [(1, 3), (90, 3), (91, 4), (9000, 5), (100000, 6)]
)
def test_codes_are_distinct_and_3_to_6_digits(count, digits):
    codes = assign_codes(count, random.Random(count))
    assert code_digits(count) == digits
    assert len(set(codes)) == count
    assert {len(code) for code in codes} == {digits}


def test_both_date_formats_twilio_uses_are_read():
    assert epoch("Mon, 07 Dec 2026 10:00:00 +0000") == epoch("2026-12-07T10:00:00Z")
    assert epoch("garbage") is None and epoch(None) is None


def test_polls_back_off_to_at_most_15_seconds_and_return_after_news():
    pace = Pace()
    delays = [pace.delay(Polled([])) for _ in range(10)]
    assert delays[0] == 2.0 and max(delays) == POLL_MAX
    assert delays == sorted(delays)
    pace.news()
    assert pace.delay(Polled([])) == 2.0
    assert pace.delay(Polled([], rate_limited=True, retry_after=7.0)) == 7.0


class Pages:
    """Two pages of a list, then nothing: what the inbox asks for."""

    def __init__(self, rows):
        self.rows, self.queries = rows, []

    def list_page(self, resource, query):
        self.queries.append((resource, dict(query)))
        body = {"messages": self.rows[:2], "next_page_uri": "/next"}
        return Reply(ReplyKind.OK, http_status=200, body=body)

    def next_page(self, reply):
        if reply.body.get("next_page_uri") is None:
            return None
        return Reply(ReplyKind.OK, http_status=200, body={"messages": self.rows[2:]})


def test_an_inbox_returns_each_inbound_row_once_and_keeps_its_service():
    service = "MG" + "1" * 32
    rows = [
        row(A, "1", messaging_service_sid=service),
        row(A, "2", direction="outbound-api", messaging_service_sid=service),
        row(B, "3", messaging_service_sid="MG" + "2" * 32),
        row(B, "4", messaging_service_sid=service),
    ]
    pages = Pages(rows)
    inbox = Inbox(pages, None, lambda: PAGED_AT, service)
    assert [r["body"] for r in inbox.poll().rows] == ["1", "4"]
    assert inbox.poll().rows == []
    resource, query = pages.queries[0]
    assert resource == "Messages" and "To" not in query and "DateSent>" in query


class Limited(Pages):
    """Twilio answers 429 to the list: the poll says so, with Retry-After."""

    def list_page(self, resource, query):
        return Reply(ReplyKind.RATE_LIMITED, http_status=429, retry_after=3.0)


def test_a_rate_limited_poll_waits_the_retry_policys_delay():
    inbox = Inbox(Limited([]), "+15005550006", lambda: PAGED_AT)
    polled = inbox.poll()
    assert polled.rate_limited and polled.rows == []
    assert Pace().delay(polled) == 3.0
    assert Pace().delay(Polled([], rate_limited=True)) >= 2.0  # never under 2 s
