"""The shape of promotion.yaml, judged by its JSON Schema (``schema.json``, with ``jsonschema``).

Every schema error becomes a :class:`~gitops_promote.errors.Problem` on the line of the key or
value at fault (ruamel.yaml nodes carry positions), worded by the field's explainer in
:mod:`gitops_promote.config.fields`: unknown keys with a "did you mean", missing keys with an
example, templates with the placeholder at fault. :func:`check_shape` also returns the paths
that were refused, so that the rules and the model builder skip them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final, cast

from gitops_promote.adapters.yamlsafe import plain
from gitops_promote.config.fields import (
    FIELDS,
    FREEZE_EXAMPLE,
    MISPLACED,
    Items,
    bound_kind,
    name_problem,
    one_of,
    suggest,
    type_name,
    valid_name,
)
from gitops_promote.config.nodes import (
    Path,
    at,
    child,
    item_line,
    key_line,
    line_at,
    map_line,
    raw_key,
)
from gitops_promote.errors import quote

SCHEMA_RESOURCE: Final = "schema.json"


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of promotion.yaml, with a description per field."""
    text = resources.files("gitops_promote.config").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


_DOLLAR = re.compile(r"(?<!\\)\$")


@functools.lru_cache(maxsize=256)
def _ecma(pattern: str) -> re.Pattern[str]:
    """A schema pattern with ECMA-262's ``$`` (the end of the text, as JSON Schema means
    it), not Python's (which also matches before a trailing newline: ``"@octocat\\n"``
    would pass ``^@[a-z]+$``): every unescaped ``$`` becomes ``\\Z``."""
    return re.compile(_DOLLAR.sub(r"\\Z", pattern))


def _pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 - no stubs in the lock

    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _validator() -> Any:
    import jsonschema  # noqa: PLC0415 - no stubs in the lock

    strict = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})
    return strict(schema())


# -- where a message is about ------------------------------------------------------------


def env_where(data: Any, index: int) -> str:
    name = child(at(data, ("environments", index)), "name")
    return f"environment {quote(name)}" if valid_name(name) else f"environments[{index}]"


def window_where(data: Any, index: int, window: int) -> str:
    name = child(at(data, ("environments", index, "freeze", window)), "name")
    base = env_where(data, index)
    if isinstance(name, str) and name.strip():
        return f"{base}: freeze window {quote(name)}"
    return f"{base}: freeze[{window}]"


def level_of(data: Any, path: Path) -> tuple[str, str] | None:
    """The level (a key of FIELDS, or ``top``) and label of the mapping at ``path``."""
    match path:
        case ():
            return "top", "promotion.yaml"
        case ("settings",):
            return "settings", "settings"
        case ("settings", "author"):
            return "author", "settings: author"
        case ("environments", int(i)):
            return "environment", env_where(data, i)
        case ("environments", int(i), "freeze", int(j)):
            return "freeze", window_where(data, i, j)
        case ("environments", int(i), ("pull-request" | "drift") as part):
            return part, f"{env_where(data, i)}: {part}"
        case ("apps", str(name)):
            return "app", f"app {quote(name)}"
        case ("policies",) if isinstance(at(data, path), Mapping):
            return "policies", "policies"
    return None


# -- the mapping from schema errors to problems ---------------------------------------------


@dataclass
class Shape:
    """Problems as (line, message), and the paths the schema refused."""

    problems: list[tuple[int | None, int, str]] = field(default_factory=list)
    refused: set[Path] = field(default_factory=set)
    flagged: set[Path] = field(default_factory=set)  # where problems were found
    phase: int = 1  # references are said first on a line, as they are checked first

    def add(self, line: int | None, message: str) -> None:
        self.problems.append((line, self.phase, message))

    def ordered(self) -> list[tuple[int | None, str]]:
        """By line (a problem without one last), then phase, then as found."""
        ordered = sorted(self.problems, key=lambda p: (p[0] is None, p[0] or 0, p[1]))
        return [(line, message) for line, _, message in ordered]

    def bad(self, path: Path) -> bool:
        """Whether ``path`` or a mapping/list around it was refused."""
        return any(path[:n] in self.refused for n in range(len(path) + 1))

    def clean(self, path: Path) -> bool:
        """Whether no problem was found at or below ``path`` (nor was a parent refused)."""
        return not self.bad(path) and not any(p[: len(path)] == path for p in self.flagged)


_MISSING: Final = {
    "version": "version is missing; add 'version: 1' as the first line",
    "environments": "environments is missing; add a list of environments in pipeline order, "
    "e.g. environments: [{name: dev, path: 'apps/{app}/overlays/dev', mode: push}]",
    "apps": "apps is missing; add a mapping of app name to image, e.g. "
    "apps: {api: {image: ghcr.io/myorg/api}}",
}


def check_shape(data: Any) -> Shape:
    """Judge ``data`` (loaded YAML, not None) against the schema: every problem, with its line."""
    shape = Shape()
    if not isinstance(data, Mapping):
        shape.add(
            map_line(data) or 1,
            f"promotion.yaml must be a mapping (key: value lines), not {type_name(data)}",
        )
        shape.refused.add(())
        return shape
    errors = sorted(
        _validator().iter_errors(plain(data)),
        key=lambda e: ([str(p) for p in e.absolute_path], e.validator != "required"),
    )
    seen: set[tuple[Path, str, str]] = set()
    for error in errors:
        path: Path = tuple(error.absolute_path)
        kind = "propertyNames" if "propertyNames" in error.schema_path else error.validator
        which = str(error.instance) if kind == "propertyNames" else ""
        if _skip(path, kind, shape) or not _on_mapping(data, path, kind):
            continue
        if (path, kind, which) in seen:
            continue
        seen.add((path, kind, which))
        before = len(shape.problems)
        _explain(data, path, kind, error, shape)
        if kind != "additionalProperties" and len(shape.problems) > before:
            shape.flagged.add(path)  # an unknown key leaves the rest usable
    return shape


_OBJECT_KINDS: Final = frozenset({"additionalProperties", "required", "oneOf", "propertyNames"})


def _skip(path: Path, kind: str, shape: Shape) -> bool:
    """Errors inside a refused value, or inside an app whose name is refused; and every
    error inside a ``live:`` block, which :mod:`gitops_promote.config.liverules` explains."""
    if len(path) >= 3 and path[0] in ("environments", "apps") and path[2] == "live":
        return True
    if len(path) >= 2 and path[0] == "apps" and not valid_name(path[1]):
        return True
    if any(path[:n] in shape.refused for n in range(len(path))):
        return True
    return kind not in _OBJECT_KINDS and path in shape.refused


def _on_mapping(data: Any, path: Path, kind: str) -> bool:
    """Object rules apply to mappings; anything else has its type error."""
    return kind not in _OBJECT_KINDS or isinstance(at(data, path), Mapping)


def _explain(data: Any, path: Path, kind: str, error: Any, shape: Shape) -> None:
    if kind == "additionalProperties":
        _unknown_keys(data, path, error, shape)
        return
    if kind == "required":
        _required(data, path, error, shape)
        return
    if kind == "propertyNames":
        _app_name(data, error.instance, shape)
        return
    if kind == "oneOf" and len(path) == 4:  # a freeze window
        _freeze_shape(data, path, shape)
        return
    node = at(data, path)
    line = line_at(data, path)
    if kind != "uniqueItems":
        shape.refused.add(path)
    match path:
        case ("version",):
            if isinstance(node, str) and node.strip() == "1":
                shape.add(
                    line, "version must be the number 1, not text: write version: 1 (unquoted)"
                )
            else:
                shape.add(
                    line,
                    f"version {quote(node)} is not supported; this gitops-promote reads "
                    "'version: 1'",
                )
            return
        case ("environments",):
            shown = type_name(node) if node != [] else "an empty list"
            shape.add(
                line,
                "environments must be a non-empty list ('- name: dev' items, in pipeline "
                f"order), not {shown}",
            )
            return
        case ("apps",):
            if kind == "minProperties":
                shape.add(line, "apps is empty; add at least one app")
            else:
                shape.add(line, f"apps must be a mapping (key: value lines), not {type_name(node)}")
            return
        case ("environments", int(i), "freeze"):
            shape.add(
                line,
                f"{env_where(data, i)}: freeze must be a list of windows, e.g. freeze: "
                "[{name: weekend, schedule: '0 16 * * FRI', duration: 64h, timezone: "
                "Europe/Berlin}]",
            )
            return
        case ("environments", int(i), "freeze", int(j)):
            shape.add(
                line,
                f"{env_where(data, i)}: freeze[{j}] must be a mapping (key: value lines), not "
                f"{type_name(node)}",
            )
            return
        case ("apps", str(name)):
            line = key_line(data["apps"], raw_key(data["apps"], name))
            if isinstance(node, str):
                shape.add(
                    line, f"app {quote(name)} must be a mapping; write {name}: {{image: {node}}}"
                )
            else:
                shape.add(
                    line,
                    f"app {quote(name)} must be a mapping (key: value lines), not "
                    f"{type_name(node)}",
                )
            return
    level = level_of(data, path)
    if level is not None:  # a mapping that is something else
        shape.add(line, f"{level[1]} must be a mapping (key: value lines), not {type_name(node)}")
        return
    for where, message in _field(data, path, error):
        shape.add(where, message)


def _missing(error: Any) -> list[str]:
    return [k for k in error.validator_value if k not in error.instance]


def _field(data: Any, path: Path, error: Any) -> list[tuple[int | None, str]]:
    """A value of a field (or an item of a list field) that the schema refused."""
    item = isinstance(path[-1], int)
    owner_path = path[:-2] if item else path[:-1]
    key = str(path[-2] if item else path[-1])
    level = level_of(data, owner_path)
    spec = FIELDS.get(level[0], {}).get(key) if level else None
    line = line_at(data, path)
    value = at(data, path)
    if level is None or spec is None:
        return [(line, f"{'/'.join(map(str, path))}: {_reason(error)}")]
    where = f"environments[{owner_path[1]}]" if level == ("environment", "name") else level[1]
    if level[0] == "environment" and key == "name":
        where = f"environments[{owner_path[1]}]"
    messages: list[tuple[int | None, str]] = []
    if isinstance(spec.explain, Items):
        if item:
            message = spec.explain.item(where, key, cast(int, path[-1]), value)
            if message is None and key in _REFERENCES:
                return []  # names no app or environment: the reference rules say so
            messages = [(line, message)] if message else []
        elif error.validator == "uniqueItems" and isinstance(value, list):
            return _duplicates(data, spec.explain, where, key, value)
        elif error.validator == "minItems":
            messages = [
                (
                    line,
                    f"{where}: {key} is empty; list the environments the app is deployed to, "
                    f"or remove the key for all of them",
                )
            ]
        else:
            messages = [(line, m) for m in spec.explain(where, key, value)]
    elif key == "from" and isinstance(value, str) and value.strip():
        return []  # names no environment: the reference rules say so
    elif not item:
        messages = [(line, m) for m in spec.explain(where, key, value)]
    return messages or [(line, f"{where}: {key} {_reason(error)}")]


_REFERENCES: Final = frozenset({"depends-on", "environments"})


def _duplicates(
    data: Any, spec: Items, where: str, key: str, value: list[Any]
) -> list[tuple[int | None, str]]:
    """Each repeated item, when the item itself is fine (else its own problem says so)."""
    envs = data.get("environments")
    declared = (
        [e.get("name") for e in envs if isinstance(e, Mapping)] if isinstance(envs, list) else []
    )
    found: list[tuple[int | None, str]] = []
    kept: list[Any] = []
    for index, entry in enumerate(value):
        if spec.item(where, key, index, entry) is not None:
            continue
        if (
            key == "environments"
            and where.startswith("app ")
            and declared
            and entry not in declared
        ):
            continue
        if entry in kept:
            found.append(
                (item_line(value, index), f"{where}: {key} lists {quote(entry)} twice; remove one")
            )
            continue
        kept.append(entry)
    return found


def _reason(error: Any) -> str:
    """A schema message without the value repeated (it may be long): the fallback wording."""
    match error.validator:
        case "pattern" | "anyOf" | "allOf":
            return "is not valid; see 'gitops-promote schema'"
        case "maxLength":
            return f"is longer than {error.validator_value} characters"
        case "enum":
            return f"is not valid; use one of: {one_of(map(str, error.validator_value))}"
    return f"is not valid ({error.validator}); see 'gitops-promote schema'"


def _unknown_keys(data: Any, path: Path, error: Any, shape: Shape) -> None:
    node = at(data, path)
    level = level_of(data, path)
    if level is None or not isinstance(node, Mapping):
        return
    allowed = list(error.schema.get("properties", {}))
    patterns = error.schema.get("patternProperties", {})
    for key in node:
        name = str(key)
        if name in allowed or (patterns and name.startswith("x-")):
            continue
        line = key_line(node, key)
        if not isinstance(key, str):
            shape.add(
                line,
                f"{level[1]}: key {quote(key)} is not text; keys are names like "
                f"{quote(allowed[0])}",
            )
            continue
        hint = suggest(key, allowed)
        elsewhere = MISPLACED.get(level[0], {}).get(key)
        if not hint and elsewhere:
            hint = f" ({quote(key)} belongs to {elsewhere})"
        shape.add(
            line, f"{level[1]}: unknown key {quote(key)}{hint}; allowed here: {one_of(allowed)}"
        )


def _required(data: Any, path: Path, error: Any, shape: Shape) -> None:
    missing = _missing(error)
    node = at(data, path)
    match path:
        case ():
            for key in missing:
                shape.add(1, _MISSING[key])
        case ("environments", int(i)):
            line = item_line(data["environments"], i)
            if "name" in missing:
                shape.add(line, f"environments[{i}]: name is missing; add e.g. 'name: production'")
            if "path" in missing:
                name = node.get("name")
                shown = name if valid_name(name) else "dev"
                shape.add(
                    line,
                    f"{env_where(data, i)}: path is missing; add where each app's overlay lives, "
                    f"e.g. path: apps/{{app}}/overlays/{shown}",
                )
        case ("apps", str(name)):
            apps = data["apps"]
            shape.add(
                key_line(apps, raw_key(apps, name)),
                f"app {quote(name)}: image is missing; add the repository, e.g. "
                f"ghcr.io/myorg/{name}",
            )


def _app_name(data: Any, name: str, shape: Shape) -> None:
    apps = data["apps"]
    key = raw_key(apps, name)
    if not isinstance(key, str):
        shape.add(key_line(apps, key), f"apps: app name {quote(key)} must be text")
        return
    why = name_problem(name) or "is not valid"
    shape.add(key_line(apps, key), f"apps: app name {quote(name)} {why}")


def _freeze_shape(data: Any, path: Path, shape: Shape) -> None:
    """Which of the three window shapes a refused window misses; its values are explained
    one by one, unless it mixes shapes or kinds."""
    node = at(data, path)
    where = window_where(data, cast(int, path[1]), cast(int, path[3]))
    line = line_at(data, path)
    has = {k: k in node for k in ("schedule", "duration", "start", "end")}
    recurring = has["schedule"] or has["duration"]
    ranged = has["start"] or has["end"]
    if recurring and ranged:
        shape.add(line, f"{where}: has both schedule/duration and start/end; use {FREEZE_EXAMPLE}")
        shape.refused.update((*path, k) for k in has)
        return
    if not recurring and not ranged:
        shape.add(line, f"{where}: says neither when it opens nor closes; use {FREEZE_EXAMPLE}")
        return
    pair = ("schedule", "duration") if recurring else ("start", "end")
    for key, other in (pair, pair[::-1]):
        if has[key] and not has[other]:
            shape.add(
                key_line(node, key), f"{where}: {key} needs {other} too; use {FREEZE_EXAMPLE}"
            )
    if (
        has["start"]
        and has["end"]
        and {bound_kind(node["start"]), bound_kind(node["end"])}
        == {
            "cron",
            "time",
        }
    ):
        shape.add(
            line,
            f"{where}: start and end must both be timestamps (one-off window) or both "
            f"cron expressions (recurring), not one of each",
        )
        shape.refused.update({(*path, "start"), (*path, "end")})
