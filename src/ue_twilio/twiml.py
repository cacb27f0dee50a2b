"""TwiML for a text-to-speech call.

The message is XML-escaped, so text such as ``</Say><Dial>`` is spoken, never
executed as a verb.
"""

from __future__ import annotations

import re
from typing import Optional
from xml.sax.saxutils import escape

MAX_TWIML_LENGTH = 4000
# Characters XML 1.0 cannot carry even when escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def say(message: str) -> str:
    return "<Response><Say>{}</Say></Response>".format(escape(message))


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
