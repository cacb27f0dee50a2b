"""Helpers for the voice tests (issue 12): fast sandboxes, fast tracking.

Every request a sandbox of ``make_box`` received, updates and fetches
included, is checked against Twilio's OpenAPI description at teardown.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from support import oai
from support.runner import fields_for
from support.tasks import start_sandbox

# The tracker's polls and the reconciliation pauses, shortened for tests.
FAST = {
    "poll_first": 0.05,
    "poll_max": 0.2,
    "reconcile_delay": 0.05,
    "reconcile_recheck": 0.05,
}
NO_ANSWER = "+15005550011"
BUSY = "+15005550012"
MACHINE = "+15005550013"
PERSON = "+15005550014"
UNSURE = "+15005550015"
PERSON_TOO = "+15005550016"


@pytest.fixture
def make_box(secret_guard):
    boxes = []

    def make(status_interval: float = 0.05):
        box = start_sandbox(secret_guard, status_interval)
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.stop()
    for box in boxes:
        assert box.errors == []
        for entry in box.journal:
            oai.check_request(entry.method, entry.path, entry.params)


def voice_fields(box, numbers: List[str], **extra: Any) -> Dict[str, Any]:
    return fields_for(
        box, action="voice_message", recipients=", ".join(numbers), **extra
    )


def called(box) -> List[str]:
    """The To of every call created, in creation order."""
    return [e.params["To"][0] for e in box.creates("Calls.json")]


def texted(box) -> List[str]:
    return [e.params["To"][0] for e in box.creates("Messages.json")]


def hang_ups(box):
    """Call updates (POST …/Calls/{Sid}.json) in arrival order."""
    return [e for e in box.journal if e.method == "POST" and "/Calls/CA" in e.path]


def entries(run, channel: str):
    return [
        r for r in run.output["result"]["recipients"] if r.get("channel") == channel
    ]
