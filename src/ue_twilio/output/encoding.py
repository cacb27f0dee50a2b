"""How an SMS body will be encoded and into how many segments it splits.

Decided before anything is sent, so a single emoji that silently switches a
message to UCS-2 (and multiplies its cost) is visible in the log and the
Extension Output. Rules (3GPP TS 23.038 / 23.040, as Twilio applies them):

- GSM-7 when every character is in the basic table or the extension table;
  an extension character (``€ ^ { } [ ] ~ | \\`` and form feed) is an escape
  pair and counts two septets. 160 septets fit one segment, 153 each when
  the message is split (the rest of the segment is the concatenation header).
- Otherwise UCS-2, counted in UTF-16 code units (an emoji outside the BMP is
  two), 70 in one segment, 67 each when split.
- A segment boundary never splits an escape pair or a surrogate pair: the
  pair moves whole to the next segment, which can add a segment where a
  plain ``ceil(units / 153)`` would not.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

from ..inputs.config import TaskConfig
from ..inputs.fields import SMS
from .logsafe import SafeLog

GSM7 = "GSM-7"
UCS2 = "UCS-2"
MAX_REPORTED = 10

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


class MessageEncoding(NamedTuple):
    encoding: str
    segments: int
    characters: int
    ucs2_characters: List[str]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "characters": self.characters,
            "ucs2_characters": list(self.ucs2_characters),
        }


def analyze(text: str) -> MessageEncoding:
    """Encoding, segment count, length and the characters that forced UCS-2."""
    forcing = _ucs2_characters(text)
    if forcing:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        encoding = UCS2
    else:
        units = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        encoding = GSM7
    return MessageEncoding(
        encoding, count_segments(units, *_LIMITS[encoding]), len(text), forcing
    )


def _ucs2_characters(text: str) -> List[str]:
    found: List[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION or ch in found:
            continue
        found.append(ch)
        if len(found) == MAX_REPORTED:
            break
    return found


def count_segments(units: List[int], single: int, multi: int) -> int:
    """Segments for characters of the given widths; pairs never straddle two."""
    total = sum(units)
    if total <= single:
        return 1
    segments, used = 1, 0
    for width in units:
        if used + width > multi:
            segments, used = segments + 1, 0
        used += width
    return segments


def describe_ucs2(found: MessageEncoding, smart_encoding: bool = False) -> str:
    """The STDERR warning for a UCS-2 message; empty for GSM-7."""
    if found.encoding != UCS2:
        return ""
    shown = " ".join(
        "{} (U+{:04X})".format(ch if ch.isprintable() else "?", ord(ch))
        for ch in found.ucs2_characters
    )
    advice = (
        "Smart Encoding is on: Twilio replaces those that have a GSM-7 look-alike."
        if smart_encoding
        else "Replace them, or turn on Smart Encoding to let Twilio substitute "
        "GSM-7 look-alikes."
    )
    return (
        "Message: UCS-2 (70 characters per segment instead of 160), {} segment(s) "
        "per recipient, because of: {}. {}".format(found.segments, shown, advice)
    )


def message_facts(action: str, text: Optional[str]) -> Optional[Dict[str, Any]]:
    """``result.message``: SMS only (WhatsApp is not split into segments and a
    voice message is spoken), null when there is no text."""
    if action != SMS or not text:
        return None
    return analyze(text).as_dict()


def warn_ucs2(config: TaskConfig, log: SafeLog) -> None:
    """Warn on STDERR, before sending, when an SMS body goes as UCS-2."""
    if config.action == SMS and config.message:
        warning = describe_ucs2(analyze(config.message), config.smart_encoding)
        if warning:
            log.warning(warning)
