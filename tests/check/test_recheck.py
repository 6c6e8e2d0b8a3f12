"""``gitops-promote recheck``: the required status of every open pull request follows the
clock, end to end through the CLI against the git HTTP server and the GitHub fake.

Two promotion pull requests are opened as ``promote`` opens them: api-service to
production (soak 24h, weekend freeze Fri 16:00 to Mon 08:00 Europe/Berlin) and worker to
staging (soak 1h, no freeze). Each recheck run judges both with ``check``'s pipeline and
sets the commit status ``gitops-promote/check`` on each head commit whose verdict changed;
``--now`` moves the clock.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.apply import overlays
from gitops_promote.commands import action
from gitops_promote.config.load import parse_config
from gitops_promote.facts import pins
from gitops_promote.images import ImageRef
from support import gitutil
from support.inprocess import cli
from support.repos import Platform, Run, digest_of
from support.tools import kustomize_argv

CONTEXT = "gitops-promote/check"
API = "ghcr.io/myorg/api-service"
WORKER = "ghcr.io/myorg/worker"
NEW_API = digest_of("api-service 1.5.0")
NEW_WORKER = digest_of("worker 2.0.0")


def pinned(bare: Path, app: str, env: str, ref: str) -> dict[str, str]:
    rel = f"apps/{app}/overlays/{env}/kustomization.yaml"
    config = parse_config(gitutil.read_file(bare, "main", "promotion.yaml").decode())
    target = config.app(app)
    text = gitutil.read_file(bare, "main", rel).decode()
    new = overlays.set_pin(
        rel, text, pins.target(target), pins.set_image_arg(target, ImageRef.parse(ref))
    )
    return {rel: new}


def promote(platform: Platform, app: str, env: str) -> None:
    cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--env",
        env,
        "--app",
        app,
        "--now",
        "2026-11-23T12:00:00+00:00",
        "--defer-gates",
        env=platform.env,
    )


@pytest.fixture
def two_pulls(platform: Platform) -> dict[str, int]:
    """PR for api-service -> production (staging got it 2026-11-23 10:00 UTC: soak met
    2026-11-24 10:00) and PR for worker -> staging (dev got it 09:00: soak met 10:00)."""
    kustomize_argv()
    bare = platform.bare
    gitutil.commit_tree_to_bare(
        bare,
        {
            **pinned(bare, "api-service", "dev", f"{API}@{NEW_API}"),
            **pinned(bare, "worker", "dev", f"{WORKER}@{NEW_WORKER}"),
        },
        date="2026-11-23T09:00:00+00:00",
    )
    gitutil.commit_tree_to_bare(
        bare,
        pinned(bare, "api-service", "staging", f"{API}:v1.5.0@{NEW_API}"),
        date="2026-11-23T10:00:00+00:00",
    )
    promote(platform, "api-service", "production")
    promote(platform, "worker", "staging")
    by_branch = {p.head: p.number for p in platform.api.pulls(state="open")}
    return {
        "production": by_branch["promote/production/api-service"],
        "staging": by_branch["promote/staging/worker"],
    }


def recheck(platform: Platform, state: Path, now: str, *args: str, code: int = 0) -> Run:
    run = cli(
        "recheck",
        "--config-repo",
        platform.repo,
        "--state",
        str(state),
        "--now",
        now,
        *args,
        env=platform.env,
        check=code,
    )
    assert platform.api.token not in run.output
    return run


def latest(platform: Platform, number: int) -> tuple[str, str]:
    """(state, description) of the newest status CONTEXT on the PR's head commit."""
    head = platform.api.pull(number).head_sha
    found = [s for s in platform.api.statuses() if s.context == CONTEXT and s.sha == head]
    assert found, f"no {CONTEXT} status on #{number}'s head {head}"
    return found[-1].state, found[-1].description or ""


def api_post(
    platform: Platform, path: str, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """A POST through the fake's API: a person's on the website (their PAT) by default."""
    request = urllib.request.Request(
        f"{platform.api.api_url}/repos/{platform.repo}/{path}",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"token {token or platform.api.user_token}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        data: dict[str, Any] = json.loads(answer.read() or b"{}")
        return data


def add_label(platform: Platform, number: int, label: str, token: str | None = None) -> None:
    api_post(platform, f"issues/{number}/labels", {"labels": [label]}, token)


def calls_since(platform: Platform, mark: int) -> list[str]:
    return [str(c.operation) for c in platform.api.calls[mark:]]


def test_statuses_follow_soak_and_freeze(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """Soak-red turns green when the soak ends; green before the weekend freeze, red once it
    opens, green after it closes; every status is set on the PR's head commit, and a run
    with nothing changed makes only the listing call."""
    prod, staging = two_pulls["production"], two_pulls["staging"]
    state = tmp_path / "recheck.json"

    # Mon 12:00 UTC: production's soak has 22h left; worker's 1h soak in staging is met.
    mark = platform.api.mark()
    out = recheck(platform, state, "2026-11-23T12:00:00+00:00").stdout
    assert calls_since(platform, mark) == [
        "pulls/list",
        "repos/create-commit-status",
        "repos/create-commit-status",
    ]
    assert latest(platform, prod) == ("failure", "failed: soak (api-service/production)")
    assert latest(platform, staging)[0] == "success"
    assert f"#{prod} " in out
    assert "2 open pull request(s) into main, 2 status(es) set" in out

    # Nothing changed: one listing call, no status written.
    mark = platform.api.mark()
    out = recheck(platform, state, "2026-11-23T12:15:00+00:00").stdout
    assert calls_since(platform, mark) == ["pulls/list"]
    assert "2 status(es) set" not in out
    assert "0 status(es) set" in out

    # Tue 11:00 UTC: the soak is met -> production's PR turns green (one call, that PR only).
    mark = platform.api.mark()
    recheck(platform, state, "2026-11-24T11:00:00+00:00")
    assert calls_since(platform, mark) == ["pulls/list", "repos/create-commit-status"]
    assert latest(platform, prod)[0] == "success"

    # Fri 14:45 UTC: green, the freeze opens at 16:00 Berlin (15:00 UTC): nothing to set.
    mark = platform.api.mark()
    recheck(platform, state, "2026-11-27T14:45:00+00:00")
    assert calls_since(platform, mark) == ["pulls/list"]

    # Fri 15:00 UTC: the weekend freeze is open -> red; staging has no freeze: untouched.
    mark = platform.api.mark()
    recheck(platform, state, "2026-11-27T15:00:00+00:00")
    assert calls_since(platform, mark) == ["pulls/list", "repos/create-commit-status"]
    assert latest(platform, prod) == ("failure", "failed: freeze (api-service/production)")
    assert latest(platform, staging)[0] == "success"

    # Mon 06:59 UTC still frozen; Mon 07:00 UTC (08:00 Berlin) it closes -> green.
    mark = platform.api.mark()
    recheck(platform, state, "2026-11-30T06:59:00+00:00")
    assert calls_since(platform, mark) == ["pulls/list"]
    recheck(platform, state, "2026-11-30T07:00:00+00:00")
    assert calls_since(platform, mark) == [
        "pulls/list",
        "pulls/list",
        "repos/create-commit-status",
    ]
    assert latest(platform, prod)[0] == "success"
    statuses = [s for s in platform.api.statuses() if s.sha == platform.api.pull(prod).head_sha]
    assert [s.state for s in statuses] == ["failure", "success", "failure", "success"]
    assert {s.context for s in platform.api.statuses()} == {CONTEXT}


def test_new_head_or_labels_are_judged_again(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """A label the PR gets (break-glass for a freeze) is judged on the next run and turns
    the frozen PR green; the state file keeps only open PRs."""
    prod = two_pulls["production"]
    state = tmp_path / "recheck.json"
    recheck(platform, state, "2026-11-27T15:00:00+00:00")
    assert latest(platform, prod)[0] == "failure"
    config = parse_config(gitutil.read_file(platform.bare, "main", "promotion.yaml").decode())
    label = config.settings.freeze_exception_label
    add_label(platform, prod, label)  # a person adds the label on the website
    mark = platform.api.mark()
    recheck(platform, state, "2026-11-27T15:15:00+00:00")
    # who added it: the PR's issue events, then who the token is (a person did)
    assert calls_since(platform, mark) == [
        "pulls/list",
        "issues/list-events",
        "graphql",
        "repos/create-commit-status",
    ]
    assert latest(platform, prod)[0] == "success"
    kept = json.loads(state.read_text())
    assert kept["context"] == CONTEXT
    assert sorted(kept["pulls"]) == sorted(str(n) for n in two_pulls.values())
    assert label in kept["pulls"][str(prod)]["labels"]


def test_break_glass_added_by_automation_keeps_the_freeze(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """The break-glass label added with the automation's token (github-actions[bot]) does
    not turn the frozen PR green on a recheck: only a person breaks glass."""
    prod = two_pulls["production"]
    state = tmp_path / "recheck.json"
    add_label(platform, prod, "freeze-exception", platform.api.token)
    recheck(platform, state, "2026-11-27T15:15:00+00:00")
    assert latest(platform, prod) == ("failure", "failed: freeze (api-service/production)")


def test_without_state_every_status_is_set_and_dry_run_sets_none(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """A state file that is missing or not ours is no memory (a warning, every status set
    again, never a failure); --dry-run judges and writes neither statuses nor state."""
    state = tmp_path / "recheck.json"
    mark = platform.api.mark()
    out = recheck(platform, state, "2026-11-23T12:00:00+00:00", "--dry-run").stdout
    assert calls_since(platform, mark) == ["pulls/list"]
    assert "would set" in out
    assert not state.exists()
    state.write_text("{not json")
    mark = platform.api.mark()
    run = recheck(platform, state, "2026-11-23T12:00:00+00:00")
    assert "warning: --state" in run.stderr
    assert calls_since(platform, mark).count("repos/create-commit-status") == 2
    assert json.loads(state.read_text())["version"] == 1


def test_pull_request_that_cannot_be_judged_gets_an_error_status(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """A PR whose head shares no history with the base cannot be judged: it gets an
    `error` status (never keeps a stale success) and the others are judged as usual."""
    gitutil.commit_tree_to_bare(
        platform.bare, {"README.md": "unrelated\n"}, branch="unrelated", replace=True
    )
    number = int(
        api_post(platform, "pulls", {"title": "x", "head": "unrelated", "base": "main"})["number"]
    )
    recheck(platform, tmp_path / "recheck.json", "2026-11-24T11:00:00+00:00")
    state, description = latest(platform, number)
    assert state == "error"
    assert description.startswith("cannot judge: ")
    assert "no common history" in description
    assert latest(platform, two_pulls["production"])[0] == "success"


def test_status_context_is_configurable_and_checked(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """--status-context names the status; a context with a newline is bad input (exit 2,
    nothing written)."""
    state = tmp_path / "recheck.json"
    recheck(platform, state, "2026-11-23T12:00:00+00:00", "--status-context", "promotion")
    assert {s.context for s in platform.api.statuses()} == {"promotion"}
    mark = platform.api.mark()
    run = recheck(
        platform, state, "2026-11-23T12:00:00+00:00", "--status-context", "a\n::error::x", code=2
    )
    assert "--status-context" in run.stderr
    assert platform.api.count(since=mark) == 0


def test_refused_status_is_reported_and_retried_next_run(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """When GitHub refuses one status after retries, the other PRs still get theirs, the
    run exits 3, and the next run sets the missing one (it was not remembered)."""
    state = tmp_path / "recheck.json"
    platform.api.fail_next(7, operation="repos/create-commit-status", status=502)
    run = recheck(platform, state, "2026-11-23T12:00:00+00:00", code=3)
    assert "NOT set" in run.stdout
    mark = platform.api.mark()
    recheck(platform, state, "2026-11-23T12:00:00+00:00")
    assert calls_since(platform, mark) == ["pulls/list", "repos/create-commit-status"]


def test_check_set_status_uses_the_same_context(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """check --set-status on the pull_request event sets the same required status on the
    head commit as recheck does."""
    prod = two_pulls["production"]
    pull = platform.api.pull(prod)
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": prod,
                    "base": {"ref": pull.base, "sha": pull.base_sha},
                    "head": {"ref": pull.head, "sha": pull.head_sha},
                    "labels": [],
                }
            }
        )
    )
    env = {
        **platform.env,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": platform.repo,
        "GITHUB_RUN_ID": "99",
    }
    mark = platform.api.mark()
    run = cli(
        "check",
        "--config-repo",
        platform.repo,
        "--set-status",
        "--now",
        "2026-11-23T12:00:00+00:00",
        env=env,
        check=1,
    )
    assert f"status {CONTEXT}: failure" in run.stdout
    assert calls_since(platform, mark) == ["repos/create-commit-status"]
    assert latest(platform, prod) == ("failure", "failed: soak (api-service/production)")
    (status,) = platform.api.statuses()
    assert status.target_url == f"{platform.git.base_url}/{platform.repo}/actions/runs/99"


def test_check_refused_status_is_a_warning(
    platform: Platform, two_pulls: dict[str, int], tmp_path: Path
) -> None:
    """When GitHub refuses check's status (a fork's read-only token), check warns and
    still exits by its gates; no status is left behind."""
    platform.api.fail_next(1, operation="repos/create-commit-status", status=403)
    head = platform.api.pull(two_pulls["production"]).head_sha
    run = cli(
        "check",
        "--config-repo",
        platform.repo,
        "--set-status",
        "--base",
        "main",
        "--head",
        head,
        "--now",
        "2026-11-23T12:00:00+00:00",
        env=platform.env,
        check=1,
    )
    assert f"warning: could not set status {CONTEXT} on {head[:12]}" in run.stderr
    assert "check FAILED" in run.stdout
    assert platform.api.statuses() == []


def test_print_cron_lists_freeze_boundaries_off_the_quarter_hour(tmp_path: Path) -> None:
    """--print-cron prints the */15 line and one UTC line per freeze boundary not on a
    quarter hour: weekly ones for a recurring window (both DST offsets), a dated one for a
    one-off window."""
    repo = tmp_path / "config"
    repo.mkdir()
    (repo / "promotion.yaml").write_text(
        "version: 1\n"
        "environments:\n"
        "  - name: dev\n"
        "    path: apps/{app}/dev\n"
        "    mode: push\n"
        "  - name: production\n"
        "    path: apps/{app}/production\n"
        "    from: dev\n"
        "    mode: pull-request\n"
        "    freeze:\n"
        '      - {name: weekend, schedule: "10 16 * * FRI", duration: 2h, '
        "timezone: Europe/Berlin}\n"
        '      - {name: launch, start: "2027-02-01T09:20:00+00:00", '
        'end: "2027-02-01T12:00:00+00:00"}\n'
        "apps:\n"
        "  api: {image: ghcr.io/o/api}\n",
        encoding="utf-8",
    )
    gitutil.init_repo(repo)
    gitutil.commit_files(repo, {}, message="config")
    out = cli(
        "recheck", "--repo", str(repo), "--print-cron", "--now", "2026-11-20T00:00:00Z"
    ).stdout
    lines = [line for line in out.splitlines() if line.startswith("- cron:")]
    assert lines == [
        '- cron: "*/15 * * * *"',
        '- cron: "10 14 * * 5" # weekend',
        '- cron: "10 15 * * 5" # weekend',
        '- cron: "10 16 * * 5" # weekend',
        '- cron: "10 17 * * 5" # weekend',
        '- cron: "20 9 1 2 *" # launch',
    ]


def test_action_runs_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """The action's `command: recheck` runs recheck with its inputs; `check` gets
    --set-status and the same context."""
    inputs: dict[str, Any] = {
        "INPUT_COMMAND": "recheck",
        "INPUT_STATE_FILE": ".gitops-promote/recheck.json",
        "INPUT_STATUS_CONTEXT": "promotion",
        "INPUT_CONFIG_REPO": "org/config",
    }
    for key, value in inputs.items():
        monkeypatch.setenv(key, value)
    assert action.argv_from_inputs() == [
        "recheck",
        "--status-context",
        "promotion",
        "--state",
        ".gitops-promote/recheck.json",
        "--config-repo",
        "org/config",
    ]
    monkeypatch.setenv("INPUT_COMMAND", "check")
    monkeypatch.setenv("INPUT_SET_STATUS", "true")
    assert action.argv_from_inputs() == [
        "check",
        "--set-status",
        "--status-context",
        "promotion",
        "--config-repo",
        "org/config",
    ]
