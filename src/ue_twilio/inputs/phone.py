"""Phone numbers and recipient lists.

Only ASCII digits are accepted (``\\d`` would admit other scripts' digits), so
nothing but the characters of E.164 is ever forwarded to Twilio.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Tuple

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
E164_HINT = "E.164 is + then the country code and number, at most 15 digits, no spaces"
MAX_FILE_RECIPIENTS = 100000
_SHOW_LIMIT = 40
_SEPARATORS = re.compile(r"[,\r\n]")


def is_e164(value: str) -> bool:
    return E164.fullmatch(value) is not None


def clip(value: str) -> str:
    """A user's value cut when long (redact.py masks any 8 characters of a
    secret in a row, so a cut cannot leave a secret's prefix readable)."""
    return value if len(value) <= _SHOW_LIMIT else value[:_SHOW_LIMIT] + "..."


def show(value: str) -> str:
    """Quote a user's value for a message: escaped, and cut when long."""
    return ascii(clip(value))


def split_entries(text: str) -> Iterable[Tuple[int, str]]:
    """Yield (position, entry) for each non-empty entry; entries are separated
    by commas or line breaks (a Recipient List pasted one number a line)."""
    position = 0
    for part in _SEPARATORS.split(text):
        entry = part.strip()
        if entry:
            position += 1
            yield position, entry


def parse_file_lines(lines: Iterable[str]) -> Iterable[Tuple[int, str]]:
    """Yield (line number, entry) from a recipient file; ``#`` starts a comment."""
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0]
        for _, entry in split_entries(content):
            yield number, entry


def dedupe(numbers: Iterable[str]) -> Tuple[List[str], List[str]]:
    """Return (unique numbers in first-seen order, numbers that were repeated)."""
    seen = set()
    unique: List[str] = []
    repeated: List[str] = []
    for number in numbers:
        if number in seen:
            repeated.append(number)
        else:
            seen.add(number)
            unique.append(number)
    return unique, repeated
