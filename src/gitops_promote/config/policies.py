"""``policies:`` of promotion.yaml into the model: the top-level directories and options
(:class:`~gitops_promote.config.model.PolicyOptions`), and the directories each
environment and app adds. The shape and each value are judged by the schema and
:mod:`gitops_promote.config.fields`; this module builds the values that have no problem
and says what no schema can (``namespaces`` beside ``all-namespaces: true``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gitops_promote.config.durations import parse_duration
from gitops_promote.config.model import App, Environment, PolicyOptions
from gitops_promote.config.nodes import Path, at, key_line
from gitops_promote.config.shape import Shape


def check(data: Mapping[Any, Any], shape: Shape) -> None:
    """``namespaces`` and ``all-namespaces: true`` together: one of them says nothing."""
    node = data.get("policies")
    if not isinstance(node, Mapping) or shape.bad(("policies",)):
        return
    if node.get("all-namespaces") is True and "namespaces" in node:
        shape.flagged.add(("policies", "namespaces"))
        shape.add(
            key_line(node, "namespaces"),
            "policies: namespaces and all-namespaces: true together; all-namespaces "
            "evaluates every package, so remove one of them",
        )


def _dirs(data: Any, path: Path, shape: Shape) -> tuple[str, ...]:
    """The directories of the list at ``path`` when it has no problem (else none)."""
    value = at(data, path)
    if not isinstance(value, list) or not shape.clean(path):
        return ()
    return tuple(str(v) for v in value)


def options(data: Mapping[Any, Any], shape: Shape) -> PolicyOptions:
    """The top-level ``policies:`` (a list of directories, or a mapping of options)."""
    node = data.get("policies")
    if isinstance(node, list):
        return PolicyOptions(dirs=_dirs(data, ("policies",), shape))
    if not isinstance(node, Mapping) or shape.bad(("policies",)):
        return PolicyOptions()
    values: dict[str, Any] = {"dirs": _dirs(data, ("policies", "dirs"), shape)}
    for key, name in (("all-namespaces", "all_namespaces"), ("combine", "combine")):
        if key in node and shape.clean(("policies", key)):
            values[name] = bool(node[key])
    if "namespaces" in node and shape.clean(("policies", "namespaces")):
        values["namespaces"] = tuple(str(n) for n in node["namespaces"])
    if "timeout" in node and shape.clean(("policies", "timeout")):
        values["timeout"] = parse_duration(node["timeout"])
    return PolicyOptions(**values)


def attach(
    data: Mapping[Any, Any], shape: Shape, envs: Sequence[Environment], apps: Sequence[App]
) -> tuple[list[Environment], list[App]]:
    """``envs`` and ``apps`` with the ``policies:`` directories each declares."""
    items = data.get("environments")
    index = {
        item.get("name"): i
        for i, item in reversed(list(enumerate(items if isinstance(items, list) else ())))
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    }
    out_envs = []
    for env in envs:
        i = index.get(env.name)
        dirs = _dirs(data, ("environments", i, "policies"), shape) if i is not None else ()
        out_envs.append(replace(env, policies=dirs) if dirs else env)
    nodes = data.get("apps")
    out_apps = []
    for app in apps:
        node = nodes.get(app.name) if isinstance(nodes, Mapping) else None
        if not isinstance(node, Mapping) or "policies" not in node:
            out_apps.append(app)  # the common case, thousands of times: no lookups
            continue
        dirs = _dirs(data, ("apps", app.name, "policies"), shape)
        out_apps.append(replace(app, policies=dirs) if dirs else app)
    return out_envs, out_apps


__all__ = ["attach", "check", "options"]
