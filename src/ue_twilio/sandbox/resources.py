"""Messages, Calls and the Account, shaped like Twilio's v2010 resources.

A created resource stores only its creation time and its planned sequence of
statuses; the current status is computed on every read from the elapsed time
and ``status_interval``. Nothing ticks in the background, so thousands of
resources cost nothing until somebody looks at them.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
import threading
import time
import uuid
from typing import Dict, List, Optional, Tuple

from .errors import DELIVERY_ERROR_PREFIX, coded_error
from .validation import Params, first, split_channel

API_VERSION = "2010-04-01"
BASE = "/2010-04-01/Accounts/{}"

MESSAGE_OUTCOMES = ("delivered", "undelivered", "failed", "read")
CALL_OUTCOMES = ("completed", "busy", "no-answer", "failed")

# Extra magic To numbers with asynchronous (after-201) outcomes.
ASYNC_MAGIC = {
    "+15005550011": {"message": "undelivered", "call": "no-answer"},
    "+15005550012": {"message": "failed", "call": "busy"},
}

_MESSAGE_PATHS = {
    "delivered": ("sent", "delivered"),
    "undelivered": ("sent", "undelivered"),
    "failed": ("sending", "failed"),
    "read": ("sent", "delivered", "read"),
}
# Coded delivery errors (+15005552CCCCC) that end ``failed``; others ``undelivered``.
FAILED_CODES = (30450, 63016)
_MESSAGE_ERRORS = {
    "undelivered": (30003, "Unreachable destination handset"),
    "failed": (30008, "Unknown error"),
}
# Magic call To numbers choosing who answers a completed call; the answer shows
# in ``answered_by`` only when the create asked for MachineDetection.
ANSWERED_BY_MAGIC = {
    "+15005550013": "machine",
    "+15005550014": "human",
    "+15005550015": "unknown",
}
# What answered_by says once the call is in progress: (answerer, MachineDetection).
_ANSWERED_BY = {
    ("machine", "Enable"): "machine_start",
    ("machine", "DetectMessageEnd"): "machine_end_beep",
}
CANCELABLE = ("queued", "ringing")

_CALL_PATHS = {
    "completed": ("queued", "ringing", "in-progress", "completed"),
    "busy": ("queued", "ringing", "busy"),
    "no-answer": ("queued", "ringing", "no-answer"),
    "failed": ("queued", "failed"),
}

# The number a reply to a Messaging Service's message is addressed to.
SERVICE_NUMBER = "+15005550006"
_CODE = re.compile(r"(?<!\w)(\d{3,6})(?!\w)")


def reply_code(body: str) -> str:
    """The acknowledgement code of a page: the last 3-6 digit word of its
    last line ('' when there is none)."""
    last = body.rstrip("\n").rsplit("\n", 1)[-1]
    found = _CODE.findall(last)
    return found[-1] if found else ""


GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
PRICE_PER_SEGMENT = 0.0079  # USD, fake
PRICE_PER_MINUTE = 0.013  # USD, fake


def rfc2822(timestamp: float | None) -> str | None:
    """Twilio's date format, independent of the process locale."""
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(int(timestamp), datetime.timezone.utc)
    return email.utils.format_datetime(moment)


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def num_segments(body: str) -> int:
    """SMS segments: 160/153 GSM-7 septets, else 70/67 UCS-2 code units.

    An escape pair (GSM-7 extension character) or a surrogate pair (UCS-2)
    is never split across two segments: it starts the next one instead.
    """
    if all(ch in GSM7 or ch in GSM7_EXTENDED for ch in body):
        widths = [2 if ch in GSM7_EXTENDED else 1 for ch in body]
        single, multi = 160, 153
    else:
        widths = [len(ch.encode("utf-16-le")) // 2 for ch in body]
        single, multi = 70, 67
    if sum(widths) <= single:
        return 1
    segments, room = 1, multi
    for width in widths:
        if width > room:
            segments, room = segments + 1, multi
        room -= width
    return segments


def price(amount: float) -> str:
    """Twilio's price format: a negative charge with five decimals."""
    return "{:.5f}".format(-amount) if amount else "0.00000"


class Store:
    """Thread-safe home of every resource the sandbox created."""

    def __init__(self, account_sid: str, status_interval: float) -> None:
        self.account_sid = account_sid
        self.status_interval = status_interval
        self.created = time.time()
        # Seconds Twilio's clock is ahead of this host's (negative: behind):
        # every date the sandbox shows, and its Date header, are shifted.
        self.clock_offset = 0.0
        self._lock = threading.Lock()
        self._messages: Dict[str, dict] = {}
        self._calls: Dict[str, dict] = {}
        self._outcomes: Dict[str, str] = {}
        # Scripted replies: bare number -> [(text or None for the code, delay)].
        self._replies: Dict[str, List[Tuple[Optional[str], float]]] = {}

    # -- outcomes -----------------------------------------------------------
    def set_outcome(self, number: str, outcome: str | None) -> None:
        """Force the final status of resources created later for this To number."""
        number = split_channel(number)[1]
        if outcome is None:
            self._outcomes.pop(number, None)
            return
        if outcome not in MESSAGE_OUTCOMES + CALL_OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._outcomes[number] = outcome

    def _outcome(self, number: str, kind: str, allowed: tuple, default: str) -> str:
        forced = self._outcomes.get(number)
        if forced in allowed:
            return forced
        return ASYNC_MAGIC.get(number, {}).get(kind, default)

    # -- replies (Wait For Acknowledgement) -----------------------------------
    def script_reply(self, number: str, text: Optional[str], after: float) -> None:
        """The next message created to ``number`` is answered ``after`` seconds
        later from that number with ``text`` (None: the code it was sent;
        ``{code}`` in ``text`` stands for that code)."""
        with self._lock:
            self._replies.setdefault(split_channel(number)[1], []).append((text, after))

    def receive(
        self,
        sender: str,
        to: str,
        body: str,
        service: Optional[str] = None,
        at: Optional[float] = None,
    ) -> dict:
        """An inbound message, logged as Twilio logs replies (it shows in the
        lists from ``at`` on, default now)."""
        record = {
            "sid": new_sid("SM"),
            "created": time.time() if at is None else at,
            "to": to,
            "from": sender,
            "body": body,
            "service": service,
            "media": 0,
            "path": ("received",),
            "outcome": "received",
            "direction": "inbound",
        }
        with self._lock:
            self._messages[record["sid"]] = record
        return record

    def _answer(self, outbound: dict) -> None:
        """Apply a scripted reply to a message just created."""
        channel, number = split_channel(outbound["to"])
        with self._lock:
            queue = self._replies.get(number)
            if not queue:
                return
            text, after = queue.pop(0)
        code = reply_code(outbound["body"])
        body = code if text is None else text.replace("{code}", code)
        to = outbound["from"] or channel + SERVICE_NUMBER
        at = outbound["created"] + after
        self.receive(outbound["to"], to, body, outbound["service"], at)

    # -- creation -----------------------------------------------------------
    def create_message(self, params: Params) -> dict:
        to = first(params, "To")
        outcome = self._outcome(
            split_channel(to)[1], "message", MESSAGE_OUTCOMES, "delivered"
        )
        service = first(params, "MessagingServiceSid") or None
        coded = coded_error(split_channel(to)[1], DELIVERY_ERROR_PREFIX)
        if coded is not None:  # +15005552CCCCC: ends with Twilio error CCCCC
            outcome = "failed" if coded[0] in FAILED_CODES else "undelivered"
        record = {
            "sid": new_sid("MM" if params.get("MediaUrl") else "SM"),
            "created": time.time(),
            "to": to,
            "from": first(params, "From") or None,
            "body": first(params, "Body"),
            "service": service,
            "media": len([url for url in params.get("MediaUrl", []) if url]),
            "path": ("accepted" if service else "queued",) + _MESSAGE_PATHS[outcome],
            "outcome": outcome,
            "error": coded,
        }
        with self._lock:
            self._messages[record["sid"]] = record
        self._answer(record)
        return self.render_message(record)

    def create_call(self, params: Params) -> dict:
        to = first(params, "To")
        outcome = self._outcome(to, "call", CALL_OUTCOMES, "completed")
        record = {
            "sid": new_sid("CA"),
            "created": time.time(),
            "to": to,
            "from": first(params, "From"),
            "path": _CALL_PATHS[outcome],
            "outcome": outcome,
            "detection": first(params, "MachineDetection") or None,
            "answerer": ANSWERED_BY_MAGIC.get(to, "human"),
        }
        with self._lock:
            self._calls[record["sid"]] = record
        return self.render_call(record)

    # -- reading ------------------------------------------------------------
    def message(self, sid: str) -> dict | None:
        record = self._messages.get(sid)
        if record is None or record["created"] > time.time():  # not yet received
            return None
        return self.render_message(record)

    def call(self, sid: str) -> dict | None:
        record = self._calls.get(sid)
        return None if record is None else self.render_call(record)

    def all_messages(self) -> Dict[str, dict]:
        now = time.time()
        with self._lock:
            records = [r for r in self._messages.values() if r["created"] <= now]
        return {r["sid"]: self.render_message(r, now) for r in records}

    def all_calls(self) -> Dict[str, dict]:
        with self._lock:
            records = list(self._calls.values())
        return {r["sid"]: self.render_call(r) for r in records}

    def update_call(self, sid: str, status: str) -> dict | None:
        """Apply a call update's ``Status`` (``canceled`` or ``completed``).

        ``canceled`` ends a queued or ringing call as canceled and leaves any
        other call unchanged; ``completed`` also hangs up a call in progress
        (final status completed); a queued or ringing one ends canceled.
        Returns the call as rendered afterwards, None for an unknown sid.
        """
        with self._lock:
            record = self._calls.get(sid)
            if record is None:
                return None
            now = time.time()
            stage = self._stage(record, now)
            current = record["path"][stage]
            if current in CANCELABLE or (
                current == "in-progress" and status == "completed"
            ):
                final = "completed" if current == "in-progress" else "canceled"
                record["path"] = record["path"][: stage + 1] + (final,)
                record["stopped"] = now
        return self.render_call(record)

    def _stage(self, record: dict, now: float) -> int:
        """Index into the record's status path reached at ``now``."""
        last = len(record["path"]) - 1
        if self.status_interval <= 0 or record.get("stopped") is not None:
            return last
        return min(int((now - record["created"]) / self.status_interval), last)

    def _stage_time(self, record: dict, index: int) -> float:
        stopped = record.get("stopped")
        if stopped is not None and index == len(record["path"]) - 1:
            return stopped
        return record["created"] + index * max(self.status_interval, 0.0)

    def _reached(self, record: dict, stage: int, status: str) -> Optional[float]:
        """When the call reached ``status`` (None: not, or not yet)."""
        path = record["path"]
        if status not in path or stage < path.index(status):
            return None
        return self._stage_time(record, path.index(status))

    # -- rendering ----------------------------------------------------------
    def _date(self, timestamp: float | None) -> str | None:
        """A date as Twilio's (possibly offset) clock shows it."""
        return rfc2822(None if timestamp is None else timestamp + self.clock_offset)

    def render_message(self, record: dict, now: float | None = None) -> dict:
        stage = self._stage(record, time.time() if now is None else now)
        status = record["path"][stage]
        final = stage == len(record["path"]) - 1
        error = record.get("error") or _MESSAGE_ERRORS.get(record["outcome"])
        error = error if final else None
        path = record["path"]
        sent = "sent" in path and stage >= path.index("sent")
        sent_at = self._stage_time(record, path.index("sent")) if sent else None
        direction = record.get("direction", "outbound-api")
        if direction == "inbound":
            sent_at = record["created"]
        base = BASE.format(self.account_sid)
        uri = "{}/Messages/{}".format(base, record["sid"])
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": record["body"],
            "date_created": self._date(record["created"]),
            "date_sent": self._date(sent_at),
            "date_updated": self._date(self._stage_time(record, stage)),
            "direction": direction,
            "error_code": error[0] if error else None,
            "error_message": error[1] if error else None,
            "from": record["from"],
            "messaging_service_sid": record["service"],
            "num_media": str(record["media"]),
            "num_segments": str(num_segments(record["body"])),
            "price": _message_price(record, final, sent),
            "price_unit": "USD",
            "sid": record["sid"],
            "status": status,
            "subresource_uris": {"media": uri + "/Media.json"},
            "to": record["to"],
            "uri": uri + ".json",
        }

    def render_call(self, record: dict, now: float | None = None) -> dict:
        stage = self._stage(record, time.time() if now is None else now)
        status = record["path"][stage]
        dialled = self._reached(record, stage, "ringing")
        answered = self._reached(record, stage, "in-progress")
        end = self._reached(record, stage, "completed") if answered else None
        base = BASE.format(self.account_sid)
        uri = "{}/Calls/{}".format(base, record["sid"])
        return {
            "account_sid": self.account_sid,
            "answered_by": _answered_by(record) if answered is not None else None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": self._date(record["created"]),
            "date_updated": self._date(self._stage_time(record, stage)),
            "direction": "outbound-api",
            "duration": str(int(round(end - answered))) if end is not None else None,
            "end_time": self._date(end),
            "forwarded_from": None,
            "from": record["from"],
            "from_formatted": record["from"],
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + record["sid"][2:],
            "price": _call_price(answered, end, stage == len(record["path"]) - 1),
            "price_unit": "USD",
            "queue_time": "0",
            "sid": record["sid"],
            "start_time": self._date(dialled),
            "status": status,
            "subresource_uris": _call_subresources(uri),
            "to": record["to"],
            "to_formatted": record["to"],
            "trunk_sid": None,
            "uri": uri + ".json",
        }

    def render_account(self) -> dict:
        base = BASE.format(self.account_sid)
        return {
            "auth_token": None,
            "date_created": self._date(self.created),
            "date_updated": self._date(self.created),
            "friendly_name": "ue-twilio sandbox",
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": "active",
            "subresource_uris": {
                "calls": base + "/Calls.json",
                "messages": base + "/Messages.json",
            },
            "type": "Full",
            "uri": base + ".json",
        }


def _answered_by(record: dict) -> str | None:
    """Twilio's answered_by: null without MachineDetection, else who answered
    (``machine_start`` or ``machine_end_beep`` for a machine)."""
    detection = record["detection"]
    if detection is None:
        return None
    answerer = record["answerer"]
    return _ANSWERED_BY.get((answerer, detection), answerer)


def _message_price(record: dict, final: bool, sent: bool) -> str | None:
    """Null until final, as Twilio; a message never sent costs nothing."""
    if not final:
        return None
    segments = num_segments(record["body"]) if sent else 0
    return price(PRICE_PER_SEGMENT * segments)


def _call_price(start: float | None, end: float | None, final: bool) -> str | None:
    """Null until final; an answered call costs per started minute."""
    if not final:
        return None
    if start is None or end is None:
        return price(0)
    return price(PRICE_PER_MINUTE * max(1, math.ceil((end - start) / 60)))


def _call_subresources(uri: str) -> Dict[str, str]:
    names = {
        "events": "Events",
        "notifications": "Notifications",
        "payments": "Payments",
        "recordings": "Recordings",
        "siprec": "Siprec",
        "streams": "Streams",
        "transcriptions": "Transcriptions",
        "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
        "user_defined_messages": "UserDefinedMessages",
    }
    return {key: f"{uri}/{value}.json" for key, value in names.items()}
