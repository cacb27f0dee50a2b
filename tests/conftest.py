"""Shared fixtures: the sandboxes of a test, and a guard that no secret leaked."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import runner  # noqa: E402
from support.boxes import Boxes  # noqa: E402
from support.leaks import BASIC_PAIRS, SECRETS, assert_no_runs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sandbox_errors: the test provokes sandbox errors on purpose"
    )
    config.addinivalue_line(
        "markers",
        "nonconforming_requests: the test sends requests outside Twilio's OpenAPI "
        "description on purpose; only those the sandbox accepted are checked",
    )


def _forms(secret: str):
    yield secret
    yield quote(secret, safe="")
    yield quote(secret)  # as in a URL path: '/' kept
    yield quote_plus(secret, safe="")


MIN_ENCODED_CHARS = 16  # ue_twilio.redact: shorter base64 may be ordinary text


def _basic(user: str, secret: str) -> str:
    return base64.b64encode("{}:{}".format(user, secret).encode()).decode()


def _searchable(secret: str) -> bool:
    """A secret shorter than MIN_SECRET_CHARS ('sms', 'on') is an ordinary
    word: searching output for it finds the task's own text. Such secrets are
    proven absent differently: tests/test_masking.py runs the same task with
    the short secret and with a long one and asserts identical output."""
    from ue_twilio.redact import MIN_SECRET_CHARS

    return len(secret) >= MIN_SECRET_CHARS


@pytest.fixture(autouse=True)
def secret_guard():
    """Every test: no secret in anything a user could have seen."""
    runner.SEEN_TEXT.clear()
    SECRETS.clear()
    BASIC_PAIRS.clear()
    yield SECRETS
    seen = "\n".join(runner.SEEN_TEXT)
    for secret in [s for s in SECRETS if _searchable(s)]:
        for form in _forms(secret):
            assert form not in seen, "a secret leaked into the output"
        assert_no_runs(seen, [secret])
    for user, secret in list(BASIC_PAIRS):
        encoded = _basic(user, secret)
        if len(encoded) >= MIN_ENCODED_CHARS:
            assert encoded not in seen and encoded.rstrip("=") not in seen
    BASIC_PAIRS.clear()


@pytest.fixture
def sandboxes(request, secret_guard):
    """Starts the test's sandboxes (``sandboxes.start(**options)``); at the end
    each must have no errors and a journal that conforms to Twilio's OpenAPI
    description (support/boxes.py; markers relax that on purpose)."""
    boxes = Boxes.for_test(request.node)
    try:
        yield boxes
    finally:
        boxes.finish()


@pytest.fixture
def sandbox(sandboxes):
    """A fresh sandbox with a distinctive token and key secret."""
    return sandboxes.start()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A private PKI: an API CA, a proxy CA, and their server certificates."""
    from support.pki import TestPKI

    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def squid(pki):
    """One real squid for the whole suite: HTTP and HTTPS, open and with auth."""
    from support.squid import TEST_USERS, Squid, squid_available

    if not squid_available():
        pytest.fail("squid/htpasswd not installed: run scripts/install-system-deps.sh")
    proxy = Squid(pki.proxy.combined, users=TEST_USERS)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.cleanup()
