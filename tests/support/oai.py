"""Check requests and resources against Twilio's OpenAPI description (v2010).

The description lives outside the repository, in
``<repo>/../shared/reference/twilio-oai/twilio_api_v2010.json`` (or the file named
by ``TWILIO_OAI_SPEC``). When it is absent, every check skips the calling test
with a clear reason instead of failing: the suite still runs in a bare clone.

``check_request(method, path, params)`` raises AssertionError when a request
does not conform: the path must match a path template (path parameters checked
against their schemas), every form/query parameter must be a property of the
operation's schema, required ones present, values of the right type, enum and
pattern. ``check_resource(kind, resource)`` does the same for a response body.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Tuple, Union

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO.parent / "shared" / "reference" / "twilio-oai"
DEFAULT_SPEC = DEFAULT_SPEC / "twilio_api_v2010.json"
RESOURCE_SCHEMAS = {
    "message": "api.v2010.account.message",
    "call": "api.v2010.account.call",
    "account": "api.v2010.account",
}
_DROPPED_KEYS = ("nullable", "x-twilio", "description", "examples", "example")

ParamValues = Union[str, Iterable[str]]


def spec_path() -> Path:
    return Path(os.environ.get("TWILIO_OAI_SPEC") or DEFAULT_SPEC)


def available() -> bool:
    """True when the OpenAPI description file can be read."""
    return spec_path().is_file()


@functools.lru_cache(maxsize=1)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def spec() -> dict:
    """The parsed description; skips the current test when it is missing."""
    path = spec_path()
    if not path.is_file():
        pytest.skip(f"Twilio OpenAPI description not found at {path}")
    return _load(str(path))


# -- schema conversion (OpenAPI 3.0 -> JSON Schema) --------------------------
def _resolve(ref: str) -> dict:
    node = spec()
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def to_json_schema(node):
    """Inline $refs and turn ``nullable: true`` into a JSON Schema null type."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(_resolve(node["$ref"]))
    out = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value)
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


def _validate(value, schema: dict, where: str) -> None:
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    problems = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if problems:
        details = "; ".join(
            "{}: {}".format("/".join(map(str, p.path)) or "value", p.message)
            for p in problems[:5]
        )
        raise AssertionError(
            f"{where} does not conform to the OpenAPI description: {details}"
        )


# -- requests -----------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _templates() -> Tuple[Tuple[re.Pattern, str], ...]:
    compiled = []
    for template in spec()["paths"]:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        compiled.append((re.compile("^" + pattern + "$"), template))
    # Literal-heavy templates first: the fewest parameters wins a tie.
    compiled.sort(key=lambda item: item[1].count("{"))
    return tuple(compiled)


def match_path(path: str) -> Tuple[str, Dict[str, str]]:
    """(template, path parameters) for a concrete path; AssertionError if none."""
    path = path.split("?", 1)[0]
    for pattern, template in _templates():
        found = pattern.match(path)
        if found:
            return template, found.groupdict()
    raise AssertionError(f"{path} matches no path of the OpenAPI description")


def _operation(method: str, template: str) -> dict:
    operation = spec()["paths"][template].get(method.lower())
    if operation is None:
        raise AssertionError(f"{method} is not an operation of {template}")
    return operation


def _coerce(raw: str, schema: dict, name: str):
    """Interpret one form value the way Twilio would for the schema type."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw):
            raise AssertionError(f"parameter {name}={raw!r} is not an integer")
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise AssertionError(f"parameter {name}={raw!r} is not a number") from None
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise AssertionError(f"parameter {name}={raw!r} is not a boolean")
        return raw.lower() == "true"
    return raw


def _values(value: ParamValues) -> List[str]:
    return [value] if isinstance(value, str) else list(value)


def _check_parameter(name: str, values: List[str], schema: dict) -> None:
    if schema.get("type") == "array":
        items = schema.get("items", {})
        coerced = [_coerce(v, items, name) for v in values]
        _validate(coerced, schema, f"parameter {name}")
        return
    if len(values) != 1:
        raise AssertionError(f"parameter {name} sent {len(values)} times; it takes one")
    _validate(_coerce(values[0], schema, name), schema, f"parameter {name}")


def _parameter_schemas(
    method: str, operation: dict
) -> Tuple[Dict[str, dict], List[str]]:
    """(name -> schema, required names) of the form body (POST) or the query."""
    if method.upper() in ("POST", "PUT", "PATCH"):
        body = operation.get("requestBody", {}).get("content", {})
        form = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
        form = to_json_schema(form)
        return dict(form.get("properties", {})), list(form.get("required", []))
    schemas, required = {}, []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query":
            schemas[parameter["name"]] = to_json_schema(parameter.get("schema", {}))
            if parameter.get("required"):
                required.append(parameter["name"])
    return schemas, required


def check_request(method: str, path: str, params: Mapping[str, ParamValues]) -> None:
    """AssertionError unless the request conforms to the OpenAPI description."""
    template, path_values = match_path(path)
    operation = _operation(method, template)
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            schema = to_json_schema(parameter.get("schema", {}))
            value = path_values.get(parameter["name"])
            _validate(value, schema, f"path parameter {parameter['name']}")
    schemas, required = _parameter_schemas(method, operation)
    unknown = sorted(set(params) - set(schemas))
    if unknown:
        raise AssertionError(f"{method} {template}: unknown parameters {unknown}")
    missing = sorted(name for name in required if not _values(params.get(name, [])))
    if missing:
        raise AssertionError(f"{method} {template}: missing required {missing}")
    for name, value in params.items():
        _check_parameter(name, _values(value), schemas[name])


# -- responses ----------------------------------------------------------------
def resource_schema(kind: str) -> dict:
    """JSON Schema of a resource: 'message', 'call', 'account' or a schema name."""
    name = RESOURCE_SCHEMAS.get(kind, kind)
    schemas = spec()["components"]["schemas"]
    if name not in schemas:
        raise KeyError(f"no schema {name!r} in the OpenAPI description")
    return to_json_schema(schemas[name])


def check_resource(kind: str, resource: Mapping, strict: bool = True) -> None:
    """AssertionError unless ``resource`` fits the schema; ``strict`` also demands
    exactly the schema's properties (none missing, none extra)."""
    schema = resource_schema(kind)
    if not isinstance(resource, Mapping):
        raise AssertionError(f"{kind} resource is not a JSON object: {resource!r}")
    if strict:
        expected = set(schema.get("properties", {}))
        missing, extra = (
            sorted(expected - set(resource)),
            sorted(set(resource) - expected),
        )
        if missing or extra:
            raise AssertionError(
                f"{kind} resource: missing {missing}, unexpected {extra}"
            )
    _validate(dict(resource), schema, f"{kind} resource")
