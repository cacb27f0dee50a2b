"""Each Twilio error code of issue 22 shows its hint, at create time and at
delivery time, on a real CLI run against the sandbox (its coded magic numbers:
To +15005551CCCCC is refused with CCCCC, +15005552CCCCC ends with CCCCC)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import calls
from support.runner import fields_for, run_cli
from ue_twilio.output.hints import HINTS

# The codes the issue lists: compliance, carrier and recipient problems.
LISTED = (
    30034, 30032, 30024, 30007, 30003, 30005, 30006,
    21610, 63016, 21408, 21215, 21612, 21614, 30450,
)  # fmt: skip
# What a person must read in a hint to know what to do (from the issue).
ADVICE = {
    30034: "A2P 10DLC",
    63016: "Content Template",
    21610: "START",
    30032: "verification",
    21408: "Geo permissions",
    21215: "Geo permissions",
}
make_box = calls.make_box
DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def _numbers(prefix: str):
    return ["{}{}".format(prefix, code) for code in LISTED]


def _entries(run):
    return {entry["to"]: entry for entry in run.output["result"]["recipients"]}


def _stderr_line(stderr: str, number: str) -> str:
    (line,) = [x for x in stderr.splitlines() if number + ":" in x and "Hint:" in x]
    return line


def test_every_listed_code_has_a_hint_with_its_advice():
    assert set(LISTED) <= set(HINTS)
    for code, words in ADVICE.items():
        assert words in HINTS[code], code


def test_create_time_errors_show_the_hint_in_the_entry_and_on_stderr(sandbox):
    numbers = _numbers("+15005551")
    run = run_cli(fields_for(sandbox, recipients=",".join(numbers)), sandbox.url)
    assert run.rc == 1, run.stderr  # nothing could be queued
    entries = _entries(run)
    for code, number in zip(LISTED, numbers):
        entry = entries[number]
        assert entry["status"] == "failed" and entry["error_code"] == code
        assert entry["hint"] == HINTS[code]
        line = _stderr_line(run.stderr, number)
        assert line.startswith("ERROR Not queued: ") and str(code) in line
        assert line.endswith("Hint: " + HINTS[code])
    assert sandbox.creates() == []


def test_delivery_time_errors_show_the_hint_in_the_entry_and_on_stderr(make_box):
    box = make_box()
    numbers = _numbers("+15005552")
    fields = fields_for(box, recipients=",".join(numbers), wait_for_delivery=True)
    run = run_cli(fields, box.url)
    assert run.rc == 22, run.stderr  # all queued, none delivered
    entries = _entries(run)
    for code, number in zip(LISTED, numbers):
        entry = entries[number]
        assert entry["status"] in ("undelivered", "failed")
        assert entry["error_code"] == code and entry["sid"]
        assert entry["hint"] == HINTS[code]
        line = _stderr_line(run.stderr, number)
        assert line.startswith("ERROR Not delivered: ")
        assert line.endswith("Hint: " + HINTS[code])


def test_whatsapp_outside_the_window_is_told_to_use_a_content_template(make_box):
    box = make_box()
    fields = fields_for(
        box,
        action="whatsapp_message",
        recipients="+1500555263016",
        wait_for_delivery=True,
    )
    run = run_cli(fields, box.url)
    assert run.rc == 22
    (entry,) = run.output["result"]["recipients"]
    assert entry["status"] == "failed" and entry["error_code"] == 63016
    assert "Content Template" in entry["hint"]


def test_an_entry_without_a_twilio_code_has_no_hint_key(sandbox):
    run = run_cli(fields_for(sandbox), sandbox.url)
    assert run.rc == 0
    (entry,) = run.output["result"]["recipients"]
    assert "hint" not in entry and "Hint:" not in run.stderr


def test_a_code_we_have_no_hint_for_says_null(sandbox):
    run = run_cli(fields_for(sandbox, recipients="+1500555129999"), sandbox.url)
    (entry,) = run.output["result"]["recipients"]
    assert entry["error_code"] == 29999 and entry["hint"] is None


@pytest.mark.parametrize("code", sorted(HINTS))
def test_the_docs_table_holds_every_hint(code):
    rows = dict(re.findall(r"^\| (\d{5}) \| .*? \| (.*) \|$", DOCS.read_text(), re.M))
    assert rows.get(str(code)) == HINTS[code]
