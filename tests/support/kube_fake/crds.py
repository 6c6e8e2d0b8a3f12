"""Flux's CRD schemas (trimmed copies, see trim_crds.py): validation of every object the
Kubernetes API fake serves.

The ``openAPIV3Schema`` is validated with ``openapi_schema_validator``'s OAS 3.0 validator
(jsonschema underneath, formats checked). Stricter than the API server in one way: the
API server prunes fields its schema does not know, the fake refuses them (every object
schema that lists ``properties``, has no ``additionalProperties`` and does not say
``x-kubernetes-preserve-unknown-fields`` is closed), so a misspelt status field in a test
state is an error, not a silently missing value. The CRDs' few CEL rules
(``x-kubernetes-validations``) are checked by the predicates in ``_CEL`` (each one the
rule's literal text); a rule not listed there fails loading, so a CRD update that adds
one cannot go unchecked. ``metadata`` (``type: object`` in a CRD: the API server checks
it) is held to the ObjectMeta fields the fake uses.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

HERE = Path(__file__).resolve().parent
FILES = {
    "Kustomization": HERE / "kustomizations.v1.schema.json",
    "HelmRelease": HERE / "helmreleases.v2.schema.json",
}


class CrdViolationError(ValueError):
    """An object breaks its Flux CRD schema."""


def _has(node: Any, key: str) -> bool:
    return isinstance(node, Mapping) and key in node


# The CEL rules of the pinned CRDs, each as a predicate over the node it is declared on.
_CEL: dict[str, Callable[[Any], bool]] = {
    "has(self.configMapRef) || has(self.secretRef)": lambda s: (
        _has(s, "configMapRef") or _has(s, "secretRef")
    ),
    "!has(self.configMapRef) || !has(self.secretRef)": lambda s: (
        not (_has(s, "configMapRef") and _has(s, "secretRef"))
    ),
    "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))": (
        lambda s: _has(s, "chart") != _has(s, "chartRef")
    ),
    "!has(self.retryInterval) || self.name != 'RemediateOnFailure'": lambda s: (
        not _has(s, "retryInterval") or s.get("name") != "RemediateOnFailure"
    ),
    "!has(self.retryInterval) || self.name == 'RetryOnFailure'": lambda s: (
        not _has(s, "retryInterval") or s.get("name") == "RetryOnFailure"
    ),
}

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "namespace", "generation"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS_LABEL},
        "generation": {"type": "integer", "minimum": 1},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class CrdSchema:
    """One served Flux API: where it lives and how its objects are checked."""

    kind: str
    group: str
    version: str
    plural: str
    provenance: Mapping[str, Any]
    schema: Mapping[str, Any]
    rules: tuple[tuple[tuple[str, ...], str, str], ...]  # (path to node, rule, message)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def errors(self, obj: Any) -> list[str]:
        """Every way ``obj`` breaks the CRD (empty when it is a valid object)."""
        found: list[str] = []
        if not isinstance(obj, dict):
            return ["not a JSON object"]
        if obj.get("apiVersion") != self.api_version:
            found.append(f"apiVersion: {obj.get('apiVersion')!r} is not {self.api_version!r}")
        if obj.get("kind") != self.kind:
            found.append(f"kind: {obj.get('kind')!r} is not {self.kind!r}")
        validator = OAS30Validator(self.schema, format_checker=oas30_format_checker)
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            found.append(f"{where}: {error.message[:300]}")
        meta = OAS30Validator(METADATA_SCHEMA, format_checker=oas30_format_checker)
        for error in meta.iter_errors(obj.get("metadata")):
            where = "/".join(["metadata", *(str(p) for p in error.absolute_path)])
            found.append(f"{where}: {error.message[:300]}")
        for path, rule, message in self.rules:
            node: Any = obj
            for part in path:
                node = node.get(part) if isinstance(node, Mapping) else None
            if node is not None and not _CEL[rule](node):
                found.append(f"{'/'.join(path)}: {message} ({rule})")
        return found

    def check(self, obj: Any) -> None:
        """Raise :class:`CrdViolationError` listing every problem when ``obj`` breaks the CRD."""
        found = self.errors(obj)
        if found:
            raise CrdViolationError(f"{self.kind} breaks its CRD: " + "; ".join(found))


def _close(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            schema["additionalProperties"] = False
        for sub in props.values():
            _close(sub)
    if isinstance(schema.get("additionalProperties"), dict):
        _close(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        _close(schema["items"])


def _rules(schema: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, str]]:
    found: list[tuple[tuple[str, ...], str, str]] = []
    if not isinstance(schema, dict):
        return found
    for rule in schema.get("x-kubernetes-validations") or ():
        text = rule["rule"]
        if text not in _CEL:
            raise RuntimeError(f"{'/'.join(path)}: CEL rule {text!r} is not known to crds.py")
        found.append((path, text, str(rule.get("message", text))))
    for name, sub in (schema.get("properties") or {}).items():
        found.extend(_rules(sub, (*path, name)))
    return found


@cache
def load(kind: str) -> CrdSchema:
    """The trimmed CRD of ``kind`` (``Kustomization`` or ``HelmRelease``)."""
    doc = json.loads(FILES[kind].read_text(encoding="utf-8"))
    schema = copy.deepcopy(doc["openAPIV3Schema"])
    rules = _rules(schema, ())
    for key in ("metadata",):
        schema["properties"].pop(key, None)  # checked against METADATA_SCHEMA instead
    _close(schema)
    schema["properties"]["metadata"] = {"type": "object"}
    schema["required"] = sorted({*schema.get("required", ()), "apiVersion", "kind", "metadata"})
    return CrdSchema(
        kind=doc["kind"],
        group=doc["group"],
        version=doc["version"],
        plural=doc["plural"],
        provenance=doc["x-trimmed-from"],
        schema=schema,
        rules=tuple(rules),
    )


def by_plural(group: str, version: str, plural: str) -> CrdSchema | None:
    """The served API at ``/apis/{group}/{version}/.../{plural}``, if the fake has it."""
    for kind in FILES:
        crd = load(kind)
        if (crd.group, crd.version, crd.plural) == (group, version, plural):
            return crd
    return None
