"""``ue-twilio demo``: the real code path against the built-in sandbox.

``--acknowledge`` pages three people one by one (Wait For Acknowledgement);
the sandbox has the second reply with the code of their page. The demo runs
its waits 20 times faster (Settings.time_scale), so the 30-second
Escalation Interval passes in 1.5 s.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Dict

from ue_twilio import Settings, Task

from ..sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox

DEMO_FIELDS = {
    "action": ["sms_message"],
    "twilio_credentials": {"user": DEFAULT_ACCOUNT_SID, "password": DEFAULT_AUTH_TOKEN},
    "sender": "+15005550006",
    "recipient_list": "+15558675310, +15558675311, +15558675312",
    "message_body_text": "Nightly load failed on db01 - ue-twilio demo",
}
ACK_FIELDS = dict(
    DEMO_FIELDS,
    wait_for_acknowledgement=True,
    escalation=["one_by_one"],
    escalation_interval=30,
    acknowledgement_timeout=300,
)
ACK_TIME_SCALE = 0.05


def run_demo(acknowledge: bool = False) -> int:
    logger = logging.getLogger("ue_twilio.demo")
    logger.addHandler(logging.StreamHandler(sys.stderr))
    logger.setLevel(logging.INFO)
    fields: Dict[str, Any] = ACK_FIELDS if acknowledge else DEMO_FIELDS
    with Sandbox() as sandbox:
        print("Sandbox (local Twilio-compatible API) at {}".format(sandbox.url))
        settings = Settings(api_url=sandbox.url)
        if acknowledge:
            settings = Settings(api_url=sandbox.url, time_scale=ACK_TIME_SCALE)
            sandbox.script_reply("+15558675310", "who is this?", after=0.5)
            sandbox.script_reply("+15558675311", "on it {code}", after=1.0)
            print(
                "The sandbox answers: +15558675310 'who is this?', "
                "+15558675311 with the code of their page."
            )
        outcome = Task(fields, settings, logger).run()
        print(outcome.output_json())
        print(outcome.summary)
        print("What reached the sandbox:")
        for entry in sandbox.journal:
            to = entry.params.get("To", ["-"])[0]
            print(
                "  {} {} To={} -> {}".format(entry.method, entry.path, to, entry.status)
            )
    return outcome.exit_code
