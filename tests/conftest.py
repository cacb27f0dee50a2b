"""Shared fixtures: a sandbox per test, and a guard that no secret leaked."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Optional
from urllib.parse import quote, quote_plus

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import runner  # noqa: E402

BASIC_PAIRS = set()


class _Secrets(set):
    """The secrets of one test; ``add_pair`` also guards the Basic auth header."""

    def add_pair(self, user: str, secret: str) -> None:
        self.add(secret)
        BASIC_PAIRS.add((user, secret))


SECRETS = _Secrets()


def register_secret(secret: str, user: Optional[str] = None) -> None:
    """Tests add proxy passwords and other secrets they use (with the user name
    when the secret travels in a Basic auth header, as sid:token or a proxy's
    user:password do)."""
    if user is None:
        SECRETS.add(secret)
    else:
        SECRETS.add_pair(user, secret)


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
    for user, secret in list(BASIC_PAIRS):
        encoded = _basic(user, secret)
        if len(encoded) >= MIN_ENCODED_CHARS:
            assert encoded not in seen and encoded.rstrip("=") not in seen
    BASIC_PAIRS.clear()


@pytest.fixture
def sandbox():
    """A fresh sandbox with a distinctive token; every created request is
    checked against Twilio's OpenAPI description afterwards."""
    from ue_twilio.sandbox import Sandbox

    token = "sbx-token-{}".format(id(object()))
    key_secret = "sbx-key-secret-{}".format(id(object()))
    box = Sandbox(auth_token=token, api_key_secret=key_secret)
    box.start()
    register_secret(token, box.account_sid)
    register_secret(key_secret, box.api_key_sid)
    try:
        yield box
    finally:
        box.stop()
    _check_conformance(box)


def _check_conformance(box) -> None:
    """Every request our client sent (not only the accepted ones) must match
    Twilio's OpenAPI description; tests that send junk on purpose use their
    own sandbox."""
    from support import oai

    for entry in box.journal:
        oai.check_request(entry.method, entry.path, entry.params)


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
