"""Fixtures for the reliability tests: TLS sandboxes and the proxy password.

The PKI and the one squid of the suite come from tests/conftest.py. Sandboxes
are per test, so each test's journal holds only its own requests.
"""

from __future__ import annotations

from typing import Callable, List

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
def tls_sandbox(secret_guard) -> Callable[[ServerCert], Sandbox]:
    """Factory: a sandbox served over HTTPS with the given certificate."""
    boxes: List[Sandbox] = []

    def make(cert: ServerCert) -> Sandbox:
        token = "sbx-tls-token-{}".format(id(object()))
        box = Sandbox(auth_token=token, certfile=cert.certfile, keyfile=cert.keyfile)
        box.start()
        secret_guard.add_pair(box.account_sid, token)
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.stop()
