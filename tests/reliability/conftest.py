"""Fixtures for the reliability tests: a test PKI, one real squid, TLS sandboxes.

squid starts once for this directory (well under a second) and serves every
proxy case through its four listeners. Sandboxes are per test, so each test's
journal holds only its own requests.
"""

from __future__ import annotations

from typing import Callable, List

import pytest
from reliability_kit import PROXY_PASSWORD, PROXY_USER

from support.pki import ServerCert, TestPKI
from support.squid import Squid, squid_available
from ue_twilio.sandbox import Sandbox


@pytest.fixture(scope="session")
def reliability_pki(tmp_path_factory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("reliability-pki"))


@pytest.fixture(scope="session")
def relay_squid(reliability_pki):
    if not squid_available():
        pytest.skip("squid/htpasswd not installed: run scripts/install-system-deps.sh")
    proxy = Squid(reliability_pki.proxy.combined, users={PROXY_USER: PROXY_PASSWORD})
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.cleanup()


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
