"""template.json and the icon: what the Controller imports matches the code's fields."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import draw_icon
import gen_template
import pytest

from ue_twilio._version import EXTENSION_NAME
from ue_twilio.inputs import fields as F

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "src" / "templates" / "template.json"
ICON = REPO / "src" / "templates" / "template_icon.png"
POOL_SIZES = {
    "Text Field": 20,
    "Large Text Field": 4,
    "Integer Field": 10,
    "Boolean Field": 15,
    "Choice Field": 15,
    "Credential Field": 6,
}
KIND_OF_POOL = {
    "Text Field": F.TEXT,
    "Large Text Field": F.LARGE_TEXT,
    "Integer Field": F.INTEGER,
    "Boolean Field": F.BOOLEAN,
    "Choice Field": F.CHOICE,
    "Credential Field": F.CREDENTIAL,
}


@pytest.fixture(scope="module")
def template() -> dict:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_name(template) -> dict:
    return {field["name"]: field for field in template["fields"]}


def _pool(mapping: str):
    prefix, number = mapping.rsplit(" ", 1)
    return prefix, int(number)


def _default(spec):
    """As real Controller exports: JSON booleans, every other value a string."""
    if spec.default is None or isinstance(spec.default, bool):
        return spec.default
    return str(spec.default)


def _condition(field, key_field, key_value, names_by_mapping):
    if field[key_field] is None:
        return None
    return (names_by_mapping[field[key_field]], tuple(field[key_value].split(",")))


def test_committed_template_is_the_generator_output():
    assert TEMPLATE.read_text(encoding="utf-8") == gen_template.render()
    assert gen_template.main(["--check"]) == 0


def test_top_level_settings(template):
    assert template["name"] == "Twilio"
    assert template["extension"] == EXTENSION_NAME == "ue-twilio"
    assert template["templateType"] == "Extension"
    assert template["agentType"] == "Any"
    assert template["logLevel"] == "Inherited"
    assert template["exitCodeProcessing"] == "Success Exitcode Range"
    assert template["exitCodes"] == "0"
    assert template["variablePrefix"] == "ue_twilio"
    assert template["minReleaseLevel"] == "7.1.0.0"
    assert template["outputType"] == "STDOUT"
    assert template["outputReturnType"] == "OUTERR"
    assert (template["outputReturnSline"], template["outputReturnNline"]) == (
        "1",
        "100",
    )
    assert isinstance(template["sendVariables"], str)
    assert isinstance(template["alwaysCancelOnFinish"], bool)


def test_fields_match_the_code_field_by_field(template):
    fields = template["fields"]
    assert [f["name"] for f in fields] == [spec.name for spec in F.FIELDS]
    names_by_mapping = {f["fieldMapping"]: f["name"] for f in fields}
    for sequence, (field, spec) in enumerate(zip(fields, F.FIELDS)):
        pool, _ = _pool(field["fieldMapping"])
        assert KIND_OF_POOL[pool] == spec.kind, spec.name
        expected_type = "Text" if spec.kind == F.LARGE_TEXT else spec.kind
        assert field["fieldType"] == expected_type, spec.name
        assert field["sequence"] == sequence
        assert field["label"] == spec.label
        assert field["hint"] == spec.hint
        assert field["required"] is spec.required, spec.name
        assert field["fieldValue"] == _default(spec), spec.name
        assert field["intFieldMin"] == spec.min_value, spec.name
        assert field["intFieldMax"] == spec.max_value, spec.name
        assert field["fieldLength"] == spec.max_length, spec.name
        assert [(c["fieldValue"], c["fieldValueLabel"]) for c in field["choices"]] == [
            tuple(choice) for choice in spec.choices
        ], spec.name
        assert [c["sequence"] for c in field["choices"]] == list(
            range(len(spec.choices))
        )
        restriction = "Output Only" if spec.output_only else "No Restriction"
        assert field["fieldRestriction"] == restriction, spec.name
        assert field["preserveOutputOnRerun"] is spec.preserve_on_rerun, spec.name
        show_if = _condition(field, "showIfField", "showIfFieldValue", names_by_mapping)
        assert show_if == spec.show_if, spec.name
        require_if = _condition(
            field, "requireIfField", "requireIfFieldValue", names_by_mapping
        )
        if field["requireIfVisible"]:
            assert require_if is None
            require_if = show_if
        assert require_if == spec.require_if, spec.name


def test_defaults_are_valid_choices_and_within_limits(template):
    for field in template["fields"]:
        value = field["fieldValue"]
        if value is None:
            continue
        if field["fieldType"] == "Choice":
            assert value in [c["fieldValue"] for c in field["choices"]]
        if field["fieldType"] == "Integer":
            assert field["intFieldMin"] <= int(value) <= field["intFieldMax"]
        if field["fieldType"] == "Boolean":
            assert value in (True, False)


def test_field_mappings_come_from_the_right_pools(template):
    mappings = [field["fieldMapping"] for field in template["fields"]]
    assert len(set(mappings)) == len(mappings)
    for mapping in mappings:
        pool, number = _pool(mapping)
        assert 1 <= number <= POOL_SIZES[pool], mapping


# What release 1.0.0 imported: a re-import must keep every saved value in place.
RELEASED_MAPPINGS = {
    "action": "Choice Field 1",
    "twilio_credentials": "Credential Field 1",
    "sender": "Text Field 1",
    "recipient_list": "Large Text Field 1",
    "recipient_list_file": "Text Field 2",
    "message_body_text": "Large Text Field 2",
    "content_sid": "Text Field 3",
    "content_variables": "Large Text Field 3",
    "answer_timeout": "Integer Field 1",
    "call_max_duration": "Integer Field 2",
    "max_concurrent_requests": "Integer Field 3",
    "wait_for_delivery": "Boolean Field 1",
    "delivery_timeout": "Integer Field 4",
    "resend_policy": "Choice Field 2",
    "proxy_type": "Choice Field 3",
    "proxy": "Text Field 4",
    "proxy_ca_bundle_file": "Text Field 5",
    "proxy_credentials": "Credential Field 2",
    "queued_count": "Integer Field 5",
    "failed_count": "Integer Field 6",
    "delivered_count": "Integer Field 7",
    "resend_state": "Text Field 6",
}


def test_released_fields_keep_their_slots_wherever_new_fields_are_shown(by_name):
    for name, mapping in RELEASED_MAPPINGS.items():
        assert by_name[name]["fieldMapping"] == mapping, name
    shown = [f.name for f in F.FIELDS]
    assert shown.index("voice_name") < shown.index("max_concurrent_requests")


def test_seed_labels_choices_and_limits(by_name):
    labels = {name: field["label"] for name, field in by_name.items()}
    for name, label in {
        "action": "Action",
        "twilio_credentials": "Twilio Credentials",
        "sender": "Sender",
        "recipient_list": "Recipient List",
        "message_body_text": "Message",
        "answer_timeout": "Answer Timeout",
        "call_max_duration": "Call Max Duration",
        "proxy_type": "Proxy Type",
        "proxy": "Proxy",
        "proxy_ca_bundle_file": "Proxy CA Bundle File",
        "proxy_credentials": "Proxy Credentials",
    }.items():
        assert labels[name] == label
    choice_labels = [c["fieldValueLabel"] for c in by_name["action"]["choices"]]
    assert choice_labels == [
        "Send SMS Message",
        "Send WhatsApp Message",
        "Send Voice Message",
    ]
    proxy_labels = [c["fieldValueLabel"] for c in by_name["proxy_type"]["choices"]]
    assert proxy_labels == [
        "HTTP",
        "HTTPS",
        "HTTPS With Credentials",
        "HTTP With Credentials",
    ]
    assert by_name["proxy_type"]["choiceAllowEmpty"] is True
    assert by_name["action"]["choiceAllowEmpty"] is False
    assert by_name["recipient_list"]["fieldMapping"].startswith("Large Text Field")
    assert by_name["message_body_text"]["fieldMapping"].startswith("Large Text Field")
    assert by_name["recipient_list"]["fieldLength"] == 4000
    assert by_name["message_body_text"]["fieldLength"] == 1600
    assert by_name["twilio_credentials"]["fieldType"] == "Credential"
    assert by_name["max_concurrent_requests"]["intFieldMin"] == 1
    assert by_name["max_concurrent_requests"]["intFieldMax"] == 100
    assert by_name["recipient_list_file"]["fieldType"] == "Text"


def test_conditional_display(by_name):
    action = by_name["action"]["fieldMapping"]
    proxy_type = by_name["proxy_type"]["fieldMapping"]
    for name in ("answer_timeout", "call_max_duration"):
        field = by_name[name]
        assert (field["showIfField"], field["showIfFieldValue"]) == (
            action,
            F.VOICE,
        )
        assert field["requireIfVisible"] is True
    proxy_values = {
        "proxy": {F.PROXY_HTTP, F.PROXY_HTTPS, F.PROXY_HTTPS_CREDS, F.PROXY_HTTP_CREDS},
        # every type: an HTTP proxy that intercepts TLS needs it for Twilio
        "proxy_ca_bundle_file": {
            F.PROXY_HTTP,
            F.PROXY_HTTPS,
            F.PROXY_HTTPS_CREDS,
            F.PROXY_HTTP_CREDS,
        },
        "proxy_credentials": set(F.CREDENTIAL_PROXY_TYPES),
    }
    for name, values in proxy_values.items():
        field = by_name[name]
        assert field["showIfField"] == proxy_type
        assert set(field["showIfFieldValue"].split(",")) == values
    assert by_name["proxy"]["requireIfVisible"] is True
    assert by_name["proxy_credentials"]["requireIfVisible"] is True
    assert by_name["proxy_ca_bundle_file"]["requireIfVisible"] is False


def test_output_only_fields(by_name):
    for name in ("queued_count", "failed_count", "delivered_count", "resend_state"):
        assert by_name[name]["fieldRestriction"] == "Output Only"
        assert by_name[name]["fieldType"] in ("Text", "Integer", "Boolean")
    assert by_name["resend_state"]["preserveOutputOnRerun"] is True
    assert by_name["queued_count"]["preserveOutputOnRerun"] is False


def test_test_connection_command(template):
    commands = {c["name"]: c for c in template["commands"]}
    command = commands[gen_template.TEST_CONNECTION]
    assert command["label"] == "Test Connection"
    mappings = {f["fieldMapping"]: f["name"] for f in template["fields"]}
    names = [mappings[m] for m in command["fields"]]
    assert "twilio_credentials" in names and "proxy_type" in names
    assert "action" in names and "sender" in names  # the Sender's pre-flight
    senders = commands[gen_template.LIST_SENDERS]
    assert "sender" not in [mappings[m] for m in senders["fields"]]


def test_sys_ids_are_unique_and_stable(template):
    ids = [template["sysId"]] + [c["sysId"] for c in template["commands"]]
    for field in template["fields"]:
        ids.append(field["sysId"])
        ids.extend(choice["sysId"] for choice in field["choices"])
    assert len(ids) == len(set(ids))
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_generator_refuses_a_condition_the_controller_cannot_express():
    spec = F.FieldSpec(
        "x",
        "X",
        F.TEXT,
        "hint",
        show_if=("action", (F.VOICE,)),
        require_if=("action", (F.SMS,)),
    )
    with pytest.raises(ValueError, match="show_if and require_if differ"):
        gen_template.conditions(spec, {"action": "Choice Field 1"})


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, color


def _decoded_rows(data: bytes, width: int, height: int):
    """Concatenate IDAT chunks and check the decompressed size is plausible."""
    offset, idat = 8, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunk = data[offset + 8 : offset + 8 + length]
        crc = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])[0]
        assert zlib.crc32(kind + chunk) == crc
        if kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    return zlib.decompress(idat)


def test_icon_is_a_48x48_png_drawn_by_our_script():
    data = ICON.read_bytes()
    width, height, depth, color = _png_size(data)
    assert (width, height) == (48, 48)
    assert (depth, color) == (8, 6)  # 8-bit RGBA
    assert len(_decoded_rows(data, width, height)) == height * (1 + width * 4)
    assert data == draw_icon.encode_png(draw_icon.render())


def test_icon_is_mostly_red_with_white_and_transparent_corners():
    rows = draw_icon.render()
    assert rows[0][0][3] == 0 and rows[47][47][3] == 0  # transparent corners
    assert rows[20][24][:3] == draw_icon.WHITE  # a dot
    assert rows[28][24][:3] == draw_icon.RED  # the bubble


def _form_defaults(template) -> dict:
    """Each field's value in a new task: its default, or empty."""
    return {f["fieldMapping"]: f["fieldValue"] for f in template["fields"]}


def _required_in_a_new_task(field, defaults) -> bool:
    """How the Controller marks a field of a new, untouched task."""
    if field["required"]:
        return True
    condition = field["requireIfField"]
    if condition is None:
        return False
    value = defaults[condition]
    value = str(value).lower() if isinstance(value, bool) else value
    return value in field["requireIfFieldValue"].split(",")


def test_the_seeds_required_fields_are_required_under_the_forms_defaults(template):
    defaults = _form_defaults(template)
    required = {
        f["name"] for f in template["fields"] if _required_in_a_new_task(f, defaults)
    }
    assert required >= {
        "action",
        "twilio_credentials",
        "sender",
        "recipient_list",
        "message_body_text",
    }
    assert "recipient_list_file" not in required


def test_the_alternatives_stay_possible(by_name):
    """Recipients From = Recipient List File requires the file instead of the
    list; Use Content Template (WhatsApp) lifts the Message's requirement."""
    source = by_name["recipient_source"]
    assert source["fieldValue"] == F.FROM_LIST
    listed = by_name["recipient_list"]
    assert listed["requireIfField"] == source["fieldMapping"]
    assert listed["requireIfFieldValue"] == F.FROM_LIST
    file_field = by_name["recipient_list_file"]
    assert file_field["requireIfField"] == source["fieldMapping"]
    assert file_field["requireIfFieldValue"] == F.FROM_FILE
    assert file_field["showIfField"] is None  # both always shown: no lost values
    template_flag = by_name["use_content_template"]
    assert template_flag["fieldValue"] is False
    assert template_flag["showIfFieldValue"] == F.WHATSAPP
    message = by_name["message_body_text"]
    assert message["requireIfField"] == template_flag["fieldMapping"]
    assert message["requireIfFieldValue"] == "false"


def test_boolean_defaults_are_json_booleans(template):
    booleans = [f for f in template["fields"] if f["fieldType"] == "Boolean"]
    assert booleans
    for field in booleans:
        assert field["fieldValue"] in (True, False, None), field["name"]
    for field in template["fields"]:
        if field["fieldType"] == "Integer" and field["fieldValue"] is not None:
            assert isinstance(field["fieldValue"], str), field["name"]  # "30"
