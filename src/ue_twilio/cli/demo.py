"""``ue-twilio demo``: the real code path against the built-in sandbox."""

from __future__ import annotations

import logging
import sys

from ue_twilio import Settings, Task

from ..sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox

DEMO_FIELDS = {
    "action": ["sms_message"],
    "twilio_credentials": {"user": DEFAULT_ACCOUNT_SID, "password": DEFAULT_AUTH_TOKEN},
    "sender": "+15005550006",
    "recipient_list": "+15558675310, +15558675311, +15558675312",
    "message_body_text": "Nightly load failed on db01 - ue-twilio demo",
}


def run_demo() -> int:
    logger = logging.getLogger("ue_twilio.demo")
    logger.addHandler(logging.StreamHandler(sys.stderr))
    logger.setLevel(logging.INFO)
    with Sandbox() as sandbox:
        print("Sandbox (local Twilio-compatible API) at {}".format(sandbox.url))
        outcome = Task(DEMO_FIELDS, Settings(api_url=sandbox.url), logger).run()
        print(outcome.output_json())
        print(outcome.summary)
        print("What reached the sandbox:")
        for entry in sandbox.journal:
            to = entry.params.get("To", ["-"])[0]
            print(
                "  {} {} To={} -> {}".format(entry.method, entry.path, to, entry.status)
            )
    return outcome.exit_code
