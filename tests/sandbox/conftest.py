"""Fixtures for the sandbox's own tests: sandboxes with custom settings, a client."""

from __future__ import annotations

from typing import Callable, List

import pytest
from sandbox_helpers import Api, check_creates_conform

from ue_twilio.sandbox import Sandbox


@pytest.fixture
def make_sandbox() -> Callable[..., Sandbox]:
    """Factory of started sandboxes; all stopped (and checked) after the test."""
    boxes: List[Sandbox] = []

    def make(**kwargs) -> Sandbox:
        box = Sandbox(**kwargs).start()
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.stop()
    for box in boxes:
        assert box.errors == [], box.errors[0]
        check_creates_conform(box)


@pytest.fixture
def box(make_sandbox) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def api(box) -> Api:
    client = Api(box)
    yield client
    client.close()
