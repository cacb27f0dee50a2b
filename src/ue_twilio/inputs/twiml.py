"""TwiML for a text-to-speech call.

The message is XML-escaped, so text such as ``</Say><Dial>`` is spoken, never
executed as a verb.
"""

from __future__ import annotations

import re
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

MAX_TWIML_LENGTH = 4000
PAUSE = '<Pause length="1"/>'
# Characters XML 1.0 cannot carry even when escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def say(message: str) -> str:
    return "<Response><Say>{}</Say></Response>".format(escape(message))


def speech(
    message: str,
    voice: Optional[str] = None,
    language: Optional[str] = None,
    repeat: int = 1,
) -> str:
    """``<Say>`` with optional voice and language, spoken ``repeat`` times.

    The repeats are separate ``<Say>`` verbs with ``<Pause length="1"/>``
    between them rather than ``loop``, which repeats without a breath. With
    the defaults the result is exactly :func:`say`'s.
    """
    attributes = ""
    if voice:
        attributes += " voice={}".format(quoteattr(voice))
    if language:
        attributes += " language={}".format(quoteattr(language))
    one = "<Say{}>{}</Say>".format(attributes, escape(message))
    return "<Response>{}</Response>".format(PAUSE.join([one] * max(repeat, 1)))


def check_speakable(message: str) -> Optional[str]:
    """Return why the message cannot become TwiML, or None when it can."""
    if _NOT_XML.search(message):
        return "contains control characters that a voice message cannot carry"
    length = len(say(message))
    if length > MAX_TWIML_LENGTH:
        return (
            "becomes {} characters of TwiML once escaped; Twilio accepts at most {}"
        ).format(length, MAX_TWIML_LENGTH)
    return None
