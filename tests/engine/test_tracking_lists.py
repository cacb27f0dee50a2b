"""Wait For Delivery at scale: many recipients followed by rounds of Twilio's
list, matched to their SIDs, with Twilio's segments and price in the output.

Every request each test sent is checked against Twilio's OpenAPI description
by the ``sandbox`` fixture (conftest.py).
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

from support.events import WAIT, when_answered
from support.runner import fields_for
from support.tasks import run_live, statuses
from ue_twilio import Settings
from ue_twilio.engine.cancel import Cancel
from ue_twilio.engine.listing import Listing
from ue_twilio.engine.tracking import GET_EACH_UP_TO, Tracker, TrackSettings
from ue_twilio.models import RecipientResult, Status
from ue_twilio.transport.client import TwilioClient

SENDER = "+15005550006"
UNDELIVERED = "+15005550011"  # message: sent, then undelivered / call: no-answer
FAILED = "+15005550012"  # message: failed, never sent / call: busy
SERVICE = "MG" + "2" * 32
FAST = {"poll_first": 0.3, "poll_max": 0.6}  # many rounds within seconds


def _numbers(count: int, block: int = 0):
    return ["+1555{:03d}{:04d}".format(block, i) for i in range(count)]


def _tracked(box, numbers, **extra):
    extra.setdefault("delivery_timeout", 30)
    recipients = ",".join(numbers)
    return fields_for(box, recipients=recipients, wait_for_delivery=True, **extra)


def _lists(box, resource="Messages"):
    return [
        e
        for e in box.journal
        if e.method == "GET" and e.path.endswith("/{}.json".format(resource))
    ]


def _assert_one_get_beside_each_list_page(box):
    """While listing, a round costs one page and one GET; once few are open
    (they were sent at different times), the last ones are fetched each."""
    gets = [e for e in box.journal if e.method == "GET"]
    is_list = [e.path.endswith("/Messages.json") for e in gets]
    last_list = max(i for i, listed in enumerate(is_list) if listed)
    beside = [e for e, listed in zip(gets[:last_list], is_list) if not listed]
    assert len(beside) <= is_list.count(True), "more than one GET beside a page"
    fetched_after = {e.path for e in gets[last_list:] if e.path.endswith(".json")}
    assert len(fetched_after - {gets[last_list].path}) <= GET_EACH_UP_TO + 1


def _fetches(box, resource="Messages"):
    return [
        e
        for e in box.journal
        if e.method == "GET" and "/{}/".format(resource) in e.path
    ]


def test_a_hundred_messages_cost_a_handful_of_list_requests(sandbox):
    """Sent after 1 s, delivered after 2 s: one GET each per round would be
    hundreds of requests; rounds of one list page cost a handful."""
    sandbox.status_interval = 1.0
    numbers = _numbers(100)
    run = run_live(_tracked(sandbox, numbers), sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert statuses(run) == ["delivered"] * 100
    lists = _lists(sandbox)
    assert 1 <= len(lists) <= 20, len(lists)
    _assert_one_get_beside_each_list_page(sandbox)
    for entry in lists:
        assert entry.params["From"] == [SENDER]
        assert entry.params["PageSize"] == ["1000"]
        assert "DateSent>" in entry.params
    # Twilio's figures reach every entry and the totals (sandbox: -0.0079 USD)
    recipients = run.output["result"]["recipients"]
    assert {(r["num_segments"], r["price"], r["price_unit"]) for r in recipients} == {
        (1, "-0.00790", "USD")
    }
    assert run.stats["msg_segments_count"] == 100
    assert run.stats["msg_priced_count"] == 100
    assert run.stats["price_total"] == "-0.79000"
    assert run.stats["price_unit"] == "USD"


def test_list_rounds_find_delivered_undelivered_and_never_sent(sandbox):
    """The failed message is never sent (no date_sent), so no list shows it:
    a GET by SID beside a round finds it."""
    sandbox.status_interval = 0.2
    numbers = _numbers(GET_EACH_UP_TO + 2) + [UNDELIVERED, FAILED]
    run = run_live(_tracked(sandbox, numbers), sandbox.url, **FAST)
    assert run.rc == 22
    assert statuses(run) == ["delivered"] * (len(numbers) - 2) + [
        "undelivered",
        "failed",
    ]
    recipients = run.output["result"]["recipients"]
    assert [r["error_code"] for r in recipients[-2:]] == [30003, 30008]
    assert recipients[-1]["price"] == "0.00000"  # never sent, nothing charged
    assert _lists(sandbox)
    failed_sid = recipients[-1]["sid"]
    assert any(e.path.endswith(failed_sid + ".json") for e in _fetches(sandbox))
    assert run.stats["msg_delivered_count"] == len(numbers) - 2
    assert run.stats["msg_undelivered_count"] == 2
    assert Decimal(run.stats["price_total"]) == Decimal("-0.0079") * (len(numbers) - 1)


def test_still_queued_at_the_timeout_stay_pending_with_the_reason(sandbox):
    sandbox.status_interval = 1000.0  # never sent: no list shows them
    numbers = _numbers(40)
    run = run_live(_tracked(sandbox, numbers, delivery_timeout=10), sandbox.url)
    assert run.rc == 22
    recipients = run.output["result"]["recipients"]
    assert {r["status"] for r in recipients} == {"queued"}
    assert {r["error_message"] for r in recipients} == {
        "no final status within the delivery timeout of 10 s; last status: queued"
    }
    assert {r["price"] for r in recipients} == {None}
    assert run.stats["msg_undelivered_count"] == 40
    assert run.stats["price_total"] is None and run.stats["msg_priced_count"] == 0
    # per round: one list page and one GET of a message it did not show
    assert len(_fetches(sandbox)) <= len(_lists(sandbox)) <= 10


def test_a_messaging_service_is_listed_without_a_from_filter(sandbox):
    sandbox.status_interval = 0.2
    numbers = _numbers(GET_EACH_UP_TO + 5)
    fields = _tracked(sandbox, numbers, sender=SERVICE)
    run = run_live(fields, sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert statuses(run) == ["delivered"] * len(numbers)
    lists = _lists(sandbox)
    assert lists and all("From" not in e.params for e in lists)
    _assert_one_get_beside_each_list_page(sandbox)


def test_whatsapp_is_listed_by_its_whatsapp_sender(sandbox):
    sandbox.status_interval = 0.2
    numbers = _numbers(GET_EACH_UP_TO + 3)
    sandbox.set_outcome(numbers[0], "read")
    fields = _tracked(sandbox, numbers, action="whatsapp_message")
    run = run_live(fields, sandbox.url, **FAST)
    assert run.rc == 0, run.stderr
    assert statuses(run) == ["read"] + ["delivered"] * (len(numbers) - 1)
    lists = _lists(sandbox)
    assert lists and {e.params["From"][0] for e in lists} == {"whatsapp:" + SENDER}
    assert run.stats["msg_priced_count"] == len(numbers)


def test_calls_are_listed_with_their_price_and_duration(sandbox):
    sandbox.status_interval = 0.2
    numbers = _numbers(GET_EACH_UP_TO + 2)
    sandbox.set_outcome(numbers[1], "failed")  # never dialled: no start_time
    numbers += [UNDELIVERED, FAILED]
    fields = _tracked(sandbox, numbers, action="voice_message")
    run = run_live(fields, sandbox.url, **FAST)
    assert run.rc == 22
    expected = ["completed"] * (len(numbers) - 2) + ["no-answer", "busy"]
    expected[1] = "failed"
    assert statuses(run) == expected
    lists = _lists(sandbox, "Calls")
    assert lists and all(e.params["From"] == [SENDER] for e in lists)
    assert all("StartTime>" in e.params for e in lists)
    recipients = run.output["result"]["recipients"]
    answered = [r for r in recipients if r["status"] == "completed"]
    assert {(r["price"], r["price_unit"]) for r in answered} == {("-0.01300", "USD")}
    assert all(isinstance(r["duration"], int) for r in answered)
    assert all("num_segments" not in r for r in recipients)
    assert "msg_segments_count" not in run.stats
    assert Decimal(run.stats["price_total"]) == Decimal("-0.013") * len(answered)


def test_without_tracking_no_price_is_reported(sandbox):
    run = run_live(fields_for(sandbox, recipients="+15558675310"), sandbox.url)
    assert run.rc == 0
    (recipient,) = run.output["result"]["recipients"]
    assert "price" not in recipient and "num_segments" not in recipient
    assert "price_total" not in run.stats


def test_cancel_during_list_rounds_ends_within_the_grace(sandbox):
    sandbox.status_interval = 1000.0
    numbers = _numbers(30)
    listed = when_answered(sandbox, lambda: _lists(sandbox))
    run = run_live(_tracked(sandbox, numbers), sandbox.url, cancel_on=listed, **FAST)
    assert run.cancelled_at is not None
    assert run.returned_at - run.cancelled_at < Settings().cancel_grace
    assert _lists(sandbox), "no list round before the cancel"
    assert run.output["result"]["cancelled"] is True
    recipients = run.output["result"]["recipients"]
    assert {r["error_message"] for r in recipients} == {
        "delivery tracking was cancelled; last status: queued"
    }


class _Direct:
    """The Tracker on its own with small list pages, over the sandbox."""

    def __init__(self, box, count: int, status_interval: float):
        box.status_interval = status_interval
        self.client = TwilioClient(
            box.account_sid, box.auth_token, Settings(api_url=box.url)
        )
        since = time.time()
        self.results = [self._create("+1555{:07d}".format(i)) for i in range(count)]
        self.listing = Listing(self.client, "Messages", SENDER, since, page_size=10)

    def _create(self, to: str) -> RecipientResult:
        params = {"From": SENDER, "To": to, "Body": "x"}
        reply = self.client.create("Messages", params)
        return RecipientResult(to, Status.QUEUED, sid=reply.sid)

    def track(self, cancel=None, timeout=30) -> Tracker:
        settings = TrackSettings(False, timeout, 4, poll_first=0.3, poll_max=0.6)
        return Tracker(
            lambda sid: self.client.fetch("Messages", sid),
            self.results,
            settings,
            logging.getLogger("ue_twilio.test.lists"),
            cancel or Cancel(),
            self.listing,
        )


def test_a_list_page_failing_mid_way_is_tried_again(sandbox):
    """Page 2 of 4 fails (500, then a dropped connection, then 429): the
    rows of page 1 count, nobody is lost, a later round finds the rest."""
    direct = _Direct(sandbox, 35, status_interval=0)  # delivered at once
    for kind in ("http_500", "reset_before", "rate_limited"):
        sandbox.script_next_pages(kind)
    try:
        tracker = direct.track()
        report = tracker.run()
    finally:
        direct.client.close()
    assert (report.delivered, report.undelivered, report.pending) == (35, 0, 0)
    assert {r.delivery for r in tracker.results} == {"delivered"}
    assert {r.delivery for r in direct.results} == {None}  # replaced, not mutated
    later_pages = [e for e in _lists(sandbox) if "PageToken" in e.params]
    assert [e.status for e in later_pages[:3]] == [500, 0, 429]
    assert all(e.params["PageSize"] == ["10"] for e in _lists(sandbox))
    assert tracker.rounds >= 2


def _cancel_after_a_round(sandbox, direct: _Direct):
    """Run the tracker; once a list round was answered, set the cancel."""
    cancel = Cancel()
    tracker = direct.track(cancel, timeout=600)
    listed = when_answered(sandbox, lambda: _lists(sandbox))
    reports = []
    thread = threading.Thread(target=lambda: reports.append(tracker.run()), daemon=True)
    try:
        thread.start()
        assert listed.wait(WAIT), "no list round"
        cancel.set()
        thread.join(WAIT)
    finally:
        direct.client.close()
    # it returned: the cancel ended it, not the 600 s timeout
    assert not thread.is_alive(), "the cancel did not end tracking"
    return reports[0]


def test_cancel_wakes_the_tracker_between_rounds(sandbox):
    direct = _Direct(sandbox, 15, status_interval=1000.0)
    report = _cancel_after_a_round(sandbox, direct)
    assert report.cancelled and report.pending == 15
