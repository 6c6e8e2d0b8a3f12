"""GitHub's OpenAPI description (trimmed copy): routing and validation of requests/responses.

Schemas are OpenAPI 3.0 (``nullable``, ``readOnly``...), validated with
``openapi_schema_validator``'s OAS 3.0 validators (jsonschema underneath), with ``$ref``
resolved inside the description.

On purpose, this is **stricter than GitHub** in one way: every object schema that lists
``properties`` and says nothing about ``additionalProperties`` is closed
(``additionalProperties: false``) in both directions. GitHub silently ignores an unknown
request field, which hides client bugs (``draft`` misspelled means a non-draft PR); and a
field the fake sends that the description does not know is a bug in the fake. Unknown query
parameters are refused for the same reason.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "api.github.com.trimmed.json"
_SPEC_URI = "urn:github-openapi-trimmed"
_METHODS = ("get", "put", "post", "delete", "patch")


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _close_objects(schema: Any, *, closable: bool = True) -> None:
    """Adapt a schema in place for validation.

    - Close open object schemas (``additionalProperties: false``), except directly under
      ``allOf`` where closing one part would refuse the others' properties.
    - ``nullable: true`` together with ``enum``: allow ``null`` too. GitHub's description
      writes e.g. a check run's ``conclusion`` that way and means "one of these, or null";
      OpenAPI 3.0.3's strict reading would refuse null unless the enum lists it.
    """
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        if closable and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for sub in props.values():
            _close_objects(sub)
    enum = schema.get("enum")
    if schema.get("nullable") is True and isinstance(enum, list) and None not in enum:
        schema["enum"] = [*enum, None]
    if isinstance(schema.get("additionalProperties"), dict):
        _close_objects(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        _close_objects(schema["items"])
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key) or ():
            _close_objects(sub)
    for sub in schema.get("allOf") or ():
        _close_objects(sub, closable=False)


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path" | "query" | "header"
    required: bool
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    template: str
    regex: re.Pattern[str]
    params: tuple[Param, ...]
    body_required: bool
    body_pointer: str | None
    responses: Mapping[str, str | None]  # status -> schema pointer (None: no JSON body)
    literal_segments: int

    def param(self, name: str, location: str) -> Param | None:
        for p in self.params:
            if p.name == name and p.location == location:
                return p
        return None


@dataclass
class RequestProblem:
    """Why a request is refused: the HTTP status GitHub would answer and a message."""

    status: int
    message: str
    errors: list[str] = field(default_factory=list)


class Spec:
    """The trimmed description: which operations exist and what they accept and return."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.raw: dict[str, Any] = raw
        strict = copy.deepcopy(raw)
        for schema in strict["components"].get("schemas", {}).values():
            _close_objects(schema)
        for item in strict["paths"].values():
            for method in _METHODS:
                op = item.get(method)
                if not op:
                    continue
                body = op.get("requestBody", {}).get("content", {}).get("application/json")
                if body and "schema" in body:
                    _close_objects(body["schema"])
                for resp in op.get("responses", {}).values():
                    for media in (resp.get("content") or {}).values():
                        if "schema" in media:
                            _close_objects(media["schema"])
        for resp in strict["components"].get("responses", {}).values():
            for media in (resp.get("content") or {}).values():
                if "schema" in media:
                    _close_objects(media["schema"])
        self.strict = strict
        resource = Resource.from_contents(strict, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
        self._validators: dict[tuple[str, str], Any] = {}
        self.operations: dict[str, Operation] = {}
        for template, item in strict["paths"].items():
            shared = item.get("parameters", [])
            for method in _METHODS:
                op = item.get(method)
                if op:
                    self.operations[op["operationId"]] = self._operation(
                        template, method, op, shared
                    )
        self._ordered = sorted(self.operations.values(), key=lambda o: -o.literal_segments)

    # -- building ---------------------------------------------------------------------------

    def _deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            target: Any = self.strict
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _operation(
        self, template: str, method: str, op: dict[str, Any], shared: list[Any]
    ) -> Operation:
        params = []
        for raw in [*shared, *op.get("parameters", [])]:
            p = self._deref(raw)
            params.append(
                Param(p["name"], p["in"], bool(p.get("required")), self._deref(p["schema"]))
            )
        pattern = ""
        literal = 0
        for segment in template.strip("/").split("/"):
            m = re.fullmatch(r"\{([^}]+)\}", segment)
            if m:
                pattern += f"/(?P<{m.group(1)}>[^/]+)"
            else:
                pattern += "/" + re.escape(segment)
                literal += 1
        body = op.get("requestBody")
        body_pointer = None
        if body and "application/json" in body.get("content", {}):
            body_pointer = _pointer(
                "paths", template, method, "requestBody", "content", "application/json", "schema"
            )
        responses: dict[str, str | None] = {}
        for status, resp in op.get("responses", {}).items():
            base: tuple[str, ...] = ("paths", template, method, "responses", status)
            target = resp
            if "$ref" in resp:
                base = tuple(resp["$ref"][2:].split("/"))
                target = self._deref(resp)
            media = (target.get("content") or {}).get("application/json")
            responses[status] = (
                _pointer(*base, "content", "application/json", "schema")
                if media and "schema" in media
                else None
            )
        return Operation(
            operation_id=op["operationId"],
            method=method.upper(),
            template=template,
            regex=re.compile(pattern + "$"),
            params=tuple(params),
            body_required=bool(body and body.get("required")),
            body_pointer=body_pointer,
            responses=responses,
            literal_segments=literal,
        )

    def _validator(self, pointer: str, *, write: bool) -> Any:
        key = (pointer, "w" if write else "r")
        validator = self._validators.get(key)
        if validator is None:
            cls = OAS30WriteValidator if write else OAS30ReadValidator
            validator = cls(
                {"$ref": _SPEC_URI + pointer},
                registry=self._registry,
                format_checker=oas30_format_checker,
            )
            self._validators[key] = validator
        return validator

    def schema_errors(self, pointer: str, value: Any, *, write: bool) -> list[str]:
        """Every way ``value`` breaks the schema at ``pointer`` (empty when valid)."""
        errors = sorted(
            self._validator(pointer, write=write).iter_errors(value),
            key=lambda e: list(e.absolute_path),
        )
        return [_describe(e) for e in errors]

    # -- routing ----------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self._ordered:
            if op.method != method:
                continue
            m = op.regex.match(path)
            if m:
                return op, m.groupdict()
        return None

    def path_known(self, path: str) -> bool:
        return any(op.regex.match(path) for op in self._ordered)

    # -- requests ---------------------------------------------------------------------------

    def check_params(
        self, op: Operation, path_params: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> tuple[dict[str, Any], RequestProblem | None]:
        """Coerce and validate path and query parameters; return their values or a problem."""
        values: dict[str, Any] = {}
        for name, raw in path_params.items():
            param = op.param(name, "path")
            assert param is not None, f"{op.operation_id}: path parameter {name} undeclared"
            value, error = _coerce(raw, param.schema)
            if error is None:
                error = self._param_error(op, param, value)
            if error:
                # GitHub answers a malformed path (``/pulls/abc``) with 404.
                return values, RequestProblem(404, "Not Found", [f"path parameter {name}: {error}"])
            values[name] = value
        errors = []
        for name, raws in query.items():
            param = op.param(name, "query")
            if param is None:
                errors.append(f"unknown query parameter {name!r}")
                continue
            if len(raws) != 1:
                errors.append(f"query parameter {name!r} given {len(raws)} times")
                continue
            value, error = _coerce(raws[0], param.schema)
            if error is None:
                error = self._param_error(op, param, value)
            if error:
                errors.append(f"query parameter {name!r}: {error}")
                continue
            values[name] = value
        for param in op.params:
            if param.location == "query" and param.required and param.name not in query:
                errors.append(f"query parameter {param.name!r} is required")
        if errors:
            return values, RequestProblem(422, "Validation Failed", errors)
        return values, None

    def _param_error(self, op: Operation, param: Param, value: Any) -> str | None:
        pointer = None
        for i, p in enumerate(op.params):
            if p is param:
                pointer = f"{op.operation_id}#{i}"
        key = (pointer or param.name, "p")
        validator = self._validators.get(key)
        if validator is None:
            validator = OAS30WriteValidator(
                dict(param.schema), registry=self._registry, format_checker=oas30_format_checker
            )
            self._validators[key] = validator
        error = next(iter(validator.iter_errors(value)), None)
        return None if error is None else error.message

    def check_body(self, op: Operation, raw: bytes) -> tuple[Any, RequestProblem | None]:
        """Parse and validate the JSON body; return it or a problem."""
        if op.body_pointer is None:
            if raw.strip():
                return None, RequestProblem(
                    422, "Validation Failed", [f"{op.operation_id} takes no request body"]
                )
            return None, None
        if not raw.strip():
            if op.body_required:
                return None, RequestProblem(400, "Problems parsing JSON", ["no request body"])
            return None, None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return None, RequestProblem(400, "Problems parsing JSON", [str(exc)])
        errors = self.schema_errors(op.body_pointer, body, write=True)
        if errors:
            return body, RequestProblem(422, "Invalid request.\n\n" + "\n".join(errors), errors)
        return body, None

    # -- responses --------------------------------------------------------------------------

    def check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Problems with a response the fake is about to send (empty when it conforms)."""
        key = str(status)
        if key not in op.responses:
            return [f"status {status} is not declared for {op.operation_id}"]
        pointer = op.responses[key]
        if pointer is None:
            if status >= 400 and body is not None:
                # declared without a body, but GitHub always explains an error in JSON
                return self.check_generic_error(body)
            return [] if body is None else [f"status {status} declares no JSON body"]
        return self.schema_errors(pointer, body, write=False)

    def check_generic_error(self, body: Any) -> list[str]:
        """A GitHub error body (``basic-error`` shape) for statuses an operation leaves out."""
        return self.schema_errors(
            _pointer("components", "schemas", "basic-error"), body, write=False
        )


def _coerce(raw: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw):
            return raw, f"{raw!r} is not an integer"
        return int(raw), None
    if kind == "number":
        try:
            return float(raw), None
        except ValueError:
            return raw, f"{raw!r} is not a number"
    if kind == "boolean":
        if raw not in ("true", "false"):
            return raw, f"{raw!r} is not a boolean"
        return raw == "true", None
    return raw, None


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"For '{where or '(root)'}', {error.message}."
