"""List endpoints: Twilio's filters and paging, over real sockets."""

from __future__ import annotations

import datetime
import email.utils
from urllib.parse import urlsplit

import pytest
from sandbox_helpers import RECIPIENT, SENDER, Api, assert_twilio_error

from support import oai

OTHER = "+15558675399"


@pytest.fixture
def final_box(make_sandbox):
    return make_sandbox(status_interval=0)  # every resource final (sent) at once


def _page(api: Api, suffix: str, **params) -> dict:
    """One list page; the request and the answer both checked against the OpenAPI."""
    oai.check_request(
        "GET", urlsplit(api.base).path + suffix, {k: str(v) for k, v in params.items()}
    )
    response = api.get(suffix, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    oai.check_response("GET", response.request.path_url, 200, body)
    for item in body.get("messages", body.get("calls", [])):
        oai.check_resource("message" if "messages" in body else "call", item)
    return body


def _follow(api: Api, uri: str) -> dict:
    """GET a page URI verbatim, as a client following next_page_uri does."""
    response = api.session.get(api.box.url + uri, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.nonconforming_requests
def test_messages_filter_by_to_and_from_newest_first(final_box):
    api = Api(final_box)
    sids = [api.sms(to=to).json()["sid"] for to in (RECIPIENT, OTHER, RECIPIENT)]
    page = _page(api, "/Messages.json", To=RECIPIENT)
    assert [m["sid"] for m in page["messages"]] == [sids[2], sids[0]]
    assert _page(api, "/Messages.json", From=OTHER)["messages"] == []
    assert len(_page(api, "/Messages.json", From=SENDER)["messages"]) == 3
    every = api.get("/Messages.json", Bogus="ignored").json()["messages"]
    assert [m["sid"] for m in every] == sids[::-1]


def test_paging_across_three_pages_by_following_next_page_uri(final_box):
    api = Api(final_box)
    sids = [api.sms().json()["sid"] for _ in range(7)]
    page = _page(api, "/Messages.json", To=RECIPIENT, PageSize=3)
    seen, pages = [], [page]
    while page["next_page_uri"]:
        assert len(pages) < 5
        page = _follow(api, page["next_page_uri"])
        oai.check_response("GET", "/2010-04-01/Accounts/x/Messages.json", 200, page)
        pages.append(page)
    for number, one in enumerate(pages):
        seen += [m["sid"] for m in one["messages"]]
        assert one["page"] == number and one["page_size"] == 3
        assert one["start"] == 3 * number
        assert one["end"] == one["start"] + len(one["messages"]) - 1
        assert "To=%2B15558675310" in one["uri"] and "PageSize=3" in one["uri"]
        assert one["first_page_uri"].endswith("PageSize=3&Page=0")
    assert [len(one["messages"]) for one in pages] == [3, 3, 1]
    assert seen == sids[::-1]
    assert pages[0]["previous_page_uri"] is None
    assert pages[-1]["next_page_uri"] is None
    back = _follow(api, pages[2]["previous_page_uri"])
    assert back["messages"] == pages[1]["messages"] and back["page"] == 1


def test_pages_stay_stable_while_new_messages_arrive(final_box):
    api = Api(final_box)
    older = [api.sms().json()["sid"] for _ in range(4)]
    first = _page(api, "/Messages.json", PageSize=2)
    newer = api.sms().json()["sid"]
    second = _follow(api, first["next_page_uri"])
    assert [m["sid"] for m in second["messages"]] == older[1::-1]
    assert newer not in [m["sid"] for m in first["messages"] + second["messages"]]


def _day(offset_days: int = 0) -> str:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return (today + datetime.timedelta(days=offset_days)).isoformat()


def test_date_sent_filters_are_inclusive_and_take_dates_or_date_times(final_box):
    api = Api(final_box)
    sid = api.sms().json()["sid"]
    sent = email.utils.parsedate_to_datetime(api.message(sid)["date_sent"])
    stamp = sent.strftime("%Y-%m-%dT%H:%M:%SZ")
    found = {
        "DateSent>": [stamp, _day(0), _day(-1)],
        "DateSent<": [stamp, _day(1)],
        "DateSent": [_day(0), stamp],
    }
    for name, values in found.items():
        for value in values:
            listed = _page(api, "/Messages.json", **{name: value})["messages"]
            assert [m["sid"] for m in listed] == [sid], (name, value)
    later = (sent + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    missed = {
        "DateSent>": [later, _day(1)],
        "DateSent<": [_day(0)],
        "DateSent": [_day(-1)],
    }
    for name, values in missed.items():
        for value in values:
            assert _page(api, "/Messages.json", **{name: value})["messages"] == []


def test_a_message_not_yet_sent_is_not_found_by_date_sent(make_sandbox):
    box = make_sandbox(status_interval=60)  # stays queued for the whole test
    api = Api(box)
    sid = api.sms().json()["sid"]
    assert api.message(sid)["date_sent"] is None
    assert _page(api, "/Messages.json", **{"DateSent>": _day(-1)})["messages"] == []
    listed = _page(api, "/Messages.json", To=RECIPIENT)["messages"]
    assert [m["sid"] for m in listed] == [sid]


def test_the_query_string_may_carry_an_encoded_comparison(final_box):
    api = Api(final_box)
    sid = api.sms().json()["sid"]
    url = f"{api.base}/Messages.json?To=%2B15558675310&DateSent%3E={_day(0)}"
    listed = api.session.get(url, timeout=10).json()["messages"]
    assert [m["sid"] for m in listed] == [sid]


@pytest.mark.nonconforming_requests
@pytest.mark.parametrize(
    "params",
    [
        {"DateSent>": "yesterday"},
        {"PageSize": "0"},
        {"PageSize": "many"},
        {"Page": "-1"},
        {"PageToken": "PAnothing"},
    ],
)
def test_bad_list_parameters_are_a_400(api, params):
    assert_twilio_error(api.get("/Messages.json", **params), 400, 20001)


@pytest.mark.nonconforming_requests
def test_page_size_defaults_to_50_and_caps_at_1000(final_box):
    api = Api(final_box)
    assert _page(api, "/Messages.json")["page_size"] == 50
    assert api.get("/Messages.json", PageSize=5000).json()["page_size"] == 1000


def test_calls_filter_by_status_and_start_time(make_sandbox):
    box = make_sandbox(status_interval=0)
    api = Api(box)
    done = api.call().json()["sid"]
    busy = api.call(to="+15005550012").json()["sid"]
    listed = _page(api, "/Calls.json", Status="busy")["calls"]
    assert [c["sid"] for c in listed] == [busy]
    started = _page(api, "/Calls.json", **{"StartTime>": _day(0)})["calls"]
    assert {c["sid"] for c in started} == {done, busy}
    ended = _page(api, "/Calls.json", **{"EndTime>": _day(0)})["calls"]
    assert [c["sid"] for c in ended] == [done]  # busy calls have no end_time
    assert (
        _page(api, "/Calls.json", To=RECIPIENT, From=SENDER)["calls"][0]["sid"] == done
    )


def test_a_queued_call_has_no_start_time_and_is_not_found_by_it(make_sandbox):
    box = make_sandbox(status_interval=60)
    api = Api(box)
    sid = api.call().json()["sid"]
    assert api.fetch_call(sid)["start_time"] is None
    assert _page(api, "/Calls.json", **{"StartTime>": _day(-1)})["calls"] == []
    assert [c["sid"] for c in _page(api, "/Calls.json", Status="queued")["calls"]] == [
        sid
    ]


def test_a_scripted_page_fault_hits_later_pages_only(final_box):
    """``script_next_pages``: the first page answers, the next ones fail as
    scripted (in order), then paging goes on where it stopped."""
    api = Api(final_box)
    for _ in range(3):
        api.sms()
    final_box.script_next_pages("http_503")
    final_box.script_next_pages("rate_limited")
    first = _page(api, "/Messages.json", PageSize=1)
    uri = final_box.url + first["next_page_uri"]
    assert_twilio_error(api.session.get(uri, timeout=10), 503, 20503)
    assert_twilio_error(api.session.get(uri, timeout=10), 429, 20429)
    assert _follow(api, first["next_page_uri"])["messages"]
    assert len(final_box.creates()) == 3  # creates never consume a page fault


@pytest.mark.parametrize("kind", ["lost_body", "no_such_fault"])
def test_a_page_fault_must_create_nothing(final_box, kind):
    with pytest.raises(ValueError, match="unknown fault kind"):
        final_box.script_next_pages(kind)
