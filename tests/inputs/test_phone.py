"""E.164 and recipient list splitting."""

from __future__ import annotations

import pytest

from ue_twilio.inputs import phone


@pytest.mark.parametrize("number", ["+12", "+15558675310", "+" + "9" * 15])
def test_valid_numbers(number):
    assert phone.is_e164(number)


@pytest.mark.parametrize(
    "number",
    [
        "+1",
        "+0123",
        "15558675310",
        "+" + "9" * 16,
        "+1555 8675310",
        "+1555-867",
        "+15558675310\n",
        "\uff0b15558675310",  # fullwidth plus
        "+\u0661\u0662\u0663",  # Arabic-Indic digits
        "+1555\u202e01",  # bidi override
    ],
)
def test_invalid_numbers(number):
    assert not phone.is_e164(number)


def test_split_skips_empty_entries_and_counts_positions():
    entries = list(phone.split_entries(" +1555, ,,\n+1666 ,"))
    assert entries == [(1, "+1555"), (2, "+1666")]


def test_file_lines_ignore_comments_and_keep_line_numbers():
    lines = ["# on-call\n", "+1555, +1666 # primary\n", "\n", "+1777\n"]
    assert list(phone.parse_file_lines(lines)) == [
        (2, "+1555"),
        (2, "+1666"),
        (4, "+1777"),
    ]


def test_dedupe_keeps_first_seen_order():
    assert phone.dedupe(["+2", "+1", "+2", "+3", "+1"]) == (
        ["+2", "+1", "+3"],
        ["+2", "+1"],
    )


def test_show_escapes_and_truncates():
    assert phone.show("+1\n") == "'+1\\n'"
    assert phone.show("x" * 100).endswith("...'")
