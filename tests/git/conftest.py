"""Fixtures for the git layer tests: a seeded config repo on the HTTP git server (token
auth), a PATH shim that logs the argv of every git process, a no-wait retry policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from git.gitrepo_helpers import ArgvLog, ConfigRepo, make_argv_log, seed_files
from gitops_promote.adapters import secrets
from gitops_promote.adapters.git import Retry
from support.githttp import GitServer


@pytest.fixture
def config_repo(git_server: GitServer) -> ConfigRepo:
    """``org/config`` with three apps x three envs, one seed commit on ``main``."""
    git_server.seed("org/config", seed_files(), message="seed")
    return ConfigRepo(git_server, "org/config")


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    secrets.clear()


@pytest.fixture
def no_wait() -> Retry:
    """Retries without sleeping (the backoff itself is tested apart)."""
    return Retry(sleep=lambda _s: None)


@pytest.fixture
def argv_log(tmp_path: Path) -> ArgvLog:
    """A ``git`` on PATH that logs its argv (plus GIT_TRACE of git's own children)."""
    return make_argv_log(tmp_path)
