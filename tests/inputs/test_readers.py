"""Readers: every agent value shape becomes a value, None, or a ValidationError
naming the field. Never any other exception (that would be exit 1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ue_twilio.exceptions import ValidationError
from ue_twilio.inputs.readers import (
    is_empty,
    label,
    read_boolean,
    read_choice,
    read_credential,
    read_integer,
    read_text,
)

EMPTY = [None, "", [], [None], [""], ["", None], ()]


def _problem(call, *args) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call(*args)
    return info.value


@pytest.mark.parametrize("value", EMPTY)
def test_every_empty_shape_reads_as_none(value):
    raw = {"sender": value, "answer_timeout": value, "action": value}
    assert is_empty(value)
    assert read_text(raw, "sender") is None
    assert read_integer(raw, "answer_timeout") is None
    assert read_choice(raw, "action") is None
    assert read_boolean({"wait_for_delivery": value}, "wait_for_delivery") is None


def test_missing_keys_read_as_none():
    assert read_text({}, "sender") is None
    assert read_credential({}, "twilio_credentials") == (None, None)


@pytest.mark.parametrize("value", [5, 1.5, True, ["+1555"], {"a": 1}])
def test_text_of_another_type_names_the_field(value):
    error = _problem(read_text, {"sender": value}, "sender")
    assert error.label == "Sender"
    assert error.problem.startswith("expected text, got ")


@pytest.mark.parametrize("name", ["sender", "message_body_text", "proxy"])
def test_text_with_a_lone_surrogate_is_refused_by_position(name):
    error = _problem(read_text, {name: "ab\ud800c"}, name)
    assert error.label == label(name)
    assert error.problem == (
        "contains an invalid character (a lone surrogate) at position 3"
    )


def test_text_with_other_unicode_is_returned_unchanged():
    text = "Ünïcødé ＋１ \u202e bidi \x00 control"
    assert read_text({"message_body_text": text}, "message_body_text") == text


@pytest.mark.parametrize(
    "value, problem",
    [
        ("30", "expected a whole number, got str"),
        (30.0, "expected a whole number, got float"),
        (True, "expected a whole number, got bool"),
        ([30], "expected a whole number, got list"),
        (0, "0 is out of range 1-600"),
        (601, "601 is out of range 1-600"),
        (10**100, "is out of range 1-600"),
    ],
)
def test_integer_rules(value, problem):
    error = _problem(read_integer, {"answer_timeout": value}, "answer_timeout")
    assert error.label == "Answer Timeout"
    assert problem in error.problem


@pytest.mark.parametrize("value", [1, 600, 45])
def test_integer_in_range(value):
    assert read_integer({"answer_timeout": value}, "answer_timeout") == value


@pytest.mark.parametrize("value", ["true", 1, [True]])
def test_boolean_must_be_a_boolean(value):
    error = _problem(read_boolean, {"wait_for_delivery": value}, "wait_for_delivery")
    assert error.problem.startswith("expected true or false, got ")


@pytest.mark.parametrize(
    "value",
    [["voice_message"], "voice_message", ("voice_message",), ["", "voice_message"]],
)
def test_choice_shapes(value):
    assert read_choice({"action": value}, "action") == "voice_message"


@pytest.mark.parametrize(
    "value, problem",
    [
        (["sms_message", "voice_message"], "expected exactly one choice"),
        ([5], "expected a choice value, got int"),
        ({"x": 1}, "expected a choice value, got dict"),
        (["fax"], "'fax' is not one of sms_message, whatsapp_message, voice_message"),
        (["\u202efax\n"], "'\\u202efax\\n' is not one of"),
    ],
)
def test_choice_violations(value, problem):
    error = _problem(read_choice, {"action": value}, "action")
    assert error.label == "Action"
    assert problem in error.problem


def test_credential_nested_and_flattened_shapes():
    nested = {"twilio_credentials": {"user": "AC1", "password": "tok"}}
    flat = {"twilio_credentials.user": "AC1", "twilio_credentials.password": "tok"}
    assert read_credential(nested, "twilio_credentials") == ("AC1", "tok")
    assert read_credential(flat, "twilio_credentials") == ("AC1", "tok")


def test_all_empty_nested_credential_falls_back_to_the_flattened_keys():
    raw = {
        "twilio_credentials": {"user": None, "password": ""},
        "twilio_credentials.user": "AC1",
        "twilio_credentials.password": "tok",
    }
    assert read_credential(raw, "twilio_credentials") == ("AC1", "tok")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"twilio_credentials": {"user": "AC1"}}, ("AC1", None)),
        ({"twilio_credentials": {"password": "tok"}}, (None, "tok")),
        ({"twilio_credentials.user": "AC1"}, ("AC1", None)),
        ({"twilio_credentials.password": "tok"}, (None, "tok")),
    ],
)
def test_half_filled_credentials_read_as_missing_parts(raw, expected):
    assert read_credential(raw, "twilio_credentials") == expected


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"twilio_credentials": "AC1:tok"}, "expected a credential, got str"),
        ({"twilio_credentials": ["AC1", "tok"]}, "expected a credential, got list"),
        ({"twilio_credentials": {"user": 5, "password": "t"}}, "the user is not text"),
        ({"twilio_credentials": {"user": "A", "password": ["t"]}}, "the password is"),
        (
            {"twilio_credentials": {"user": "AC1", "password": "s3cr\udc80t"}},
            "the password contains an invalid character (a lone surrogate) at "
            "position 5",
        ),
    ],
)
def test_credential_violations_never_show_the_value(raw, problem):
    error = _problem(read_credential, raw, "twilio_credentials")
    assert error.label == "Twilio Credentials"
    assert problem in error.problem
    assert "s3cr" not in str(error) and "tok" not in str(error)


def test_unknown_field_name_labels_as_itself():
    assert label("no_such_field") == "no_such_field"


# any character, lone surrogates included (JSON can carry "\ud800")
_char = st.characters() | st.characters(categories=["Cs"])
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(_char, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
_readers = [
    (read_text, "message_body_text", str),
    (read_integer, "call_max_duration", int),
    (read_boolean, "wait_for_delivery", bool),
    (read_choice, "proxy_type", str),
]


@settings(max_examples=150, deadline=1000)
@given(value=_json, flat_user=_json, flat_password=_json)
def test_any_json_value_gives_a_value_none_or_a_validation_error(
    value, flat_user, flat_password
):
    for reader, name, kind in _readers:
        try:
            result = reader({name: value}, name)
        except ValidationError as exc:
            assert exc.label == label(name)
        else:
            assert result is None or isinstance(result, kind)
    raw = {
        "proxy_credentials": value,
        "proxy_credentials.user": flat_user,
        "proxy_credentials.password": flat_password,
    }
    try:
        parts = read_credential(raw, "proxy_credentials")
    except ValidationError as exc:
        assert exc.label == "Proxy Credentials"
    else:
        assert all(p is None or isinstance(p, str) for p in parts)
