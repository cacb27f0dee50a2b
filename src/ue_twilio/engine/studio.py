"""Voice acknowledgement through Twilio Studio: press 1, no webhook needed.

One Flow per account, found by its friendly name FLOW_NAME, created when
missing (``POST /v2/Flows``, published) and updated when its definition
differs from the one this run needs (voice, language, repeat, timeouts,
answering machine). Each execution keeps the revision it started with, so
runs with other voice options do not disturb one another.

The flow places the call (``make-outgoing-call-v2``), says the message and
"Press 1 to acknowledge" while gathering one digit (``gather-input-on-call``,
Repeat Message as its loop), thanks whoever pressed 1, and ends. One
Execution per recipient (``POST /v2/Flows/{FW}/Executions``, the message in
``Parameters``). Waiting costs one list request a poll (the flow's
executions since the run began); the Context of an execution is fetched
once, when the list shows it ``ended``: ``widgets.gather.Digits`` is "1" or
not. A cancel ends the executions still active (``Status=ended``) and hangs
up their calls (the call widget's ``CallSid``, ``Status=completed``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from ..inputs import voice
from ..inputs.acknowledgement import ACK_DIGIT, PRESS_LINE
from ..models import Reply, ReplyKind
from .reconcile import CLOCK_SKEW, iso_utc

if TYPE_CHECKING:
    from .api import Paths

FLOW_NAME = "ue-twilio acknowledgement"
FLOWS = "/v2/Flows"
CALL_WIDGET = "call"
GATHER_WIDGET = "gather"
THANKS = "Acknowledged. Thank you."
GATHER_TIMEOUT = 5
PAGE_SIZE = 1000


def definition(config: Any) -> Dict[str, Any]:
    """The flow this run needs (JSON as Studio stores it)."""
    speech: Dict[str, Any] = {"loop": config.voice_repeat}
    if config.voice_name:
        speech["voice"] = config.voice_name
    if config.voice_language:
        speech["language"] = config.voice_language
    call = {
        "to": "{{contact.channel.address}}",
        "from": "{{flow.channel.address}}",
        "timeout": config.answer_timeout,
        "time_limit": config.call_max_duration,
        "machine_detection": voice.detection(config) or "Disable",
    }
    gather = dict(
        speech,
        say="{{flow.data.message}} " + PRESS_LINE,
        number_of_digits=1,
        stop_gather=True,
        timeout=GATHER_TIMEOUT,
    )
    check = {
        "next": "thanks",
        "event": "match",
        "conditions": [
            {
                "friendly_name": "pressed " + ACK_DIGIT,
                "arguments": ["{{widgets.gather.Digits}}"],
                "type": "equal_to",
                "value": ACK_DIGIT,
            }
        ],
    }
    return {
        "description": "ue-twilio: page by voice; pressing 1 acknowledges",
        "initial_state": "Trigger",
        "flags": {"allow_concurrent_calls": True},
        "states": [
            _state("Trigger", "trigger", {"incomingRequest": CALL_WIDGET}, {}),
            _state(
                CALL_WIDGET, "make-outgoing-call-v2", {"answered": GATHER_WIDGET}, call
            ),
            _state(
                GATHER_WIDGET, "gather-input-on-call", {"keypress": "check"}, gather
            ),
            {
                "name": "check",
                "type": "split-based-on",
                "transitions": [{"event": "noMatch"}, check],
                "properties": {"input": "{{widgets.gather.Digits}}"},
            },
            _state("thanks", "say-play", {}, dict(speech, say=THANKS, loop=1)),
        ],
    }


def _state(
    name: str, kind: str, nexts: Mapping[str, str], properties: Mapping[str, Any]
) -> Dict[str, Any]:
    transitions = [{"event": event, "next": state} for event, state in nexts.items()]
    return {
        "name": name,
        "type": kind,
        "transitions": transitions,
        "properties": dict(properties),
    }


def canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class StudioError(Exception):
    """The flow could not be found, created or updated: the Reply says why."""

    def __init__(self, what: str, reply: Reply) -> None:
        super().__init__("{}: {}".format(what, reply.describe_error()))
        self.reply = reply


def ensure_flow(client: Paths, wanted: Dict[str, Any]) -> str:
    """The SID of the published flow FLOW_NAME holding ``wanted``."""
    found = _find_flow(client)
    params = {
        "FriendlyName": FLOW_NAME,
        "Status": "published",
        "Definition": canonical(wanted),
        "CommitMessage": "ue-twilio: page by voice, press 1 to acknowledge",
    }
    if found is None:
        reply = client.post_path(FLOWS, params)
        what = "creating the Studio flow"
    elif _same(found, wanted):
        return str(found["sid"])
    else:
        reply = client.post_path("{}/{}".format(FLOWS, found["sid"]), params)
        what = "updating the Studio flow"
    if reply.kind != ReplyKind.OK or reply.sid is None:
        raise StudioError(what, reply)
    return reply.sid


def _find_flow(client: Paths) -> Optional[Mapping[str, Any]]:
    reply = client.get_path(FLOWS, {"PageSize": "50"})
    for _ in range(20):  # an account has few flows; bounded anyway
        if reply.kind != ReplyKind.OK or not reply.body:
            raise StudioError("listing the Studio flows", reply)
        for flow in reply.body.get("flows") or []:
            if isinstance(flow, Mapping) and flow.get("friendly_name") == FLOW_NAME:
                return flow
        following = (reply.body.get("meta") or {}).get("next_page_url")
        if not isinstance(following, str) or not following:
            return None
        reply = client.get_path(_path_of(following))
    return None


def _path_of(url: str) -> str:
    """A Studio page link (absolute) as a path under the client's base."""
    start = url.find(FLOWS)
    return url[start:] if start >= 0 else FLOWS


def _same(found: Mapping[str, Any], wanted: Dict[str, Any]) -> bool:
    if found.get("status") != "published":
        return False
    current = found.get("definition")
    if isinstance(current, str):
        try:
            current = json.loads(current)
        except ValueError:
            return False
    return canonical(current) == canonical(wanted)


def start(client: Paths, flow: str, to: str, sender: str, message: str) -> Reply:
    """One execution: the call to ``to`` with the message as a parameter."""
    params = {
        "To": to,
        "From": sender,
        "Parameters": json.dumps({"message": message}, separators=(",", ":")),
    }
    return client.post_path("{}/{}/Executions".format(FLOWS, flow), params)


def executions(client: Paths, flow: str, since: float) -> Reply:
    """The flow's executions created since the run began: one request."""
    query = {
        "DateCreatedFrom": iso_utc(since - CLOCK_SKEW),
        "PageSize": str(PAGE_SIZE),
    }
    return client.get_path("{}/{}/Executions".format(FLOWS, flow), query)


def statuses(page: Reply) -> Dict[str, str]:
    """{execution sid: status} of a list page."""
    rows = page.body.get("executions") if page.body else None
    found: Dict[str, str] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping) and isinstance(row.get("sid"), str):
            found[row["sid"]] = str(row.get("status"))
    return found


def context(client: Paths, flow: str, execution: str) -> Reply:
    return client.get_path("{}/{}/Executions/{}/Context".format(FLOWS, flow, execution))


def _widget(reply: Reply, name: str) -> Mapping[str, Any]:
    document = reply.body.get("context") if reply.body else None
    widgets = document.get("widgets") if isinstance(document, Mapping) else None
    found = widgets.get(name) if isinstance(widgets, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def digits(reply: Reply) -> Optional[str]:
    """What the person pressed (the gather widget's Digits), None if nothing."""
    value = _widget(reply, GATHER_WIDGET).get("Digits")
    return value if isinstance(value, str) and value else None


def call_sid(reply: Reply) -> Optional[str]:
    value = _widget(reply, CALL_WIDGET).get("CallSid")
    return value if isinstance(value, str) and value else None


def end(client: Paths, flow: str, execution: str) -> Reply:
    return client.post_path(
        "{}/{}/Executions/{}".format(FLOWS, flow, execution), {"Status": "ended"}
    )


def ended(found: Dict[str, str]) -> List[str]:
    return [sid for sid, status in found.items() if status == "ended"]
