"""Wait For Delivery through the sandbox's advancing statuses."""

from __future__ import annotations

import threading

import pytest

from support.events import WAIT, quiet_logger, when_answered, when_logged
from support.mock_transport import Answer, client_for, path, rate_limited
from support.runner import fields_for, run_cli
from support.tasks import run_live, statuses
from ue_twilio import Settings
from ue_twilio.engine.cancel import Cancel
from ue_twilio.engine.tracking import GET_EACH_UP_TO, Tracker, TrackSettings
from ue_twilio.models import RecipientResult, Status
from ue_twilio.output.verdict import PARTIAL

GOOD = "+15558675310"
UNDELIVERED = "+15005550011"  # message undelivered / call no-answer
FAILED_NUMBER = "+15005550012"  # message failed / call busy
NOT_DELIVERED = "FAIL: Not all messages were delivered."


@pytest.fixture
def make_box(sandboxes):
    def make(status_interval: float = 0.1):
        return sandboxes.start(status_interval=status_interval)

    return make


def _tracked(box, recipients, **extra):
    extra.setdefault("delivery_timeout", 30)
    return fields_for(box, recipients=recipients, wait_for_delivery=True, **extra)


def _gets(box):
    return [e for e in box.journal if e.method == "GET"]


def test_delivered_and_undelivered_messages_exit_22(make_box):
    box = make_box()
    fields = _tracked(box, ", ".join([GOOD, UNDELIVERED, FAILED_NUMBER]))
    run = run_cli(fields, box.url)
    assert run.rc == 22
    assert run.output["status_description"] == NOT_DELIVERED
    assert run.output["changed"] is True
    assert run.stats == {
        "msg_queued_count": 3,
        "msg_failed_count": 0,
        "msg_unknown_count": 0,
        "msg_not_sent_count": 0,
        "msg_delivered_count": 1,
        "msg_undelivered_count": 2,
        # the sandbox's fake -0.0079 USD a segment; the failed one was never sent
        "msg_segments_count": 3,
        "msg_priced_count": 3,
        "price_total": "-0.01580",
        "price_unit": "USD",
    }
    recipients = run.output["result"]["recipients"]
    assert [r["status"] for r in recipients] == ["delivered", "undelivered", "failed"]
    assert [r["error_code"] for r in recipients] == [None, 30003, 30008]
    assert all(r["sid"].startswith("SM") for r in recipients)
    assert "Not delivered: +15005550011: undelivered (Twilio error 30003" in run.stderr
    assert "Not delivered: +15005550012: failed (Twilio error 30008" in run.stderr
    # only the three creates and fetches of exactly those messages
    created = {e.created_sid for e in box.creates()}
    assert len(box.creates()) == 3
    fetched = {e.path.rsplit("/", 1)[1][: -len(".json")] for e in _gets(box)}
    assert fetched == created


def test_all_delivered_exit_0(make_box):
    box = make_box()
    run = run_live(_tracked(box, "+15558675310, +15558675311"), box.url)
    assert run.rc == 0, run.stderr
    assert run.output["status_description"] == "SUCCESS: Task executed successfully."
    assert run.stats["msg_delivered_count"] == 2
    assert run.stats["msg_undelivered_count"] == 0
    assert statuses(run) == ["delivered", "delivered"]
    assert run.output["invocation"]["fields"]["wait_for_delivery"] is True
    assert run.output["invocation"]["fields"]["delivery_timeout"] == 30


def test_read_whatsapp_counts_as_delivered(make_box):
    box = make_box()
    box.set_outcome(GOOD, "read")
    fields = _tracked(box, GOOD, action="whatsapp_message")
    run = run_live(fields, box.url)
    assert run.rc == 0
    assert statuses(run) == ["read"]
    assert run.stats["msg_delivered_count"] == 1


def test_calls_completed_versus_no_answer_and_busy(make_box):
    box = make_box()
    box.set_outcome("+15558675399", "failed")
    recipients = ", ".join([GOOD, UNDELIVERED, FAILED_NUMBER, "+15558675399"])
    fields = _tracked(box, recipients, action="voice_message")
    run = run_live(fields, box.url)
    assert run.rc == 22
    assert statuses(run) == ["completed", "no-answer", "busy", "failed"]
    assert run.stats["msg_delivered_count"] == 1
    assert run.stats["msg_undelivered_count"] == 3
    assert all(e.path.endswith(".json") and "/Calls/CA" in e.path for e in _gets(box))


def test_without_tracking_nothing_is_fetched(make_box):
    box = make_box()
    run = run_live(fields_for(box, recipients=UNDELIVERED), box.url)
    assert run.rc == 0
    assert statuses(run) == ["queued"]
    assert "msg_delivered_count" not in run.stats
    assert _gets(box) == []
    assert all("delivered_count" not in s.output_fields() for s in run.snapshots)


def test_still_pending_at_the_timeout_is_undelivered_and_says_so(make_box):
    box = make_box(status_interval=6.0)  # sent at 6 s, final at 12 s
    fields = _tracked(box, GOOD, delivery_timeout=10)
    run = run_live(fields, box.url)
    # "sent" was seen (6 s in) and the reason is the timeout: no stopwatch needed
    assert run.rc == 22
    assert run.output["status_description"] == NOT_DELIVERED
    (recipient,) = run.output["result"]["recipients"]
    assert recipient["status"] == "sent"
    assert recipient["error_message"] == (
        "no final status within the delivery timeout of 10 s; last status: sent"
    )
    assert run.stats["msg_undelivered_count"] == 1
    assert "had no final status when the delivery timeout of 10 s ended" in run.stderr


def test_cancel_during_tracking_ends_within_the_grace(make_box):
    box = make_box(status_interval=1000.0)  # never final
    numbers = ["+1555{:07d}".format(i) for i in range(8)]
    fields = _tracked(box, ",".join(numbers), max_concurrent_requests=2)
    polled = when_answered(box, lambda: _gets(box))
    run = run_live(fields, box.url, cancel_on=polled)
    assert run.cancelled_at is not None
    assert run.returned_at - run.cancelled_at < Settings().cancel_grace
    after = [e for e in box.journal if e.time > run.cancelled_at]
    assert len(after) <= 2, "more than one request per worker after the cancel"
    assert _gets(box), "tracking never polled"
    assert run.rc == 21
    assert run.output["status_description"] == PARTIAL
    assert run.output["result"]["cancelled"] is True
    assert (
        "Task was cancelled: 8 queued, 0 failed "
        "(0 rejected, 0 unknown, 0 not sent), 0 delivered." in run.stderr
    )
    recipients = run.output["result"]["recipients"]
    assert {r["status"] for r in recipients} == {"queued"}
    assert recipients[0]["error_message"] == (
        "delivery tracking was cancelled; last status: queued"
    )
    assert run.stats["msg_undelivered_count"] == 8


def test_rate_limited_polls_back_off_and_finish(make_box):
    box = make_box(status_interval=0.05)
    box.faults.concurrency_cap = 1
    box.faults.latency = 0.02
    # few enough to be fetched one by one (a list is tested in test_tracking_lists.py)
    numbers = ["+1555{:07d}".format(i) for i in range(GET_EACH_UP_TO)]
    fields = _tracked(box, ",".join(numbers), max_concurrent_requests=6)
    run = run_live(fields, box.url)
    assert run.rc == 0, run.output["status_description"]
    assert run.stats["msg_delivered_count"] == GET_EACH_UP_TO
    assert sorted(e.params["To"][0] for e in box.creates()) == numbers
    assert any(e.status == 429 for e in _gets(box)), "no 429 while tracking"


def test_forbidden_fetch_ends_tracking_with_exit_22(make_box):
    """Test credentials may create but not fetch (403): say so, do not hang."""
    box = make_box(status_interval=0.1)

    def forbid():
        box.faults.forbidden = True

    when_answered(box, lambda: len(box.creates()) >= 2, then=forbid)
    run = run_live(_tracked(box, "+15558675310, +15558675311"), box.url)
    assert run.rc == 22
    assert "Delivery tracking stopped: AUTHORIZATION_ERROR" in run.stderr
    message = run.output["result"]["recipients"][0]["error_message"]
    assert message.startswith("the status could not be fetched (AUTHORIZATION_ERROR")
    assert run.stats["msg_undelivered_count"] == 2


def test_queued_without_sid_is_looked_up_and_followed(make_box):
    """A 201 without a readable SID: its SID is found in Twilio's list, so
    its delivery can still be followed."""
    box = make_box()
    box.script("no_sid")
    run = run_live(_tracked(box, GOOD), box.url, reconcile_delay=0)
    assert run.rc == 0, run.stderr
    (recipient,) = run.output["result"]["recipients"]
    assert recipient["status"] == "delivered"
    assert recipient["sid"] in box.messages
    assert any(e.path.endswith("/Messages.json") for e in _gets(box))


def test_messaging_service_accepted_then_delivered(make_box):
    box = make_box()
    service = "MG" + "1" * 32
    fields = _tracked(box, GOOD, sender=service)
    run = run_live(fields, box.url)
    assert run.rc == 0
    assert statuses(run) == ["delivered"]
    assert box.creates()[0].params["MessagingServiceSid"] == [service]


def test_tracking_reports_live_delivered_count(make_box):
    box = make_box(status_interval=0.8)
    numbers = ["+1555{:07d}".format(i) for i in range(4)]
    run = run_live(_tracked(box, ",".join(numbers)), box.url)
    assert run.rc == 0
    fields = [s.output_fields() for s in run.snapshots]
    assert all("delivered_count" in f for f in fields)
    assert fields[-1] == {"queued_count": 4, "failed_count": 0, "delivered_count": 4}
    assert run.snapshots[-1].final and not any(s.final for s in run.snapshots[:-1])
    gaps = [b - a for a, b in zip(run.snapshot_times[:-2], run.snapshot_times[1:-1])]
    assert all(gap >= 0.99 for gap in gaps), gaps


def _still_sent(request):
    """Every fetch: the message is "sent", never final."""
    sid = path(request).rsplit("/", 1)[1][: -len(".json")]
    return Answer(200, {"sid": sid, "status": "sent"})


def _alone(client, timeout, cancelled, log=None):
    """The Tracker on its own, following three messages through ``client``."""
    sids = ["SM{:032d}".format(i) for i in range(3)]
    results = [RecipientResult("+1", Status.QUEUED, sid=sid) for sid in sids]
    tracker = Tracker(
        lambda sid: client.fetch("Messages", sid),
        results,
        TrackSettings(False, timeout, 2, poll_first=0.1),
        log or quiet_logger("tracker"),
        cancelled,
    )
    return tracker, results


def test_tracker_alone_stops_at_its_timeout():
    client, transport = client_for(_still_sent)
    try:
        tracker, _ = _alone(client, 0.6, Cancel())
        report = tracker.run()
    finally:
        client.close()
    assert (report.delivered, report.undelivered, report.pending) == (0, 3, 3)
    assert {r.error_message for r in tracker.results} == {
        "no final status within the delivery timeout of 0.6 s; last status: sent"
    }
    fetched = {path(r).rsplit("/", 1)[1] for r in transport.requests}
    assert fetched == {r.sid + ".json" for r in tracker.results}


def test_tracker_alone_ends_at_a_cancel():
    """Every look answers 429 with Retry-After 30 s; a cancel during that
    pause ends tracking at once, not at the next look nor at the 600 s
    timeout."""
    cancel = Cancel()
    after_cancel = []

    def handler(request):
        if cancel.is_set():
            after_cancel.append(request.url)
        return rate_limited("30")

    client, transport = client_for(handler)
    log = quiet_logger("tracker")
    backing_off = when_logged(log, "429 while tracking")
    tracker, results = _alone(client, 600, cancel, log)
    reports = []
    thread = threading.Thread(target=lambda: reports.append(tracker.run()), daemon=True)
    try:
        thread.start()
        assert backing_off.wait(WAIT)
        cancel.set()
        thread.join(WAIT)
    finally:
        client.close()
    assert not thread.is_alive(), "the cancel did not end tracking"
    (report,) = reports
    assert report.cancelled and report.pending == 3
    assert len(after_cancel) <= 2  # at most one already on its way per worker
    assert {r.error_message for r in tracker.results} == {
        "delivery tracking was cancelled; last status: queued"
    }


def test_long_lists_keep_the_undelivered_in_the_output():
    from ue_twilio.output.outcome import recipients_detail

    results = [
        RecipientResult("+1555{:07d}".format(i), Status.QUEUED) for i in range(10001)
    ]
    results[0].delivery = "delivered"
    results[1].delivery = "undelivered"
    results[2].delivery = "sent"  # pending at the timeout
    results[3] = RecipientResult("+15550000003", Status.FAILED, error_message="x")
    results[4] = RecipientResult("+15550000004", Status.SKIPPED)
    detail = recipients_detail(results)
    assert detail["recipients_listed"] == "not_queued_only"
    assert [r["status"] for r in detail["recipients"]] == [
        "undelivered",
        "sent",
        "failed",
    ]


def test_an_error_code_of_non_ascii_digits_is_no_number():
    """Issue 20 item 9: ``"²".isdigit()`` is true but ``int("²")`` fails; the
    tracker then retried the message until the timeout instead of reporting
    Twilio's final status."""

    def failed(request):
        sid = path(request).rsplit("/", 1)[1][: -len(".json")]
        body = {"sid": sid, "status": "failed", "error_code": "²"}
        return Answer(200, dict(body, error_message="Unreachable"))

    client, _ = client_for(failed)
    try:
        tracker, _ = _alone(client, 30.0, Cancel())
        report = tracker.run()
    finally:
        client.close()
    assert (report.delivered, report.undelivered, report.pending) == (0, 3, 0)
    assert {(r.delivery, r.error_code) for r in tracker.results} == {("failed", None)}
