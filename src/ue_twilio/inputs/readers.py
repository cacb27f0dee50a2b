"""Read one raw agent value into a Python value of the field's kind.

The agent's shapes are loose (contract section 3): a Choice is a list, empty
values arrive as None, "", [], [None] or [""], a Credential is either flattened
(``name.user``) or nested (``{"user": ...}``). Every reader returns None for
empty and raises ValidationError for a wrong type, never anything else.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from ..exceptions import ValidationError
from .fields import BY_NAME


def label(name: str) -> str:
    return BY_NAME[name].label if name in BY_NAME else name


def is_empty(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, (list, tuple)):
        return all(item is None or item == "" for item in value)
    return False


def _type_name(value: Any) -> str:
    return type(value).__name__


def read_text(raw: Mapping[str, Any], name: str) -> Optional[str]:
    value = raw.get(name)
    if is_empty(value):
        return None
    if not isinstance(value, str):
        raise ValidationError(label(name), "expected text, got " + _type_name(value))
    _refuse_lone_surrogates(name, value)
    return value


def _refuse_lone_surrogates(name: str, value: str, part: str = "") -> None:
    """JSON may carry a lone UTF-16 surrogate (``"\\ud800"``) that no UTF-8
    writer accepts: without this check it crashes the HTTP request or the
    output. The message gives only its position, never the value (a secret)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        problem = "{}contains an invalid character (a lone surrogate) at position {}"
        raise ValidationError(
            label(name), problem.format(part, exc.start + 1)
        ) from None


def read_integer(raw: Mapping[str, Any], name: str) -> Optional[int]:
    value = raw.get(name)
    if is_empty(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problem = "expected a whole number, got " + _type_name(value)
        raise ValidationError(label(name), problem)
    spec = BY_NAME[name]
    if spec.min_value is not None and spec.max_value is not None:
        if not spec.min_value <= value <= spec.max_value:
            problem = "{} is out of range {}-{}".format(
                value, spec.min_value, spec.max_value
            )
            raise ValidationError(label(name), problem)
    return value


def read_boolean(raw: Mapping[str, Any], name: str) -> Optional[bool]:
    value = raw.get(name)
    if is_empty(value):
        return None
    if not isinstance(value, bool):
        problem = "expected true or false, got " + _type_name(value)
        raise ValidationError(label(name), problem)
    return value


def read_choice(raw: Mapping[str, Any], name: str) -> Optional[str]:
    """Return the selected choice value; a Choice arrives as a one-item list."""
    value = raw.get(name)
    if is_empty(value):
        return None
    if isinstance(value, (list, tuple)):
        picked = [item for item in value if not is_empty(item)]
        if len(picked) != 1:
            raise ValidationError(label(name), "expected exactly one choice")
        value = picked[0]
    if not isinstance(value, str):
        problem = "expected a choice value, got " + _type_name(value)
        raise ValidationError(label(name), problem)
    allowed = [choice for choice, _ in BY_NAME[name].choices]
    if value not in allowed:
        problem = "{} is not one of {}".format(ascii(value[:40]), ", ".join(allowed))
        raise ValidationError(label(name), problem)
    return value


def read_credential(
    raw: Mapping[str, Any], name: str
) -> Tuple[Optional[str], Optional[str]]:
    """Return (user, password) from the nested or the flattened shape."""
    nested = raw.get(name)
    if isinstance(nested, Mapping) and not is_empty(list(nested.values())):
        user, password = nested.get("user"), nested.get("password")
    elif is_empty(nested) or isinstance(nested, Mapping):  # all-empty nested dict
        user, password = raw.get(name + ".user"), raw.get(name + ".password")
    else:
        problem = "expected a credential, got " + _type_name(nested)
        raise ValidationError(label(name), problem)
    return (
        _credential_part(name, "user", user),
        _credential_part(name, "password", password),
    )


def _credential_part(name: str, part: str, value: Any) -> Optional[str]:
    if is_empty(value):
        return None
    if not isinstance(value, str):
        problem = "the {} is not text ({})".format(part, _type_name(value))
        raise ValidationError(label(name), problem)
    _refuse_lone_surrogates(name, value, "the {} ".format(part))
    return value
