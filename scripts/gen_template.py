#!/usr/bin/env python3
"""Write ``src/templates/template.json`` from ``ue_twilio.inputs.fields.FIELDS``.

The field table in the code is the single source of truth: this script turns it
into the Universal Template the Controller imports, so the form and the parser
cannot drift.  ``--check`` exits 1 when the committed file differs from what the
generator would write (used by the tests and CI).

Key names and shapes follow Controller exports and the ``uip-cli`` ``ue-task``
template: conditions point at the *field mapping* of the controlling field
(``"Choice Field 1"``), several values are one comma-separated string, a field
that is both shown and required under the same condition uses
``requireIfVisible`` (the Controller offers either Show If + Require If
Visible, or Require If, for one field).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
TEMPLATE_PATH = SRC / "templates" / "template.json"

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from ue_twilio._version import EXTENSION_NAME  # noqa: E402
from ue_twilio.inputs import fields as F  # noqa: E402

TEMPLATE_NAME = "Twilio"
VARIABLE_PREFIX = "ue_twilio"
MIN_RELEASE_LEVEL = "7.1.0.0"
TEST_CONNECTION = "test_connection"
LIST_SENDERS = "list_senders"

# Field-mapping pools of a Universal Template (name prefix, size).
POOLS: Dict[str, Tuple[str, int]] = {
    F.TEXT: ("Text Field", 20),
    F.LARGE_TEXT: ("Large Text Field", 4),
    F.INTEGER: ("Integer Field", 10),
    F.BOOLEAN: ("Boolean Field", 15),
    F.CHOICE: ("Choice Field", 15),
    F.CREDENTIAL: ("Credential Field", 6),
}

# Large Text is a Text field living in the Large Text mapping pool.
FIELD_TYPES = {F.LARGE_TEXT: "Text"}

# Stable sysIds: a re-import of a newer version updates the same template and
# fields instead of creating duplicates; uuid5 keeps them identical per build.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/ue-twilio/ue-twilio")

# Statuses in which the Test Connection command may be run on an instance.
COMMAND_STATUSES = ["Cancelled", "Failed", "Finished", "Running", "Success"]


def sys_id(*parts: str) -> str:
    """Deterministic 32-hex id for one template element."""
    return uuid.uuid5(_NAMESPACE, "/".join(parts)).hex


# The order in which the fields were introduced. Slots (fieldMapping) are given
# in this order, so a new field never moves an existing one to another slot (a
# re-import would lose the values saved in tasks); the form shows FIELDS order.
# A new field goes at the end of this list, wherever it stands in FIELDS.
SLOT_ORDER = (
    # 1.0.0
    "action",
    "twilio_credentials",
    "sender",
    "recipient_list",
    "recipient_list_file",
    "message_body_text",
    "content_sid",
    "content_variables",
    "answer_timeout",
    "call_max_duration",
    "max_concurrent_requests",
    "wait_for_delivery",
    "delivery_timeout",
    "resend_policy",
    "proxy_type",
    "proxy",
    "proxy_ca_bundle_file",
    "proxy_credentials",
    "queued_count",
    "failed_count",
    "delivered_count",
    "resend_state",
    # enterprise accounts (issue 13)
    "account_sid",
    "twilio_region",
    "twilio_edge",
    "validity_period",
    "smart_encoding",
    "status_callback_url",
    # voice that reaches a human (issue 12)
    "voice_name",
    "voice_language",
    "voice_repeat",
    "answering_machine",
    "call_order",
    "fallback_sms",
    # the seed's required fields, with their alternatives (issue 11)
    "recipient_source",
    "use_content_template",
    # when it fails in production (issue 22)
    "dry_run",
    # page until acknowledged (issue 21)
    "wait_for_acknowledgement",
    "acknowledgement_timeout",
    "escalation",
    "escalation_interval",
    "notify_on_acknowledgement",
)


def assign_mappings(specs=F.FIELDS) -> Dict[str, str]:
    """Give each field the next free slot of its pool, in SLOT_ORDER."""
    by_name = {spec.name: spec for spec in specs}
    unplaced = sorted(set(by_name) - set(SLOT_ORDER))
    if unplaced:
        raise ValueError("add {} at the end of SLOT_ORDER".format(", ".join(unplaced)))
    used: Dict[str, int] = {}
    mapping = {}
    for spec in (by_name[name] for name in SLOT_ORDER if name in by_name):
        prefix, size = POOLS[spec.kind]
        used[spec.kind] = used.get(spec.kind, 0) + 1
        if used[spec.kind] > size:
            raise ValueError(f"too many {spec.kind} fields (pool of {size})")
        mapping[spec.name] = f"{prefix} {used[spec.kind]}"
    return mapping


def default_value(spec: F.FieldSpec) -> Union[None, bool, str]:
    """As Controller exports write defaults: a JSON boolean for a Boolean field,
    a string for every other kind (an Integer's too: ``"30"``)."""
    if spec.default is None or isinstance(spec.default, bool):
        return spec.default
    return str(spec.default)


def _condition(cond, mapping) -> Tuple[Optional[str], Optional[str]]:
    if cond is None:
        return None, None
    name, values = cond
    return mapping[name], ",".join(values)


def conditions(spec: F.FieldSpec, mapping: Dict[str, str]) -> dict:
    """showIf / requireIf keys, folding 'required when shown' into requireIfVisible."""
    show_field, show_values = _condition(spec.show_if, mapping)
    require_if = spec.require_if
    require_visible = False
    if require_if is not None and require_if == spec.show_if:
        require_if, require_visible = None, True
    elif require_if is not None and spec.show_if is not None:
        raise ValueError(
            "{}: show_if and require_if differ; the Controller cannot express "
            "both on one field".format(spec.name)
        )
    req_field, req_values = _condition(require_if, mapping)
    return {
        "showIfField": show_field,
        "showIfFieldValue": show_values,
        "noSpaceIfHidden": spec.show_if is not None,
        "requireIfVisible": require_visible,
        "requireIfField": req_field,
        "requireIfFieldValue": req_values,
        "preserveValueIfHidden": False,
    }


def choice_entries(spec: F.FieldSpec) -> List[dict]:
    return [
        {
            "fieldValue": value,
            "fieldValueLabel": label,
            "sequence": index,
            "sysId": sys_id("field", spec.name, "choice", value),
            "useFieldValueForLabel": False,
        }
        for index, (value, label) in enumerate(spec.choices)
    ]


def field_entry(spec: F.FieldSpec, sequence: int, mapping: Dict[str, str]) -> dict:
    """One element of template.json ``fields``."""
    is_choice = spec.kind == F.CHOICE
    entry = {
        "arrayNameTitle": None,
        "arrayValueTitle": None,
        "booleanNoValue": None,
        "booleanValueType": "true/false",
        "booleanYesValue": None,
        "choiceAllowEmpty": is_choice and not spec.required and spec.default is None,
        "choiceAllowMultiple": False,
        "choiceDynamic": False,
        "choiceFields": [],
        "choiceSortOption": "Sequence",
        "choices": choice_entries(spec) if is_choice else [],
        "defaultListView": False,
        "fieldLength": spec.max_length,
        "fieldMapping": mapping[spec.name],
        "fieldRestriction": "Output Only" if spec.output_only else "No Restriction",
        "fieldType": FIELD_TYPES.get(spec.kind, spec.kind),
        "fieldValue": default_value(spec),
        "formColumnSpan": 2 if spec.kind == F.LARGE_TEXT else 1,
        "formEndRow": False,
        "formStartRow": False,
        "hint": spec.hint,
        "intFieldMax": spec.max_value,
        "intFieldMin": spec.min_value,
        "label": spec.label,
        "name": spec.name,
        "preserveOutputOnRerun": spec.preserve_on_rerun,
        "required": spec.required,
        "sequence": sequence,
        "sysId": sys_id("field", spec.name),
        "textType": "Plain",
    }
    entry.update(conditions(spec, mapping))
    return entry


def commands(mapping: Dict[str, str]) -> List[dict]:
    """Test Connection and List Senders: out of process, account and proxy fields;
    Test Connection also the Action and Sender, for its pre-flight of the Sender."""
    names = [
        "twilio_credentials",
        "account_sid",
        "twilio_region",
        "twilio_edge",
        "proxy_type",
        "proxy",
        "proxy_ca_bundle_file",
        "proxy_credentials",
    ]
    sender = {TEST_CONNECTION: ["action", "sender"], LIST_SENDERS: []}
    return [
        {
            "asynchronous": False,
            "executionOption": "Out Of Process",
            "fields": [mapping[field] for field in names + sender[name]],
            "label": label,
            "name": name,
            "statuses": COMMAND_STATUSES,
            "sysId": sys_id("command", name),
            "timeout": 60,
        }
        for name, label in (
            (TEST_CONNECTION, "Test Connection"),
            (LIST_SENDERS, "List Senders"),
        )
    ]


def _output_settings() -> dict:
    """As the Stonebranch integrations ship: return STDOUT and STDERR lines 1-100."""
    return {
        "outputConditionOperator": "=",
        "outputConditionStrategy": "Match Any",
        "outputConditionValue": None,
        "outputContentType": None,
        "outputFailureOnly": False,
        "outputPathExpression": None,
        "outputReturnFile": None,
        "outputReturnNline": "100",
        "outputReturnSline": "1",
        "outputReturnText": None,
        "outputReturnType": "OUTERR",
        "outputType": "STDOUT",
        "waitForOutput": False,
    }


def _unused_settings() -> dict:
    """Task-level settings an Extension template leaves empty (kept for import)."""
    return {
        "agent": None,
        "agentCluster": None,
        "agentClusterVar": None,
        "agentFieldsRestriction": "No Restriction",
        "agentVar": None,
        "autoCleanup": False,
        "automaticOutputRetrievalFieldsRestriction": "No Restriction",
        "broadcastCluster": None,
        "broadcastClusterVar": None,
        "createConsole": False,
        "credentialFieldsRestriction": "No Restriction",
        "credentials": None,
        "credentialsVar": None,
        "desktopInteract": False,
        "elevateUser": False,
        "environment": [],
        "environmentVariablesFieldsRestriction": "No Restriction",
        "events": [],
        "exitCodeOutput": None,
        "exitCodeProcessingFieldsRestriction": "No Restriction",
        "exitCodeText": None,
        "runtimeDir": None,
        "script": None,
        "scriptTypeWindows": None,
        "scriptUnix": None,
        "scriptWindows": None,
        "useCommonScript": False,
    }


def build_template() -> dict:
    """The whole template.json document."""
    mapping = assign_mappings()
    template = {
        "name": TEMPLATE_NAME,
        "description": "Send SMS, WhatsApp and text-to-speech voice messages "
        "to a list of recipients through Twilio.",
        "extension": EXTENSION_NAME,
        "templateType": "Extension",
        "agentType": "Any",
        "logLevel": "Inherited",
        "minReleaseLevel": MIN_RELEASE_LEVEL,
        "exportReleaseLevel": MIN_RELEASE_LEVEL,
        "variablePrefix": VARIABLE_PREFIX,
        "exitCodeProcessing": "Success Exitcode Range",
        "exitCodes": "0",
        "sendVariables": "None",
        "alwaysCancelOnFinish": True,
        "retainSysIds": True,
        "sysId": sys_id("template", EXTENSION_NAME),
        "commands": commands(mapping),
        "fields": [
            field_entry(spec, index, mapping) for index, spec in enumerate(F.FIELDS)
        ],
    }
    template.update(_output_settings())
    template.update(_unused_settings())
    return template


def render() -> str:
    """Serialised exactly as committed: sorted keys, 2 spaces, ASCII, final newline."""
    return json.dumps(build_template(), indent=2, sort_keys=True) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed file is stale"
    )
    parser.add_argument("--output", type=Path, default=TEMPLATE_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = (
            args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        )
        if current != text:
            print(
                "{} is stale: run python scripts/gen_template.py".format(args.output),
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(text.encode("ascii"))
    print(f"wrote {args.output} ({len(F.FIELDS)} fields)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
