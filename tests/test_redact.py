"""Redactor: every form a secret can take in a library's text is replaced.

Library exceptions quote URLs (``user:password@`` percent-encoded), headers
(base64 of ``user:password``) and raw values; the Redactor is the last step
before any text leaves the process (SafeLog, status descriptions, output).
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ue_twilio.redact import MASK, MIN_SECRET_CHARS, Redactor, scrub_tree

SECRET = "p@ss:w/rd%41 ü€?#&+=;"
USER = "ops robot"


def _basic(user: str, secret: str) -> str:
    return base64.b64encode("{}:{}".format(user, secret).encode("utf-8")).decode()


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET, safe=""),
        _basic(USER, SECRET),
        _basic(USER, SECRET).rstrip("="),
    ],
    ids=["raw", "quoted", "quoted-path", "quoted-plus", "basic", "basic-unpadded"],
)
def test_every_form_of_the_secret_is_masked(form):
    redact = Redactor([SECRET], pairs=[(USER, SECRET)])
    text = redact("before {} after".format(form))
    assert text == "before {} after".format(MASK)


def test_userinfo_of_any_url_is_masked_even_for_unknown_secrets():
    redact = Redactor()
    text = redact(
        "http://a:b@proxy:3128 and https://user%40corp:p%40ss@h/x 'socks5://u:v@s:1'"
    )
    assert text == ("http://****@proxy:3128 and https://****@h/x 'socks5://****@s:1'")


def test_urls_without_userinfo_are_left_alone():
    text = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert Redactor(["nothing-here"])(text) == text


def test_longer_secret_is_not_half_replaced_by_a_shorter_one():
    redact = Redactor(["abcdefgh", "abcdefghijkl"])
    assert redact("x abcdefghijkl y abcdefgh z") == "x **** y **** z"


@pytest.mark.parametrize("empty", [None, ""])
def test_empty_secrets_mask_nothing(empty):
    redact = Redactor([empty], pairs=[(USER, empty), (empty, SECRET)])
    assert redact("plain text") == "plain text"


def test_redaction_is_idempotent():
    redact = Redactor([SECRET], pairs=[(USER, SECRET)])
    once = redact("{} {}".format(SECRET, _basic(USER, SECRET)))
    assert redact(once) == once


def test_scrub_tree_reaches_every_string_and_keeps_other_values():
    redact = Redactor([SECRET])
    tree = {
        "a": SECRET,
        "b": [1, None, True, {"c": "x " + quote(SECRET, safe="")}],
        "d": 2.5,
    }
    assert scrub_tree(tree, redact) == {
        "a": MASK,
        "b": [1, None, True, {"c": "x " + MASK}],
        "d": 2.5,
    }


_secrets = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
    min_size=MIN_SECRET_CHARS,
    max_size=40,
).filter(lambda s: s.strip() == s and MASK not in s)
_noise = st.text(st.characters(codec="ascii"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(secret=_secrets, user=_secrets, left=_noise, right=_noise)
def test_no_form_survives_for_any_secret(secret, user, left, right):
    redact = Redactor([secret], pairs=[(user, secret)])
    forms = [
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        _basic(user, secret),
    ]
    text = redact(left + " ".join(forms) + right)
    for form in forms:
        # a form may legitimately reappear only inside the noise we added
        assert text.count(form) <= (left + right).count(form)


def test_a_secret_with_a_lone_surrogate_does_not_break_the_redactor():
    """Raw fields are redacted before validation refuses such a value."""
    secret = "s3cr\ud800t-long"
    redact = Redactor([secret], pairs=[("user", secret)])
    assert redact("x s3cr\ud800t-long y s3cr%ED%A0%80t-long") == "x **** y ****"
