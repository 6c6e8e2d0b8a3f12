"""Load and validate ``promotion.yaml`` into the frozen model of :mod:`gitops_promote.config.model`.

Validation never stops at the first problem: every problem is collected with its file and
line, each message saying how to fix it, and raised together as one
:class:`~gitops_promote.errors.ConfigError`. The JSON Schema of the same contract ships
beside this module (``schema.json``) and is returned by :func:`schema`.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Final, TypeVar, cast

from gitops_promote.adapters.yamlsafe import MAX_BYTES, YamlError, decode, load
from gitops_promote.config.durations import TIME_RANGE, DurationError, in_time_range, parse_duration
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
from gitops_promote.config.templates import (
    BRANCH_PLACEHOLDERS,
    COMMIT_PLACEHOLDERS,
    PATH_PLACEHOLDERS,
    TITLE_PLACEHOLDERS,
    sanitize_ref,
    validate_template,
)
from gitops_promote.errors import ConfigError, Problem, UserError, quote
from gitops_promote.images import ImageRef

SCHEMA_RESOURCE: Final = "schema.json"
# patterns end in \Z, not $: `$` also matches before a trailing newline ("@org/team\n")
NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
MAX_NAME_LENGTH: Final = 63
_OWNER_RE: Final = re.compile(
    r"^(@[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)\Z"
)
_LOGIN_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\Z")
_TEAM_RE: Final = re.compile(r"^(?:@?[A-Za-z0-9][A-Za-z0-9-]*/)?([A-Za-z0-9][A-Za-z0-9._-]*)\Z")
_KEY_PATH_RE: Final = re.compile(r"^[^.\s]+(?:\.[^.\s]+)*\Z")
_MODES: Final = ("push", "pull-request")
_EDITORS: Final = ("auto", "kustomize", "helm", "setter")
_SEVERITIES: Final = ("warn", "fail")
_MERGE_METHODS: Final = ("merge", "squash", "rebase")
DEFAULT_MODE: Final = "pull-request"

# The keys each mapping accepts (kebab-case, as written in YAML); the schema has the same.
TOP_KEYS: Final = ("version", "settings", "environments", "apps")
SETTINGS_KEYS: Final = (
    "base-branch",
    "commit-message",
    "pr-title",
    "branch",
    "author",
    "freeze-exception-label",
    "state-file",
    "timezone",
)
AUTHOR_KEYS: Final = ("name", "email")
ENV_KEYS: Final = (
    "name",
    "path",
    "mode",
    "from",
    "soak",
    "auto",
    "require-digest",
    "allow-rollback",
    "require-limits",
    "freeze",
    "pull-request",
    "owners",
    "drift",
    "track",
    "external",
    "render",
)
FREEZE_KEYS: Final = ("name", "reason", "timezone", "schedule", "duration", "start", "end")
PR_KEYS: Final = ("labels", "reviewers", "team-reviewers", "draft", "auto-merge", "title", "branch")
DRIFT_KEYS: Final = ("severity", "ignore")
APP_KEYS: Final = (
    "image",
    "depends-on",
    "environments",
    "editor",
    "key",
    "path",
    "match",
    "setter",
    "track",
)

# Keys that belong one level elsewhere: a hint better than "did you mean".
_MISPLACED: Final = {
    "app": {k: "an environment" for k in ENV_KEYS if k not in APP_KEYS and k != "name"},
    "environment": {
        **{k: "an app (under apps:)" for k in APP_KEYS if k not in ENV_KEYS},
        **{k: "pull-request:" for k in PR_KEYS if k not in ENV_KEYS},
        **{k: "a freeze window (under freeze:)" for k in FREEZE_KEYS if k not in ENV_KEYS},
    },
    "top": {
        **dict.fromkeys(SETTINGS_KEYS, "settings:"),
        "version": "the top level",
    },
}

_T = TypeVar("_T")
_MISSING: Final = object()


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of promotion.yaml, with a description per field."""
    text = resources.files("gitops_promote.config").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def load_config(root: Path, path: str = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate ``root/path``; raise UserError/ConfigError with every problem.

    ``path`` must stay inside the repository: no ``..``, not absolute, no symlink out."""
    from gitops_promote.adapters.files import resolve_in_repo  # noqa: PLC0415

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
        raise ConfigError([_yaml_problem(err, path)]) from None
    return parse_config(text, path)


def parse_config(text: str, file: str = DEFAULT_CONFIG_PATH) -> Config:
    """Validate promotion.yaml ``text`` (``file`` names it in messages); every problem at once.

    The YAML is composed through libyaml when that gives ruamel.yaml's very nodes (see
    :mod:`gitops_promote.adapters.yamlsafe`); the model is frozen, so one text is parsed once per
    process (``check`` reads the same promotion.yaml from the work tree and the base)."""
    return _parse_config(text, file)


@functools.lru_cache(maxsize=4)
def _parse_config(text: str, file: str) -> Config:
    try:
        data = load(text, file, fast=True)
    except YamlError as err:
        raise ConfigError([_yaml_problem(err, file)]) from None
    return _Loader(file).config(data)


def _yaml_problem(err: YamlError, file: str) -> Problem:
    message = err.problem + (f"; {err.hint}" if err.hint else "")
    return Problem(file, err.line, message)


def _type_name(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime | date):
        return "a timestamp"
    return type(value).__name__


def _suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or ``""``: also catches snake_case for kebab-case."""
    options = list(choices)
    kebab = word.replace("_", "-").lower()
    if kebab != word and kebab in options:
        return f" (did you mean {quote(kebab)}?)"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and len(word) >= 3:  # an abbreviation: prod -> production
        close = [o for o in options if o.startswith(word)][:2]
        close = close if len(close) == 1 else []
    return f" (did you mean {quote(close[0])}?)" if close else ""


def _one_of(choices: Iterable[str]) -> str:
    return ", ".join(choices)


def _relative_path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe repo-relative path, or None."""
    if not path.strip():
        return "is empty"
    if "\\" in path:
        return "contains '\\'; use '/' between directories"
    if any(ord(c) < 32 for c in path):
        return "contains control characters"
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        return "is absolute; write it relative to the config repo root (e.g. apps/{app}/...)"
    if ".." in PurePosixPath(path).parts:
        return "contains '..'; paths must stay inside the config repo"
    return None


def _name_problem(name: str) -> str | None:
    if not NAME_RE.match(name):
        return (
            "must be lowercase letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (it is used in paths and branch names)"
        )
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if ".." in name or name.endswith((".", ".lock")):
        return "must not contain '..' or end with '.' or '.lock' (not valid in a branch name)"
    return None


def _find_cycle(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
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


class _Loader:
    """One validation pass: collects problems, builds the model when there are none."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.default_timezone = "UTC"
        self.declared_envs: list[str] = []
        self.path_lines: dict[str, int | None] = {}
        self.app_path_lines: dict[str, int | None] = {}

    # -- reporting -------------------------------------------------------------------

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    @staticmethod
    def map_line(node: Any) -> int | None:
        lc = getattr(node, "lc", None)
        return lc.line + 1 if lc is not None and lc.line is not None else None

    def key_line(self, node: Any, key: str) -> int | None:
        try:
            return int(node.lc.key(key)[0]) + 1
        except (AttributeError, KeyError, TypeError):  # merged (<<) keys have no position
            return self.map_line(node)

    def value_line(self, node: Any, key: str) -> int | None:
        try:
            return int(node.lc.value(key)[0]) + 1
        except (AttributeError, KeyError, TypeError):
            return self.key_line(node, key)

    def item_line(self, node: Any, index: int) -> int | None:
        try:
            return int(node.lc.item(index)[0]) + 1
        except (AttributeError, KeyError, TypeError, IndexError):
            return self.map_line(node)

    # -- typed access ----------------------------------------------------------------

    def keys(self, node: Mapping[Any, Any], allowed: Sequence[str], where: str, level: str) -> None:
        """Report unknown (and non-text) keys, with a suggestion."""
        for key in node:
            if not isinstance(key, str):
                self.problem(
                    self.key_line(node, key),
                    f"{where}: key {quote(key)} is not text; keys are names like "
                    f"{quote(allowed[0])}",
                )
                continue
            if key in allowed or (level == "top" and key.startswith("x-")):
                continue  # x-...: extension keys that hold YAML anchors
            hint = _suggest(key, allowed)
            elsewhere = _MISPLACED.get(level, {}).get(key)
            if not hint and elsewhere:
                hint = f" ({quote(key)} belongs to {elsewhere})"
            self.problem(
                self.key_line(node, key),
                f"{where}: unknown key {quote(key)}{hint}; allowed here: {_one_of(allowed)}",
            )

    def mapping(self, value: Any, line: int | None, what: str) -> Mapping[Any, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.problem(line, f"{what} must be a mapping (key: value lines), not {_type_name(value)}")
        return None

    def get(
        self,
        node: Mapping[Any, Any],
        key: str,
        where: str,
        check: Callable[[Any], _T | None],
        expected: str,
    ) -> _T | None:
        """``node[key]`` converted by ``check``; None (and a problem) when the type is wrong."""
        if key not in node:
            return None
        value = node[key]
        result = check(value)
        if result is None:
            self.problem(
                self.value_line(node, key),
                f"{where}: {key} must be {expected}, not {_type_name(value)}"
                + (f" ({quote(value)})" if isinstance(value, str | int | float) else ""),
            )
        return result

    def text(self, node: Mapping[Any, Any], key: str, where: str) -> str | None:
        value = self.get(node, key, where, lambda v: v if isinstance(v, str) else None, "text")
        if value is not None and not value.strip():
            self.problem(self.value_line(node, key), f"{where}: {key} is empty; give a value")
            return None
        return value

    def flag(self, node: Mapping[Any, Any], key: str, where: str) -> bool | None:
        return self.get(
            node, key, where, lambda v: v if isinstance(v, bool) else None, "true or false"
        )

    def text_list(
        self,
        node: Mapping[Any, Any],
        key: str,
        where: str,
        item_check: Callable[[str], str | None] | None = None,
    ) -> tuple[str, ...] | None:
        """A list of non-empty texts (a single text is refused: write ``[x]``)."""
        if key not in node:
            return None
        value = node[key]
        if not isinstance(value, list):
            example = f"[{value}]" if isinstance(value, str) else "[a, b]"
            self.problem(
                self.value_line(node, key),
                f"{where}: {key} must be a list, e.g. {key}: {example}; not {_type_name(value)}",
            )
            return None
        items: list[str] = []
        ok = True
        for index, item in enumerate(value):
            line = self.item_line(value, index)
            if not isinstance(item, str) or not item.strip():
                self.problem(line, f"{where}: {key}[{index}] must be non-empty text")
                ok = False
                continue
            if item_check is not None:
                why = item_check(item)
                if why:
                    self.problem(line, f"{where}: {key}[{index}] {quote(item)} {why}")
                    ok = False
                    continue
            if item in items:
                self.problem(line, f"{where}: {key} lists {quote(item)} twice; remove one")
                ok = False
                continue
            items.append(item)
        return tuple(items) if ok else None

    def template(
        self, node: Mapping[Any, Any], key: str, where: str, allowed: Collection[str]
    ) -> str | None:
        value = self.text(node, key, where)
        if value is None:
            return None
        problems = validate_template(value, allowed)
        for message in problems:
            self.problem(self.value_line(node, key), f"{where}: {key} {quote(value)}: {message}")
        return None if problems else value

    def duration(self, node: Mapping[Any, Any], key: str, where: str) -> timedelta | None:
        if key not in node:
            return None
        value = node[key]
        line = self.value_line(node, key)
        try:
            return parse_duration(value)
        except DurationError as err:
            self.problem(line, f"{where}: {key}: {err}")
            return None

    def choice(
        self, node: Mapping[Any, Any], key: str, where: str, choices: Sequence[str]
    ) -> str | None:
        if key not in node:
            return None
        value = node[key]
        if isinstance(value, str) and value in choices:
            return value
        if isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = quote(value) if isinstance(value, str | int | float) else _type_name(value)
        hint = _suggest(value, choices) if isinstance(value, str) else ""
        self.problem(
            self.value_line(node, key),
            f"{where}: {key} {shown} is not valid{hint}; use one of: {_one_of(choices)}",
        )
        return None

    # -- the document ----------------------------------------------------------------

    def config(self, data: Any) -> Config:
        if data is None:
            self.problem(
                1,
                "is empty; start with 'version: 1', an 'environments:' list and an 'apps:' "
                "mapping ('gitops-promote schema' prints the reference)",
            )
            raise ConfigError(self.problems)
        top = self.mapping(data, self.map_line(data) or 1, "promotion.yaml")
        if top is None:
            raise ConfigError(self.problems)
        self.keys(top, TOP_KEYS, "promotion.yaml", "top")
        self.version(top)
        settings = self.settings(top)
        environments = self.environments(top)
        apps = self.apps(top)
        self.check_paths(environments, apps)
        self.check_overlaps(environments, apps)
        for env in environments:  # break-glass is a person's decision, never automation's
            label = settings.freeze_exception_label
            if label and label.casefold() in {x.casefold() for x in env.pull_request.labels}:
                self.problem(
                    env.line,
                    f"environments: {env.name}: pull-request: labels include the break-glass "
                    f"label '{label}': every promotion PR would override the freeze; remove it "
                    "(a person adds it on the pull request when glass must be broken)",
                )
        if self.problems:
            self.problems.sort(key=lambda p: (p.line is None, p.line or 0))
            raise ConfigError(self.problems)
        return Config(
            environments=tuple(environments),
            apps=tuple(apps),
            settings=settings,
            file=self.file,
            version=1,
        )

    def version(self, top: Mapping[Any, Any]) -> None:
        if "version" not in top:
            self.problem(1, "version is missing; add 'version: 1' as the first line")
            return
        value = top["version"]
        if isinstance(value, str) and value.strip() == "1":
            self.problem(
                self.value_line(top, "version"),
                "version must be the number 1, not text: write version: 1 (unquoted)",
            )
        elif type(value) is not int or value != 1:
            self.problem(
                self.value_line(top, "version"),
                f"version {quote(value)} is not supported; this gitops-promote reads 'version: 1'",
            )

    # -- settings --------------------------------------------------------------------

    def settings(self, top: Mapping[Any, Any]) -> Settings:
        if "settings" not in top:
            return Settings()
        node = self.mapping(top["settings"], self.value_line(top, "settings"), "settings")
        if node is None:
            return Settings()
        where = "settings"
        self.keys(node, SETTINGS_KEYS, where, "settings")
        values: dict[str, Any] = {}
        base = self.text(node, "base-branch", where)
        if base is not None:
            if sanitize_ref(base) != base or base.startswith("refs/"):
                self.problem(
                    self.value_line(node, "base-branch"),
                    f"settings: base-branch {quote(base)} is not a valid branch name; write the "
                    f"branch name only, e.g. main",
                )
            else:
                values["base_branch"] = base
        for key, field, allowed in (
            ("commit-message", "commit_message", COMMIT_PLACEHOLDERS),
            ("pr-title", "pr_title", TITLE_PLACEHOLDERS),
            ("branch", "branch", BRANCH_PLACEHOLDERS),
        ):
            rendered = self.template(node, key, where, allowed)
            if rendered is not None:
                values[field] = rendered
        if "branch" in values:
            self.branch_has_env_and_app(node, "branch", values["branch"], where)
        if "author" in node:
            values["author"] = self.author(node)
        if "freeze-exception-label" in node:
            label = node["freeze-exception-label"]
            if label is None or label == "":
                values["freeze_exception_label"] = ""  # break-glass disabled
            else:
                checked = self.text(node, "freeze-exception-label", where)
                if checked is not None:
                    values["freeze_exception_label"] = checked
        state = self.text(node, "state-file", where)
        if state is not None:
            why = _relative_path_problem(state)
            if why:
                self.problem(self.value_line(node, "state-file"), f"settings: state-file {why}")
            else:
                values["state_file"] = state
        zone_name = self.text(node, "timezone", where)
        if zone_name is not None and self.check_zone(zone_name, node, "timezone", where):
            self.default_timezone = zone_name
        return Settings(**values)

    def branch_has_env_and_app(
        self, node: Mapping[Any, Any], key: str, value: str, where: str
    ) -> None:
        if "{env}" not in value or ("{app}" not in value and "{apps}" not in value):
            self.problem(
                self.value_line(node, key),
                f"{where}: {key} {quote(value)} must contain {{env}} and {{app}} (or {{apps}}) so "
                f"that each promotion has its own branch and pull request",
            )

    def author(self, node: Mapping[Any, Any]) -> Author:
        author = self.mapping(node["author"], self.value_line(node, "author"), "settings: author")
        if author is None:
            return Author()
        where = "settings: author"
        self.keys(author, AUTHOR_KEYS, where, "author")
        values: dict[str, str] = {}
        name = self.text(author, "name", where)
        if name is not None:
            values["name"] = name
        email = self.text(author, "email", where)
        if email is not None:
            if "@" not in email or any(c.isspace() or c in "<>" for c in email):
                self.problem(
                    self.value_line(author, "email"),
                    f"{where}: email {quote(email)} is not an email address; write e.g. "
                    f"bot@example.com (no name, no <>)",
                )
            else:
                values["email"] = email
        return Author(**values)

    def check_zone(self, name: str, node: Mapping[Any, Any], key: str, where: str) -> bool:
        from gitops_promote.config.freeze import zone  # noqa: PLC0415 - zoneinfo on demand

        try:
            zone(name)
        except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            import zoneinfo  # noqa: PLC0415

            hint = _suggest(name, sorted(zoneinfo.available_timezones()))
            self.problem(
                self.value_line(node, key),
                f"{where}: timezone {quote(name)} is not an IANA time zone{hint}; write e.g. "
                f"Europe/Berlin, America/New_York or UTC",
            )
            return False
        return True

    # -- environments ----------------------------------------------------------------

    def environments(self, top: Mapping[Any, Any]) -> list[Environment]:
        if "environments" not in top:
            self.problem(
                1,
                "environments is missing; add a list of environments in pipeline order, "
                "e.g. environments: [{name: dev, path: 'apps/{app}/overlays/dev', mode: push}]",
            )
            return []
        value = top["environments"]
        line = self.value_line(top, "environments")
        if not isinstance(value, list) or not value:
            self.problem(
                line,
                "environments must be a non-empty list ('- name: dev' items, in pipeline "
                f"order), not {_type_name(value) if value != [] else 'an empty list'}",
            )
            return []
        # Cross references are checked on what is written, even in an entry that has other
        # problems, so that one mistake does not hide (or fake) another.
        declared: dict[str, int | None] = {}
        upstream: dict[str, tuple[str, int | None]] = {}
        for index, item in enumerate(value):
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                continue
            name = item["name"]
            item_line = self.item_line(value, index)
            if name in declared:
                self.problem(
                    item_line,
                    f"environments[{index}]: name {quote(name)} is already used on line "
                    f"{declared[name]}; give each environment a unique name",
                )
                continue
            declared[name] = item_line
            source = item.get("from")
            if isinstance(source, str):
                upstream[name] = (source, self.value_line(item, "from"))
        self.declared_envs = list(declared)
        known = [n for n in declared if _name_problem(n) is None]
        for name, (source, source_line) in upstream.items():
            if source == name:
                self.problem(
                    source_line,
                    f"environment {quote(name)}: from: {quote(source)} names itself; set from "
                    f"to the "
                    f"environment before it, or remove from for the first environment",
                )
            elif source not in declared:
                self.problem(
                    source_line,
                    f"environment {quote(name)}: from: {quote(source)} is not an environment"
                    f"{_suggest(source, known)}; use one of: {_one_of(known)}",
                )
        graph = {name: [src] for name, (src, _) in upstream.items() if src != name}
        for cycle in _find_cycle(graph):
            self.problem(
                upstream[cycle[0]][1],
                "environments form a cycle through from: "
                + " -> ".join(quote(n) for n in cycle)
                + "; the first environment of a pipeline has no from",
            )
        envs: list[Environment] = []
        built: set[str] = set()
        for index, item in enumerate(value):
            item_line = self.item_line(value, index)
            node = self.mapping(item, item_line, f"environments[{index}]")
            if node is None:
                continue
            env = self.environment(node, index, item_line)
            if env is not None and env.name not in built:
                built.add(env.name)
                envs.append(env)
        return envs

    def environment(
        self, node: Mapping[Any, Any], index: int, line: int | None
    ) -> Environment | None:
        label = f"environments[{index}]"
        name = self.text(node, "name", label)
        if "name" not in node:
            self.problem(line, f"{label}: name is missing; add e.g. 'name: production'")
        if name is not None:
            why = _name_problem(name)
            if why:
                self.problem(self.value_line(node, "name"), f"{label}: name {quote(name)} {why}")
                name = None
        where = f"environment {quote(name)}" if name else label
        self.keys(node, ENV_KEYS, where, "environment")
        values: dict[str, Any] = {}
        path = self.text(node, "path", where)
        if "path" not in node:
            self.problem(
                line,
                f"{where}: path is missing; add where each app's overlay lives, e.g. "
                f"path: apps/{{app}}/overlays/{name or 'dev'}",
            )
        elif path is not None and self.path_template(node, "path", path, where):
            values["path"] = path
            if name is not None:
                self.path_lines[name] = self.value_line(node, "path")
        mode = self.choice(node, "mode", where, _MODES)
        values["mode"] = mode or DEFAULT_MODE
        source = self.text(node, "from", where)
        if source is not None:
            values["upstream"] = source
        soak = self.duration(node, "soak", where)
        if soak is not None:
            values["soak"] = soak
            if "from" not in node:
                self.problem(
                    self.key_line(node, "soak"),
                    f"{where}: soak needs from: (the environment the digest must have run in "
                    f"that long); add from: or remove soak",
                )
        for key, field in (
            ("auto", "auto"),
            ("require-digest", "require_digest"),
            ("allow-rollback", "allow_rollback"),
            ("require-limits", "require_limits"),
        ):
            flag = self.flag(node, key, where)
            if flag is not None:
                values[field] = flag
        if values.get("auto") and "from" not in node:
            self.problem(
                self.key_line(node, "auto"),
                f"{where}: auto: true needs from: (scheduled runs promote what the upstream "
                f"environment runs); add from: or remove auto",
            )
        if "freeze" in node:
            values["freeze"] = self.freeze_windows(node, where)
        if "pull-request" in node:
            values["pull_request"] = self.pull_request(node, where)
        owners = self.text_list(
            node,
            "owners",
            where,
            lambda o: (
                None
                if _OWNER_RE.match(o)
                else "is not an owner; write @org/team, @user or an email address"
            ),
        )
        if owners is not None:
            values["owners"] = owners
        if "drift" in node:
            values["drift"] = self.drift(node, where)
        track = self.text(node, "track", where)
        if track is not None:
            values["track"] = track
        external = self.text_list(node, "external", where)
        if external is not None:
            values["external"] = external
        render = self.choice(node, "render", where, _SEVERITIES)
        if render is not None:
            values["render"] = render
        if name is None or "path" not in values:
            return None
        return Environment(name=name, line=line, **values)

    def path_template(self, node: Mapping[Any, Any], key: str, value: str, where: str) -> bool:
        line = self.value_line(node, key)
        ok = True
        for message in validate_template(value, PATH_PLACEHOLDERS):
            self.problem(line, f"{where}: {key} {quote(value)}: {message}")
            ok = False
        why = _relative_path_problem(value)
        if why:
            self.problem(line, f"{where}: {key} {quote(value)} {why}")
            ok = False
        return ok

    def freeze_windows(self, node: Mapping[Any, Any], where: str) -> tuple[FreezeWindow, ...]:
        value = node["freeze"]
        if not isinstance(value, list):
            self.problem(
                self.value_line(node, "freeze"),
                f"{where}: freeze must be a list of windows, e.g. freeze: [{{name: weekend, "
                f"schedule: '0 16 * * FRI', duration: 64h, timezone: Europe/Berlin}}]",
            )
            return ()
        windows: list[FreezeWindow] = []
        names: set[str] = set()
        for index, item in enumerate(value):
            line = self.item_line(value, index)
            window_node = self.mapping(item, line, f"{where}: freeze[{index}]")
            if window_node is None:
                continue
            window = self.freeze_window(window_node, index, line, where)
            if window is None:
                continue
            if window.name in names:
                self.problem(
                    line,
                    f"{where}: freeze window name {quote(window.name)} is used twice; give each "
                    f"window its own name",
                )
                continue
            names.add(window.name)
            windows.append(window)
        return tuple(windows)

    def freeze_window(
        self, node: Mapping[Any, Any], index: int, line: int | None, env_where: str
    ) -> FreezeWindow | None:
        from gitops_promote.config.freeze import cron_problem, to_aware, zone  # noqa: PLC0415

        name = self.text(node, "name", f"{env_where}: freeze[{index}]")
        where = (
            f"{env_where}: freeze window {quote(name)}" if name else f"{env_where}: freeze[{index}]"
        )
        self.keys(node, FREEZE_KEYS, where, "freeze")
        before = len(self.problems)
        reason = self.text(node, "reason", where)
        tz_name = self.text(node, "timezone", where) or self.default_timezone
        tz_ok = "timezone" not in node or (
            tz_name is not None and self.check_zone(tz_name, node, "timezone", where)
        )
        example = (
            "either schedule: '0 16 * * FRI' with duration: 64h (recurring), or start: and "
            "end: (two timestamps for a one-off window, or two cron expressions for a "
            "recurring start/end pair)"
        )
        has = {k: k in node for k in ("schedule", "duration", "start", "end")}
        recurring = has["schedule"] or has["duration"]
        ranged = has["start"] or has["end"]
        values: dict[str, Any] = {}
        if recurring and ranged:
            self.problem(line, f"{where}: has both schedule/duration and start/end; use {example}")
        elif not recurring and not ranged:
            self.problem(line, f"{where}: says neither when it opens nor closes; use {example}")
        elif recurring:
            for key, other in (("schedule", "duration"), ("duration", "schedule")):
                if has[key] and not has[other]:
                    self.problem(
                        self.key_line(node, key),
                        f"{where}: {key} needs {other} too; use {example}",
                    )
            schedule = self.text(node, "schedule", where)
            if schedule is not None:
                why = cron_problem(schedule)
                if why:
                    self.problem(self.value_line(node, "schedule"), f"{where}: schedule: {why}")
                else:
                    values["schedule"] = schedule.strip()
            duration = self.duration(node, "duration", where)
            if duration is not None:
                if duration <= timedelta(0):
                    self.problem(
                        self.value_line(node, "duration"),
                        f"{where}: duration must be longer than 0s",
                    )
                else:
                    values["duration"] = duration
        else:
            for key, other in (("start", "end"), ("end", "start")):
                if has[key] and not has[other]:
                    self.problem(
                        self.key_line(node, key),
                        f"{where}: {key} needs {other} too; use {example}",
                    )
            kinds = {k: self.bound_kind(node.get(k, _MISSING)) for k in ("start", "end")}
            if has["start"] and has["end"] and {kinds["start"], kinds["end"]} == {"cron", "time"}:
                self.problem(
                    line,
                    f"{where}: start and end must both be timestamps (one-off window) or both "
                    f"cron expressions (recurring), not one of each",
                )
            else:
                for key in ("start", "end"):
                    if not has[key]:
                        continue
                    if kinds[key] == "cron":
                        why = cron_problem(node[key])
                        if why:
                            self.problem(self.value_line(node, key), f"{where}: {key}: {why}")
                        else:
                            values[f"{key}_cron"] = node[key].strip()
                    else:
                        stamp = self.timestamp(node, key, where)
                        if stamp is not None:
                            values[key] = stamp
                start, end = values.get("start"), values.get("end")
                if start is not None and end is not None and tz_ok and tz_name is not None:
                    tz = zone(tz_name)
                    if start.tzinfo is None:
                        start = values["start"] = to_aware(start, tz, opening=True)
                    if end.tzinfo is None:
                        end = values["end"] = to_aware(end, tz, opening=False)
                    if start >= end:
                        self.problem(
                            self.value_line(node, "end"),
                            f"{where}: end {end.isoformat()} is not after start "
                            f"{start.isoformat()}; swap them or fix the dates",
                        )
        if len(self.problems) > before or (name is None and "name" in node):
            return None
        return FreezeWindow(
            name=name or f"freeze[{index}]",
            timezone=tz_name or "UTC",
            reason=reason,
            line=line,
            **values,
        )

    @staticmethod
    def bound_kind(value: Any) -> str:
        if isinstance(value, datetime | date):
            return "time"
        if isinstance(value, str) and (value.strip().startswith("@") or len(value.split()) >= 3):
            return "cron"
        return "time"

    def timestamp(self, node: Mapping[Any, Any], key: str, where: str) -> datetime | None:
        value = node[key]
        line = self.value_line(node, key)
        example = "write e.g. '2026-12-20T00:00:00+01:00' (ISO 8601; without offset: timezone)"
        if isinstance(value, datetime):
            stamp = datetime.fromisoformat(value.isoformat())  # plain datetime, offset kept
        elif isinstance(value, date):
            stamp = datetime(value.year, value.month, value.day)
        elif not isinstance(value, str):
            self.problem(
                line, f"{where}: {key} must be a timestamp, not {_type_name(value)}; {example}"
            )
            return None
        else:
            try:
                stamp = datetime.fromisoformat(value.strip())
            except ValueError:
                self.problem(line, f"{where}: {key} {quote(value)} is not a timestamp; {example}")
                return None
        if not in_time_range(stamp):
            self.problem(line, f"{where}: {key} {stamp.isoformat()} is out of range ({TIME_RANGE})")
            return None
        return stamp

    def pull_request(self, node: Mapping[Any, Any], env_where: str) -> PullRequestOptions:
        where = f"{env_where}: pull-request"
        pr = self.mapping(node["pull-request"], self.value_line(node, "pull-request"), where)
        if pr is None:
            return PullRequestOptions()
        self.keys(pr, PR_KEYS, where, "pull-request")
        values: dict[str, Any] = {}
        labels = self.text_list(
            pr,
            "labels",
            where,
            lambda v: "is longer than GitHub's 50-character label limit" if len(v) > 50 else None,
        )
        if labels is not None:
            values["labels"] = labels
        reviewers = self.text_list(
            pr,
            "reviewers",
            where,
            lambda v: (
                None
                if _LOGIN_RE.match(v.removeprefix("@"))
                else "is not a GitHub login (for a team use team-reviewers)"
            ),
        )
        if reviewers is not None:
            values["reviewers"] = tuple(r.removeprefix("@") for r in reviewers)
        teams = self.text_list(
            pr,
            "team-reviewers",
            where,
            lambda v: None if _TEAM_RE.match(v) else "is not a team; write its slug, e.g. oncall",
        )
        if teams is not None:
            values["team_reviewers"] = tuple(
                m.group(1) for t in teams if (m := _TEAM_RE.match(t)) is not None
            )
        draft = self.flag(pr, "draft", where)
        if draft is not None:
            values["draft"] = draft
        if "auto-merge" in pr:
            if pr["auto-merge"] is False or pr["auto-merge"] is None:
                values["auto_merge"] = None
            else:
                values["auto_merge"] = self.choice(pr, "auto-merge", where, _MERGE_METHODS)
        title = self.template(pr, "title", where, TITLE_PLACEHOLDERS)
        if title is not None:
            values["title"] = title
        branch = self.template(pr, "branch", where, BRANCH_PLACEHOLDERS)
        if branch is not None:
            values["branch"] = branch
            self.branch_has_env_and_app(pr, "branch", branch, where)
        return PullRequestOptions(**values)

    def drift(self, node: Mapping[Any, Any], env_where: str) -> DriftOptions:
        where = f"{env_where}: drift"
        drift = self.mapping(node["drift"], self.value_line(node, "drift"), where)
        if drift is None:
            return DriftOptions()
        self.keys(drift, DRIFT_KEYS, where, "drift")
        values: dict[str, Any] = {}
        severity = self.choice(drift, "severity", where, _SEVERITIES)
        if severity is not None:
            values["severity"] = severity
        ignore = self.text_list(drift, "ignore", where)
        if ignore is not None:
            values["ignore"] = ignore
        return DriftOptions(**values)

    # -- apps ------------------------------------------------------------------------

    def apps(self, top: Mapping[Any, Any]) -> list[App]:
        if "apps" not in top:
            self.problem(
                1,
                "apps is missing; add a mapping of app name to image, e.g. "
                "apps: {api: {image: ghcr.io/myorg/api}}",
            )
            return []
        node = self.mapping(top["apps"], self.value_line(top, "apps"), "apps")
        if node is None:
            return []
        if not node:
            self.problem(self.value_line(top, "apps"), "apps is empty; add at least one app")
            return []
        env_names = [n for n in self.declared_envs if _name_problem(n) is None]
        all_names = [n for n in node if isinstance(n, str)]
        known = [n for n in all_names if _name_problem(n) is None]
        depends: dict[str, tuple[list[str], int | None]] = {}
        for name, body in node.items():
            if isinstance(name, str) and isinstance(body, Mapping):
                deps = body.get("depends-on")
                if isinstance(deps, list):
                    listed = [d for d in deps if isinstance(d, str)]
                    depends[name] = (listed, self.value_line(body, "depends-on"))
        for name, (deps, line) in depends.items():
            for dep in deps:
                if dep == name:
                    self.problem(
                        line, f"app {quote(name)}: depends-on lists the app itself; remove it"
                    )
                elif dep not in all_names:
                    self.problem(
                        line,
                        f"app {quote(name)}: depends-on {quote(dep)} is not an app"
                        f"{_suggest(dep, known)}; use one of: {_one_of(known)}",
                    )
        graph = {n: [d for d in deps if d != n] for n, (deps, _) in depends.items()}
        for cycle in _find_cycle(graph):
            self.problem(
                depends[cycle[0]][1],
                "apps form a cycle through depends-on: "
                + " -> ".join(quote(n) for n in cycle)
                + "; remove one dependency so there is an order to promote them in",
            )
        apps: list[App] = []
        for name, body in node.items():
            line = self.key_line(node, name)
            if not isinstance(name, str):
                self.problem(line, f"apps: app name {quote(name)} must be text")
                continue
            why = _name_problem(name)
            if why:
                self.problem(line, f"apps: app name {quote(name)} {why}")
                continue
            app = self.app(name, body, line, env_names)
            if app is not None:
                apps.append(app)
        return apps

    def app(self, name: str, body: Any, line: int | None, env_names: Sequence[str]) -> App | None:
        where = f"app {quote(name)}"
        if isinstance(body, str):
            self.problem(line, f"{where} must be a mapping; write {name}: {{image: {body}}}")
            return None
        node = self.mapping(body, line, where)
        if node is None:
            return None
        self.keys(node, APP_KEYS, where, "app")
        before = len(self.problems)
        values: dict[str, Any] = {}
        image = self.text(node, "image", where)
        if "image" not in node:
            self.problem(
                line, f"{where}: image is missing; add the repository, e.g. ghcr.io/myorg/{name}"
            )
        elif image is not None:
            self.image(node, image, where)
            values["image"] = image.strip()
        deps = self.text_list(node, "depends-on", where)
        if deps is not None:
            values["depends_on"] = deps
        envs = self.text_list(
            node,
            "environments",
            where,
            lambda e: (
                None
                if e in self.declared_envs or not self.declared_envs
                else f"is not an environment{_suggest(e, env_names)}; use one of: "
                f"{_one_of(env_names)}"
            ),
        )
        if envs is not None:
            if not envs:
                self.problem(
                    self.value_line(node, "environments"),
                    f"{where}: environments is empty; list the environments the app is "
                    f"deployed to, or remove the key for all of them",
                )
            values["environments"] = envs
        editor = self.choice(node, "editor", where, _EDITORS)
        if editor is not None:
            values["editor"] = editor
        key = self.text(node, "key", where)
        if key is not None:
            if not _KEY_PATH_RE.match(key):
                self.problem(
                    self.value_line(node, "key"),
                    f"{where}: key {quote(key)} is not a dotted key path; write e.g. image or "
                    "api.image",
                )
            values["key"] = key
        path = self.text(node, "path", where)
        if path is not None and self.path_template(node, "path", path, where):
            values["path"] = path
            self.app_path_lines[name] = self.value_line(node, "path")
        for field in ("match", "setter"):
            value = self.text(node, field, where)
            if value is not None:
                if any(c.isspace() for c in value):
                    self.problem(
                        self.value_line(node, field), f"{where}: {field} {quote(value)} has spaces"
                    )
                values[field] = value
        track = self.text(node, "track", where)
        if track is not None:
            values["track"] = track
        if len(self.problems) > before or "image" not in values:
            return None
        return App(name=name, line=line, **values)

    def image(self, node: Mapping[Any, Any], image: str, where: str) -> None:
        line = self.value_line(node, "image")
        try:
            ref = ImageRef.parse(image, what="image")
        except UserError as err:
            hint = f"; {err.hint}" if err.hint else ""
            self.problem(line, f"{where}: {err.message}{hint}")
            return
        if ref.tag is not None or ref.digest is not None:
            self.problem(
                line,
                f"{where}: image {quote(image)} must be the repository only; write image: "
                f"{ref.name} (each promotion picks the tag or digest)",
            )

    # -- cross checks ----------------------------------------------------------------

    def check_paths(self, envs: Sequence[Environment], apps: Sequence[App]) -> None:
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
                self.problem(
                    self.path_lines.get(env.name, env.line),
                    f"environment {quote(env.name)}: path {quote(env.path)} must contain {{app}} "
                    f"so each "
                    f"app has its own overlay (apps without their own path: "
                    f"{_one_of(users)}); to share one overlay, set path: on each app instead",
                )

    def check_overlaps(self, envs: Sequence[Environment], apps: Sequence[App]) -> None:
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
                path = str(PurePosixPath(rel))
                pairs.append((path, app, env))
                owners.setdefault(path, (app, env))
        reported: set[tuple[int | None, str, str]] = set()
        for path, app, env in pairs:
            template = app.path or env.path
            if app.path:
                where = f"app {quote(app.name)}"
                line = self.app_path_lines.get(app.name, app.line)
            else:
                where = f"environment {quote(env.name)}"
                line = self.path_lines.get(env.name, env.line)
            parents = PurePosixPath(path).parents
            found = [(path, "same"), *((str(p), "inside") for p in parents)]
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
                self.problem(
                    line,
                    f"{where}: path {quote(template)} gives {app.name} in {env.name} the overlay "
                    f"{path}, {clash}: a change to one changes what the other deploys; {fix}",
                )


__all__ = [
    "APP_KEYS",
    "AUTHOR_KEYS",
    "DEFAULT_MODE",
    "DRIFT_KEYS",
    "ENV_KEYS",
    "FREEZE_KEYS",
    "NAME_RE",
    "PR_KEYS",
    "SETTINGS_KEYS",
    "TOP_KEYS",
    "load_config",
    "parse_config",
    "schema",
]
