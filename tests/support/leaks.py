"""The secrets of the running test, for the leak guard (tests/conftest.py).

``register_secret`` adds a secret; with its user name it also guards the
Basic auth header the pair travels in (sid:token, key:secret, a proxy's
user:password). The guard clears both sets before each test.
"""

from __future__ import annotations

from typing import Iterable, Optional, Set, Tuple

RUN = 8  # ue_twilio.redact.MIN_SECRET_CHARS: the rule's run length

BASIC_PAIRS: Set[Tuple[str, str]] = set()


class Secrets(set):
    """The secrets of one test; ``add_pair`` also guards the Basic auth header."""

    def add_pair(self, user: str, secret: str) -> None:
        self.add(secret)
        BASIC_PAIRS.add((user, secret))


SECRETS = Secrets()


def register_secret(secret: str, user: Optional[str] = None) -> None:
    """Tests add proxy passwords and other secrets they use (with the user name
    when the secret travels in a Basic auth header)."""
    if user is None:
        SECRETS.add(secret)
    else:
        SECRETS.add_pair(user, secret)


def runs(secret: str) -> Set[str]:
    """Every RUN characters in a row of ``secret``, lower-cased."""
    lowered = secret.lower()
    return {lowered[i : i + RUN] for i in range(len(lowered) - RUN + 1)}


def assert_no_runs(text: str, secrets: Iterable[str]) -> None:
    """The rule: no RUN or more consecutive characters of a secret, in any
    case, in ``text``."""
    lowered = text.lower()
    for secret in secrets:
        leaked = sorted(run for run in runs(secret) if run in lowered)
        assert not leaked, (
            "{} characters of a secret in a row leaked: {} run(s)".format(
                RUN, len(leaked)
            )
        )
