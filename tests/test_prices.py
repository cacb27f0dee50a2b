"""Totals of Twilio's prices: exact decimals, only what is known, one unit."""

from __future__ import annotations

import pytest

from ue_twilio.prices import Charge, totals


def _message(price, unit="USD", segments="1"):
    return Charge.of({"price": price, "price_unit": unit, "num_segments": segments})


def test_prices_add_up_exactly_as_decimals():
    # as floats -0.1 + -0.2 is -0.30000000000000004
    charges = [_message("-0.1"), _message("-0.2", segments="2")]
    assert totals(charges, is_call=False) == {
        "msg_segments_count": 3,
        "msg_priced_count": 2,
        "price_total": "-0.3",
        "price_unit": "USD",
    }


def test_unknown_prices_are_left_out_and_counted_as_such():
    charges = [_message("-0.00790"), _message(None), None, Charge()]
    counts = totals(charges, is_call=False)
    assert counts["price_total"] == "-0.00790"
    assert counts["msg_priced_count"] == 1
    assert counts["msg_segments_count"] == 2


def test_nothing_known_is_null():
    assert totals([None, Charge()], is_call=True) == {
        "msg_priced_count": 0,
        "price_total": None,
        "price_unit": None,
    }


def test_different_units_give_no_total():
    counts = totals([_message("-0.0079"), _message("-0.0081", "EUR")], False)
    assert counts["price_total"] is None and counts["price_unit"] is None
    assert counts["msg_priced_count"] == 2


@pytest.mark.parametrize(
    "resource, expected",
    [
        ({"price": "NaN", "price_unit": "USD"}, Charge(price_unit="USD")),
        ({"price": -0.5, "num_segments": True}, Charge()),
        ({"num_segments": "²", "duration": "-3"}, Charge()),
        ({"num_segments": 2, "duration": "17"}, Charge(2, duration=17)),
        ({"price": "-0.01300", "price_unit": ""}, Charge(price="-0.01300")),
    ],
)
def test_junk_from_twilio_reads_as_unknown(resource, expected):
    assert Charge.of(resource) == expected


def test_entries_show_segments_for_messages_and_duration_for_calls():
    charge = Charge(2, "-0.0158", "USD", None)
    assert charge.as_dict(is_call=False) == {
        "num_segments": 2,
        "price": "-0.0158",
        "price_unit": "USD",
    }
    assert Charge(None, "-0.013", "USD", 42).as_dict(is_call=True) == {
        "price": "-0.013",
        "price_unit": "USD",
        "duration": 42,
    }


@pytest.mark.parametrize("segments", ["\u0663", "\u00b2", "\uff13"])
def test_counts_in_other_scripts_digits_are_unknown(segments):
    """Only ASCII digits are a count: int() reads '٣' and '３' as 3."""
    counts = totals([_message("-0.1", segments=segments)], is_call=False)
    assert counts["msg_segments_count"] is None
