"""Run-time settings that are not task fields: where Twilio is, how long to wait."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping, Optional

API_URL_VARIABLE = "UE_TWILIO_API_URL"
# socket.settimeout and threading waits refuse inf/nan and overflow on huge
# values (1e12 s); a network wait of more than 10 minutes is a typo anyway.
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 600.0


def timeout_problem(value: float) -> Optional[str]:
    """Why ``value`` is no usable timeout in seconds; None when it is."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "expected a number of seconds"
    if math.isnan(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        return "{:g} is out of range {:g}-{:g} seconds".format(
            value, MIN_TIMEOUT, MAX_TIMEOUT
        )
    return None


def lock_wait_problem(value: float) -> Optional[str]:
    """0 is allowed for the state lock: do not wait at all."""
    return None if value == 0 else timeout_problem(value)


@dataclass(frozen=True)
class Settings:
    """Timeouts in seconds; every wait in the task is bounded by one of these.

    ``state_file`` is the resend state file (CLI ``--state-file``, the agent's
    per-instance fallback); ``state_file_label`` names it in messages, and a
    second run on the same file waits at most ``state_lock_timeout`` for the
    first to finish.

    ``api_url`` None: Twilio's host for the task's region and edge
    (``ue_twilio.inputs.regions``); set, it serves every API (tests, sandboxes).
    """

    api_url: Optional[str] = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    cancel_grace: float = 5.0
    progress_interval: float = 5.0
    # Reconciling lost answers (reconcile.py): the first look waits this long
    # after the requests, an "absent" is checked again after the second, and
    # all lookups of one round end within the third.
    reconcile_delay: float = 2.0
    reconcile_recheck: float = 3.0
    reconcile_budget: float = 60.0
    state_file: Optional[str] = None
    # Wait For Delivery and call chains: the first status poll after this
    # long, then 1.5 times longer each time, at most every poll_max seconds.
    poll_first: float = 1.0
    poll_max: float = 10.0
    state_file_label: str = "State File"
    state_lock_timeout: float = 10.0
    # The agent's default state file: its directory must be the user's alone
    # (ledger/place.py). The CLI: unsent_only needs --state-file.
    state_file_private: bool = False
    state_file_required: bool = False

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout"):
            problem = timeout_problem(getattr(self, name))
            if problem:
                raise ValueError("{}: {}".format(name, problem))
        problem = lock_wait_problem(self.state_lock_timeout)
        if problem:
            raise ValueError("state_lock_timeout: " + problem)

    @classmethod
    def from_env(
        cls, env: Optional[Mapping[str, str]] = None, **overrides
    ) -> "Settings":
        """Honour UE_TWILIO_API_URL; explicit overrides (CLI options) win."""
        env = os.environ if env is None else env
        values = {}
        if env.get(API_URL_VARIABLE):
            values["api_url"] = env[API_URL_VARIABLE]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("api_url"):
            values["api_url"] = values["api_url"].rstrip("/")
        return cls(**values)
