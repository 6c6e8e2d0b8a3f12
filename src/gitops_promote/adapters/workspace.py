"""Where a command works: a local checkout (``--repo``), or a fresh partial, sparse clone
of a remote config repo (``--remote URL`` / ``--config-repo owner/name``), plus the
credentials for it. Tokens come from the environment only, never from argv."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from gitops_promote.adapters import DEFAULT_CONFIG_PATH, secrets
from gitops_promote.adapters.git import (
    DEFAULT_IDENTITY,
    Git,
    Identity,
    Repo,
    check_token_url,
    current_branch,
    github_url,
    toplevel,
)
from gitops_promote.adapters.git import has_remote as remote_exists
from gitops_promote.adapters.github import GitHub
from gitops_promote.errors import InputError, UserError, clip, quote

TOKEN_ENVS = ("GITOPS_PROMOTE_TOKEN", "GITHUB_TOKEN")
_OWNER_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Location:
    """Where the config repo is, as the user said it."""

    repo_dir: str | None = None
    remote: str | None = None
    config_repo: str | None = None
    base_branch: str | None = None
    config_path: str = DEFAULT_CONFIG_PATH


@dataclass(frozen=True)
class Credentials:
    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)
    api_url: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.token or (self.app_id and self.app_private_key))


def credentials_from_env(
    token_env: str | None = None, app_id: str | None = None, api_url: str | None = None
) -> Credentials:
    """Read the token (or GitHub App key) from the environment and register it as a secret."""
    names = (token_env,) if token_env else TOKEN_ENVS
    token = next((os.environ[n] for n in names if os.environ.get(n)), None)
    if token_env and not token:
        raise InputError(
            f"--token-env {quote(token_env)}: the variable is not set or empty",
            hint=f"export {clip(token_env)}=<token> (never pass a token as an argument)",
        )
    app_id = app_id or os.environ.get("GITOPS_PROMOTE_APP_ID") or None
    key = os.environ.get("GITOPS_PROMOTE_APP_PRIVATE_KEY") or None
    if app_id and not key:
        raise InputError(
            "a GitHub App id is set but GITOPS_PROMOTE_APP_PRIVATE_KEY is empty",
            hint="put the App's PEM private key in GITOPS_PROMOTE_APP_PRIVATE_KEY",
        )
    secrets.register(token)
    secrets.register(key)
    return Credentials(token, app_id, key, api_url or os.environ.get("GITHUB_API_URL"))


def github_repository(loc: Location, remote_url: str | None) -> str | None:
    """owner/name on GitHub: --config-repo, else from a github-like remote URL, else
    GITHUB_REPOSITORY (the config repo's own workflows)."""
    if loc.config_repo:
        return loc.config_repo
    if remote_url:
        parts = urlsplit(remote_url)
        path = parts.path.strip("/").removesuffix(".git")
        server = urlsplit(os.environ.get("GITHUB_SERVER_URL", "https://github.com"))
        if parts.netloc.rsplit("@", 1)[-1] == server.netloc and _OWNER_NAME.match(path):
            return path
        if parts.netloc.endswith("github.com") and _OWNER_NAME.match(path):
            return path
    return os.environ.get("GITHUB_REPOSITORY") or None


@dataclass
class Workspace:
    repo: Repo
    location: Location
    credentials: Credentials
    github_repo: str | None
    has_remote: bool

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def cloned(self) -> bool:
        """A fresh clone made for this run (``--remote``/``--config-repo``): until the run
        edits it, its work tree is exactly the base branch's tip, so readers may take the
        overlays from git objects instead of checking them out."""
        return bool(self.location.remote or self.location.config_repo)


def _local_repo(path: Path, base_branch: str | None, identity: Identity, noop: bool) -> Repo:
    """A checkout without a remote: promotions commit locally and go no further."""
    git = Git(cwd=path, identity=identity, noop=noop)
    root = toplevel(git)
    if root is None:
        raise UserError(
            f"--repo {path}: not a git checkout",
            hint="pass the directory of a clone of the config repo (git clone ...)",
        )
    branch = base_branch or current_branch(git)
    if not branch:
        raise UserError(f"--repo {path}: HEAD is detached", hint="check out the base branch")
    return Repo(git.at(root), root, base_branch=branch, synced=True)


@contextmanager
def open_workspace(
    loc: Location,
    creds: Credentials,
    *,
    identity: Identity = DEFAULT_IDENTITY,
    noop: bool = False,
    require_clean: bool = True,
    sparse_paths: Sequence[str] = (),
    shallow: bool = False,
    recent: datetime | None = None,
) -> Iterator[Workspace]:
    """Open (or clone into a temporary directory, removed afterwards) the config repo.
    ``shallow``: clone just the tip and the commits since ``recent`` (:meth:`Repo.clone`);
    the rest of the history comes when something reads it."""
    token = creds.token
    if loc.remote or loc.config_repo:
        if loc.remote and loc.config_repo:
            raise InputError("give either --remote or --config-repo, not both")
        if loc.config_repo and not _OWNER_NAME.match(loc.config_repo):
            raise InputError(
                f"--config-repo {quote(loc.config_repo)} is not owner/name",
                hint="e.g. myorg/gitops-config",
            )
        url = loc.remote or github_url(
            loc.config_repo or "", os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        )
        gh_repo = github_repository(loc, url)
        if creds.app_id and creds.app_private_key and gh_repo and not token:
            if creds.api_url:  # the App's signed key goes there, then its token comes back
                check_token_url(creds.api_url, what="the GitHub API (GITHUB_API_URL)")
            token = GitHub.app_token(
                gh_repo,
                app_id=creds.app_id,
                private_key=creds.app_private_key,
                api_url=creds.api_url,
            )
            creds = Credentials(token, creds.app_id, creds.app_private_key, creds.api_url)
        tmp = Path(tempfile.mkdtemp(prefix="gitops-promote-"))
        cloned: Repo | None = None
        try:
            cloned = Repo.clone(
                url,
                tmp / "config",
                token=token,
                branch=loc.base_branch,
                sparse_paths=[loc.config_path, *sparse_paths],
                identity=identity,
                noop=noop,
                shallow=shallow,
                recent=recent,
            )
            yield Workspace(cloned, loc, creds, gh_repo, has_remote=True)
        finally:
            if cloned is not None:
                cloned.stop_background()  # nothing outlives the workspace
            shutil.rmtree(tmp, ignore_errors=True)
        return
    path = Path(loc.repo_dir or ".")
    probe = Git(cwd=path if path.is_dir() else None)
    has_remote = path.is_dir() and remote_exists(probe)
    if has_remote:
        repo = Repo.open(
            path,
            token=token,
            base_branch=loc.base_branch,
            require_clean=require_clean,
            identity=identity,
            noop=noop,
        )
        gh_repo = github_repository(loc, repo.git.remote_url)
    else:
        if not path.is_dir():
            raise UserError(f"--repo {path}: no such directory")
        repo = _local_repo(path, loc.base_branch, identity, noop)
        if require_clean:
            repo.require_clean(what=f"--repo {path}")
        gh_repo = loc.config_repo
    try:
        yield Workspace(repo, loc, creds, gh_repo, has_remote=has_remote)
    except BaseException:
        # a run that did not deliver leaves the checkout's own commits where they were
        repo.restore_unpushed()
        raise
