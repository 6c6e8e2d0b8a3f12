"""Config repos for end-to-end tests: the built-in example, seeded into the git server
with a dated history, and a helper to run the CLI as a user would (a child process;
:mod:`support.inprocess` runs it in the test's process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.githttp import GitServer
from support.github_fake import GitHubFake

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config-repo"
SEED_DATE = "2026-11-20T10:00:00+00:00"


def digest_of(text: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def child_env(cwd: Path | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a CLI run gets: the test's, minus GITHUB_/GITOPS_PROMOTE_/INPUT_/GIT_
    variables, with HOME in ``cwd``; then ``env``."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "GITOPS_PROMOTE_", "INPUT_", "GIT_"))
    }
    full_env.update({"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or Path.cwd())})
    full_env.update(env or {})
    return full_env


def cli(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: int | None = 0,
) -> Run:
    """Run ``gitops-promote ARGS`` in a child process, as a user would (tests of what only
    a real process shows; the others use :func:`support.inprocess.cli`)."""
    proc = subprocess.run(
        [sys.executable, "-m", "gitops_promote", *args],
        cwd=cwd,
        env=child_env(cwd, env),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    run = Run(proc.returncode, proc.stdout, proc.stderr)
    if check is not None and proc.returncode != check:
        raise AssertionError(
            f"gitops-promote {' '.join(args)} exited {proc.returncode}, expected {check}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return run


@dataclass
class ConfigRepo:
    server: GitServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    @property
    def bare(self) -> Path:
        return self.server.path(self.name)

    @property
    def env(self) -> dict[str, str]:
        """Environment that hands the token to gitops-promote (never argv)."""
        return {"GITOPS_PROMOTE_TOKEN": self.server.token or ""}


@pytest.fixture
def config_repo(git_server: GitServer) -> ConfigRepo:
    """examples/config-repo on the HTTP git server, committed on 2026-11-20."""
    git_server.seed("org/config", EXAMPLE, message="Initial config", date=SEED_DATE)
    return ConfigRepo(git_server, "org/config")


@dataclass
class Platform:
    """A GitHub stand-in: the git server and the API fake sharing one token, with the
    example config repo as ``org/config`` on both."""

    git: GitServer
    api: GitHubFake
    repo: str = "org/config"

    @property
    def env(self) -> dict[str, str]:
        """What a workflow step would have: token, API URL, server URL."""
        return {
            "GITOPS_PROMOTE_TOKEN": self.api.token,
            "GITHUB_API_URL": self.api.api_url,
            "GITHUB_SERVER_URL": self.git.base_url,
        }

    @property
    def bare(self) -> Path:
        return self.git.path(self.repo)


@pytest.fixture
def platform(github: GitHubFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """git over HTTP + the OpenAPI-held GitHub fake, both serving org/config."""
    server = GitServer(tmp_path_factory.mktemp("git-platform"), token=github.token)
    with server:
        server.seed("org/config", EXAMPLE, message="Initial config", date=SEED_DATE)
        github.add_repo("org", "config", server.path("org/config"))
        yield Platform(server, github)
