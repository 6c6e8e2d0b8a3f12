"""The runner contract on GitHub's merge queue: action.yml with ``command: check`` on a
``merge_group`` event (the documented webhook payload) judges the queued combined state,
cloning the config repo and fetching the group's commit, and fails then passes as the
pull_request run of the same change does (test_runner_contract.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from action.conftest import ActionHarness
from action.test_runner_contract import CONFIG, assert_no_leak
from check.scenario import API, NEW_API, T0, ConfigRepo, overlay
from check.test_merge_group import payload
from support import gitutil
from support.tools import kustomize_argv


def test_check_on_a_merge_group_event_fails_then_passes(
    action: ActionHarness, tmp_path: Path
) -> None:
    kustomize_argv()
    repo = ConfigRepo(tmp_path / "config")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    base = repo.head()
    repo.branch("promote/production/api-service")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=T0 + timedelta(hours=4))
    queue = f"gh-readonly-queue/main/pr-1-{base}"
    repo.branch(queue, "main")
    gitutil.git(
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge pull request #1 from org/promote/production/api-service",
        "promote/production/api-service",
        cwd=repo.root,
        env=gitutil.identity_env(T0 + timedelta(hours=4)),
    )
    head = repo.head()
    gitutil.git("push", "-q", "--force", str(action.platform.bare), "main", queue, cwd=repo.root)
    event = payload(f"refs/heads/{queue}", head, base)
    inputs = {"command": "check", "config-repo": CONFIG, "token": action.token}
    soon = (T0 + timedelta(hours=5)).isoformat()
    run = action.run(
        {**inputs, "now": soon}, event=event, event_name="merge_group", repository=CONFIG
    )
    assert run.exit_code == 1, run.stderr
    assert run.outputs["passed"] == "false"
    errors = [a for a in run.annotations if a.level == "error"]
    assert [a.title for a in errors] == ["soak: api-service in production"]
    assert errors[0].properties["file"] == overlay("api-service", "production")
    assert "### ❌ Promotion check failed" in run.summary
    assert_no_leak(run, action.token)

    later = (T0 + timedelta(hours=28)).isoformat()
    ok = action.run(
        {**inputs, "now": later}, event=event, event_name="merge_group", repository=CONFIG
    )
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert ok.outputs["passed"] == "true"
    assert "### ✅ Promotion check passed" in ok.summary
    assert_no_leak(ok, action.token)
