"""Twilio Studio v2 in the sandbox: Flows, Executions and their Context.

``/v2/Flows`` (GET list in the v2 envelope ``{"flows": [...], "meta": {...}}``,
POST create: FriendlyName, Status, Definition required, Definition a JSON
object, Status ``draft``/``published``), ``/v2/Flows/{FW}`` (GET, POST update:
Status required, revision + 1), ``/v2/Flows/{FW}/Executions`` (POST: To and
From required, Parameters a JSON object if given; one active execution per
contact and flow, else 409/20409; GET: ``DateCreatedFrom``/``DateCreatedTo``
ISO 8601, newest first), ``…/Executions/{FN}`` (GET; POST ``Status=ended``)
and ``…/Executions/{FN}/Context``.

An execution places a call (a Call resource of the store, so a hang-up on
``…/Calls/{CA}.json`` finds it) and then waits for a keypress: a press
scripted with ``Sandbox.script_press(number, digit, after)`` for the next
execution to that number shows ``after`` seconds after its creation as the
gather widget's ``Digits``, and the execution is ``ended`` from then on.
Without a press it stays ``active`` for ``unanswered_after`` seconds (then
ends with no Digits), unless ended by a POST first. Times are computed when
read, as for messages and calls.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from .errors import ApiError, bad_request
from .resources import new_sid
from .validation import Params, first

FLOWS = "/v2/Flows"
UNANSWERED_AFTER = 60.0
INVALID_PARAMETER = 20001


def iso(moment: Optional[float]) -> Optional[str]:
    if moment is None:
        return None
    stamp = datetime.datetime.fromtimestamp(int(moment), datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


class Studio:
    """The account's flows and executions; ``answer`` serves the paths."""

    def __init__(self, account_sid: str, create_call: Callable[[Params], dict]) -> None:
        self.account_sid = account_sid
        self.base_url = ""  # set by the server once it knows its address
        self.unanswered_after = UNANSWERED_AFTER
        self._create_call = create_call
        self._lock = threading.Lock()
        self._flows: Dict[str, dict] = {}
        self._executions: Dict[str, dict] = {}
        self._presses: Dict[str, List[Tuple[str, float]]] = {}

    def script_press(self, number: str, digit: str, after: float) -> None:
        with self._lock:
            self._presses.setdefault(number, []).append((digit, after))

    # -- routing ----------------------------------------------------------
    def answer(
        self, method: str, path: str, params: Params, forbidden: bool = False
    ) -> Optional[dict]:
        """The answer document for a Studio path, None for any other path.
        Raises ApiError for a refusal (403 when ``forbidden``); the key
        ``_created`` marks a 201."""
        if path != FLOWS and not path.startswith(FLOWS + "/"):
            return None
        if forbidden:
            raise ApiError(403, 20403, "Forbidden: the account may not do this.")
        parts = path[len(FLOWS) :].strip("/").split("/") if path != FLOWS else []
        with self._lock:
            return self._dispatch(method, parts, params, path)

    def _dispatch(self, method: str, parts: List[str], params: Params, path: str):
        if not parts:
            return (
                self._list_flows(params) if method == "GET" else self._new_flow(params)
            )
        flow = self._flows.get(parts[0])
        if flow is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        if len(parts) == 1:
            return (
                self._flow(flow, params)
                if method == "POST"
                else self._render_flow(flow)
            )
        if parts[1] != "Executions" or len(parts) > 4:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        if len(parts) == 2:
            if method == "POST":
                return self._start(flow, params)
            return self._list_executions(flow, params)
        execution = self._executions.get(parts[2])
        if execution is None or execution["flow"] != flow["sid"]:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        if len(parts) == 4 and parts[3] == "Context" and method == "GET":
            return self._context(execution)
        if len(parts) == 3 and method == "POST":
            return self._end(execution, params)
        if len(parts) == 3 and method == "GET":
            return self._render_execution(execution)
        raise ApiError(405, 20004, "Method not allowed")

    # -- flows --------------------------------------------------------------
    def _new_flow(self, params: Params) -> dict:
        for name in ("FriendlyName", "Status", "Definition"):
            if not first(params, name):
                raise bad_request(20001, f"Missing required parameter {name}")
        flow = {"sid": new_sid("FW"), "created": time.time(), "revision": 0}
        self._apply(flow, params)
        self._flows[flow["sid"]] = flow
        return dict(self._render_flow(flow), _created=True)

    def _flow(self, flow: dict, params: Params) -> dict:
        if not first(params, "Status"):
            raise bad_request(20001, "Missing required parameter Status")
        self._apply(flow, params)
        return self._render_flow(flow)

    def _apply(self, flow: dict, params: Params) -> None:
        status = first(params, "Status")
        if status not in ("draft", "published"):
            raise bad_request(INVALID_PARAMETER, f"Invalid Status {status!r}")
        if first(params, "Definition"):
            try:
                definition = json.loads(first(params, "Definition"))
            except ValueError:
                raise bad_request(INVALID_PARAMETER, "Definition is not JSON") from None
            if not isinstance(definition, dict):
                raise bad_request(INVALID_PARAMETER, "Definition is not an object")
            flow["definition"] = definition
        flow["name"] = first(params, "FriendlyName") or flow.get("name", "")
        flow["status"] = status
        flow["commit"] = first(params, "CommitMessage") or None
        flow["revision"] += 1
        flow["updated"] = time.time()

    def _render_flow(self, flow: dict) -> dict:
        return flow_document(flow, self.base_url, self.account_sid)

    def _list_flows(self, params: Params) -> dict:
        rows = [self._render_flow(f) for f in self._flows.values()]
        return page_of(self.base_url, "flows", FLOWS, rows, params)

    # -- executions ---------------------------------------------------------
    def _start(self, flow: dict, params: Params) -> dict:
        to, sender = first(params, "To"), first(params, "From")
        if not to or not sender:
            raise bad_request(20001, "Missing required parameter To or From")
        data = {}
        if first(params, "Parameters"):
            try:
                data = json.loads(first(params, "Parameters"))
            except ValueError:
                raise bad_request(INVALID_PARAMETER, "Parameters is not JSON") from None
        now = time.time()
        for other in self._executions.values():
            if other["flow"] == flow["sid"] and other["to"] == to:
                if self._status(other, now) == "active":
                    raise ApiError(409, 20409, "Execution already active for contact")
        call = self._create_call({"To": [to], "From": [sender]})
        presses = self._presses.get(to)
        press = presses.pop(0) if presses else None
        execution = {
            "sid": new_sid("FN"),
            "flow": flow["sid"],
            "revision": flow["revision"],
            "to": to,
            "from": sender,
            "data": data,
            "created": now,
            "call": call["sid"],
            "press": press,
            "ended": None,
        }
        self._executions[execution["sid"]] = execution
        return dict(self._render_execution(execution), _created=True)

    def _pressed_at(self, execution: dict) -> Optional[float]:
        press = execution["press"]
        return None if press is None else execution["created"] + press[1]

    def _ended_at(self, execution: dict) -> float:
        """When the execution ends by itself (a press, or nobody pressing)."""
        pressed = self._pressed_at(execution)
        natural = (
            pressed
            if pressed is not None
            else execution["created"] + self.unanswered_after
        )
        stopped = execution["ended"]
        return natural if stopped is None else min(natural, stopped)

    def _status(self, execution: dict, now: float) -> str:
        return "ended" if now >= self._ended_at(execution) else "active"

    def _end(self, execution: dict, params: Params) -> dict:
        if first(params, "Status") != "ended":
            raise bad_request(INVALID_PARAMETER, "Status must be ended")
        if execution["ended"] is None:
            execution["ended"] = time.time()
        return self._render_execution(execution)

    def _render_execution(self, execution: dict, now: Optional[float] = None) -> dict:
        now = time.time() if now is None else now
        status = self._status(execution, now)
        url = "{}{}/{}/Executions/{}".format(
            self.base_url, FLOWS, execution["flow"], execution["sid"]
        )
        updated = (
            self._ended_at(execution) if status == "ended" else execution["created"]
        )
        return {
            "account_sid": self.account_sid,
            "contact_channel_address": execution["to"],
            "contact_sid": "FC" + execution["sid"][2:],
            "context": {},
            "date_created": iso(execution["created"]),
            "date_updated": iso(updated),
            "flow_sid": execution["flow"],
            "flow_version": execution["revision"],
            "initiated_by": "RE" + execution["sid"][2:],
            "links": {
                "execution_context": url + "/Context",
                "steps": url + "/Steps",
            },
            "sid": execution["sid"],
            "status": status,
            "url": url,
        }

    def _context(self, execution: dict) -> dict:
        now = time.time()
        widgets: Dict[str, dict] = {"call": {"CallSid": execution["call"]}}
        pressed = self._pressed_at(execution)
        if (
            pressed is not None
            and now >= pressed
            and (execution["ended"] is None or execution["ended"] >= pressed)
        ):
            widgets["gather"] = {"Digits": execution["press"][0]}
        url = "{}{}/{}/Executions/{}/Context".format(
            self.base_url, FLOWS, execution["flow"], execution["sid"]
        )
        return {
            "account_sid": self.account_sid,
            "context": {
                "flow": {
                    "flow_sid": execution["flow"],
                    "data": execution["data"],
                    "channel": {"address": execution["from"]},
                },
                "contact": {"channel": {"address": execution["to"]}},
                "widgets": widgets,
            },
            "execution_sid": execution["sid"],
            "flow_sid": execution["flow"],
            "url": url,
        }

    def _list_executions(self, flow: dict, params: Params) -> dict:
        low = _date(params, "DateCreatedFrom")
        high = _date(params, "DateCreatedTo")
        now = time.time()
        rows = [
            self._render_execution(e, now)
            for e in reversed(list(self._executions.values()))
            if e["flow"] == flow["sid"]
            and (low is None or e["created"] >= low)
            and (high is None or e["created"] <= high)
        ]
        path = "{}/{}/Executions".format(FLOWS, flow["sid"])
        return page_of(self.base_url, "executions", path, rows, params)

    # -- for tests ------------------------------------------------------------
    def executions(self) -> List[dict]:
        with self._lock:
            now = time.time()
            return [self._render_execution(e, now) for e in self._executions.values()]

    def flows(self) -> List[dict]:
        with self._lock:
            return [self._render_flow(f) for f in self._flows.values()]


def _date(params: Params, name: str) -> Optional[float]:
    raw = first(params, name)
    if not raw:
        return None
    try:
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            INVALID_PARAMETER, f"Invalid value for {name}: {raw!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def flow_document(flow: dict, base_url: str, account_sid: str) -> dict:
    """A flow as Twilio renders it."""
    url = "{}{}/{}".format(base_url, FLOWS, flow["sid"])
    return {
        "account_sid": account_sid,
        "author_sid": None,
        "commit_message": flow["commit"],
        "date_created": iso(flow["created"]),
        "date_updated": iso(flow["updated"]),
        "definition": flow["definition"],
        "errors": [],
        "friendly_name": flow["name"],
        "links": {
            "executions": url + "/Executions",
            "revisions": url + "/Revisions",
            "test_users": url + "/TestUsers",
        },
        "revision": flow["revision"],
        "sid": flow["sid"],
        "status": flow["status"],
        "url": url,
        "valid": True,
        "warnings": [],
        "webhook_url": "https://webhooks.twilio.com/v1/Accounts/{}/Flows/{}".format(
            account_sid, flow["sid"]
        ),
    }


def page_of(
    base_url: str, key: str, path: str, rows: List[dict], params: Params
) -> dict:
    """One page of ``rows`` in Twilio's v2 envelope (PageSize, Page)."""
    raw_size, raw_page = first(params, "PageSize"), first(params, "Page")
    size = int(raw_size) if raw_size.isdigit() and int(raw_size) else 50
    size = min(size, 1000)
    page = int(raw_page) if raw_page.isdigit() else 0
    chunk = rows[page * size : (page + 1) * size]
    more = (page + 1) * size < len(rows)
    url = base_url + path + "?PageSize={}&Page={}"
    return {
        key: chunk,
        "meta": {
            "first_page_url": url.format(size, 0),
            "key": key,
            "next_page_url": url.format(size, page + 1) if more else None,
            "page": page,
            "page_size": size,
            "previous_page_url": url.format(size, page - 1) if page else None,
            "url": url.format(size, page),
        },
    }
