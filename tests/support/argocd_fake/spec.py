"""Argo CD's own OpenAPI (swagger 2.0) description, trimmed: the contract every body the
fake serves is checked against.

Swagger 2.0 definitions are JSON Schema draft 4 with ``$ref: #/definitions/...``; they are
validated with jsonschema's Draft4Validator and its format checker (``date-time``).

On purpose **stricter than Argo CD** in one way: every object schema that lists
``properties`` and says nothing of ``additionalProperties`` is closed, so a fixture field
Argo CD does not have (a typo: ``reconcileAt``) is refused instead of silently ignored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # no stubs in the lock

SPEC_PATH = Path(__file__).with_name("argocd.swagger.trimmed.json")


class ContractError(AssertionError):
    """A body the fake was about to serve does not match Argo CD's description."""


def _close_objects(schema: Any) -> None:
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        schema.setdefault("additionalProperties", False)
        for sub in props.values():
            _close_objects(sub)
    if isinstance(schema.get("additionalProperties"), dict):
        _close_objects(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        _close_objects(schema["items"])


class Spec:
    """Validators for the Application and Argo CD's error body (``runtimeError``)."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.raw: dict[str, Any] = raw
        strict = copy.deepcopy(raw)
        for schema in strict["definitions"].values():
            _close_objects(schema)
        self._definitions = strict["definitions"]
        get = raw["paths"]["/api/v1/applications/{name}"]["get"]
        self.responses = {
            code: answer["schema"]["$ref"] for code, answer in get["responses"].items()
        }

    def _validator(self, ref: str) -> Draft4Validator:
        schema = {"$ref": ref, "definitions": self._definitions}
        return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def problems(self, body: Mapping[str, Any], *, status: int) -> list[str]:
        """What is wrong with ``body`` as the answer with ``status`` ([] when nothing)."""
        ref = self.responses.get(str(status), self.responses["default"])
        validator = self._validator(ref)
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        ]

    def check(self, body: Mapping[str, Any], *, status: int = 200) -> None:
        """Raise :class:`ContractError` unless ``body`` matches the description."""
        problems = self.problems(body, status=status)
        if problems:
            raise ContractError(
                f"the Argo CD fake refuses to serve a body that is not Argo CD's "
                f"(HTTP {status}): " + "; ".join(problems[:10])
            )
