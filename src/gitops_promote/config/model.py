"""The config-repo contract, ``promotion.yaml``: frozen typed model.

Loading and validation (every problem at once, with file and line) live in
:mod:`gitops_promote.config.load`; this module holds only the values every other module
reads, so importing it stays cheap.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from gitops_promote.adapters import DEFAULT_CONFIG_PATH
from gitops_promote.config.live import LiveConfig, SoakFrom

Mode = Literal["push", "pull-request"]
EditorKind = Literal["auto", "kustomize", "helm", "setter"]
Severity = Literal["warn", "fail"]
MergeMethod = Literal["merge", "squash", "rebase"]


@dataclass(frozen=True)
class FreezeWindow:
    """One change-freeze window of an environment.

    Exactly one of three shapes is set:
    - recurring: ``schedule`` (5-field cron, when the window opens) + ``duration``;
    - recurring pair (GitLab style): ``start_cron`` + ``end_cron``;
    - one-off: ``start`` + ``end`` (timezone-aware datetimes).
    ``timezone`` (IANA name) applies to the cron forms and to naive timestamps.
    """

    name: str
    timezone: str = "UTC"
    reason: str | None = None
    schedule: str | None = None
    duration: timedelta | None = None
    start_cron: str | None = None
    end_cron: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    line: int | None = None


@dataclass(frozen=True)
class PullRequestOptions:
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    draft: bool = False
    auto_merge: MergeMethod | None = None
    title: str | None = None  # template; None -> Settings.pr_title
    branch: str | None = None  # template; None -> Settings.branch


@dataclass(frozen=True)
class DriftOptions:
    severity: Severity = "warn"
    ignore: tuple[str, ...] = ()  # extra JSON-pointer-like paths normalised before diffing


@dataclass(frozen=True)
class Environment:
    name: str
    path: str  # template with {app} (and {env}); a directory (kustomize) or a file
    mode: Mode = "push"
    upstream: str | None = None  # ``from:`` in YAML
    soak: timedelta | None = None
    auto: bool = False
    require_digest: bool = False
    allow_rollback: bool = False
    require_limits: bool = False
    freeze: tuple[FreezeWindow, ...] = ()
    pull_request: PullRequestOptions = field(default_factory=PullRequestOptions)
    owners: tuple[str, ...] = ()
    drift: DriftOptions = field(default_factory=DriftOptions)
    track: str | None = None  # semver range for --latest
    external: tuple[str, ...] = ()  # Secret/ConfigMap names provided outside the overlay
    render: Severity | None = None  # an overlay that cannot be rendered: None = by mode
    line: int | None = None
    live: LiveConfig | None = None  # where to ask what the env runs (docs/live.md)
    soak_from: SoakFrom = "merge"  # the upstream's merge, or its live sync finish
    policies: tuple[str, ...] = ()  # policy directories of this env (added to the global ones)

    @property
    def gated(self) -> bool:
        """A gated environment changes only through a reviewed pull request."""
        return self.mode != "push"

    def render_mode(self, *, refused: bool) -> Severity:
        """How an overlay of this env that cannot be rendered is judged: ``render:`` when
        set; else a gated env fails closed, and a push env fails on a build error but only
        warns when the render was refused (a URL, a symlink out, Helm)."""
        return self.render or ("fail" if self.gated or not refused else "warn")


@dataclass(frozen=True)
class App:
    name: str
    image: str  # repository, e.g. ghcr.io/myorg/api-service
    depends_on: tuple[str, ...] = ()
    environments: tuple[str, ...] | None = None  # None: every environment
    editor: EditorKind = "auto"
    key: str = "image"  # Helm values key path (dotted)
    path: str | None = None  # overrides Environment.path for this app
    match: str | None = None  # kustomize images[].name to match; default: image
    setter: str | None = None  # setter-marker name ($promote / Flux $imagepolicy); default: name
    track: str | None = None
    line: int | None = None
    # per env name: this app's own live block (None: no live reading for it there)
    live: tuple[tuple[str, LiveConfig | None], ...] = ()
    policies: tuple[str, ...] = ()  # policy directories of this app (added to env and global)

    @property
    def kustomize_name(self) -> str:
        return self.match or self.image


@dataclass(frozen=True)
class Author:
    name: str = "github-actions[bot]"
    email: str = "41898282+github-actions[bot]@users.noreply.github.com"


@dataclass(frozen=True)
class Settings:
    """Repository-wide defaults (``settings:`` in promotion.yaml)."""

    base_branch: str = "main"
    commit_message: str = "chore({env}): promote {app} to {short}"
    pr_title: str = "Promote {app} to {env}: {short}"
    branch: str = "promote/{env}/{app}"
    author: Author = field(default_factory=Author)
    freeze_exception_label: str = "freeze-exception"
    state_file: str | None = None  # e.g. versions.json (VERSIONS.md rendered beside it)


@dataclass(frozen=True)
class PolicyOptions:
    """``policies:`` at the top level: the directories of Rego policies every env is
    judged by, and how they are evaluated (Conftest's options)."""

    dirs: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ("main",)
    all_namespaces: bool = False
    combine: bool = False
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class Config:
    environments: tuple[Environment, ...]
    apps: tuple[App, ...]
    settings: Settings = field(default_factory=Settings)
    file: str = DEFAULT_CONFIG_PATH
    version: int = 1
    policies: PolicyOptions = field(default_factory=PolicyOptions)

    @functools.cached_property
    def _apps_by_name(self) -> dict[str, App]:
        """The first app of each name (a config of thousands of apps is looked up often)."""
        index: dict[str, App] = {}
        for app in self.apps:
            index.setdefault(app.name, app)
        return index

    def env(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def app(self, name: str) -> App:
        return self._apps_by_name[name]

    def has_env(self, name: str) -> bool:
        return any(e.name == name for e in self.environments)

    def has_app(self, name: str) -> bool:
        return name in self._apps_by_name

    def upstream_of(self, env: Environment) -> Environment | None:
        return self.env(env.upstream) if env.upstream else None

    def envs_of(self, app: App) -> tuple[Environment, ...]:
        """The environments an app is deployed to, in pipeline order."""
        if app.environments is None:
            return self.environments
        return tuple(e for e in self.environments if e.name in app.environments)

    def live_of(self, app: App, env: Environment) -> LiveConfig | None:
        """Where to ask what ``app`` runs in ``env``: the app's own block for the env, else
        the env's (None: no live configuration)."""
        for name, block in app.live:
            if name == env.name:
                return block
        return env.live

    def policy_dirs(self, app: App, env: Environment) -> tuple[str, ...]:
        """The policy directories ``app`` in ``env`` is judged by: the global ones, the
        env's, the app's, in that order, each once (``policy/`` and ``./policy`` are one)."""
        dirs = (*self.policies.dirs, *env.policies, *app.policies)
        return tuple(dict.fromkeys(posixpath.normpath(d) for d in dirs))

    def overlay_path(self, app: App, env: Environment) -> str:
        """The repo-relative overlay path (file or directory) of an app in an env."""
        template = app.path or env.path
        return template.replace("{app}", app.name).replace("{env}", env.name)


__all__ = [
    "DEFAULT_CONFIG_PATH",
    "App",
    "Author",
    "Config",
    "DriftOptions",
    "EditorKind",
    "Environment",
    "FreezeWindow",
    "MergeMethod",
    "Mode",
    "PolicyOptions",
    "PullRequestOptions",
    "Settings",
    "Severity",
]
