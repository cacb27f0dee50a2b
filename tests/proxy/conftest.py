"""Fixtures for the proxy tests: a private PKI, one real squid, an HTTPS sandbox.

squid starts once per session (about a second) and serves every test through
four listeners (HTTP / HTTPS, open / Basic auth). Each test reads only the
access-log lines written after its own ``mark``.
"""

from __future__ import annotations

import pytest

from support.squid import PROXY_PASSWORD


@pytest.fixture
def proxy_secret(secret_guard):
    """Registers the proxy password with the suite's leak guard."""
    secret_guard.add(PROXY_PASSWORD)
    return PROXY_PASSWORD


@pytest.fixture
def https_sandbox(pki, sandboxes):
    """The sandbox served over HTTPS with a certificate from the API CA."""
    return sandboxes.start(
        certfile=pki.api.certfile, keyfile=pki.api.keyfile, status_interval=0
    )
