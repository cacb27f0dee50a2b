"""Fixtures for the sandbox's own tests: sandboxes with custom settings, a client."""

from __future__ import annotations

from typing import Callable

import pytest
from sandbox_helpers import Api

from ue_twilio.sandbox import Sandbox


@pytest.fixture
def make_sandbox(sandboxes) -> Callable[..., Sandbox]:
    """Factory of started sandboxes (support/boxes.py checks them after the test)."""
    return sandboxes.start


@pytest.fixture
def box(make_sandbox) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def api(box) -> Api:
    client = Api(box)
    yield client
    client.close()
