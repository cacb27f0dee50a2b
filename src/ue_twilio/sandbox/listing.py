"""List pages of Messages and Calls: filters and paging as Twilio documents them.

Filters (exact match unless said otherwise; unknown query parameters ignored):
Messages ``To``, ``From``, ``DateSent``, ``DateSent<``, ``DateSent>`` (compared
with ``date_sent``); Calls ``To``, ``From``, ``Status``, ``ParentCallSid``,
``StartTime``/``EndTime`` with ``<`` and ``>`` (compared with ``start_time`` /
``end_time``). A date filter takes ``YYYY-MM-DD`` (midnight UTC) or an ISO 8601
date-time (``2026-12-01T10:00:00Z``); ``X>`` and ``X<`` are inclusive ("on or
after / before"); plain ``X`` with a date matches that UTC day, with a
date-time that second. A resource whose date is null (a message not yet sent,
a call not yet dialled) never matches a date filter. A bad date, PageSize or
PageToken is answered 400/20001.

Paging: newest first (by creation); ``PageSize`` 1..1000 (default 50, larger
values are capped), ``Page`` the index; ``PageToken`` is opaque: ``PA<sid>``
continues after that resource, ``PB<sid>`` goes back before it, so pages stay
stable while new resources are created. ``next_page_uri`` and
``previous_page_uri`` are paths to follow verbatim.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlencode

from .errors import ApiError, bad_request
from .validation import Params, first

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
INVALID_PARAMETER = 20001

# kind -> (exact-match filters: parameter -> property, date filters: prefix -> property)
FILTERS: Dict[str, Tuple[Dict[str, str], Dict[str, str]]] = {
    "Messages": ({"To": "to", "From": "from"}, {"DateSent": "date_sent"}),
    "Calls": (
        {
            "To": "to",
            "From": "from",
            "Status": "status",
            "ParentCallSid": "parent_call_sid",
        },
        {"StartTime": "start_time", "EndTime": "end_time"},
    ),
}
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_UTC = datetime.timezone.utc
_DAY = datetime.timedelta(days=1)
_SECOND = datetime.timedelta(seconds=1)


def list_page(kind: str, rows: Sequence[dict], params: Params, path: str) -> dict:
    """The list answer for ``rows`` (oldest first, as created) under ``params``.

    Raises ApiError (400/20001) for a bad filter value, PageSize or PageToken.
    """
    matches = _filter(kind, params)
    size = _page_size(params)
    page = _page_index(params)
    newest_first = list(reversed(rows))
    before, chosen, after = _slice(newest_first, matches, size, page, params)
    filters = _filter_params(kind, params)
    uri = _uri(path, filters, size, page, first(params, "PageToken"))
    next_uri = prev_uri = None
    if chosen and after:
        next_uri = _uri(path, filters, size, page + 1, "PA" + chosen[-1]["sid"])
    if chosen and before and page > 0:
        prev_uri = _uri(path, filters, size, page - 1, "PB" + chosen[0]["sid"])
    start = page * size
    return {
        kind.lower(): chosen,
        "end": start + max(len(chosen) - 1, 0),
        "first_page_uri": _uri(path, filters, size, 0, ""),
        "next_page_uri": next_uri,
        "page": page,
        "page_size": size,
        "previous_page_uri": prev_uri,
        "start": start,
        "uri": uri,
    }


# -- paging -------------------------------------------------------------------
def _slice(rows: List[dict], matches, size: int, page: int, params: Params):
    """(matches before this page?, this page, matches after it?) in the
    newest-first ``rows``."""
    token = first(params, "PageToken")
    if not token:
        found = [row for row in rows if matches(row)]
        start = page * size
        return (
            start > 0 and bool(found),
            found[start : start + size],
            (len(found) > start + size),
        )
    position = _token_position(rows, token)
    if token.startswith("PA"):  # the page after the token's resource
        older = [row for row in rows[position + 1 :] if matches(row)]
        newer = any(matches(row) for row in rows[: position + 1])
        return newer, older[:size], len(older) > size
    newer = [row for row in rows[:position] if matches(row)]  # "PB": before it
    older = any(matches(row) for row in rows[position:])
    return len(newer) > size, newer[-size:], older


def _token_position(rows: List[dict], token: str) -> int:
    if token[:2] in ("PA", "PB"):
        for index, row in enumerate(rows):
            if row["sid"] == token[2:]:
                return index
    raise _invalid("PageToken", token)


def _page_size(params: Params) -> int:
    if "PageSize" not in params:
        return DEFAULT_PAGE_SIZE
    raw = first(params, "PageSize")
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise _invalid("PageSize", raw)
    return min(int(raw), MAX_PAGE_SIZE)


def _page_index(params: Params) -> int:
    if "Page" not in params:
        return 0
    raw = first(params, "Page")
    if not (raw.isascii() and raw.isdigit()):
        raise _invalid("Page", raw)
    return int(raw)


def _filter_params(kind: str, params: Params) -> List[Tuple[str, str]]:
    """The known filters of the request, in a stable order, for the page URIs."""
    exact, dates = FILTERS[kind]
    names = list(exact)
    for prefix in dates:
        names += [prefix, prefix + "<", prefix + ">"]
    return [(name, first(params, name)) for name in names if first(params, name)]


def _uri(path: str, filters, size: int, page: int, token: str) -> str:
    query = list(filters) + [("PageSize", str(size)), ("Page", str(page))]
    if token:
        query.append(("PageToken", token))
    return path + "?" + urlencode(query)


# -- filters ------------------------------------------------------------------
def _filter(kind: str, params: Params):
    """A predicate for one row, from the request's known filters."""
    exact, dates = FILTERS[kind]
    wanted = {prop: first(params, name) for name, prop in exact.items()}
    wanted = {prop: value for prop, value in wanted.items() if value}
    bounds = []
    for prefix, prop in dates.items():
        low, high = _bounds(params, prefix)
        if low is not None or high is not None:
            bounds.append((prop, low, high))

    def matches(row: dict) -> bool:
        if any(row.get(prop) != value for prop, value in wanted.items()):
            return False
        return all(_within(row.get(prop), low, high) for prop, low, high in bounds)

    return matches


def _bounds(params: Params, prefix: str):
    """(inclusive low, exclusive high) datetimes the filters ``prefix*`` give."""
    low: Optional[datetime.datetime] = None
    high: Optional[datetime.datetime] = None
    exact = first(params, prefix)
    if exact:
        moment, is_day = _parse_date(prefix, exact)
        low, high = moment, moment + (_DAY if is_day else _SECOND)
    after = first(params, prefix + ">")
    if after:
        moment = _parse_date(prefix + ">", after)[0]
        low = moment if low is None else max(low, moment)
    before = first(params, prefix + "<")
    if before:
        moment = _parse_date(prefix + "<", before)[0] + _SECOND  # inclusive
        high = moment if high is None else min(high, moment)
    return low, high


def _parse_date(name: str, raw: str) -> Tuple[datetime.datetime, bool]:
    """(UTC datetime, whether only a date was given)."""
    text = raw.strip()
    try:
        if _DATE.match(text):
            day = datetime.datetime.strptime(text, "%Y-%m-%d")
            return day.replace(tzinfo=_UTC), True
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(name, raw) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC), False


def _within(value: Optional[str], low, high) -> bool:
    if value is None:
        return False
    moment = email.utils.parsedate_to_datetime(value)
    return (low is None or moment >= low) and (high is None or moment < high)


def _invalid(name: str, raw: str) -> ApiError:
    return bad_request(INVALID_PARAMETER, f"Invalid value for {name}: {raw!r}")
