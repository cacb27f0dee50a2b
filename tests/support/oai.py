"""Check requests and answers against Twilio's OpenAPI descriptions.

Twilio publishes them in its npm package ``@twilio/cli-core``;
``scripts/fetch_twilio_oai.py`` (run by ``make test``) puts the pinned, sha256-
checked v2010 and Messaging v1 descriptions in ``<repo>/.cache/twilio-oai/``.
``TWILIO_OAI_SPEC`` may name another v2010 file (the Messaging v1 file is then
read from the same folder). A missing description FAILS the calling test: a
conformance check that silently skips checks nothing.

``check_request(method, path, params)`` raises AssertionError when a request
does not conform: the path must match a path template of either description
(``/2010-04-01/...`` or ``/v1/...``; path parameters checked against their
schemas), every form/query parameter must be a property of the operation's
schema, required ones present, values of the right type, enum and pattern.
``check_journal(journal)`` checks each request of a sandbox's journal.
``check_resource(kind, resource)`` does the same for a resource and
``check_response(method, path, status, body)`` for a whole answer (list pages).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, NamedTuple, Tuple, Union

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / ".cache" / "twilio-oai"
V2010 = "twilio_api_v2010.json"
MESSAGING_V1 = "twilio_messaging_v1.json"
# The other products the sandbox serves on the same port (their paths do not collide).
OTHER_PRODUCTS = (
    MESSAGING_V1,
    "twilio_pricing_v1.json",
    "twilio_pricing_v2.json",
    "twilio_studio_v2.json",
)
RESOURCE_SCHEMAS = {
    "message": "api.v2010.account.message",
    "call": "api.v2010.account.call",
    "account": "api.v2010.account",
}
_DROPPED_KEYS = ("nullable", "x-twilio", "description", "examples", "example")

ParamValues = Union[str, Iterable[str]]


def spec_path() -> Path:
    """The v2010 description file."""
    return Path(os.environ.get("TWILIO_OAI_SPEC") or DEFAULT_DIR / V2010)


def spec_paths() -> Tuple[Path, ...]:
    """Every description file the checker reads: v2010, Messaging v1, Pricing
    v1/v2, Studio v2."""
    v2010 = spec_path()
    return (v2010,) + tuple(v2010.parent / name for name in OTHER_PRODUCTS)


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _read(path: Path) -> dict:
    if not path.is_file():
        pytest.fail(
            f"Twilio OpenAPI description not found at {path}: run `make test` "
            "or `python scripts/fetch_twilio_oai.py` (needs npm) to fetch it",
            pytrace=False,
        )
    return _load(str(path))


def spec() -> dict:
    """The parsed v2010 description; fails the current test when it is missing."""
    return _read(spec_path())


def documents() -> Tuple[dict, ...]:
    """Every parsed description (v2010 first)."""
    return tuple(_read(path) for path in spec_paths())


# -- schema conversion (OpenAPI 3.0 -> JSON Schema) --------------------------
def _resolve(ref: str, document: dict) -> dict:
    node = document
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def to_json_schema(node, document: dict | None = None):
    """Inline $refs (of ``document``, default v2010) and turn ``nullable: true``
    into a JSON Schema null type."""
    document = spec() if document is None else document
    if isinstance(node, list):
        return [to_json_schema(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(_resolve(node["$ref"], document), document)
    out = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "properties":
            out[key] = {
                name: to_json_schema(sub, document) for name, sub in value.items()
            }
        else:
            out[key] = to_json_schema(value, document)
    if node.get("x-twilio", {}).get("overrideType") == "string" and isinstance(
        out.get("type"), str
    ):  # e.g. prices: typed number, sent (and read by Twilio's SDKs) as strings
        out["type"] = [out["type"], "string"]
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
class Route(NamedTuple):
    """A concrete path matched to one description's path template."""

    template: str
    values: Dict[str, str]
    document: dict

    def operation(self, method: str) -> dict:
        found = self.document["paths"][self.template].get(method.lower())
        if found is None:
            raise AssertionError(f"{method} is not an operation of {self.template}")
        return found


@functools.lru_cache(maxsize=1)
def _templates() -> Tuple[Tuple[re.Pattern, str, int], ...]:
    compiled = []
    for index, document in enumerate(documents()):
        for template in document["paths"]:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            compiled.append((re.compile("^" + pattern + "$"), template, index))
    # Literal-heavy templates first: the fewest parameters wins a tie.
    compiled.sort(key=lambda item: item[1].count("{"))
    return tuple(compiled)


def route(path: str) -> Route:
    """The template (of either description) a concrete path matches."""
    path = path.split("?", 1)[0]
    for pattern, template, index in _templates():
        found = pattern.match(path)
        if found:
            return Route(template, found.groupdict(), documents()[index])
    raise AssertionError(f"{path} matches no path of the OpenAPI descriptions")


def match_path(path: str) -> Tuple[str, Dict[str, str]]:
    """(template, path parameters) for a concrete path; AssertionError if none."""
    found = route(path)
    return found.template, found.values


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
    method: str, operation: dict, document: dict
) -> Tuple[Dict[str, dict], List[str]]:
    """(name -> schema, required names) of the form body (POST) or the query."""
    if method.upper() in ("POST", "PUT", "PATCH"):
        body = operation.get("requestBody", {}).get("content", {})
        form = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
        form = to_json_schema(form, document)
        return dict(form.get("properties", {})), list(form.get("required", []))
    schemas, required = {}, []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query":
            schema = to_json_schema(parameter.get("schema", {}), document)
            schemas[parameter["name"]] = schema
            if parameter.get("required"):
                required.append(parameter["name"])
    return schemas, required


def check_request(method: str, path: str, params: Mapping[str, ParamValues]) -> None:
    """AssertionError unless the request conforms to the OpenAPI description."""
    found = route(path)
    operation = found.operation(method)
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            schema = to_json_schema(parameter.get("schema", {}), found.document)
            value = found.values.get(parameter["name"])
            _validate(value, schema, f"path parameter {parameter['name']}")
    schemas, required = _parameter_schemas(method, operation, found.document)
    unknown = sorted(set(params) - set(schemas))
    if unknown:
        raise AssertionError(f"{method} {found.template}: unknown parameters {unknown}")
    missing = sorted(name for name in required if not _values(params.get(name, [])))
    if missing:
        raise AssertionError(f"{method} {found.template}: missing required {missing}")
    for name, value in params.items():
        _check_parameter(name, _values(value), schemas[name])


def check_journal(journal: Iterable, accepted_only: bool = False) -> None:
    """Every journal entry (or, with ``accepted_only``, every one the sandbox
    created a resource for) must conform: see :func:`check_request`."""
    for entry in journal:
        if accepted_only and entry.created_sid is None:
            continue
        check_request(entry.method, entry.path, entry.params)


# -- responses ----------------------------------------------------------------
def resource_schema(kind: str) -> dict:
    """JSON Schema of a resource: 'message', 'call', 'account' or a schema name
    of either description (e.g. 'messaging.v1.service')."""
    name = RESOURCE_SCHEMAS.get(kind, kind)
    for document in documents():
        schemas = document["components"]["schemas"]
        if name in schemas:
            return to_json_schema(schemas[name], document)
    raise KeyError(f"no schema {name!r} in the OpenAPI descriptions")


def check_resource(kind: str, resource: Mapping, strict: bool = True) -> None:
    """AssertionError unless ``resource`` fits the schema; ``strict`` also demands
    exactly the schema's properties (none missing, none extra)."""
    schema = resource_schema(kind)
    if not isinstance(resource, Mapping):
        raise AssertionError(f"{kind} resource is not a JSON object: {resource!r}")
    if strict:
        _check_exact_properties(kind, resource, schema)
    _validate(dict(resource), schema, f"{kind} resource")


def _check_exact_properties(where: str, value: Mapping, schema: dict) -> None:
    expected = set(schema.get("properties", {}))
    missing, extra = sorted(expected - set(value)), sorted(set(value) - expected)
    if missing or extra:
        raise AssertionError(f"{where}: missing {missing}, unexpected {extra}")


def response_schema(method: str, path: str, status: int) -> dict:
    """JSON Schema of the documented answer ``status`` to ``method path``."""
    found = route(path)
    answers = found.operation(method).get("responses", {})
    if str(status) not in answers:
        raise AssertionError(
            f"{method} {found.template}: {status} is not a documented answer"
        )
    content = answers[str(status)].get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return to_json_schema(schema, found.document)


def check_response(method: str, path: str, status: int, body: Mapping) -> None:
    """AssertionError unless ``body`` is the documented answer, with exactly the
    documented top-level properties (a list page: its items and paging keys)."""
    schema = response_schema(method, path, status)
    where = f"{method} {path.split('?', 1)[0]} answer {status}"
    if not isinstance(body, Mapping):
        raise AssertionError(f"{where} is not a JSON object: {body!r}")
    _check_exact_properties(where, body, schema)
    _validate(dict(body), schema, where)
