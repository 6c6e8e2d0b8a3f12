"""What a request names, found in the config and the workspace: the environment, the
apps, the base branch (bad input: one line, exit 2). Light on imports: every command
loads it through ``commands.common``."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gitops_promote.errors import InputError, quote

if TYPE_CHECKING:
    from gitops_promote.adapters.workspace import Credentials, Location, Workspace
    from gitops_promote.config.model import App, Config, Environment


@contextmanager
def open_config(
    loc: Location, creds: Credentials, *, commits: bool = True, sparse_paths: Sequence[str] = ()
) -> Iterator[tuple[Workspace, Config]]:
    """The config repo opened to read (a clone is removed afterwards) and its config loaded;
    ``commits``: refuse a repo without a commit first (:func:`require_commits`)."""
    from gitops_promote.adapters.workspace import open_workspace  # noqa: PLC0415
    from gitops_promote.config.load import load_config  # noqa: PLC0415

    with open_workspace(loc, creds, require_clean=False, sparse_paths=sparse_paths) as ws:
        if commits:
            require_commits(ws)
        yield ws, load_config(ws.root, loc.config_path)


def require_commits(ws: Workspace) -> None:
    """Refuse a config repo without a single commit (a fresh ``git init``, an empty remote)
    as bad input, before a reader of history fails on it as if git were broken."""
    if ws.repo.rev_parse("HEAD") is not None:
        return
    loc = ws.location
    if loc.remote:
        where = f"--remote {ws.repo.remote_url}"  # without userinfo
    elif loc.config_repo:
        where = f"--config-repo {loc.config_repo}"
    else:
        where = f"--repo {loc.repo_dir or '.'}"
    raise InputError(
        f"the config repo ({where}) has no commits yet",
        hint="commit promotion.yaml and the overlays to its base branch first "
        "('gitops-promote validate' checks them before the first commit)",
    )


def pick_env(config: Config, name: str) -> Environment:
    if not config.has_env(name):
        known = ", ".join(e.name for e in config.environments)
        raise InputError(
            f"environment {quote(name)} is not in {config.file}",
            hint=f"known environments: {known}",
        )
    return config.env(name)


def pick_apps(config: Config, names: Sequence[str], env: Environment | None) -> list[App]:
    apps: list[App] = []
    for name in names:
        if not config.has_app(name):
            known = ", ".join(a.name for a in config.apps)
            raise InputError(
                f"app {quote(name)} is not in {config.file}", hint=f"known apps: {known}"
            )
        app = config.app(name)
        if env is not None and app.environments is not None and env.name not in app.environments:
            raise InputError(
                f"app {quote(name)} is not deployed to {env.name!r}",
                hint=f"its environments are: {', '.join(app.environments)}",
            )
        apps.append(app)
    return apps


def check_base_branch(ws: Workspace, config: Config, loc: Location) -> str:
    """The base branch: --base-branch, else settings.base-branch; the checkout must be on it."""
    wanted = loc.base_branch or config.settings.base_branch
    if ws.repo.base_branch != wanted:
        raise InputError(
            f"the checkout is on branch {ws.repo.base_branch!r} but the base branch is {wanted!r}",
            hint=f"check out {wanted} (or pass --base-branch {ws.repo.base_branch})",
        )
    return wanted


def ws_web_url(ws: Workspace) -> str | None:
    if not ws.github_repo:
        return None
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return f"{server}/{ws.github_repo}"
