"""SMS encoding and segments, decided before anything is sent."""

from __future__ import annotations

import pytest

from ue_twilio.output.encoding import GSM7, UCS2, analyze, describe_ucs2

EMOJI = "\U0001f600"  # outside the BMP: two UTF-16 code units
CYRILLIC = "абвгдежзийкл"  # twelve distinct non-GSM characters

CASES = [
    # (id, text, encoding, segments, characters)
    ("empty", "", GSM7, 1, 0),
    ("one-space", " ", GSM7, 1, 1),
    ("160-gsm", "a" * 160, GSM7, 1, 160),
    ("161-gsm", "a" * 161, GSM7, 2, 161),
    ("153x2-gsm", "a" * 306, GSM7, 2, 306),
    ("154x2-gsm", "a" * 307, GSM7, 3, 307),
    ("80-euro-is-160-septets", "€" * 80, GSM7, 1, 80),
    ("81-euro-is-162-septets", "€" * 81, GSM7, 2, 81),
    ("euro-at-160", "a" * 159 + "€", GSM7, 2, 160),
    ("euro-straddling-153", "a" * 152 + "€" + "a" * 152, GSM7, 3, 305),
    ("caret-straddling-153", "a" * 152 + "^" + "a" * 152, GSM7, 3, 305),
    ("braces-fill-segment-2", "a" * 153 + "{" * 76, GSM7, 2, 229),
    ("braces-overflow-segment-2", "a" * 153 + "{" * 77, GSM7, 3, 230),
    ("gsm-accents-stay-gsm", "éèùìòÇÑÜäöñüà£¥§¿¡", GSM7, 1, 18),
    ("form-feed-is-extension", "\f" * 80, GSM7, 1, 80),
    ("one-emoji", EMOJI, UCS2, 1, 1),
    ("70-ucs2", "ł" * 70, UCS2, 1, 70),
    ("71-ucs2", "ł" * 71, UCS2, 2, 71),
    ("67x2-ucs2", "ł" * 134, UCS2, 2, 134),
    ("68x2-ucs2", "ł" * 135, UCS2, 3, 135),
    ("35-emoji-is-70-units", EMOJI * 35, UCS2, 1, 35),
    ("36-emoji-is-72-units", EMOJI * 36, UCS2, 2, 36),
    ("emoji-straddling-67", "ł" * 66 + EMOJI + "ł" * 66, UCS2, 3, 133),
    ("one-emoji-makes-gsm-ucs2", "a" * 100 + EMOJI, UCS2, 2, 101),
    ("c-cedilla-lowercase-is-not-gsm", "ç", UCS2, 1, 1),
]


@pytest.mark.parametrize(
    "text,encoding,segments,characters",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_encoding_and_segments(text, encoding, segments, characters):
    found = analyze(text)
    assert (found.encoding, found.segments, found.characters) == (
        encoding,
        segments,
        characters,
    )
    assert (found.ucs2_characters == []) == (encoding == GSM7)


def test_ucs2_characters_are_distinct_in_order_and_at_most_ten():
    found = analyze("a" + CYRILLIC + CYRILLIC + EMOJI)
    assert found.ucs2_characters == list(CYRILLIC[:10])
    assert analyze("ł€ł" + EMOJI).ucs2_characters == ["ł", EMOJI]


def test_as_dict_is_the_extension_output_shape():
    assert analyze("hi " + EMOJI).as_dict() == {
        "encoding": "UCS-2",
        "segments": 1,
        "characters": 4,
        "ucs2_characters": [EMOJI],
    }


def test_warning_names_the_characters_and_suggests_smart_encoding():
    text = describe_ucs2(analyze("Disk full ł " + EMOJI))
    assert "U+0142" in text and "U+1F600" in text and "Smart Encoding" in text
    assert describe_ucs2(analyze("Disk full")) == ""
    assert "is on" in describe_ucs2(analyze("ł"), smart_encoding=True)
