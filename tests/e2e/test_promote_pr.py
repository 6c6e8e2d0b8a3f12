"""End to end through the CLI: gated environments change only through one pull request,
opened, then updated in place, then left alone; counted against the GitHub API budget."""

from __future__ import annotations

import json
from pathlib import Path

from support import gitutil
from support.inprocess import cli
from support.repos import Platform, digest_of

PROD = "apps/api-service/overlays/production/kustomization.yaml"


def promote(platform: Platform, cwd: Path, *args: str, check: int | None = 0) -> dict[str, object]:
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--json",
        *args,
        cwd=cwd,
        env=platform.env,
        check=check,
    )
    assert platform.api.token not in run.output
    return dict(json.loads(run.stdout)) if run.returncode == 0 else {"stderr": run.stderr}


STAGING = "apps/api-service/overlays/staging/kustomization.yaml"
NOW = "2026-11-25T10:00:00+00:00"


def run_in_staging(platform: Platform, digest: str, date: str) -> None:
    """Land ``digest`` in staging's overlay on main, as a merged promotion on ``date``."""
    text = gitutil.read_file(platform.bare, "main", STAGING).decode()
    lines = [
        f"    digest: {digest}" if line.strip().startswith("digest:") else line
        for line in text.splitlines()
    ]
    gitutil.commit_tree_to_bare(
        platform.bare,
        {STAGING: "\n".join(lines) + "\n"},
        message=f"chore(staging): promote api-service to {digest[:19]} (#90)",
        date=date,
    )


def test_production_pr_created_updated_then_left_alone(platform: Platform, tmp_path: Path) -> None:
    """Production gets what staging runs: the first run opens one PR (3 API calls after the
    push), a run after staging moved on updates it (3 calls: find, who am I, edit), a third
    run does nothing (2 calls: find, who am I); main never moves."""
    first = digest_of("release-1")
    run_in_staging(platform, first, "2026-11-21T09:00:00+00:00")
    main_before = gitutil.rev_parse(platform.bare, "main")
    mark = platform.api.mark()
    out = promote(platform, tmp_path, "--app", "api-service", "--env", "production", "--now", NOW)
    assert out["operation"] == "pr-created"
    assert platform.api.count(since=mark) <= 3
    pulls = platform.api.pulls(state="open")
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr.head == "promote/production/api-service"
    assert pr.title == f"Promote api-service to production: {first[:19]}"
    assert set(pr.labels) == {"promotion", "production"}
    assert pr.requested_teams == ("oncall-approvers",)
    assert "`staging` since 2026-11-21 09:00 UTC" in (pr.body or "")
    assert first in (pr.body or "")
    assert out["pr-number"] == pr.number
    branch_file = gitutil.read_file(platform.bare, "promote/production/api-service", PROD)
    assert f"digest: {first}".encode() in branch_file

    second = digest_of("release-2")
    run_in_staging(platform, second, "2026-11-23T09:00:00+00:00")
    main_before = gitutil.rev_parse(platform.bare, "main")
    mark = platform.api.mark()
    out = promote(platform, tmp_path, "--app", "api-service", "--env", "production", "--now", NOW)
    assert out["operation"] == "pr-updated"
    assert platform.api.count(since=mark) <= 3
    assert len(platform.api.pulls(state="all")) == 1
    assert platform.api.pull(pr.number).title.endswith(second[:19])

    mark = platform.api.mark()
    out = promote(platform, tmp_path, "--app", "api-service", "--env", "production", "--now", NOW)
    assert out["operation"] == "unchanged"
    assert platform.api.count(since=mark) <= 2
    assert len(platform.api.pulls(state="all")) == 1
    assert gitutil.rev_parse(platform.bare, "main") == main_before


def test_production_refuses_what_staging_does_not_run(platform: Platform, tmp_path: Path) -> None:
    """A digest staging never ran is refused before anything is written: exit 1, both
    reasons on their own line, no branch, no PR."""
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--app",
        "api-service",
        "--env",
        "production",
        "--digest",
        digest_of("untested"),
        "--now",
        NOW,
        cwd=tmp_path,
        env=platform.env,
        check=1,
    )
    assert "staging runs sha256:" in run.stderr
    assert "does not run in staging yet" in run.stderr
    assert platform.api.pulls(state="all") == []
    assert not gitutil.ref_exists(platform.bare, "refs/heads/promote/production/api-service")


def test_production_waits_for_soak(platform: Platform, tmp_path: Path) -> None:
    """A digest that has run in staging for 2 h of the 24 h soak is refused, saying how long
    is left; a day later the same command opens the PR."""
    fresh = digest_of("fresh")
    run_in_staging(platform, fresh, "2026-11-25T08:00:00+00:00")
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--app",
        "api-service",
        "--env",
        "production",
        "--now",
        NOW,
        cwd=tmp_path,
        env=platform.env,
        check=1,
    )
    assert "left" in run.stderr
    assert platform.api.pulls(state="all") == []
    out = promote(
        platform,
        tmp_path,
        "--app",
        "api-service",
        "--env",
        "production",
        "--now",
        "2026-11-26T09:00:00+00:00",
    )
    assert out["operation"] == "pr-created"


def test_gated_env_never_pushed_to_base_even_with_no_push(
    platform: Platform, tmp_path: Path
) -> None:
    """--no-push on a gated env is refused (exit 2); nothing reaches main or GitHub."""
    before = gitutil.rev_parse(platform.bare, "main")
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--app",
        "api-service",
        "--env",
        "staging",
        "--digest",
        digest_of("z"),
        "--no-push",
        cwd=tmp_path,
        env=platform.env,
        check=2,
    )
    assert "pull request" in run.stderr
    assert gitutil.rev_parse(platform.bare, "main") == before
    assert platform.api.pulls(state="all") == []


def test_staging_promotes_what_dev_runs_and_says_since_when(
    platform: Platform, tmp_path: Path
) -> None:
    """Without a digest, staging gets exactly dev's pin; the PR body names dev and the date."""
    dev = gitutil.read_file(
        platform.bare, "main", "apps/api-service/overlays/dev/kustomization.yaml"
    )
    out = promote(
        platform,
        tmp_path,
        "--app",
        "api-service",
        "--env",
        "staging",
        "--now",
        "2026-11-25T10:00:00+00:00",
    )
    assert out["operation"] == "pr-created"
    changes = out["changes"]
    assert isinstance(changes, list)
    assert changes[0]["to-digest"].encode() in dev
    assert changes[0]["upstream"] == "dev"
    body = platform.api.pulls(state="open")[0].body or ""
    assert "`dev` since 2026-11-20 10:00 UTC" in body


def test_defer_gates_opens_the_pr_with_warnings_only_for_gated_envs(
    platform: Platform, tmp_path: Path
) -> None:
    """--defer-gates opens the production PR despite failing upstream/soak gates (reported
    as warnings); on a push env it is refused, since no check comes after a push."""
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--app",
        "api-service",
        "--env",
        "production",
        "--digest",
        digest_of("hotfix"),
        "--now",
        NOW,
        "--defer-gates",
        cwd=tmp_path,
        env=platform.env,
    )
    assert "warning: production would run" in run.stdout
    assert len(platform.api.pulls(state="open")) == 1
    refused = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("hotfix"),
        "--defer-gates",
        cwd=tmp_path,
        env=platform.env,
        check=2,
    )
    assert "no check comes after the push" in refused.stderr
