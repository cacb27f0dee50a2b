"""TwiML for voice: escaped text, XML-safe, within Twilio's 4000 characters."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ue_twilio.inputs import twiml


@pytest.mark.parametrize(
    "message",
    [
        "plain",
        "</Say><Dial>+15551234567</Dial><Say>",
        "a & b < c > d \" e ' f",
        "<![CDATA[x]]> <?xml version='1.0'?> <!-- c -->",
        "\u00e9\u4e2d\U0001f4df",
    ],
)
def test_message_round_trips_as_one_say(message):
    root = ET.fromstring(twiml.say(message))
    assert [child.tag for child in root] == ["Say"]
    assert root.find("Say").text == message
    assert twiml.check_speakable(message) is None


def test_escaping_counts_towards_the_limit():
    fits = "&" * ((twiml.MAX_TWIML_LENGTH - len(twiml.say(""))) // 5)
    assert twiml.check_speakable(fits) is None
    assert "4000" in twiml.check_speakable(fits + "&")


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x1f", "\ufffe"])
def test_characters_xml_cannot_carry_are_refused(char):
    assert "control characters" in twiml.check_speakable("a" + char)
