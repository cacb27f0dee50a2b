"""Fixtures for the reliability tests: TLS sandboxes and the proxy password.

The PKI and the one squid of the suite come from tests/conftest.py. Sandboxes
are per test, so each test's journal holds only its own requests.
"""

from __future__ import annotations

from typing import Callable

import pytest
from reliability_kit import PROXY_PASSWORD, PROXY_USER

from support.pki import ServerCert
from ue_twilio.sandbox import Sandbox


@pytest.fixture
def proxy_password(secret_guard) -> str:
    """The squid password, registered with the leak guard (raw, encoded, Basic)."""
    secret_guard.add_pair(PROXY_USER, PROXY_PASSWORD)
    return PROXY_PASSWORD


@pytest.fixture
def tls_sandbox(sandboxes) -> Callable[[ServerCert], Sandbox]:
    """Factory: a sandbox served over HTTPS with the given certificate."""

    def make(cert: ServerCert) -> Sandbox:
        return sandboxes.start(certfile=cert.certfile, keyfile=cert.keyfile)

    return make
