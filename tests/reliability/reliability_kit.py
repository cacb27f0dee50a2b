"""Helpers shared by the reliability tests: actions, counts, journal checks.

Every helper that runs the task records what a user would see (runner.record),
so the suite's secret guard checks it too.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, List, Optional

from support import runner
from support.runner import Run
from support.servers import wait_until
from support.squid import RELAY_PASSWORD, RELAY_USER
from ue_twilio import Settings, Task

ACTIONS = ("sms_message", "whatsapp_message", "voice_message")
THREE = ["+15558675310", "+15558675311", "+15558675312"]
FORWARDED = re.compile(r"(whatsapp:)?\+[1-9][0-9]{1,14}")
# The relay account of the suite's squid: its password holds characters that
# break naive URL building, Basic auth parsing or redaction.
PROXY_USER, PROXY_PASSWORD = RELAY_USER, RELAY_PASSWORD


def resource_of(action: str) -> str:
    return "Calls.json" if action == "voice_message" else "Messages.json"


def number_of(entry) -> str:
    """The recipient of a journal entry, without the WhatsApp prefix."""
    to = entry.params.get("To", [""])[0]
    return to[len("whatsapp:") :] if to.startswith("whatsapp:") else to


def creates_per_number(box, action: str) -> Counter:
    return Counter(number_of(e) for e in box.creates(resource_of(action)))


def attempts_per_number(box) -> Counter:
    """Create requests per number (a call update, e.g. a hang-up, is not one)."""
    creates = [
        e
        for e in box.journal
        if e.method == "POST" and e.path.endswith(("/Messages.json", "/Calls.json"))
    ]
    return Counter(number_of(e) for e in creates)


def assert_counts(
    run: Run,
    total: int,
    queued: int,
    refused: int = 0,
    unknown: int = 0,
    not_sent: int = 0,
):
    """The counts add up to the recipients and match the per-recipient list.

    ``refused``: Twilio said no (status "failed"); every recipient not queued
    counts in the seed's ``msg_failed_count``.
    """
    assert queued + refused + unknown + not_sent == total
    assert run.stats == {
        "msg_queued_count": queued,
        "msg_failed_count": refused + unknown + not_sent,
        "msg_unknown_count": unknown,
        "msg_not_sent_count": not_sent,
    }, run.stderr
    listed = Counter(r["status"] for r in run.output["result"]["recipients"])
    assert listed["failed"] == refused
    assert listed["unknown"] == unknown
    assert listed["not_sent"] == not_sent


def assert_created_at_most_once(box, action: str) -> None:
    """No recipient was created twice (Twilio would have texted them twice)."""
    twice = {n: c for n, c in creates_per_number(box, action).items() if c > 1}
    assert not twice, "created more than once: {}".format(twice)


def assert_forwarded_numbers_are_e164(box) -> None:
    for entry in box.journal:
        for key in ("To", "From"):
            for value in entry.params.get(key, []):
                assert FORWARDED.fullmatch(value), (key, ascii(value))


class CancelledRun:
    """Run a Task in-process, cancel it from another thread, time the return."""

    def __init__(
        self,
        fields: Dict[str, Any],
        settings: Settings,
        cancel_when: Callable[[], bool],
        cancel_timeout: float = 10.0,
    ) -> None:
        self.fields = fields
        self.settings = settings
        self.cancel_when = cancel_when
        self.cancel_timeout = cancel_timeout
        self.cancelled_at: Optional[float] = None

    def run(self) -> Run:
        with runner.captured_log() as (logger, stream):
            task = Task(self.fields, self.settings, logger)
            canceller = threading.Thread(target=self._cancel, args=(task,), daemon=True)
            canceller.start()
            try:
                outcome = task.run()
            finally:
                self.returned_at = time.monotonic()
        canceller.join(timeout=self.cancel_timeout)
        text = outcome.output_json()
        log = stream.getvalue()
        runner.record(text, log, outcome.summary, outcome.status_description)
        return Run(outcome.exit_code, json.loads(text), outcome.summary, log)

    def _cancel(self, task: Task) -> None:
        wait_until(self.cancel_when, self.cancel_timeout)
        self.cancelled_at = time.monotonic()
        task.cancel()
        task.cancel()  # the agent may call extension_cancel twice

    @property
    def seconds_after_cancel(self) -> float:
        assert self.cancelled_at is not None, "the cancel never happened"
        return self.returned_at - self.cancelled_at


def in_flight(box) -> Callable[[], bool]:
    """True once the sandbox holds a request it has not answered yet."""
    return lambda: any(e.status is None for e in box.journal)


def journal_statuses(box) -> List[Optional[int]]:
    return [e.status for e in box.journal]
