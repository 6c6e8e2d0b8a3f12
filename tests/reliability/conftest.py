"""Fixtures of the reliability suite: the fleet on a git server + GitHub fake, a ``git`` that
logs its calls, and ``figure`` to record the numbers docs/reliability.md reports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_promote.adapters import secrets
from reliability.children import GitShim
from reliability.fleet import Fleet, seed
from support.githttp import GitServer
from support.github_fake import GitHubFake

Figure = Callable[[str, int | str], None]


@pytest.fixture
def fleet(github: GitHubFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """``org/fleet`` (10 apps x dev/staging/production) on a git server that shares its
    token with the GitHub fake."""
    server = GitServer(tmp_path_factory.mktemp("fleet-git"), token=github.token)
    with server:
        yield seed(server, github)


@pytest.fixture
def git_shim(tmp_path: Path) -> Iterator[GitShim]:
    """A ``git`` on PATH that logs argv, environment and .git/config of every call."""
    shim = GitShim.install(tmp_path)
    yield shim
    shim.forget()


@pytest.fixture
def figure(record_property: Callable[[str, object], None]) -> Figure:
    """Record one figure for docs/reliability.md (a junit-xml property ``figure:NAME``)."""

    def record(name: str, value: int | str) -> None:
        record_property(f"figure:{name}", value)

    return record


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """In-process runs register tokens; forget them so tests stay independent."""
    yield
    secrets.clear()
