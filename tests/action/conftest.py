"""Fixtures for running action.yml like a GitHub runner: one runner temp directory and one
actions/cache store per test run, shared by the pytest-xdist workers, so the virtual
environment is built from requirements.lock once per run and restored afterwards."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.repos import Platform
from support.runner import ActionRun, CacheStore, CompositeRunner, runner_env

ACTION_DIR = Path(__file__).resolve().parents[2]


def _run_root(factory: pytest.TempPathFactory) -> Path:
    """The base temp directory of this pytest run, the same for every xdist worker."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def composite_runner(tmp_path_factory: pytest.TempPathFactory) -> CompositeRunner:
    """A runner for this checkout's action.yml. Its RUNNER_TEMP stays the same for the
    whole run, as on a hosted runner (where it is always /home/runner/work/_temp)."""
    root = _run_root(tmp_path_factory) / "action-runner"
    (root / "home").mkdir(parents=True, exist_ok=True)
    (root / "temp").mkdir(exist_ok=True)
    return CompositeRunner(
        ACTION_DIR,
        runner_temp=root / "temp",
        cache=CacheStore(root / "cache"),
        base_env=runner_env(root / "home"),
    )


@dataclass
class ActionHarness:
    """The action as a workflow step in the app repo ``org/api-service``, against the test
    git server and GitHub fake (``platform``)."""

    runner: CompositeRunner
    platform: Platform
    tmp_path: Path
    runs: int = 0

    @property
    def token(self) -> str:
        return self.platform.api.token

    def run(
        self,
        with_: Mapping[str, str],
        *,
        event: Mapping[str, Any] | None = None,
        event_name: str = "push",
        workspace: Path | None = None,
        repository: str = "org/api-service",
    ) -> ActionRun:
        self.runs += 1
        job = self.tmp_path / f"job{self.runs}"
        ws = workspace or self.tmp_path / f"workspace{self.runs}"
        ws.mkdir(parents=True, exist_ok=True)
        env = {
            "GITHUB_SERVER_URL": self.platform.git.base_url,
            "GITHUB_API_URL": self.platform.api.api_url,
            "GITHUB_GRAPHQL_URL": self.platform.api.graphql_url,
            "GITHUB_REPOSITORY": repository,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_RUN_ID": str(1000 + self.runs),
            "GITHUB_ACTOR": "octocat",
        }
        payload = event if event is not None else {"ref": "refs/heads/main", "after": "0" * 40}
        return self.runner.run(
            with_, workspace=ws, job_dir=job, event=payload, event_name=event_name, env=env
        )


@pytest.fixture
def action(composite_runner: CompositeRunner, platform: Platform, tmp_path: Path) -> ActionHarness:
    """Run action.yml with a ``with:`` map against the test platform."""
    return ActionHarness(composite_runner, platform, tmp_path)
