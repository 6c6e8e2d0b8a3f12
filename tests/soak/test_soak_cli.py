"""``gitops-promote soak`` through the CLI over real git histories with controlled commit
dates, the HTTP git server and the OpenAPI-held GitHub fake: a cron-style run promotes
exactly the soaked targets (push for mode: push, a pull request otherwise) and says why it
skipped every other one; re-runs leave an open PR for the same digest alone and update one
for an older digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from soak import fleet
from support import gitutil
from support.github_fake import ApiCall
from support.inprocess import cli
from support.repos import Platform, Run

FRIDAY = "2026-11-27T16:30:00+00:00"  # 17:30 in Berlin: production's weekend freeze is on


def soak(platform: Platform, cwd: Path, *args: str, check: int | None = 0) -> Run:
    run = cli("soak", "--config-repo", platform.repo, *args, cwd=cwd, env=platform.env, check=check)
    assert platform.api.token not in run.output
    assert "Traceback" not in run.output
    return run


def soak_json(platform: Platform, cwd: Path, *args: str) -> dict[tuple[str, str], Any]:
    run = soak(platform, cwd, "--json", *args)
    data = json.loads(run.stdout)
    return {(t["env"], t["app"]): t for t in data["targets"]}


def lines_of(run: Run) -> dict[str, str]:
    """'env/app' -> the rest of its line (outcome and reason)."""
    out = {}
    for line in run.stdout.splitlines()[1:]:
        if line.startswith("  "):
            target, rest = line.strip().split(None, 1)
            out[target] = " ".join(rest.split())
    return out


@pytest.fixture
def cron_fleet(platform: Platform, tmp_path: Path) -> dict[str, Any]:
    """Five apps, build 1 everywhere on 2026-11-20; then, before Friday 16:30 UTC:

    - api-service: dev build 2 on Thu 09:00 (soaked: perf and staging should get it);
    - worker: dev build 2 on Thu 10:00 (soaked, but api-service is not in perf/staging yet);
    - billing: build 2 in dev and perf (Mon), staging (Tue): production's soak is met but
      the weekend freeze is on;
    - frontend: dev build 2 on Thu 12:00, and an open PR (from an earlier soak run)
      already proposes it for staging;
    - search: dev build 2 on Wed, back to 1 on Thu, build 2 again Fri 16:05 UTC (25 minutes
      ago: the soak starts again from the return).
    """
    fleet.seed(platform, "2026-11-20T10:00:00+00:00")
    fleet.pin(platform, {("billing", "dev"): 2, ("billing", "perf"): 2}, "2026-11-23T09:00Z")
    fleet.pin(platform, {("billing", "staging"): 2}, "2026-11-24T09:00:00+00:00")
    fleet.pin(platform, {("search", "dev"): 2}, "2026-11-25T08:00:00+00:00")
    fleet.pin(platform, {("api-service", "dev"): 2}, "2026-11-26T09:00:00+00:00")
    fleet.pin(platform, {("worker", "dev"): 2}, "2026-11-26T10:00:00+00:00")
    fleet.pin(platform, {("frontend", "dev"): 2}, "2026-11-26T12:00:00+00:00")
    fleet.pin(platform, {("search", "dev"): 1}, "2026-11-26T13:00:00+00:00")
    earlier = soak(
        platform,
        tmp_path,
        "--app",
        "frontend",
        "--env",
        "staging",
        "--now",
        "2026-11-26T14:00:00+00:00",
    )
    assert "opened PR" in earlier.stdout
    (frontend_pr,) = platform.api.pulls(state="open")
    fleet.pin(platform, {("search", "dev"): 2}, "2026-11-27T16:05:00+00:00")
    return {
        "frontend_pr": frontend_pr,
        "tip": gitutil.rev_parse(platform.bare, "main"),
    }


def test_cron_run_promotes_exactly_the_soaked_ones_and_says_why_not_the_others(
    platform: Platform, tmp_path: Path, cron_fleet: dict[str, Any]
) -> None:
    """One run: api-service is pushed to perf and proposed for staging; every other target
    is reported with its reason (blocked by a dependency, waiting with the time left,
    frozen until when and by which window, already proposed, up to date); exactly one
    commit lands on main and exactly one PR is opened."""
    tip = cron_fleet["tip"]
    frontend_pr = cron_fleet["frontend_pr"]
    mark = platform.api.mark()
    run = soak(platform, tmp_path, "--now", FRIDAY)
    print(run.stdout)  # the report's example output
    got = lines_of(run)
    a2 = fleet.build("api-service", 2)[:19]
    s2 = fleet.build("search", 2)[:19]
    assert run.stdout.splitlines()[0] == "soak at 2026-11-27 16:30 UTC"
    assert list(got) == [
        "perf/api-service",
        "perf/worker",
        "perf/billing",
        "perf/search",
        "staging/api-service",
        "staging/worker",
        "staging/billing",
        "staging/frontend",
        "staging/search",
        "production/api-service",
        "production/worker",
        "production/billing",
        "production/frontend",
        "production/search",
    ]
    assert got["perf/api-service"].startswith("pushed ")
    assert got["perf/api-service"].endswith(
        f"dev runs {a2}… since Thu 2026-11-26 09:00 UTC (soak 30m met)"
    )
    assert got["staging/api-service"].startswith("opened PR #2 ")
    assert got["perf/worker"] == (
        "blocked worker needs api-service promoted to perf first "
        "(api-service is being promoted in this run)"
    )
    assert got["staging/worker"] == (
        "blocked worker needs api-service promoted to staging first "
        "(api-service is being promoted in this run)"
    )
    assert got["perf/search"] == (
        f"waiting 5m left (dev has run {s2}… since Fri 2026-11-27 16:05 UTC; perf "
        "needs 30m, met at Fri 2026-11-27 16:35 UTC)"
    )
    assert got["staging/search"].startswith("waiting 35m left (dev has run ")
    assert got["production/billing"] == (
        "frozen until Mon 2026-11-30 08:00 CET (2026-11-30 07:00 UTC) by window 'weekend'"
    )
    assert got["staging/frontend"] == f"already proposed in #{frontend_pr.number}"
    for target in ("perf/billing", "staging/billing", "production/api-service"):
        assert got[target].startswith("up to date runs ")
    assert run.stdout.splitlines()[-1] == (
        "1 pushed, 1 opened PR, 1 already proposed, 6 up to date, 2 waiting, 1 frozen, 2 blocked"
    )

    commits = gitutil.list_commits(platform.bare, "main")
    assert commits[1].sha == tip
    assert commits[0].subject == f"chore(perf): promote api-service to {a2}"
    assert fleet.pinned(platform, "api-service", "perf") == fleet.build("api-service", 2)
    assert fleet.pinned(platform, "worker", "perf") == fleet.build("worker", 1)
    pulls = platform.api.pulls(state="open")
    assert [p.head for p in pulls] == ["promote/staging/frontend", "promote/staging/api-service"]
    assert pulls[0].head_sha == frontend_pr.head_sha
    assert pulls[0].updated_at == frontend_pr.updated_at
    assert fleet.pinned(platform, "api-service", "staging", pulls[1].head) == (
        fleet.build("api-service", 2)
    )
    writes = [c for c in platform.api.calls[mark:] if c.method != "GET" and not _viewer(c)]
    assert [c.operation for c in writes] == ["pulls/create", "issues/add-labels"]


def test_dry_run_json_reports_every_target_and_writes_nothing(
    platform: Platform, tmp_path: Path, cron_fleet: dict[str, Any]
) -> None:
    """--dry-run --json: every target with status, reason and its facts; nothing written
    (main and the PRs as they were)."""
    tip = cron_fleet["tip"]
    targets = soak_json(platform, tmp_path, "--dry-run", "--now", FRIDAY)
    assert {k: t["outcome"] for k, t in targets.items()} == {
        ("perf", "api-service"): "would promote",
        ("perf", "worker"): "blocked",
        ("perf", "billing"): "up to date",
        ("perf", "search"): "waiting",
        ("staging", "api-service"): "would promote",
        ("staging", "worker"): "blocked",
        ("staging", "billing"): "up to date",
        ("staging", "frontend"): "already proposed",
        ("staging", "search"): "waiting",
        ("production", "api-service"): "up to date",
        ("production", "worker"): "up to date",
        ("production", "billing"): "frozen",
        ("production", "frontend"): "up to date",
        ("production", "search"): "up to date",
    }
    search = targets[("staging", "search")]
    assert search["left-seconds"] == 35 * 60
    assert search["ready-at"] == "2026-11-27T17:05:00+00:00"
    assert search["candidate-since"] == "2026-11-27T16:05:00+00:00"
    billing = targets[("production", "billing")]
    assert billing["frozen-until"] == "2026-11-30T07:00:00+00:00"
    assert billing["window"] == "weekend"
    assert targets[("staging", "worker")]["blocked-by"] == ["api-service"]
    assert targets[("staging", "frontend")]["pr-number"] == cron_fleet["frontend_pr"].number
    assert {g["gate"] for g in targets[("perf", "api-service")]["gates"]} == {
        "upstream",
        "soak",
        "freeze",
        "dependencies",
        "pinning",
    }
    assert gitutil.rev_parse(platform.bare, "main") == tip
    assert len(platform.api.pulls(state="all")) == 1


def test_open_pr_for_the_same_digest_is_left_alone_an_older_one_is_updated(
    platform: Platform, tmp_path: Path
) -> None:
    """First run opens the PR; a re-run leaves it alone (no write to GitHub, branch
    untouched); once dev runs a newer build long enough, the same PR is updated (one PR in
    all); after it is merged the target is up to date and history names the PR."""
    fleet.seed(platform, "2026-11-20T10:00:00+00:00")
    fleet.pin(platform, {("frontend", "dev"): 2}, "2026-11-24T09:00:00+00:00")
    args = ("--app", "frontend", "--env", "staging")
    first = lines_of(soak(platform, tmp_path, *args, "--now", "2026-11-24T12:00:00+00:00"))
    assert first["staging/frontend"].startswith("opened PR #1 ")
    (pr,) = platform.api.pulls(state="open")
    mark = platform.api.mark()
    again = lines_of(soak(platform, tmp_path, *args, "--now", "2026-11-24T13:00:00+00:00"))
    assert again["staging/frontend"] == "already proposed in #1"
    # one read: the PR; and who the token is (a GraphQL query: only its own PR counts)
    assert [c.operation for c in platform.api.calls[mark:]] == ["pulls/list", "graphql"]
    assert _viewer(platform.api.calls[-1])
    assert platform.api.pull(1).head_sha == pr.head_sha

    fleet.pin(platform, {("frontend", "dev"): 3}, "2026-11-24T14:00:00+00:00")
    waiting = lines_of(soak(platform, tmp_path, *args, "--now", "2026-11-24T14:20:00+00:00"))
    assert waiting["staging/frontend"].startswith("waiting 40m left")
    assert platform.api.pull(1).head_sha == pr.head_sha
    updated = lines_of(soak(platform, tmp_path, *args, "--now", "2026-11-24T16:00:00+00:00"))
    assert updated["staging/frontend"].startswith("updated PR #1 ")
    assert updated["staging/frontend"].endswith(
        f"; updates #1, which proposes {fleet.build('frontend', 2)[:19]}…"
    )
    assert len(platform.api.pulls(state="all")) == 1
    pull = platform.api.pull(1)
    assert pull.title.endswith(fleet.build("frontend", 3)[:19])
    assert fleet.pinned(platform, "frontend", "staging", pull.head) == fleet.build("frontend", 3)

    platform.api.merge(1, "merge")
    done = lines_of(soak(platform, tmp_path, *args, "--now", "2026-11-24T17:00:00+00:00"))
    assert done["staging/frontend"].startswith("up to date runs ")
    history = cli(
        "history",
        "--config-repo",
        platform.repo,
        "--app",
        "frontend",
        "--env",
        "staging",
        "--json",
        cwd=tmp_path,
        env=platform.env,
    )
    assert json.loads(history.stdout)[0]["pr-number"] == 1


def test_a_digest_that_left_and_came_back_soaks_again(platform: Platform, tmp_path: Path) -> None:
    """dev ran build 2 for days, switched to 3, then back to 2 twenty minutes ago: the
    clock restarts at the return, so perf (30m) waits 10m more and nothing is pushed."""
    fleet.seed(platform, "2026-11-20T10:00:00+00:00")
    fleet.pin(platform, {("billing", "dev"): 2}, "2026-11-21T09:00:00+00:00")
    fleet.pin(platform, {("billing", "dev"): 3}, "2026-11-24T09:00:00+00:00")
    back = fleet.pin(platform, {("billing", "dev"): 2}, "2026-11-25T09:40:00+00:00")
    targets = soak_json(
        platform, tmp_path, "--app", "billing", "--env", "perf", "--now", "2026-11-25T10:00Z"
    )
    perf = targets[("perf", "billing")]
    assert perf["status"] == "waiting"
    assert perf["candidate-since-commit"] == back
    assert perf["left-seconds"] == 10 * 60
    assert gitutil.rev_parse(platform.bare, "main") == back
    later = soak_json(
        platform, tmp_path, "--app", "billing", "--env", "perf", "--now", "2026-11-25T10:10Z"
    )
    assert later[("perf", "billing")]["outcome"] == "pushed"
    assert fleet.pinned(platform, "billing", "perf") == fleet.build("billing", 2)


def test_one_target_failing_does_not_stop_the_others(platform: Platform, tmp_path: Path) -> None:
    """GitHub refuses the first PR: that target is reported failed (exit 2, one line on
    stderr), the next one is still promoted, and a re-run completes the first."""
    fleet.seed(platform, "2026-11-20T10:00:00+00:00")
    fleet.pin(
        platform,
        {("api-service", "dev"): 2, ("billing", "dev"): 2},
        "2026-11-24T09:00:00+00:00",
    )
    platform.api.fail_next(1, operation="pulls/create", status=422)
    args = ("--env", "staging", "--now", "2026-11-24T12:00:00+00:00")
    run = soak(platform, tmp_path, *args, check=2)
    got = lines_of(run)
    assert got["staging/api-service"].startswith("failed GitHub API: opening a pull request")
    assert got["staging/billing"].startswith("opened PR #")
    assert [line.split(":")[0] for line in run.stderr.splitlines()] == ["error"]
    assert "staging/api-service" in run.stderr
    again = lines_of(soak(platform, tmp_path, *args))
    assert again["staging/api-service"].startswith("opened PR #")
    assert again["staging/billing"].startswith("already proposed")
    assert len(platform.api.pulls(state="open")) == 2


def test_nothing_eligible_says_so(tmp_path: Path) -> None:
    """A config without auto envs: the run says there is nothing to do, exit 0."""
    repo = gitutil.init_repo(tmp_path / "config")
    gitutil.commit_files(
        repo,
        {
            "promotion.yaml": "version: 1\nenvironments:\n  - {name: dev, path: 'a/{app}'}\n"
            "apps:\n  web: {image: ghcr.io/o/web}\n"
        },
    )
    run = cli("soak", "--repo", str(repo), "--now", FRIDAY, cwd=tmp_path)
    assert run.stdout.splitlines()[1] == (
        "no environment has auto: true with from: for any app; nothing to do"
    )


def test_one_history_pass_for_every_app_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planning reads git history ONCE for all 14 targets (one pass over the history,
    one blob batch), not once per app and env; in Actions the job summary gets one row
    per target."""
    from gitops_promote import cli as entry
    from gitops_promote.adapters.git import Repo

    repo = gitutil.init_repo(tmp_path / "config")
    tree: dict[str, gitutil.FileContent] = {"promotion.yaml": fleet.PROMOTION_YAML}
    for app in fleet.APPS:
        for env in fleet.envs_of(app):
            tree[fleet.path(app, env)] = fleet.overlay(app, fleet.build(app, 1))
    gitutil.commit_files(repo, tree, date="2026-11-20T10:00:00+00:00")
    for n, app in enumerate(fleet.APPS, start=2):
        gitutil.commit_files(
            repo,
            {fleet.path(app, "dev"): fleet.overlay(app, fleet.build(app, n))},
            date=f"2026-11-2{n}T10:00:00+00:00",
        )
    calls = {"path_history": 0, "log_paths": 0, "read_objects": 0}
    for name in calls:
        original = getattr(Repo, name)

        def counting(self: Repo, *a: Any, _f: Any = original, _n: str = name, **k: Any) -> Any:
            calls[_n] += 1
            return _f(self, *a, **k)

        monkeypatch.setattr(Repo, name, counting)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    outputs.touch()  # the runner creates both files before the step
    summary.touch()
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert entry.main(["soak", "--repo", str(repo), "--dry-run", "--json", "--now", FRIDAY]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["targets"]) == 14
    assert calls == {"path_history": 1, "log_paths": 0, "read_objects": 1}
    rows = [line for line in summary.read_text().splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 14
    assert rows[2].startswith("| perf | api-service | would promote | dev runs sha256:")
    written = outputs.read_text().splitlines()
    assert written[written.index(next(w for w in written if w.startswith("promoted<<"))) + 1] == "0"


def test_an_overlay_broken_at_head_blocks_only_its_targets(
    platform: Platform, tmp_path: Path
) -> None:
    """A person broke billing's dev overlay: perf/billing and staging/billing are blocked
    with the parse error (not promoted from an older version in history); api-service,
    soaked, still goes; exit 0."""
    fleet.seed(platform, "2026-11-20T10:00:00+00:00")
    fleet.pin(platform, {("api-service", "dev"): 2}, "2026-11-24T09:00:00+00:00")
    gitutil.commit_tree_to_bare(
        platform.bare,
        {fleet.path("billing", "dev"): "images:\n  - name: [unclosed\n"},
        message="oops",
        date="2026-11-24T10:00:00+00:00",
    )
    got = lines_of(soak(platform, tmp_path, "--env", "perf", "--now", "2026-11-24T12:00Z"))
    assert got["perf/billing"].startswith("blocked apps/billing/dev/kustomization.yaml")
    assert got["perf/api-service"].startswith("pushed ")


def _viewer(call: ApiCall) -> bool:
    """The GraphQL query that asks who the token is (a read, sent as a POST)."""
    return call.operation == "graphql" and "viewer" in str((call.body or {}).get("query"))
