"""What the ledger knows of this run's recipients: one byte each.

A recipient's fate is keyed by what makes a send the same send: account,
action, sender, the message (body; Content SID + variables; the voice
options) and the recipient (:func:`recipient_key`, 12 hex digits of a
sha256: the record holds no number and no text). 100,000 recipients cost
100 KB here, not a dict entry each (docs/benchmarks.md 6c/6d).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from ..inputs.config import TaskConfig
from ..models import TwilioClock
from .journal import ACKNOWLEDGED, QUEUED, InFlight, Value

KEY_BYTES = 6  # in the Resend State field: 2**48 keys, about 500 fit
# Recipient states while a run goes (one byte each).
NONE, SENT, EARLIER, FLYING = 0, 1, 2, 3


def message_digest(config: TaskConfig) -> str:
    """What makes a send the same send, but the recipient (no secrets)."""
    if config.is_voice:
        message: Any = [
            config.message,
            config.voice_name,
            config.voice_language,
            config.voice_repeat,
            config.answering_machine,
            config.answer_timeout,
            config.call_max_duration,
        ]
    elif config.content_sid is not None:
        message = [config.content_sid, config.content_variables]
    else:
        message = config.message
    inputs = [config.account_sid, config.action, config.sender, message]
    text = json.dumps(inputs, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recipient_key(digest: str, to: str) -> str:
    return hashlib.sha256((digest + "|" + to).encode("utf-8")).hexdigest()[:12]


class Book:
    """Each recipient's state (NONE, SENT, EARLIER, FLYING) and, for those
    an earlier run left in flight, since when. Empty when the ledger is off."""

    def __init__(self, config: TaskConfig, enabled: bool) -> None:
        self.recipients: List[str] = list(config.recipients) if enabled else []
        self.digest = message_digest(config) if enabled else ""
        self._index = {to: i for i, to in enumerate(self.recipients)}
        self.state = bytearray(len(self.recipients))
        self.earlier: Dict[int, InFlight] = {}
        self.acknowledged: Set[int] = set()  # by the recipient, this run or one before
        self.version = 0  # changes with every state: the field's cache key

    def key(self, index: int) -> str:
        return recipient_key(self.digest, self.recipients[index])

    def set(self, to: str, code: int) -> Optional[str]:
        """``to``'s state is ``code`` now; its key (None: not a recipient)."""
        index = self._index.get(to)
        if index is None:
            return None
        self.state[index] = code
        self.earlier.pop(index, None)
        self.version += 1
        return recipient_key(self.digest, to)

    def acknowledge(self, to: str) -> Optional[str]:
        """``to`` acknowledged their page (it was queued); their key."""
        key = self.set(to, SENT)
        if key is not None:
            self.acknowledged.add(self._index[to])
        return key

    def take(self, entries: Dict[str, Value]) -> int:
        """Move what a record says of these recipients out of ``entries``
        (queued wins; of two in-flight moments the earlier); how many."""
        state, earlier = self.state, self.earlier
        found = 0
        for i in range(len(state)):
            value = entries.pop(self.key(i), None)
            if value is None or state[i] == SENT:
                found += value is not None
                continue
            found += 1
            if value in (QUEUED, ACKNOWLEDGED):
                state[i] = SENT
                earlier.pop(i, None)
                if value == ACKNOWLEDGED:
                    self.acknowledged.add(i)
            elif isinstance(value, tuple):
                state[i] = EARLIER
                earlier[i] = min(earlier[i], value) if i in earlier else value
        return found

    def doubt(self, since: InFlight) -> int:
        """A damaged record: whoever is not shown queued may have been sent
        to since ``since``; how many that makes."""
        for i in range(len(self.state)):
            if self.state[i] == NONE:
                self.state[i] = EARLIER
                self.earlier[i] = since
            elif self.state[i] == EARLIER:
                self.earlier[i] = min(self.earlier[i], since)
        return len(self.earlier)

    def positions(self, code: int) -> List[int]:
        found: List[int] = []
        start = 0
        needle = bytes([code])
        while True:
            start = self.state.find(needle, start)
            if start < 0:
                return found
            found.append(start)
            start += 1

    def flying(self) -> List[int]:
        """Whoever may have been sent to without a known outcome."""
        return [i for i, code in enumerate(self.state) if code in (EARLIER, FLYING)]

    def since(self, clock: TwilioClock, started: float) -> float:
        """The earliest moment, on Twilio's clock, an earlier run's request
        for a recipient in flight may have been created."""
        offset = clock.offset or 0.0
        moments = [t if clocked else t + offset for t, clocked in self.earlier.values()]
        return min(moments) if moments else clock.twilio_time(started)

    def entries(self, now: InFlight) -> Iterator[Tuple[str, Value]]:
        """(key, value) of each recipient known, one at a time; this run's
        own in-flight ones since ``now``."""
        for i, code in enumerate(self.state):
            if code == NONE:
                continue
            if code == SENT:
                yield self.key(i), ACKNOWLEDGED if i in self.acknowledged else QUEUED
            else:
                yield self.key(i), self.earlier.get(i, now) if code == EARLIER else now

    def pack(self, indices: List[int]) -> str:
        """Base64 of the first KEY_BYTES of each key (the Resend State field)."""
        raw = b"".join(bytes.fromhex(self.key(i))[:KEY_BYTES] for i in indices)
        return base64.b64encode(raw).decode("ascii")
