"""Helpers for the voice tests (issue 12): fast sandboxes, fast tracking.

Every request a sandbox of ``make_box`` received, updates and fetches
included, is checked against Twilio's OpenAPI description at teardown
(support/boxes.py).
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from support.runner import fields_for

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
def make_box(sandboxes):
    """Sandboxes whose calls and messages reach a final status quickly."""

    def make(status_interval: float = 0.05):
        return sandboxes.start(status_interval=status_interval)

    return make


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
