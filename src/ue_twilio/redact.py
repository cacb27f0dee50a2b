"""Scrub secrets from any text before it leaves the process: the last resort.

Secrets stay out of output by construction: they are never formatted into a
message, the echo masks credential fields by key. What is left are library
texts: exceptions quote URLs (with ``user:password@``) and headers, so a
secret could surface raw, percent-encoded or inside a Basic auth header.

The rule: no run of MIN_SECRET_CHARS (8) or more consecutive characters of
a secret, in any case, leaves the process. A message may quote a value cut
to 40 characters (a token pasted after a number), or lower-cased (a host
name): any 8 characters of the secret in a row are masked wherever they
stand, so the order of cutting and scrubbing no longer matters.

The scrub must never alter the task's own words: replacing every ``sms``
would turn ``sms_message`` into ``****_message``. It therefore replaces only
forms that cannot be ordinary text: the userinfo of any URL (up to its last
``@``, RFC 3986), every run of at least MIN_SECRET_CHARS characters of a
secret and the secret's percent-encoded forms, and the base64 of
``user:secret`` when at least MIN_ENCODED_CHARS long. A shorter secret is
left to construction: nothing the task writes depends on it
(tests/test_masking.py proves that by running with ``sms`` and with a long
secret and comparing the outputs).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any, Iterable, List, Mapping, Optional, Set, Tuple
from urllib.parse import quote, quote_plus

MASK = "****"
MIN_SECRET_CHARS = 8
MIN_ENCODED_CHARS = 16
# Greedy up to the last '@' before the path: a password may hold an '@'.
_URL_USERINFO = re.compile(r"(?<=://)[^/\s'\"]+@")

if TYPE_CHECKING:  # pragma: no cover - read by mypy only (no Protocol on 3.7)
    from typing import Protocol  # novermin

    class ProxyCredentials(Protocol):
        """What the redactor needs of a proxy (``inputs.proxy.ProxyConfig``):
        a leaf module names no layer above it."""

        @property
        def user(self) -> Optional[str]: ...

        @property
        def password(self) -> Optional[str]: ...


class Redactor:
    """Replaces each form of a secret that cannot be ordinary text with ``****``."""

    def __init__(
        self,
        secrets: Iterable[Optional[str]] = (),
        pairs: Iterable[Tuple[Optional[str], Optional[str]]] = (),
    ) -> None:
        forms: Set[str] = set()
        runs: Set[str] = set()
        quarters: Set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_CHARS:
                forms.update(_forms(secret))
                runs.update(_runs(secret))
                quarters.update(_quarters(secret))
        for user, password in pairs:
            if user and password:
                basic = _basic_forms(user, password)
                forms.update(f for f in basic if len(f) >= MIN_ENCODED_CHARS)
        # Longest first, so a form is never half-replaced by a shorter one.
        self._forms: List[str] = sorted(forms, key=len, reverse=True)
        self._runs = sorted(runs)
        self._quarters = sorted(quarters)
        # Zero-width, so that overlapping runs are all found.
        alternatives = "|".join(re.escape(run) for run in self._runs)
        self._finder = re.compile("(?=(?:{}))".format(alternatives), re.IGNORECASE)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        if self._runs and len(text) >= MIN_SECRET_CHARS:
            text = self._mask_runs(text)
        return mask_userinfo(text)

    def _mask_runs(self, text: str) -> str:
        """Every stretch covered by runs of a secret becomes one ``****``."""
        lowered = text.lower()
        for quarter in self._quarters:
            if quarter in lowered:
                break
        else:  # the common case: no run can be there
            return text
        spans: List[List[int]] = []
        for match in self._finder.finditer(text):
            start = match.start()
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + MIN_SECRET_CHARS
            else:
                spans.append([start, start + MIN_SECRET_CHARS])
        for start, end in reversed(spans):
            text = text[:start] + MASK + text[end:]
        return text


def mask_userinfo(text: str) -> str:
    """Every URL's ``user:password@`` as ``****@``."""
    return _URL_USERINFO.sub(MASK + "@", text)


# "surrogatepass": a raw field may hold a lone surrogate (JSON "\ud800"); the
# redactor is built before validation refuses it and must not crash on it.
_ERRORS = "surrogatepass"


def _forms(secret: str) -> Set[str]:
    return {
        secret,
        quote(secret, safe="", errors=_ERRORS),
        quote_plus(secret, safe="", errors=_ERRORS),
        quote(secret, errors=_ERRORS),
    }


def _runs(secret: str) -> Set[str]:
    """Every MIN_SECRET_CHARS characters in a row of ``secret``, lower-cased."""
    lowered = secret.lower()
    if len(lowered) != len(secret):  # a letter whose lower case is longer
        lowered = secret
    last = len(lowered) - MIN_SECRET_CHARS
    return {lowered[i : i + MIN_SECRET_CHARS] for i in range(last + 1)}


def _quarters(secret: str) -> Set[str]:
    """Every run of 8 characters holds one of these 4 (those starting at a
    multiple of 4): a cheap test that no run is in a text (4x fewer tests)."""
    lowered = secret.lower()
    if len(lowered) != len(secret):
        lowered = secret
    return {lowered[i : i + 4] for i in range(0, len(lowered) - 3, 4)}


def _basic_forms(user: str, password: str) -> Set[str]:
    raw = "{}:{}".format(user, password).encode("utf-8", _ERRORS)
    encoded = base64.b64encode(raw).decode("ascii")
    return {encoded, encoded.rstrip("=")}


def redactor_for(
    account_sid: str,
    auth_token: str,
    proxy: Optional[ProxyCredentials] = None,
    raw: Any = None,
) -> Redactor:
    """Scrubs the token and the proxy password, raw and inside Basic headers,
    and every secret of the ``raw`` fields (a proxy password left in the
    fields of a Proxy Type without credentials is still a password)."""
    secrets: List[Optional[str]] = [auth_token, *raw_secrets(raw)]
    pairs: List[Tuple[Optional[str], Optional[str]]] = [(account_sid, auth_token)]
    if proxy is not None and proxy.password:
        secrets.append(proxy.password)
        pairs.append((proxy.user, proxy.password))
    return Redactor(secrets, pairs)


def redactor_for_raw(raw: Any) -> Redactor:
    """Before validation: every string in a credential field may be a secret."""
    return Redactor(raw_secrets(raw))


def raw_secrets(raw: Any) -> List[str]:
    """The passwords (and tokens) of the credential fields, in either shape."""
    if not isinstance(raw, Mapping):
        return []
    secrets: List[str] = []
    for name in ("twilio_credentials", "proxy_credentials"):
        nested = raw.get(name)
        values = [raw.get(name + ".password"), raw.get(name + ".token")]
        if isinstance(nested, Mapping):
            values += [nested.get("password"), nested.get("token")]
        secrets += [v for v in values if isinstance(v, str) and v]
    return secrets


def scrub_tree(value: Any, redactor: Redactor) -> Any:
    """Scrub every string inside a JSON-like structure."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, dict):
        return {key: scrub_tree(item, redactor) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_tree(item, redactor) for item in value]
    return value
