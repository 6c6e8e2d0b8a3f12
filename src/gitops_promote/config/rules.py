"""The rules of promotion.yaml that a JSON Schema cannot say.

References between entries (``from``, ``depends-on``, an app's ``environments``), cycles,
unique names, what needs ``from``, checks of a value's meaning (a cron expression that never
fires, an unknown time zone, a window that ends before it starts, a duration of 0s), and
the checks over the whole pipeline (overlay paths shared or nested between environments, the
break-glass label on every pull request). Cross references are checked on what is written,
even in an entry with other problems, so that one mistake neither hides nor fakes another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from gitops_promote.config.durations import parse_duration
from gitops_promote.config.fields import FIELDS, one_of, suggest, timestamp, valid_name
from gitops_promote.config.freeze import to_aware, zone
from gitops_promote.config.model import App, Environment
from gitops_promote.config.nodes import Path, at, item_line, key_line, value_line
from gitops_promote.config.shape import Shape, env_where, level_of, window_where
from gitops_promote.errors import quote


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every elementary cycle found by DFS (each reported once, from its first node)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []
    seen_cycles: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    cycles.append(cycle)
            elif state.get(nxt) is None:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def mappings(data: Any) -> Iterator[Path]:
    """The path of every mapping of a known level (settings, each environment, window, app)."""
    yield ("settings",)
    yield ("settings", "author")
    yield ("policies",)
    envs = data.get("environments")
    for i, env in enumerate(envs if isinstance(envs, list) else ()):
        yield ("environments", i)
        windows = env.get("freeze") if isinstance(env, Mapping) else None
        for j in range(len(windows) if isinstance(windows, list) else 0):
            yield ("environments", i, "freeze", j)
        yield ("environments", i, "pull-request")
        yield ("environments", i, "drift")
    apps = data.get("apps")
    for name in apps if isinstance(apps, Mapping) else ():
        if isinstance(name, str):
            yield ("apps", name)


def check_values(data: Mapping[Any, Any], shape: Shape) -> None:
    """What each value means, where the schema accepted its form (cron, zones, blank text)."""
    for path in mappings(data):
        node = at(data, path)
        level = level_of(data, path)
        if not isinstance(node, Mapping) or level is None or shape.bad(path):
            continue
        if path[0] == "apps" and not valid_name(path[1]):
            continue
        fields = FIELDS.get(level[0], {})
        for key in node:
            spec = fields.get(key) if isinstance(key, str) else None
            if spec is None or spec.semantic is None or shape.bad((*path, key)):
                continue
            where = f"environments[{path[1]}]" if level == ("environment", "name") else level[1]
            for message in spec.semantic(where, key, node[key]):
                shape.flagged.add((*path, key))
                shape.add(value_line(node, key), message)


def check_environments(data: Mapping[Any, Any], shape: Shape) -> list[str]:
    """Unique names, ``from`` references and cycles, what needs ``from``; the declared names."""
    value = data.get("environments")
    if not isinstance(value, list) or shape.bad(("environments",)):
        return []
    declared: dict[str, int | None] = {}
    upstream: dict[str, tuple[str, int | None]] = {}
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        where = env_where(data, index)
        needs = [
            k for k in ("soak", "auto") if k in item and not shape.bad(("environments", index, k))
        ]
        if "from" not in item:
            if "soak" in needs:
                shape.add(
                    key_line(item, "soak"),
                    f"{where}: soak needs from: (the environment the digest must have run in "
                    f"that long); add from: or remove soak",
                )
            if "auto" in needs and item["auto"] is True:
                shape.add(
                    key_line(item, "auto"),
                    f"{where}: auto: true needs from: (scheduled runs promote what the upstream "
                    f"environment runs); add from: or remove auto",
                )
        if not isinstance(item.get("name"), str):
            continue
        name = item["name"]
        line = item_line(value, index)
        if name in declared:
            shape.add(
                line,
                f"environments[{index}]: name {quote(name)} is already used on line "
                f"{declared[name]}; give each environment a unique name",
            )
            continue
        declared[name] = line
        source = item.get("from")
        if isinstance(source, str):
            upstream[name] = (source, value_line(item, "from"))
    known = [n for n in declared if valid_name(n)]
    for name, (source, source_line) in upstream.items():
        if source == name:
            shape.add(
                source_line,
                f"environment {quote(name)}: from: {quote(source)} names itself; set from to the "
                f"environment before it, or remove from for the first environment",
            )
        elif source not in declared:
            shape.add(
                source_line,
                f"environment {quote(name)}: from: {quote(source)} is not an environment"
                f"{suggest(source, known)}; use one of: {one_of(known)}",
            )
    graph = {name: [src] for name, (src, _) in upstream.items() if src != name}
    _flag_cycles(
        shape,
        graph,
        {name: line for name, (_, line) in upstream.items()},
        "environments form a cycle through from: ",
        "; the first environment of a pipeline has no from",
    )
    return list(declared)


def _flag_cycles(
    shape: Shape,
    graph: Mapping[str, Sequence[str]],
    lines: Mapping[str, int | None],
    lead: str,
    fix: str,
) -> None:
    """One problem per cycle of ``graph``, on the line of its first node."""
    for cycle in find_cycles(graph):
        shape.add(lines[cycle[0]], lead + " -> ".join(quote(n) for n in cycle) + fix)


def check_apps(data: Mapping[Any, Any], shape: Shape, declared_envs: Sequence[str]) -> None:
    """``depends-on`` references and cycles; each app's ``environments`` are declared."""
    node = data.get("apps")
    if not isinstance(node, Mapping) or shape.bad(("apps",)):
        return
    all_names = [n for n in node if isinstance(n, str)]
    known = [n for n in all_names if valid_name(n)]
    env_names = [n for n in declared_envs if valid_name(n)]
    depends: dict[str, tuple[list[str], int | None]] = {}
    for name, body in node.items():
        if not isinstance(name, str) or not isinstance(body, Mapping):
            continue
        deps = body.get("depends-on")
        if isinstance(deps, list):
            depends[name] = (
                [d for d in deps if isinstance(d, str)],
                value_line(body, "depends-on"),
            )
        envs = body.get("environments")
        if valid_name(name) and isinstance(envs, list) and declared_envs:
            for index, env in enumerate(envs):
                if isinstance(env, str) and env.strip() and env not in declared_envs:
                    shape.flagged.add(("apps", name, "environments"))
                    shape.add(
                        item_line(envs, index),
                        f"app {quote(name)}: environments[{index}] {quote(env)} is not an "
                        f"environment{suggest(env, env_names)}; use one of: {one_of(env_names)}",
                    )
    for name, (deps, line) in depends.items():
        for dep in deps:
            if dep == name:
                shape.add(line, f"app {quote(name)}: depends-on lists the app itself; remove it")
            elif dep not in all_names:
                shape.add(
                    line,
                    f"app {quote(name)}: depends-on {quote(dep)} is not an app"
                    f"{suggest(dep, known)}; use one of: {one_of(known)}",
                )
    graph = {n: [d for d in deps if d != n] for n, (deps, _) in depends.items()}
    _flag_cycles(
        shape,
        graph,
        {name: line for name, (_, line) in depends.items()},
        "apps form a cycle through depends-on: ",
        "; remove one dependency so there is an order to promote them in",
    )


def window_zone(
    data: Mapping[Any, Any], window: Mapping[Any, Any], shape: Shape, path: Path
) -> str | None:
    """The zone a window is read in (its own, else settings.timezone, else UTC); None when
    its own zone is refused."""
    own = window.get("timezone")
    if "timezone" in window:
        return own if shape.clean((*path, "timezone")) and isinstance(own, str) else None
    settings = data.get("settings")
    default = settings.get("timezone") if isinstance(settings, Mapping) else None
    if isinstance(default, str) and shape.clean(("settings", "timezone")):
        return default
    return "UTC"


def check_windows(data: Mapping[Any, Any], shape: Shape) -> None:
    """Per environment: windows of unique names, a duration over 0s, an end after the start."""
    envs = data.get("environments")
    for i, env in enumerate(envs if isinstance(envs, list) else ()):
        windows = env.get("freeze") if isinstance(env, Mapping) else None
        if not isinstance(windows, list) or shape.bad(("environments", i, "freeze")):
            continue
        names: set[str] = set()
        for j, window in enumerate(windows):
            path: Path = ("environments", i, "freeze", j)
            if not isinstance(window, Mapping) or shape.bad(path):
                continue
            where = window_where(data, i, j)
            duration = window.get("duration")
            if (
                isinstance(duration, str)
                and shape.clean((*path, "duration"))
                and parse_duration(duration) <= timedelta(0)
            ):
                shape.flagged.add((*path, "duration"))
                shape.add(
                    value_line(window, "duration"), f"{where}: duration must be longer than 0s"
                )
            _check_order(data, window, shape, path, where)
            if not shape.clean(path):
                continue
            name = window.get("name", f"freeze[{j}]")
            if name in names:
                shape.add(
                    item_line(windows, j),
                    f"{env_where(data, i)}: freeze window name {quote(name)} is used twice; "
                    f"give each window its own name",
                )
            names.add(name)


def _check_order(
    data: Mapping[Any, Any], window: Mapping[Any, Any], shape: Shape, path: Path, where: str
) -> None:
    tz_name = window_zone(data, window, shape, path)
    if tz_name is None or not all(
        shape.clean((*path, k)) and k in window for k in ("start", "end")
    ):
        return
    start, end = (timestamp(window[k]) for k in ("start", "end"))
    if isinstance(start, str) or isinstance(end, str):
        return  # cron pair, or said already
    tz = zone(tz_name)
    start = to_aware(start, tz, opening=True) if start.tzinfo is None else start
    end = to_aware(end, tz, opening=False) if end.tzinfo is None else end
    if start >= end:
        shape.flagged.add((*path, "end"))
        shape.add(
            value_line(window, "end"),
            f"{where}: end {end.isoformat()} is not after start {start.isoformat()}; swap them "
            f"or fix the dates",
        )


def check_paths(
    envs: Sequence[Environment], apps: Sequence[App], shape: Shape, lines: Mapping[str, int | None]
) -> None:
    """An environment path without {app} is valid only when every app in it sets path."""
    for env in envs:
        if "{app}" in env.path:
            continue
        users = [
            a.name
            for a in apps
            if a.path is None and (a.environments is None or env.name in a.environments)
        ]
        if users:
            shape.add(
                lines.get(env.name, env.line),
                f"environment {quote(env.name)}: path {quote(env.path)} must contain {{app}} so "
                f"each app has its own overlay (apps without their own path: {one_of(users)}); "
                f"to share one overlay, set path: on each app instead",
            )


def check_overlaps(
    envs: Sequence[Environment],
    apps: Sequence[App],
    shape: Shape,
    env_lines: Mapping[str, int | None],
    app_lines: Mapping[str, int | None],
) -> None:
    """One overlay per environment: no two environments may share an overlay path, nor
    may one environment's overlay lie inside another's (a push to dev would change
    what staging deploys). Apps of one environment may share a file."""
    owners: dict[str, tuple[App, Environment]] = {}
    pairs: list[tuple[str, App, Environment]] = []
    for app in apps:
        for env in envs:
            if app.environments is not None and env.name not in app.environments:
                continue
            template = app.path or env.path
            rel = template.replace("{app}", app.name).replace("{env}", env.name)
            path = _posix(rel)
            pairs.append((path, app, env))
            owners.setdefault(path, (app, env))
    reported: set[tuple[int | None, str, str]] = set()
    for path, app, env in pairs:
        template = app.path or env.path
        if app.path:
            where = f"app {quote(app.name)}"
            line = app_lines.get(app.name, app.line)
        else:
            where = f"environment {quote(env.name)}"
            line = env_lines.get(env.name, env.line)
        found = [(path, "same"), *((p, "inside") for p in _parents(path))]
        for other_path, how in found:
            owner = owners.get(other_path)
            if owner is None or owner[1].name == env.name:
                continue
            other_app, other_env = owner
            if (line, other_env.name, how) in reported:
                continue
            reported.add((line, other_env.name, how))
            theirs = f"the overlay of {other_app.name} in {other_env.name}"
            clash = (
                f"which is also {theirs}"
                if how == "same"
                else f"which lies inside {other_path}, {theirs}"
            )
            fix = (
                "put {env} in the path"
                if "{env}" not in template
                else f"give {env.name} an overlay of its own"
            )
            shape.add(
                line,
                f"{where}: path {quote(template)} gives {app.name} in {env.name} the overlay "
                f"{path}, {clash}: a change to one changes what the other deploys; {fix}",
            )


def _posix(rel: str) -> str:
    """``str(PurePosixPath(rel))``, without building the path when ``rel`` is already in
    that form (a relative path with no empty or ``.`` component): the common case, thousands
    of times per promotion.yaml."""
    if (
        rel
        and not rel.startswith(("/", "./"))
        and not rel.endswith(("/", "/."))
        and rel != "."
        and "//" not in rel
        and "/./" not in rel
    ):
        return rel
    return str(PurePosixPath(rel))


def _parents(path: str) -> list[str]:
    """``[str(p) for p in PurePosixPath(path).parents]`` for a path :func:`_posix` gave."""
    if path.startswith("/") or path == ".":
        return [str(p) for p in PurePosixPath(path).parents]
    out: list[str] = []
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        out.append(path)
    out.append(".")
    return out


def check_break_glass(envs: Sequence[Environment], label: str, shape: Shape) -> None:
    """Break-glass is a person's decision, never automation's."""
    for env in envs:
        if label and label.casefold() in {x.casefold() for x in env.pull_request.labels}:
            shape.add(
                env.line,
                f"environments: {env.name}: pull-request: labels include the break-glass "
                f"label '{label}': every promotion PR would override the freeze; remove it "
                "(a person adds it on the pull request when glass must be broken)",
            )


__all__ = [
    "check_apps",
    "check_break_glass",
    "check_environments",
    "check_overlaps",
    "check_paths",
    "check_values",
    "check_windows",
    "find_cycles",
]
