"""The journal records what reached the sandbox, without credentials."""

from __future__ import annotations

import base64
import json
import time

from sandbox_helpers import RECIPIENT, SENDER, Api

from ue_twilio.sandbox import JournalEntry


def test_entry_fields_for_a_create(box, api):
    before = time.time()
    sid = api.send_message(To=RECIPIENT, From=SENDER, Body="héllo & bye").json()["sid"]
    (entry,) = box.journal
    assert isinstance(entry, JournalEntry)
    assert entry.method == "POST"
    assert entry.path == f"/2010-04-01/Accounts/{box.account_sid}/Messages.json"
    assert entry.params == {
        "To": [RECIPIENT],
        "From": [SENDER],
        "Body": ["héllo & bye"],
    }
    assert entry.auth_user == box.account_sid
    assert entry.status == 201 and entry.created_sid == sid
    assert before <= entry.time <= time.time()
    assert entry.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_credentials_never_reach_the_journal(box, tmp_path):
    api = Api(box)
    api.session.headers["Proxy-Authorization"] = "Basic c2VjcmV0"
    api.sms()
    api.get(".json")
    Api(box, auth=(box.account_sid, "wrong-token")).sms()
    path = tmp_path / "journal.jsonl"
    box.dump_journal(str(path))
    text = path.read_text(encoding="utf-8")
    pair = base64.b64encode(f"{box.account_sid}:{box.auth_token}".encode()).decode()
    for secret in (box.auth_token, "wrong-token", pair, "c2VjcmV0"):
        assert secret not in text
    for entry in box.journal:
        assert {h.lower() for h in entry.headers}.isdisjoint(
            {"authorization", "proxy-authorization"}
        )
    assert [e.auth_user for e in box.journal] == [box.account_sid] * 3


def test_every_request_is_journaled_in_order_with_its_status(box, api):
    created = api.sms().json()["sid"]
    api.get(f"/Messages/{created}.json")
    api.sms(to="+15005550001")
    api.get("/Messages.json", To=RECIPIENT)
    Api(box, auth=("ACnobody", "x")).get(".json")
    entries = box.journal
    assert [(e.method, e.status) for e in entries] == [
        ("POST", 201),
        ("GET", 200),
        ("POST", 400),
        ("GET", 200),
        ("GET", 401),
    ]
    assert entries[3].params == {"To": [RECIPIENT]}
    assert entries[4].auth_user == "ACnobody"
    times = [e.time for e in entries]
    assert times == sorted(times)


def test_creates_filters_by_path_suffix(box, api):
    api.sms()
    api.call()
    api.sms(to="+15005550002")  # refused: not a create
    assert [e.path.rsplit("/", 1)[1] for e in box.creates()] == ["Messages.json"]
    assert len(box.creates("Calls.json")) == 1
    assert len(box.creates("")) == 2


def test_clear_and_dump_jsonl(box, api, tmp_path):
    api.sms()
    api.sms(to="+15558675311")
    path = tmp_path / "j.jsonl"
    assert box.dump_journal(str(path)) == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["params"]["To"] for line in lines] == [[RECIPIENT], ["+15558675311"]]
    assert set(lines[0]) == {
        "method",
        "path",
        "params",
        "auth_user",
        "headers",
        "time",
        "status",
        "created_sid",
    }
    box.clear_journal()
    assert box.journal == []
    assert len(box.messages) == 2  # clearing the journal keeps the resources


def test_journal_can_be_disabled_for_benchmarks(make_sandbox):
    box = make_sandbox(journal=False)
    assert Api(box).sms().status_code == 201
    assert box.journal == [] and len(box.messages) == 1


def test_list_endpoint_filters_and_shapes(box, api):
    api.sms()
    api.sms(to="+15558675311")
    listing = api.get("/Messages.json", To=RECIPIENT).json()
    assert [m["to"] for m in listing["messages"]] == [RECIPIENT]
    assert listing["page"] == 0 and listing["next_page_uri"] is None
    assert len(api.get("/Messages.json").json()["messages"]) == 2
