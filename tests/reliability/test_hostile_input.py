"""Hostile ``fields`` dicts (hypothesis): exit 20 naming a field, or a normal run.

Whatever the agent hands over (wrong types, missing keys, None, huge strings,
Unicode look-alikes, bidi and control characters inside numbers, half-filled
credentials of either shape, nested junk), the task ends with an exit code it
meant: 20 with ``DATA_VALIDATION_ERROR: <field label>: ...`` or the result of a
real run against the sandbox. Never exit 1 from an unexpected exception, never
a traceback, each case well under a second, and nothing but E.164 (optionally
``whatsapp:``-prefixed) ever reaches "Twilio" as To or From.

Wait For Delivery = true with valid fields is left out on purpose: following
delivery takes seconds by design (docs/reliability.md).
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reliability_kit import FORWARDED

from support import boxes, oai, runner
from support.runner import run_cli
from ue_twilio import Settings, Task
from ue_twilio.inputs.fields import FIELDS
from ue_twilio.sandbox import DEFAULT_ACCOUNT_SID

TOKEN = "hostile-token-5f0c1e2d3b4a69788796a5b4c3d2e1f0"
SENDER = "+15005550006"
ACTION_NAMES = ("sms_message", "whatsapp_message", "voice_message")
LABELS = {spec.label for spec in FIELDS} | {"Fields"}
VALIDATION = re.compile(r"DATA_VALIDATION_ERROR: (?P<label>[A-Z][A-Za-z ]+): \S")
EXPECTED_CODES = {0, 1, 2, 10, 20, 21}  # 2: a well-formed wrong token; 10: a proxy
TIMEOUTS = {"connect_timeout": 2.0, "read_timeout": 2.0}
HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]

# -- strategies ---------------------------------------------------------------
_char = st.characters() | st.characters(categories=["Cs"])  # lone surrogates too
HUGE = [
    "9" * 5000,
    "+1" + "5" * 100000,
    "x" * 1601,
    "+15558675310," * 320,  # under 4000 characters: valid, one number, duplicates
    "+15558675310," * 400,  # over 4000 characters
    "\u202e" * 3000,
]


def _huge(index: int) -> str:
    return HUGE[index]  # by index: keeps hypothesis' reprs short


junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(_char, max_size=30)
    | st.builds(_huge, st.integers(0, len(HUGE) - 1)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
# Look-alikes and invisibles a copy-paste can bring into a phone number.
TRICKY = [
    " ",
    "\t",
    "\n",
    "\r",
    "\x00",
    "\x7f",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "-",
    "(",
    ")",
    ".",
    "\u200b",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
    "\uff0b",
    "\uff11",
    "\u0661",
    "\u06f5",
    "\u0967",
    "\u09ea",
    "\U0001d7d9",
    "\u2795",
    "\u207a",
    "e",
    "whatsapp:",
    "+",
    "0",
    "+0",
]
good_number = st.from_regex(r"\+1555[0-9]{7}", fullmatch=True)
# Text ending in lone surrogates: rare in st.text, so drawn on purpose.
surrogates = st.tuples(
    st.sampled_from(["", "tok", "+1555", "AC"]),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
).map("".join)


@st.composite
def hostile_number(draw):
    number = draw(good_number)
    position = draw(st.integers(0, len(number)))
    trick = draw(st.sampled_from(TRICKY))
    return number[:position] + trick + number[position:]


# mostly good numbers, so that most lists get past validation and are sent
number_text = st.one_of(good_number, good_number, good_number, hostile_number())
number_list = st.lists(number_text, min_size=1, max_size=5).flatmap(
    lambda numbers: st.sampled_from([",", ", ", ",\n", " , ", ";"]).map(
        lambda sep: sep.join(numbers)
    )
)
recipient_list = st.one_of(
    number_list,
    st.lists(st.sampled_from(TRICKY + list("0123456789,")), max_size=30).map("".join),
    surrogates,
    junk,
)
actions = st.one_of(
    st.sampled_from(["sms_message", "whatsapp_message", "voice_message"]).flatmap(
        lambda a: st.sampled_from([[a], a, [a, a], ["", a], [a.upper()]])
    ),
    junk,
)
account_sid = st.one_of(
    st.just(DEFAULT_ACCOUNT_SID),
    st.sampled_from(
        [
            "AC" + "0" * 31,
            "ac" + DEFAULT_ACCOUNT_SID[2:],
            "\uff21\uff23" + DEFAULT_ACCOUNT_SID[2:],
            DEFAULT_ACCOUNT_SID + "\n",
            " " + DEFAULT_ACCOUNT_SID,
        ]
    ),
    surrogates,
    junk,
)
password = st.one_of(
    st.just(TOKEN), st.just("wrong-token-0123456789abcdef0123"), surrogates, junk
)
credential = st.fixed_dictionaries(
    {}, optional={"user": account_sid, "password": password}
)
integer = st.one_of(st.integers(-5, 20000), st.sampled_from([10**30, -(2**63)]), junk)
sender = st.one_of(
    st.just(SENDER),
    st.just("MG" + "a" * 32),
    hostile_number(),
    st.lists(st.sampled_from(TRICKY + list("0123456789")), max_size=20).map("".join),
    surrogates,
    junk,
)
message = st.one_of(
    st.just("Nightly load failed"),
    st.just("</Say><Dial>+15551234567</Dial><Say>"),
    st.text(_char, max_size=60),
    surrogates,
    junk,
)
proxy_types = st.one_of(
    st.none(),
    st.sampled_from(
        ["HTTP", "HTTPS", "HTTP_WITH_CREDENTIALS", "HTTPS_WITH_CREDENTIALS"]
    ).map(lambda t: [t]),
    junk,
)
proxy_urls = st.one_of(
    st.sampled_from(
        [
            "http://127.0.0.1:9",
            "https://127.0.0.1:9",
            "http://u:p@127.0.0.1:9",
            "ftp://127.0.0.1:9",
            "http://[::1:9",
            "http://127.0.0.1:99999",
            "http://\u0661\u0662\u0667.0.0.1:9",
        ]
    ),
    junk,
)


def _files() -> list:
    """A few recipient files of every kind, written once per session."""
    # not "hostile-": 8 characters of TOKEN, which the leak guard looks for
    folder = Path(tempfile.mkdtemp(prefix="ue-twilio-odd-files-"))
    contents = {
        "valid.txt": "+15558675310\n# comment\n+15558675311, +15558675312\n",
        "bidi.txt": "+1555867\u202e5310\n",
        "fullwidth.txt": "\uff0b15558675310\n",
        "binary.bin": b"\xff\xfe\x00+1555\x00",
        "empty.txt": "",
    }
    for name, content in contents.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (folder / name).write_bytes(data)
    paths = [str(folder / name) for name in contents]
    return paths + [str(folder), str(folder / "missing.txt"), "", "."]


FILES = _files()
optional_fields = {
    "action": actions,
    "twilio_credentials": st.one_of(credential, junk),
    "twilio_credentials.user": account_sid,
    "twilio_credentials.password": password,
    "sender": sender,
    "recipient_list": recipient_list,
    "recipient_list_file": st.one_of(st.sampled_from(FILES), junk),
    "message_body_text": message,
    "content_sid": st.one_of(st.just("HX" + "b" * 32), junk),
    "content_variables": st.one_of(st.just('{"1": "db01"}'), st.just("[1]"), junk),
    "answer_timeout": integer,
    "call_max_duration": integer,
    "max_concurrent_requests": integer,
    "wait_for_delivery": st.one_of(
        st.just(False), junk.filter(lambda v: v is not True)
    ),
    "delivery_timeout": integer,
    "resend_policy": st.one_of(st.sampled_from([["all"], ["unsent_only"]]), junk),
    "proxy_type": proxy_types,
    "proxy": proxy_urls,
    "proxy_ca_bundle_file": st.one_of(st.none(), st.sampled_from(FILES), junk),
    "proxy_credentials": st.one_of(credential, junk),
    "proxy_credentials.user": st.one_of(st.just("ops"), junk),
    "proxy_credentials.password": st.one_of(
        st.just("proxy-pass-1234"), surrogates, junk
    ),
}


def valid_base() -> dict:
    return {
        "action": ["sms_message"],
        "twilio_credentials": {"user": DEFAULT_ACCOUNT_SID, "password": TOKEN},
        "sender": SENDER,
        "recipient_list": "+15558675310",
        "message_body_text": "Nightly load failed",
    }


@st.composite
def mutated_fields(draw):
    """A valid task with a few fields made hostile or removed: reaches the
    rules checked late (integers, proxy, files), which fully random dicts,
    stopped by the first field, almost never do."""
    fields = valid_base()
    fields["action"] = [draw(st.sampled_from(list(ACTION_NAMES)))]
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2)):
        fields.pop(name, None)
    names = draw(
        st.lists(st.sampled_from(sorted(optional_fields)), min_size=1, max_size=3)
    )
    if draw(st.booleans()):  # a whole proxy block, so its later rules are reached
        names += ["proxy_type", "proxy", "proxy_credentials", "proxy_ca_bundle_file"]
    for name in names:
        fields[name] = draw(optional_fields[name])
    return fields


hostile_fields = st.one_of(
    st.fixed_dictionaries({}, optional=optional_fields).flatmap(
        lambda fields: st.dictionaries(st.text(max_size=12), junk, max_size=3).map(
            lambda extra: {**extra, **fields}
        )
    ),
    mutated_fields(),
    mutated_fields(),
    junk,  # not even a mapping
)


# -- fixtures -----------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_box():
    """One sandbox for the module (hypothesis runs hundreds of examples)."""
    box = boxes.start_sandbox(auth_token=TOKEN, status_interval=0)
    try:
        _run(box, valid_base())  # warm up imports and the first connection
        yield box
    finally:
        boxes.finish(box)


@pytest.fixture
def guarded_box(hostile_box, secret_guard):
    boxes.register(hostile_box)
    secret_guard.add("proxy-pass-1234")
    hostile_box.clear_journal()
    return hostile_box


# -- checks -------------------------------------------------------------------
def _run(box, fields):
    with runner.captured_log() as (logger, stream):
        outcome = Task(fields, Settings(api_url=box.url, **TIMEOUTS), logger).run()
    text = outcome.output_json()
    runner.record(text, stream.getvalue(), outcome.summary)
    return outcome, text, stream.getvalue()


def _check(outcome, text, log, box):
    rc, status = outcome.exit_code, outcome.status_description
    assert rc in EXPECTED_CODES, status
    assert "Traceback" not in log
    assert "nexpected error" not in status and "nexpected error" not in log, status
    output = json.loads(text)
    assert output["exit_code"] == rc and output["status_description"] == status
    if rc == 20:
        match = VALIDATION.match(status)
        assert match and match.group("label") in LABELS, status
        assert box.journal == [], "a request was sent despite a validation error"
    else:
        stats = output["result"]["stats"]
        total = output["invocation"]["fields"]["recipient_count"]
        assert stats["msg_queued_count"] + stats["msg_failed_count"] == total
    for entry in box.journal:
        for key in ("To", "From"):
            for value in entry.params.get(key, []):
                assert FORWARDED.fullmatch(value), (key, ascii(value))
    oai.check_journal(box.journal)  # the shared sandbox is checked per example
    box.clear_journal()


@settings(
    max_examples=110,
    deadline=timedelta(milliseconds=1000),
    suppress_health_check=HEALTH,
    database=None,
)
@given(fields=hostile_fields)
def test_arbitrary_fields_end_in_a_meant_exit_code(guarded_box, fields):
    outcome, text, log = _run(guarded_box, fields)
    event("exit {}".format(outcome.exit_code))
    _check(outcome, text, log, guarded_box)


@settings(
    max_examples=70,
    deadline=timedelta(milliseconds=1000),
    suppress_health_check=HEALTH,
    database=None,
)
@given(
    action=st.sampled_from(["sms_message", "whatsapp_message", "voice_message"]),
    recipients=st.one_of(number_list, number_list, recipient_list),
    sender=st.one_of(st.just(SENDER), st.just(SENDER), sender),
    nested=st.booleans(),
)
def test_only_e164_numbers_are_ever_forwarded(
    guarded_box, action, recipients, sender, nested
):
    """Valid everything except the numbers: this is where a look-alike digit or
    an invisible character would slip through to Twilio."""
    fields = valid_base()
    fields.update(action=[action], recipient_list=recipients, sender=sender)
    if not nested:
        del fields["twilio_credentials"]
        fields["twilio_credentials.user"] = DEFAULT_ACCOUNT_SID
        fields["twilio_credentials.password"] = TOKEN
    outcome, text, log = _run(guarded_box, fields)
    rc = outcome.exit_code
    event("exit {}".format(rc))
    if rc == 20:
        label = VALIDATION.match(outcome.status_description).group("label")
        assert label in ("Recipient List", "Sender"), outcome.status_description
    else:
        assert rc in (0, 1, 21), outcome.status_description
        created = {e.params["To"][0] for e in guarded_box.creates("")}
        queued = json.loads(text)["result"]["stats"]["msg_queued_count"]
        assert len(created) == queued  # one create per queued recipient
    _check(outcome, text, log, guarded_box)


@settings(max_examples=6, deadline=None, suppress_health_check=HEALTH, database=None)
@given(fields=hostile_fields)
def test_hostile_fields_through_the_cli(guarded_box, fields):
    """The CLI adds JSON decoding and printing: still an exit code and JSON."""
    run = run_cli(fields, guarded_box.url)
    assert "Traceback" not in run.stderr
    assert run.rc == run.output["exit_code"] in EXPECTED_CODES
    status = run.output["status_description"]
    if run.rc == 20 and not isinstance(fields, dict):  # the CLI wants an object
        assert status.startswith("DATA_VALIDATION_ERROR: --fields: STDIN must hold")
    elif run.rc == 20:
        match = VALIDATION.match(status)
        assert match and match.group("label") in LABELS
    guarded_box.clear_journal()


@pytest.mark.parametrize(
    "fields",
    [
        {"message_body_text": "lone \ud800 surrogate"},
        {"sender": "+1500555\udc000006"},
        {"twilio_credentials": {"user": DEFAULT_ACCOUNT_SID, "password": "t\ud83d"}},
        {"recipient_list": "+15558675310\ud800"},
    ],
    ids=["message", "sender", "token", "recipient"],
)
def test_lone_surrogates_are_validation_errors_through_the_cli(guarded_box, fields):
    """JSON can carry "\\ud800"; it used to crash the request or the output."""
    run = run_cli({**valid_base(), **fields}, guarded_box.url)
    assert "Traceback" not in run.stderr
    assert run.rc == 20
    status = run.output["status_description"]
    assert "contains an invalid character (a lone surrogate) at position" in status
    assert guarded_box.journal == []


def test_non_latin1_token_is_sent_as_utf8_and_refused_by_twilio(guarded_box):
    """A token with a stray character used to crash requests (Latin-1 only)."""
    fields = valid_base()
    fields["twilio_credentials"]["password"] = "t\u20acken-0123456789"
    outcome, text, log = _run(guarded_box, fields)
    assert outcome.exit_code == 2, outcome.status_description
    assert outcome.status_description.startswith("AUTHENTICATION_ERROR: ")
    assert len(guarded_box.journal) == 1
    _check(outcome, text, log, guarded_box)
