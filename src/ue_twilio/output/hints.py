"""What a Twilio error code means and what to do about it, in plain words.

Most messages that fail on a real account fail for compliance or carrier
reasons a code alone does not explain. A recipient whose create (HTTP 400) or
delivery (Wait For Delivery) ended in one of these codes gets the hint in its
``result.recipients[]`` entry and on its STDERR line. docs/features.md lists
the table; tests/output/test_hints.py keeps the two equal.
"""

from __future__ import annotations

from typing import Dict, Optional

HINTS: Dict[int, str] = {
    21211: "The 'To' number is not a valid phone number: correct it (E.164, "
    "with the country code).",
    21215: "Geographic permission is not enabled for the destination: enable "
    "the country in Console > Voice > Settings > Geo permissions.",
    21408: "Geographic permission is not enabled for the destination: enable "
    "the country in Console > Messaging > Settings > Geo permissions.",
    21606: "The Sender is not an SMS-capable number of this account: choose a "
    "number with SMS capability (ue-twilio senders lists them).",
    21610: "The recipient replied STOP and is unsubscribed: only the recipient "
    "can opt in again, by texting START to the Sender.",
    21612: "Twilio cannot reach the 'To' number from this Sender (unreachable, "
    "or the route is not supported): check the number, or send from another "
    "sender.",
    21614: "The 'To' number is not a mobile number (a landline cannot receive "
    "SMS): send a voice call instead, or use the person's mobile number.",
    30003: "The handset is unreachable (switched off, out of coverage): try "
    "again later or reach the person another way.",
    30005: "The number is unknown or no longer exists at the carrier: remove "
    "or correct it in the recipient list.",
    30006: "The number is a landline or unreachable carrier and cannot receive "
    "SMS: send a voice call instead, or use a mobile number.",
    30007: "The carrier filtered the message (spam or content rules): register "
    "the sender (A2P 10DLC or toll-free verification) and avoid URL "
    "shorteners and spam-like wording.",
    30024: "The sender is not yet provisioned at the carriers (registration "
    "still in progress): wait until it is approved, or send from another "
    "sender.",
    30032: "The toll-free number is not verified: submit (or finish) its "
    "toll-free verification in Console > Messaging > Regulatory Compliance, "
    "or send from another sender.",
    30034: "The US long code (10DLC) is not registered to an A2P 10DLC "
    "campaign (US carriers block it since 2023-09-01): register a campaign and "
    "add the number to its Messaging Service, or send from a toll-free or "
    "short code sender.",
    30450: "Twilio's SMS Pumping Protection blocked the message as likely "
    "fraud for this destination: check that the recipient is genuine, or "
    "review the protection settings in Console > Messaging > Settings.",
    63016: "WhatsApp free-form messages are allowed only within 24 hours of "
    "the recipient's last message: send an approved Content Template (Use "
    "Content Template, Content Template SID).",
}


def hint_for(code: Optional[int]) -> Optional[str]:
    """The hint for a Twilio error code, None when we have none."""
    return HINTS.get(code) if code is not None else None


def with_hint(text: str, code: Optional[int]) -> str:
    """A STDERR line's text with the code's hint after it, if there is one."""
    hint = hint_for(code)
    return "{} Hint: {}".format(text, hint) if hint else text
