"""Drift: how an env's rendered manifests differ from its upstream's, beyond what should.

Both envs are rendered (see :mod:`gitops_promote.adapters.kustomize`); then what is expected
to differ
is normalised away in both:

- image references keep only the repository (tags and digests differ by design);
- ``spec.replicas``;
- namespaces (``metadata.namespace``, and ``subjects[].namespace`` of role bindings),
  and the name of a render's one ``Namespace`` object, which kustomize's ``namespace:``
  renames to the overlay's namespace (it allows only one then): the two are compared as
  one object, whatever their names;
- the content-hash suffix kustomize adds to generated ConfigMap and Secret names (the
  content itself is compared);
- the env's ``drift.ignore`` entries: ``/a/b/*/c`` (a field path, JSON-pointer style, ``*``
  any key or index, ``~1`` a ``/`` in a key, ``~0`` a ``~``) in every object;
  ``Kind:/path`` or ``Kind/name:/path`` only in those objects; ``Kind`` or ``Kind/name``
  (no path) drops those objects from the comparison.

What remains is reported as a unified diff, as a warning by default (``drift.severity:
fail`` fails the check).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gitops_promote.config.model import Environment
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult

GATE: Final = "drift"
_MISSING: Final = object()
# The name a render's one Namespace object is compared under (its real name is the
# overlay's namespace, which differs between envs by design).
NAMESPACE_OBJECT: Final = "(the overlay's namespace)"
_HASH_SUFFIX: Final = re.compile(r"^(?P<base>.+)-[2456789bcdfghkmt]{10}$")
_CONTAINER_LISTS: Final = ("containers", "initContainers", "ephemeralContainers")
# Strings that YAML would read as another type are shown quoted: "1" is not 1.
_LOOKS_TYPED: Final = re.compile(
    r"^(?:[-+]?[0-9][0-9_.eE+-]*|true|false|yes|no|on|off|null|~)$", re.IGNORECASE
)


@dataclass(frozen=True)
class IgnoreRule:
    kind: str | None
    name: str | None
    path: tuple[str, ...] | None  # None: drop the whole object

    def applies(self, obj: Mapping[str, Any]) -> bool:
        if self.kind is not None and obj.get("kind") != self.kind:
            return False
        return self.name is None or _name(obj) == self.name


def parse_ignore(entry: str) -> IgnoreRule:
    """``/path``, ``Kind:/path``, ``Kind/name:/path``, ``Kind`` or ``Kind/name``."""
    text = entry.strip()
    selector, path = "", text
    if not text.startswith("/"):
        selector, _, path = text.partition(":")
    kind, _, name = selector.partition("/")
    segments: tuple[str, ...] | None = None
    if path:
        parts = path.strip().lstrip("/").split("/")
        segments = tuple(p.replace("~1", "/").replace("~0", "~") for p in parts if p != "")
    return IgnoreRule(kind.strip() or None, name.strip() or None, segments)


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    return (str(obj.get("kind") or "?"), _name(obj))


def _delete(node: Any, path: Sequence[str]) -> bool:
    """Delete what ``path`` matches under ``node``; containers that become empty because
    of it go too. True when ``node`` itself became empty."""
    if not path:
        return False
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        for key in keys:
            if not rest or _delete(node[key], rest):
                del node[key]
        return bool(keys) and not node
    if isinstance(node, list):
        if head == "*":
            indexes = list(range(len(node)))
        elif head.isdigit() and int(head) < len(node):
            indexes = [int(head)]
        else:
            indexes = []
        for i in sorted(indexes, reverse=True):
            if not rest or _delete(node[i], rest):
                del node[i]
        return bool(indexes) and not node
    return False


def _strip_images(node: Any) -> None:
    """Every container's ``image`` becomes its repository only, wherever pod specs are."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _CONTAINER_LISTS and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = _repository(container["image"])
            _strip_images(value)
    elif isinstance(node, list):
        for item in node:
            _strip_images(item)


def _repository(image: str) -> str:
    try:
        return ImageRef.parse(image).name
    except Exception:  # noqa: BLE001 - a reference we cannot parse is compared as written
        return image


def _replace_strings(node: Any, names: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _replace_strings(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_strings(v, names) for v in node]
    if isinstance(node, str):
        return names.get(node, node)
    return node


def _generated_names(objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for obj in objects:
        if obj.get("kind") in ("ConfigMap", "Secret"):
            match = _HASH_SUFFIX.match(_name(obj))
            if match:
                out[_name(obj)] = match.group("base")
    return out


def normalise(
    objects: Sequence[Mapping[str, Any]], ignore: Sequence[str] = ()
) -> dict[tuple[str, str], Any]:
    """The objects keyed by (kind, name), with what is expected to differ removed."""
    rules = [parse_ignore(e) for e in ignore if e.strip()]
    hashed = _generated_names(objects)
    namespaces = [obj for obj in objects if obj.get("kind") == "Namespace"]
    out: dict[tuple[str, str], Any] = {}
    for original in objects:
        if any(r.path is None and r.applies(original) for r in rules):
            continue
        obj = _replace_strings(copy.deepcopy(dict(original)), hashed)
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            meta.pop("namespace", None)
            if len(namespaces) == 1 and original is namespaces[0]:
                meta["name"] = NAMESPACE_OBJECT  # kustomize's namespace: renames it
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.pop("replicas", None)
        for subject in obj.get("subjects") or ():
            if isinstance(subject, dict):
                subject.pop("namespace", None)
        _strip_images(obj)
        for rule in rules:
            if rule.path is not None and rule.applies(original):
                _delete(obj, rule.path)
        out[_key(obj)] = obj
    return out


def _dump(obj: Any, indent: int = 0) -> list[str]:
    """A stable YAML-like text of ``obj`` (keys sorted) for diffing."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return [f"{pad}{{}}"]
        lines: list[str] = []
        for key in sorted(obj, key=str):
            value = obj[key]
            if isinstance(value, dict | list) and value:
                lines.append(f"{pad}{key}:")
                lines += _dump(value, indent + 1)
            else:
                lines.append(f"{pad}{key}: {_scalar(value)}")
        return lines
    if isinstance(obj, list):
        if not obj:
            return [f"{pad}[]"]
        lines = []
        for item in obj:
            sub = _dump(item, indent + 1)
            first = sub[0].lstrip()
            lines.append(f"{pad}- {first}")
            lines += sub[1:]
        return lines
    return [f"{pad}{_scalar(obj)}"]


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        plain = value != "" and value.strip() == value and "\n" not in value and ": " not in value
        if not plain or _LOOKS_TYPED.match(value):
            return json.dumps(value)
        return value
    return str(value)


@dataclass(frozen=True)
class Drift:
    """The remaining differences: ``diff`` (unified, empty when none) and the objects."""

    diff: str
    changed: tuple[str, ...]  # "Kind/name" that differ, are missing or are extra


def compare(
    env_objects: Sequence[Mapping[str, Any]],
    upstream_objects: Sequence[Mapping[str, Any]],
    *,
    env_label: str,
    upstream_label: str,
    ignore: Sequence[str] = (),
) -> Drift:
    """Normalise both renders and diff upstream -> env."""
    ours = normalise(env_objects, ignore)
    theirs = normalise(upstream_objects, ignore)
    keys = sorted(
        k for k in set(ours) | set(theirs) if ours.get(k, _MISSING) != theirs.get(k, _MISSING)
    )
    parts: list[str] = []
    for key in keys:
        name = f"{key[0]}/{key[1]}"
        before = _dump(theirs[key]) if key in theirs else []
        after = _dump(ours[key]) if key in ours else []
        lines = difflib.unified_diff(
            [f"{line}\n" for line in before],
            [f"{line}\n" for line in after],
            fromfile=f"{upstream_label} {name}" if before else "/dev/null",
            tofile=f"{env_label} {name}" if after else "/dev/null",
            n=3,
        )
        parts.append("".join(lines))
    changed = [f"{k[0]}/{k[1]}" for k in keys]
    return Drift("".join(parts), tuple(changed))


def drift_gate(
    app: str,
    env: Environment,
    upstream: Environment,
    env_objects: Sequence[Mapping[str, Any]],
    upstream_objects: Sequence[Mapping[str, Any]],
    *,
    env_label: str | None = None,
    upstream_label: str | None = None,
    file: str | None = None,
) -> tuple[GateResult, str]:
    """The verdict and the unified diff (empty when the renders match after normalising)."""
    drift = compare(
        env_objects,
        upstream_objects,
        env_label=env_label or f"{env.name} (rendered)",
        upstream_label=upstream_label or f"{upstream.name} (rendered)",
        ignore=env.drift.ignore,
    )
    ignored = f" and {len(env.drift.ignore)} drift.ignore path(s)" if env.drift.ignore else ""
    if not drift.changed:
        message = (
            f"rendered {env.name} matches {upstream.name} apart from images, replicas and "
            f"namespace{ignored}"
        )
        return GateResult(GATE, app, env.name, True, message, file=file), ""
    shown = ", ".join(drift.changed[:5]) + (
        f" and {len(drift.changed) - 5} more" if len(drift.changed) > 5 else ""
    )
    fail = env.drift.severity == "fail"
    message = (
        f"rendered {env.name} differs from {upstream.name} in {shown}: what {upstream.name} "
        f"verified is not what {env.name} would run; review the diff, remove the difference, "
        f"or list expected ones under drift.ignore in promotion.yaml"
        + ("" if fail else " (drift.severity: warn)")
    )
    result = GateResult(
        GATE,
        app,
        env.name,
        False,
        message,
        file=file,
        severity="error" if fail else "warning",
    )
    return result, drift.diff


__all__ = ["GATE", "Drift", "IgnoreRule", "compare", "drift_gate", "normalise", "parse_ignore"]
