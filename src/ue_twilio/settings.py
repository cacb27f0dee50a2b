"""Run-time settings that are not task fields: where Twilio is, how long to wait."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

API_URL_VARIABLE = "UE_TWILIO_API_URL"


@dataclass(frozen=True)
class Settings:
    """Timeouts in seconds; every wait in the task is bounded by one of these.

    ``api_url`` None: Twilio's host for the task's region and edge
    (``ue_twilio.regions``); set, it serves every API (tests, sandboxes).
    """

    api_url: Optional[str] = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    cancel_grace: float = 5.0
    progress_interval: float = 5.0
    state_file: Optional[str] = None

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
