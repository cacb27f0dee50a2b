"""Run-time settings that are not task fields: where Twilio is, how long to wait."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

DEFAULT_API_URL = "https://api.twilio.com"
API_URL_VARIABLE = "UE_TWILIO_API_URL"


@dataclass(frozen=True)
class Settings:
    """Timeouts in seconds; every wait in the task is bounded by one of these."""

    api_url: str = DEFAULT_API_URL
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
        values["api_url"] = values.get("api_url", DEFAULT_API_URL).rstrip("/")
        return cls(**values)
