"""Run-time settings that are not task fields: where Twilio is, how long to wait."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

API_URL_VARIABLE = "UE_TWILIO_API_URL"
# Tests and demos only (never a field): every wait of Wait For Acknowledgement
# (timeout, escalation interval, poll intervals) is multiplied by this factor
# in (0, 1], so a 30-second minimum can pass in a second or two.
TIME_SCALE_VARIABLE = "UE_TWILIO_TIME_SCALE"
# socket.settimeout and threading waits refuse inf/nan and overflow on huge
# values (1e12 s); a network wait of more than 10 minutes is a typo anyway.
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 600.0


def timeout_problem(value: float, lowest: float = MIN_TIMEOUT) -> Optional[str]:
    """Why ``value`` is no usable timeout in seconds; None when it is."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "expected a number of seconds"
    if math.isnan(value) or not lowest <= value <= MAX_TIMEOUT:
        return "{} is out of range {:g}-{:g} seconds".format(
            _exact(value), lowest, MAX_TIMEOUT
        )
    return None


def _exact(value: float) -> str:
    """Short (1e+12, 900) unless that rounds: 600.0001 is not "600"."""
    short = "{:g}".format(value)
    return short if math.isnan(value) or float(short) == value else repr(value)


def lock_wait_problem(value: float) -> Optional[str]:
    """0-600 for the state lock: 0 means do not wait at all."""
    return timeout_problem(value, 0)


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
    # Wait For Acknowledgement: the factor of TIME_SCALE_VARIABLE (tests only).
    time_scale: float = 1.0
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
        cls, env: Optional[Mapping[str, str]] = None, **overrides: Any
    ) -> "Settings":
        """Honour UE_TWILIO_API_URL; explicit overrides (CLI options) win."""
        env = os.environ if env is None else env
        values: Dict[str, Any] = {}
        if env.get(API_URL_VARIABLE):
            values["api_url"] = env[API_URL_VARIABLE]
        scale = _time_scale(env.get(TIME_SCALE_VARIABLE))
        if scale is not None:
            values["time_scale"] = scale
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("api_url"):
            values["api_url"] = values["api_url"].rstrip("/")
        return cls(**values)


def _time_scale(text: Optional[str]) -> Optional[float]:
    """UE_TWILIO_TIME_SCALE as a factor in (0, 1]; anything else is ignored."""
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if 0 < value <= 1 else None
