"""The one way a test gets a sandbox, and what every test's sandbox must show.

``start_sandbox(**options)`` starts a :class:`Sandbox` (any of its keyword
arguments) with a distinctive Auth Token and API key secret unless given, and
registers both Basic pairs with the leak guard. ``finish(box)`` stops it and
checks it: no sandbox bug (``errors == []``) and every request in the journal
conforming to Twilio's OpenAPI description (tests/support/oai.py).

A test that provokes server errors on purpose says so with
``@pytest.mark.sandbox_errors``; one that sends requests outside the OpenAPI
description on purpose (the sandbox's own validation tests) with
``@pytest.mark.nonconforming_requests``, and then only the requests the
sandbox accepted are checked.
"""

from __future__ import annotations

import itertools
from typing import Any, List

from support import oai
from support.leaks import register_secret
from ue_twilio.sandbox import Sandbox

_numbers = itertools.count(1)


def start_sandbox(**options: Any) -> Sandbox:
    """A started sandbox whose secrets the leak guard knows."""
    number = next(_numbers)
    options.setdefault("auth_token", "sbx-token-{}".format(number))
    options.setdefault("api_key_secret", "sbx-key-secret-{}".format(number))
    box = Sandbox(**options).start()
    register(box)
    return box


def register(box: Sandbox) -> None:
    """The SID:token and key:secret pairs of ``box`` go to the leak guard
    (again, for a sandbox that outlives one test)."""
    register_secret(box.auth_token, box.account_sid)
    register_secret(box.api_key_secret, box.api_key_sid)


def finish(
    box: Sandbox, sandbox_errors: bool = False, nonconforming_requests: bool = False
) -> None:
    """Stop ``box``, then assert what every test's sandbox must show."""
    box.stop()
    if not sandbox_errors:
        assert box.errors == [], box.errors[0]
    oai.check_journal(box.journal, accepted_only=nonconforming_requests)


class Boxes:
    """The sandboxes of one test; ``finish`` stops and checks them all."""

    def __init__(
        self, sandbox_errors: bool = False, nonconforming_requests: bool = False
    ) -> None:
        self._checks = {
            "sandbox_errors": sandbox_errors,
            "nonconforming_requests": nonconforming_requests,
        }
        self._boxes: List[Sandbox] = []

    @classmethod
    def for_test(cls, node) -> "Boxes":
        """The checks a test's markers ask for."""
        return cls(
            sandbox_errors=node.get_closest_marker("sandbox_errors") is not None,
            nonconforming_requests=node.get_closest_marker("nonconforming_requests")
            is not None,
        )

    def start(self, **options: Any) -> Sandbox:
        box = start_sandbox(**options)
        self._boxes.append(box)
        return box

    def finish(self) -> None:
        for box in self._boxes:
            box.stop()
        for box in self._boxes:
            finish(box, **self._checks)
