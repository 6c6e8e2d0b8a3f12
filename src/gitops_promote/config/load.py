"""Load ``promotion.yaml`` into the frozen model of :mod:`gitops_promote.config.model`.

Read the file (inside the repository, small, UTF-8), parse the YAML, judge its shape by the
JSON Schema (:mod:`gitops_promote.config.shape`), apply the rules a schema cannot say
(:mod:`gitops_promote.config.rules`) and build the model. Validation never stops at the
first problem: every problem is collected with its file and line, each message saying how
to fix it, and raised together as one :class:`~gitops_promote.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gitops_promote.adapters.files import resolve_in_repo
from gitops_promote.adapters.yamlsafe import MAX_BYTES, YamlError, decode, load
from gitops_promote.config import liverules, policies, rules
from gitops_promote.config.durations import parse_duration
from gitops_promote.config.fields import TEAM_RE, bound_kind, timestamp, valid_name
from gitops_promote.config.freeze import to_aware, zone
from gitops_promote.config.model import (
    DEFAULT_CONFIG_PATH,
    App,
    Author,
    Config,
    DriftOptions,
    Environment,
    FreezeWindow,
    PullRequestOptions,
    Settings,
)
from gitops_promote.config.nodes import Path as NodePath
from gitops_promote.config.nodes import at, item_line, key_line, value_line
from gitops_promote.config.shape import Shape, check_shape, schema
from gitops_promote.errors import ConfigError, Problem, UserError

DEFAULT_MODE = "pull-request"
_EMPTY = (
    "is empty; start with 'version: 1', an 'environments:' list and an 'apps:' mapping "
    "('gitops-promote schema' prints the reference)"
)


def load_config(root: Path, path: str = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate ``root/path``; raise UserError/ConfigError with every problem.

    ``path`` must stay inside the repository: no ``..``, not absolute, no symlink out."""

    what = "config file" if path == DEFAULT_CONFIG_PATH else "--config"
    file = resolve_in_repo(root, path, what=what)
    if not file.exists():
        raise UserError(
            f"{path}: no such file in {root}",
            hint="create promotion.yaml at the root of the config repo (version: 1, "
            "environments:, apps:; 'gitops-promote schema' prints the reference), or give the "
            "path of your config file",
        )
    if not file.is_file():
        raise UserError(f"{path} in {root} is not a file", hint="give the path of promotion.yaml")
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise UserError(
                f"{path} is {size} bytes, more than the {MAX_BYTES // 1048576} MiB limit",
                hint="promotion.yaml is a small text file; check the path",
            )
        data = file.read_bytes()
    except OSError as err:
        raise UserError(
            f"{path} cannot be read: {err.strerror or err}", hint="check its permissions"
        ) from None
    try:
        text = decode(data, path)
    except YamlError as err:
        raise ConfigError([yaml_problem(err, path)]) from None
    return parse_config(text, path)


def parse_config(text: str, file: str = DEFAULT_CONFIG_PATH) -> Config:
    """Validate promotion.yaml ``text`` (``file`` names it in messages); every problem at once.

    The YAML is composed through libyaml when that gives ruamel.yaml's very nodes (see
    :mod:`gitops_promote.adapters.yamlsafe`); the model is frozen, so one text is parsed once per
    process (``check`` reads the same promotion.yaml from the work tree and the base)."""
    return _parse_config(text, file)


@functools.lru_cache(maxsize=4)
def _parse_config(text: str, file: str) -> Config:
    with _collector_paused():
        try:
            data = load(text, file, fast=True)
        except YamlError as err:
            raise ConfigError([yaml_problem(err, file)]) from None
        return validate(data, file)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while one promotion.yaml is read: the read makes
    hundreds of thousands of objects that live on (a file of 10,000 apps), and each
    collection pass walks all that came before (a quarter of the time). The text is at
    most MAX_BYTES, so what cyclic garbage the pause keeps is bounded."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def yaml_problem(err: YamlError, file: str) -> Problem:
    message = err.problem + (f"; {err.hint}" if err.hint else "")
    return Problem(file, err.line, message)


def validate(data: Any, file: str) -> Config:
    """The model of loaded promotion.yaml ``data``, or a ConfigError with every problem."""
    if data is None:
        raise ConfigError([Problem(file, 1, _EMPTY)])
    shape = check_shape(data)
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(file, line, message) for line, message in shape.ordered()])
    rules.check_values(data, shape)
    shape.phase = 0
    declared = rules.check_environments(data, shape)
    rules.check_apps(data, shape, declared)
    liverules.check(data, shape, declared)
    shape.phase = 1
    rules.check_windows(data, shape)
    build = _Builder(data, shape)
    settings = build.settings()
    envs = build.environments()
    apps = build.apps()
    rules.check_paths(envs, apps, shape, build.env_path_lines)
    rules.check_overlaps(envs, apps, shape, build.env_path_lines, build.app_path_lines)
    rules.check_break_glass(envs, settings.freeze_exception_label, shape)
    # policies: (Rego directories and options), in a block of its own
    policies.check(data, shape)
    envs, apps = policies.attach(data, shape, envs, apps)
    policy_options = policies.options(data, shape)
    if shape.problems:
        raise ConfigError([Problem(file, line, message) for line, message in shape.ordered()])
    return Config(
        environments=tuple(envs),
        apps=tuple(apps),
        settings=settings,
        file=file,
        version=1,
        policies=policy_options,
    )


class _Builder:
    """The model of the parts of ``data`` that have no problem (the rest stays default)."""

    def __init__(self, data: Mapping[Any, Any], shape: Shape) -> None:
        self.data = data
        self.shape = shape
        self.env_path_lines: dict[str, int | None] = {}
        self.app_path_lines: dict[str, int | None] = {}

    def values(self, path: NodePath, fields: Mapping[str, str]) -> dict[str, Any]:
        """``{model field: value}`` of the keys of the mapping at ``path`` without problems."""
        node = at(self.data, path)
        if not isinstance(node, Mapping):
            return {}
        return {
            name: node[key]
            for key, name in fields.items()
            if key in node and self.shape.clean((*path, key))
        }

    def settings(self) -> Settings:
        path: NodePath = ("settings",)
        values = self.values(
            path,
            {
                "base-branch": "base_branch",
                "commit-message": "commit_message",
                "pr-title": "pr_title",
                "branch": "branch",
                "freeze-exception-label": "freeze_exception_label",
                "state-file": "state_file",
            },
        )
        if "freeze_exception_label" in values:
            values["freeze_exception_label"] = values["freeze_exception_label"] or ""
        node = at(self.data, path)
        if isinstance(node, Mapping) and "author" in node and self.shape.clean((*path, "author")):
            author = self.values((*path, "author"), {"name": "name", "email": "email"})
            values["author"] = Author(**author)
        return Settings(**values)

    def environments(self) -> list[Environment]:
        items = self.data.get("environments")
        if not isinstance(items, list) or self.shape.bad(("environments",)):
            return []
        envs: list[Environment] = []
        for index in range(len(items)):
            env = self.environment(("environments", index), item_line(items, index))
            if env is not None and all(e.name != env.name for e in envs):
                envs.append(env)
        return envs

    def environment(self, path: NodePath, line: int | None) -> Environment | None:
        node = at(self.data, path)
        if not isinstance(node, Mapping) or self.shape.bad(path):
            return None
        values = self.values(
            path,
            {
                "path": "path",
                "mode": "mode",
                "from": "upstream",
                "soak": "soak",
                "auto": "auto",
                "require-digest": "require_digest",
                "allow-rollback": "allow_rollback",
                "require-limits": "require_limits",
                "owners": "owners",
                "track": "track",
                "external": "external",
                "render": "render",
                "soak-from": "soak_from",
            },
        )
        name = node.get("name")
        if not isinstance(name, str) or not valid_name(name) or "path" not in values:
            return None
        if not self.shape.clean((*path, "name")):
            return None
        self.env_path_lines[name] = value_line(node, "path")
        values.setdefault("mode", DEFAULT_MODE)
        if "soak" in values:
            values["soak"] = parse_duration(values["soak"])
        for key in ("owners", "external"):
            if key in values:
                values[key] = tuple(values[key])
        if "freeze" in node:
            values["freeze"] = self.windows((*path, "freeze"))
        if "pull-request" in node:
            values["pull_request"] = self.pull_request((*path, "pull-request"))
        if "drift" in node:
            drift = self.values((*path, "drift"), {"severity": "severity", "ignore": "ignore"})
            if "ignore" in drift:
                drift["ignore"] = tuple(drift["ignore"])
            values["drift"] = DriftOptions(**drift)
        values["live"] = liverules.build_env(self.data, path, self.shape)
        return Environment(name=name, line=line, **values)

    def pull_request(self, path: NodePath) -> PullRequestOptions:
        values = self.values(
            path,
            {
                "labels": "labels",
                "reviewers": "reviewers",
                "team-reviewers": "team_reviewers",
                "draft": "draft",
                "auto-merge": "auto_merge",
                "title": "title",
                "branch": "branch",
            },
        )
        if "labels" in values:
            values["labels"] = tuple(values["labels"])
        if "reviewers" in values:
            values["reviewers"] = tuple(r.removeprefix("@") for r in values["reviewers"])
        if "team_reviewers" in values:
            values["team_reviewers"] = tuple(
                m.group(1) for t in values["team_reviewers"] if (m := TEAM_RE.match(t))
            )
        if values.get("auto_merge") is False:
            values["auto_merge"] = None
        return PullRequestOptions(**values)

    def windows(self, path: NodePath) -> tuple[FreezeWindow, ...]:
        items = at(self.data, path)
        if not isinstance(items, list) or self.shape.bad(path):
            return ()
        windows: list[FreezeWindow] = []
        for index in range(len(items)):
            window = self.window((*path, index), index, item_line(items, index))
            if window is not None and all(w.name != window.name for w in windows):
                windows.append(window)
        return tuple(windows)

    def window(self, path: NodePath, index: int, line: int | None) -> FreezeWindow | None:
        if not self.shape.clean(path):
            return None
        node = at(self.data, path)
        values = self.values(
            path, {"reason": "reason", "schedule": "schedule", "duration": "duration"}
        )
        if "schedule" in values:
            values["schedule"] = values["schedule"].strip()
        if "duration" in values:
            values["duration"] = parse_duration(values["duration"])
        tz_name = rules.window_zone(self.data, node, self.shape, path) or "UTC"
        for key in ("start", "end"):
            if key not in node:
                continue
            if bound_kind(node[key]) == "cron":
                values[f"{key}_cron"] = node[key].strip()
                continue
            stamp = timestamp(node[key])
            if not isinstance(stamp, str):
                if stamp.tzinfo is None:
                    stamp = to_aware(stamp, zone(tz_name), opening=key == "start")
                values[key] = stamp
        return FreezeWindow(
            name=node.get("name", f"freeze[{index}]"), timezone=tz_name, line=line, **values
        )

    def apps(self) -> list[App]:
        node = self.data.get("apps")
        if not isinstance(node, Mapping) or self.shape.bad(("apps",)):
            return []
        apps: list[App] = []
        for name in node:
            path: NodePath = ("apps", name)
            if not valid_name(name) or not self.shape.clean(path):
                continue
            values = self.values(
                path,
                {
                    "image": "image",
                    "depends-on": "depends_on",
                    "environments": "environments",
                    "editor": "editor",
                    "key": "key",
                    "path": "path",
                    "match": "match",
                    "setter": "setter",
                    "track": "track",
                },
            )
            values["image"] = values["image"].strip()
            for key in ("depends_on", "environments"):
                if key in values:
                    values[key] = tuple(values[key])
            if "path" in values:
                self.app_path_lines[name] = value_line(node[name], "path")
            values["live"] = liverules.build_app(self.data, name, self.shape)
            apps.append(App(name=name, line=key_line(node, name), **values))
        return apps


__all__ = ["DEFAULT_MODE", "load_config", "parse_config", "schema", "validate", "yaml_problem"]
