"""The task's fields: the single source of truth for names, kinds and limits.

``config.py`` parses with these specs and ``scripts/gen_template.py`` writes
``src/templates/template.json`` from them, so the form and the code cannot drift.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

from .regions import DEFAULT_REGION, EDGE_LABELS, REGION_LABELS

TEXT = "Text"
LARGE_TEXT = "Large Text"
INTEGER = "Integer"
BOOLEAN = "Boolean"
CHOICE = "Choice"
CREDENTIAL = "Credential"

SMS = "sms_message"
WHATSAPP = "whatsapp_message"
VOICE = "voice_message"

PROXY_HTTP = "HTTP"
PROXY_HTTPS = "HTTPS"
PROXY_HTTPS_CREDS = "HTTPS_WITH_CREDENTIALS"
PROXY_HTTP_CREDS = "HTTP_WITH_CREDENTIALS"
HTTPS_PROXY_TYPES = (PROXY_HTTPS, PROXY_HTTPS_CREDS)
CREDENTIAL_PROXY_TYPES = (PROXY_HTTPS_CREDS, PROXY_HTTP_CREDS)

RESEND_ALL = "all"
RESEND_UNSENT_ONLY = "unsent_only"

AMD_IGNORE = "ignore"
AMD_LEAVE_MESSAGE = "leave_message"
AMD_COUNT_AS_UNANSWERED = "count_as_unanswered"
# The voice options of issue 12, shown and echoed for voice only.
VOICE_OPTIONS = (
    "voice_name",
    "voice_language",
    "voice_repeat",
    "answering_machine",
    "call_order",
    "fallback_sms",
)

FROM_LIST = "recipient_list"
FROM_FILE = "recipient_list_file"

CALL_ALL_AT_ONCE = "all_at_once"
CALL_ONE_BY_ONE = "one_by_one_until_answered"

# Escalation while waiting for an acknowledgement (issue 21).
PAGE_ALL_AT_ONCE = "all_at_once"
PAGE_ONE_BY_ONE = "one_by_one"
ACK_OPTIONS = (
    "wait_for_acknowledgement",
    "acknowledgement_timeout",
    "escalation",
    "escalation_interval",
    "notify_on_acknowledgement",
)


class FieldSpec(NamedTuple):
    """One template field; optional attributes default to 'not constrained'."""

    name: str
    label: str
    kind: str
    hint: str
    required: bool = False
    default: Optional[object] = None
    choices: Tuple[Tuple[str, str], ...] = ()
    min_value: Optional[int] = None
    max_value: Optional[int] = None
    max_length: Optional[int] = None
    show_if: Optional[Tuple[str, Tuple[str, ...]]] = None
    require_if: Optional[Tuple[str, Tuple[str, ...]]] = None
    output_only: bool = False
    preserve_on_rerun: bool = False


_MESSAGING = (SMS, WHATSAPP)
_ALL_PROXY_TYPES = (PROXY_HTTP, PROXY_HTTPS, PROXY_HTTPS_CREDS, PROXY_HTTP_CREDS)

FIELDS: Tuple[FieldSpec, ...] = (
    FieldSpec(
        "action",
        "Action",
        CHOICE,
        "What the task sends to every recipient.",
        required=True,
        default=SMS,
        choices=(
            (SMS, "Send SMS Message"),
            (WHATSAPP, "Send WhatsApp Message"),
            (VOICE, "Send Voice Message"),
        ),
    ),
    FieldSpec(
        "twilio_credentials",
        "Twilio Credentials",
        CREDENTIAL,
        "Runtime User: the Account SID (AC...); Runtime Password: the Auth Token.",
        required=True,
    ),
    FieldSpec(
        "account_sid",
        "Account SID",
        TEXT,
        "The Account SID (AC...). Required when the Twilio Credentials user is "
        "an API Key SID (SK...) with its secret as the password.",
    ),
    FieldSpec(
        "twilio_region",
        "Twilio Region",
        CHOICE,
        "Where Twilio processes and stores the data. Credentials and API keys "
        "belong to one region.",
        default=DEFAULT_REGION,
        choices=tuple(REGION_LABELS.items()),
    ),
    FieldSpec(
        "twilio_edge",
        "Twilio Edge",
        CHOICE,
        "Where requests enter Twilio's network; empty = the region's own edge "
        "(ie1: dublin, au1: sydney, jp1: tokyo, us1: none).",
        choices=tuple(EDGE_LABELS.items()),
    ),
    FieldSpec(
        "sender",
        "Sender",
        TEXT,
        "Your Twilio number in E.164 format (+15017122661), or a Messaging "
        "Service SID (MG...) for SMS and WhatsApp.",
        required=True,
    ),
    FieldSpec(
        "recipient_source",
        "Recipients From",
        CHOICE,
        "Which field must hold the numbers: the Recipient List, or a Recipient "
        "List File on the agent (the Recipient List is then optional and its "
        "numbers are sent too).",
        required=True,
        default=FROM_LIST,
        choices=((FROM_LIST, "Recipient List"), (FROM_FILE, "Recipient List File")),
    ),
    FieldSpec(
        "recipient_list",
        "Recipient List",
        LARGE_TEXT,
        "E.164 numbers separated by commas or newlines, e.g. +15558675310, "
        "+447700900123. A number listed twice is sent once.",
        max_length=4000,
        require_if=("recipient_source", (FROM_LIST,)),
    ),
    FieldSpec(
        "recipient_list_file",
        "Recipient List File",
        TEXT,
        "Path, on the agent, of a UTF-8 file of E.164 numbers separated by "
        "newlines or commas (# starts a comment); up to 100,000 numbers, added "
        "after the Recipient List.",
        require_if=("recipient_source", (FROM_FILE,)),
    ),
    FieldSpec(
        "use_content_template",
        "Use Content Template",
        BOOLEAN,
        "Send an approved WhatsApp template (Content Template SID); the Message "
        "is then optional.",
        default=False,
        show_if=("action", (WHATSAPP,)),
    ),
    FieldSpec(
        "message_body_text",
        "Message",
        LARGE_TEXT,
        "The text to send (1-1600 characters). For a voice message it is read "
        "aloud. Optional for WhatsApp with Use Content Template.",
        max_length=1600,
        require_if=("use_content_template", ("false",)),
    ),
    FieldSpec(
        "content_sid",
        "Content Template SID",
        TEXT,
        "Optional approved WhatsApp template (HX...), required outside the "
        "24-hour customer service window.",
        show_if=("action", (WHATSAPP,)),
    ),
    FieldSpec(
        "content_variables",
        "Content Variables",
        LARGE_TEXT,
        'Optional JSON object with the template\'s variables, e.g. {"1": "db01"}.',
        max_length=4000,
        show_if=("action", (WHATSAPP,)),
    ),
    FieldSpec(
        "validity_period",
        "Validity Period",
        INTEGER,
        "Optional: seconds a message may wait in Twilio's queue before it is "
        "dropped instead of sent late (1-36000).",
        min_value=1,
        max_value=36000,
        show_if=("action", _MESSAGING),
    ),
    FieldSpec(
        "smart_encoding",
        "Smart Encoding",
        BOOLEAN,
        "Let Twilio replace Unicode look-alikes (curly quotes, long dashes) by "
        "GSM-7 characters so a message is not sent as costlier UCS-2.",
        default=False,
        show_if=("action", (SMS,)),
    ),
    FieldSpec(
        "status_callback_url",
        "Status Callback URL",
        TEXT,
        "Optional https:// URL Twilio calls with every status change of each "
        "message or call.",
    ),
    FieldSpec(
        "dry_run",
        "Dry Run",
        BOOLEAN,
        "Validate, check the Sender, count segments and look up Twilio's "
        "prices, then stop: nothing is sent. The plan (recipients, segments, "
        "estimated cost per country) is in the Extension Output.",
        default=False,
    ),
    FieldSpec(
        "answer_timeout",
        "Answer Timeout",
        INTEGER,
        "Seconds to let the phone ring before giving up (1-600). Ringing "
        "usually starts 3-5 seconds after the call is placed.",
        default=30,
        min_value=1,
        max_value=600,
        show_if=("action", (VOICE,)),
        require_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "call_max_duration",
        "Call Max Duration",
        INTEGER,
        "Maximum talk time per call in seconds (1-14400).",
        default=60,
        min_value=1,
        max_value=14400,
        show_if=("action", (VOICE,)),
        require_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "voice_name",
        "Voice",
        TEXT,
        "Optional text-to-speech voice: man, woman, alice, Polly.<Name> "
        "(e.g. Polly.Joanna, Polly.Joanna-Neural, Polly.Ruth-Generative) or "
        "Google.<language>-<Name> (e.g. Google.en-GB-Standard-A). Empty: the "
        "account's default voice.",
        show_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "voice_language",
        "Voice Language",
        TEXT,
        "Optional language of the voice as a BCP-47 tag, e.g. en-US, de-DE, "
        "fr-CA; it must suit the Voice.",
        show_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "voice_repeat",
        "Repeat Message",
        INTEGER,
        "How many times the message is spoken (1-10), with a one-second pause "
        "in between.",
        default=1,
        min_value=1,
        max_value=10,
        show_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "answering_machine",
        "Answering Machine",
        CHOICE,
        "Ignore: no detection. Leave Message: wait for the voicemail beep, so "
        "the mailbox records the whole message. Count As Unanswered: a call a "
        "machine answers counts as not reached (Call Order, SMS Fallback, Wait "
        "For Delivery).",
        default=AMD_IGNORE,
        choices=(
            (AMD_IGNORE, "Ignore"),
            (AMD_LEAVE_MESSAGE, "Leave Message"),
            (AMD_COUNT_AS_UNANSWERED, "Count As Unanswered"),
        ),
        show_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "call_order",
        "Call Order",
        CHOICE,
        "All At Once: call everybody now. One By One Until Answered: call in "
        "list order, each call followed to its end, and stop at the first "
        "person who answers; bounded by the Delivery Timeout.",
        default=CALL_ALL_AT_ONCE,
        choices=(
            (CALL_ALL_AT_ONCE, "All At Once"),
            (CALL_ONE_BY_ONE, "One By One Until Answered"),
        ),
        show_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "fallback_sms",
        "SMS Fallback",
        BOOLEAN,
        "With Wait For Delivery or One By One Until Answered: once the calls "
        "have ended, text the message from the same Sender to every recipient "
        "whose call no person answered.",
        default=False,
        show_if=("action", (VOICE,)),
    ),
    FieldSpec(
        "max_concurrent_requests",
        "Max Concurrent Requests",
        INTEGER,
        "Requests sent to Twilio at the same time (1-100). Twilio limits "
        "concurrent API requests per account and answers 429 beyond it; the "
        "task then slows down and retries by itself.",
        default=10,
        min_value=1,
        max_value=100,
    ),
    FieldSpec(
        "wait_for_delivery",
        "Wait For Delivery",
        BOOLEAN,
        "After queuing, follow each message or call until it is delivered, "
        "answered or failed; exit 22 when not all were delivered.",
        default=False,
    ),
    FieldSpec(
        "delivery_timeout",
        "Delivery Timeout",
        INTEGER,
        "Seconds to wait for final delivery statuses (10-3600).",
        default=300,
        min_value=10,
        max_value=3600,
        show_if=("wait_for_delivery", ("true",)),
    ),
    FieldSpec(
        "wait_for_acknowledgement",
        "Wait For Acknowledgement",
        BOOLEAN,
        "Page until somebody acknowledges: SMS and WhatsApp recipients reply "
        "with the code on the last line of their message, voice recipients "
        "press 1. Exit 23 when nobody does within the Acknowledgement Timeout.",
        default=False,
    ),
    FieldSpec(
        "acknowledgement_timeout",
        "Acknowledgement Timeout",
        INTEGER,
        "Seconds to wait for an acknowledgement, counted from the first page "
        "(30-86400).",
        default=900,
        min_value=30,
        max_value=86400,
        show_if=("wait_for_acknowledgement", ("true",)),
    ),
    FieldSpec(
        "escalation",
        "Escalation",
        CHOICE,
        "All At Once: page everybody now; the first acknowledgement ends the "
        "wait. One By One: page the next recipient in list order every "
        "Escalation Interval until somebody acknowledges or the list ends.",
        default=PAGE_ALL_AT_ONCE,
        choices=((PAGE_ALL_AT_ONCE, "All At Once"), (PAGE_ONE_BY_ONE, "One By One")),
        show_if=("wait_for_acknowledgement", ("true",)),
    ),
    FieldSpec(
        "escalation_interval",
        "Escalation Interval",
        # A whole number in a Text field: the template's ten Integer slots are
        # taken (scripts/gen_template.py POOLS); inputs/acknowledgement.py
        # reads it as an integer, 30-3600.
        TEXT,
        "With One By One: seconds before the next recipient is paged (30-3600).",
        default=300,
        min_value=30,
        max_value=3600,
        show_if=("escalation", (PAGE_ONE_BY_ONE,)),
    ),
    FieldSpec(
        "notify_on_acknowledgement",
        "Notify On Acknowledgement",
        BOOLEAN,
        "Tell everybody already paged who acknowledged: one SMS or WhatsApp "
        "message each (voice recipients get an SMS).",
        default=False,
        show_if=("wait_for_acknowledgement", ("true",)),
    ),
    FieldSpec(
        "resend_policy",
        "Resend Policy",
        CHOICE,
        "On a re-run of the same task instance: send to all recipients again, "
        "or only to those an earlier run did not queue.",
        default=RESEND_ALL,
        choices=(
            (RESEND_ALL, "Send To All"),
            (RESEND_UNSENT_ONLY, "Send Only To Unsent"),
        ),
    ),
    FieldSpec(
        "proxy_type",
        "Proxy Type",
        CHOICE,
        "How to reach Twilio through a forward proxy; empty for a direct connection.",
        choices=(
            (PROXY_HTTP, "HTTP"),
            (PROXY_HTTPS, "HTTPS"),
            (PROXY_HTTPS_CREDS, "HTTPS With Credentials"),
            (PROXY_HTTP_CREDS, "HTTP With Credentials"),
        ),
    ),
    FieldSpec(
        "proxy",
        "Proxy",
        TEXT,
        "Proxy URL: http://host:port for HTTP types, https://host:port for "
        "HTTPS types.",
        show_if=("proxy_type", _ALL_PROXY_TYPES),
        require_if=("proxy_type", _ALL_PROXY_TYPES),
    ),
    FieldSpec(
        "proxy_ca_bundle_file",
        "Proxy CA Bundle File",
        TEXT,
        "Path to a PEM bundle used as the only trust store: it must hold the CA "
        "of the proxy and the CA that signs the Twilio certificate you see "
        "through the proxy (also with an HTTP proxy that intercepts TLS).",
        show_if=("proxy_type", _ALL_PROXY_TYPES),
    ),
    FieldSpec(
        "proxy_credentials",
        "Proxy Credentials",
        CREDENTIAL,
        "Runtime User and Runtime Password for the proxy.",
        show_if=("proxy_type", CREDENTIAL_PROXY_TYPES),
        require_if=("proxy_type", CREDENTIAL_PROXY_TYPES),
    ),
    FieldSpec(
        "queued_count",
        "Queued Count",
        INTEGER,
        "Messages queued to Twilio so far.",
        output_only=True,
    ),
    FieldSpec(
        "failed_count",
        "Failed Count",
        INTEGER,
        "Messages Twilio did not accept so far.",
        output_only=True,
    ),
    FieldSpec(
        "delivered_count",
        "Delivered Count",
        INTEGER,
        "Messages delivered or calls answered (with Wait For Delivery).",
        output_only=True,
        show_if=("wait_for_delivery", ("true",)),
    ),
    FieldSpec(
        "resend_state",
        "Resend State",
        TEXT,
        "Internal record of the recipients already queued, read on a re-run "
        "with Resend Policy 'Send Only To Unsent'. Holds no secrets.",
        output_only=True,
        preserve_on_rerun=True,
        show_if=("resend_policy", (RESEND_UNSENT_ONLY,)),
    ),
)

BY_NAME = {spec.name: spec for spec in FIELDS}
