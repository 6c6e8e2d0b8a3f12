"""``check`` on a ``merge_group`` event (GitHub's merge queue): it judges the queued combined
state (the group's head commit against the branch it merges into) and passes and fails
as a pull_request run of the same change does.

The payload is the documented ``merge_group`` webhook shape (action ``checks_requested``;
``merge_group``: ``head_sha``, ``head_ref``, ``base_sha``, ``base_ref``, ``head_commit``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from check.scenario import API, NEW_API, NEW_WORKER, T0, WORKER, ConfigRepo
from support import gitutil
from support.repos import Run, cli
from support.tools import kustomize_argv

STAGED = T0 + timedelta(hours=3)
NOW = T0 + timedelta(hours=28)  # Tuesday 13:00 UTC: production's 24h soak is met


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()


@pytest.fixture
def repo(tmp_path: Path) -> ConfigRepo:
    config = ConfigRepo(tmp_path / "config")
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=STAGED)
    remote = gitutil.init_bare(tmp_path / "remote.git")
    gitutil.git("remote", "add", "origin", str(remote), cwd=config.root)
    gitutil.git("push", "-q", "origin", "main", cwd=config.root)
    return config


def queue(repo: ConfigRepo, number: int, branches: list[str], base: str) -> tuple[str, str]:
    """A merge group as the queue builds it: ``base`` plus each branch merged in turn, on
    gh-readonly-queue/main/pr-N-<base>; (its ref, its head commit)."""
    ref = f"gh-readonly-queue/main/pr-{number}-{base}"
    gitutil.git("checkout", "-q", "-b", ref, base, cwd=repo.root)
    for branch in branches:
        gitutil.git(
            "merge",
            "--no-ff",
            "-q",
            "-m",
            f"Merge pull request from org/{branch}",
            branch,
            cwd=repo.root,
            env=gitutil.identity_env(STAGED + timedelta(hours=2)),
        )
    gitutil.git("push", "-q", "origin", ref, cwd=repo.root)
    head = repo.head()
    repo.switch("main")
    return f"refs/heads/{ref}", head


def payload(head_ref: str, head: str, base: str) -> dict[str, Any]:
    return {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": head,
            "head_ref": head_ref,
            "base_sha": base,
            "base_ref": "refs/heads/main",
            "head_commit": {
                "id": head,
                "tree_id": "0" * 40,
                "message": "Merge pull request",
                "timestamp": (STAGED + timedelta(hours=2)).isoformat(),
                "author": {"name": "GitHub", "email": "noreply@github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
        },
        "repository": {"full_name": "org/config", "default_branch": "main"},
        "sender": {"login": "merge-queue"},
    }


def run_event(
    repo: ConfigRepo, tmp_path: Path, name: str, event: dict[str, Any], *, now: str, code: int
) -> Run:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(event))
    summary = tmp_path / "summary.md"
    summary.touch()
    return cli(
        "check",
        "--repo",
        str(repo.root),
        "--now",
        now,
        "--json",
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        check=code,
    )


def failed(run: Run) -> list[tuple[str, str, str]]:
    data = json.loads(run.stdout[run.stdout.index("{") :])
    return [
        (r["gate"], r["app"], r["env"])
        for r in data["results"]
        if not r["passed"] and r["severity"] == "error"
    ]


def test_merge_group_passes_and_fails_as_the_pull_request_does(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    """The production promotion of NEW_API, queued: before its soak is met the merge group
    fails on soak exactly as the pull_request run does; once met, both pass."""
    base = repo.head()
    repo.branch("prod")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=STAGED + timedelta(hours=1))
    gitutil.git("push", "-q", "origin", "prod", cwd=repo.root)
    pr_head = repo.head()
    repo.switch("main")
    ref, head = queue(repo, 12, ["prod"], base)
    group = payload(ref, head, base)
    pull = {
        "pull_request": {
            "number": 12,
            "base": {"ref": "main", "sha": base},
            "head": {"ref": "prod", "sha": pr_head},
            "labels": [],
        }
    }
    early = (STAGED + timedelta(hours=2)).isoformat()
    queued = run_event(repo, tmp_path, "merge_group", group, now=early, code=1)
    as_pr = run_event(repo, tmp_path, "pull_request", pull, now=early, code=1)
    assert failed(queued) == failed(as_pr) == [("soak", "api-service", "production")]
    run_event(repo, tmp_path, "merge_group", group, now=NOW.isoformat(), code=0)
    run_event(repo, tmp_path, "pull_request", pull, now=NOW.isoformat(), code=0)


def test_merge_group_judges_the_combined_state_of_the_queue(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    """Two pull requests queued: the first promotes worker in dev (its group passes), the
    second pins production to a mutable tag. The second group holds both, and is judged as
    the queued combined change: both targets, and the tag refused."""
    base = repo.head()
    repo.branch("first")
    repo.promote("worker", "dev", f"{WORKER}@{NEW_WORKER}", at=STAGED + timedelta(hours=1))
    gitutil.git("push", "-q", "origin", "first", cwd=repo.root)
    repo.switch("main")
    repo.branch("second")
    repo.promote("api-service", "production", f"{API}:latest", at=STAGED + timedelta(hours=1))
    gitutil.git("push", "-q", "origin", "second", cwd=repo.root)
    repo.switch("main")
    ref1, head1 = queue(repo, 1, ["first"], base)
    ok = run_event(
        repo, tmp_path, "merge_group", payload(ref1, head1, base), now=NOW.isoformat(), code=0
    )
    ref2, head2 = queue(repo, 2, ["first", "second"], base)
    both = run_event(
        repo, tmp_path, "merge_group", payload(ref2, head2, base), now=NOW.isoformat(), code=1
    )
    data = json.loads(both.stdout[both.stdout.index("{") :])
    targets = {(t["app"], t["env"]) for t in data["targets"]}
    assert targets == {("worker", "dev"), ("api-service", "production")}
    assert ("pinning", "api-service", "production") in failed(both)
    assert json.loads(ok.stdout[ok.stdout.index("{") :])["targets"][0]["app"] == "worker"


def test_a_merge_group_has_no_pull_request_to_comment_on(repo: ConfigRepo, tmp_path: Path) -> None:
    base = repo.head()
    ref, head = queue(repo, 3, [], base)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload(ref, head, base)))
    run = cli(
        "check",
        "--repo",
        str(repo.root),
        "--comment",
        env={"GITHUB_EVENT_NAME": "merge_group", "GITHUB_EVENT_PATH": str(path)},
        check=2,
    )
    assert "--comment needs a pull request number" in run.stderr
