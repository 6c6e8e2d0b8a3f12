"""End to end through the CLI: gated environments change only through one pull request,
opened, then updated in place, then left alone; counted against the GitHub API budget."""

from __future__ import annotations

import json
from pathlib import Path

from support import gitutil
from support.repos import Platform, cli, digest_of

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


def test_production_pr_created_updated_then_left_alone(platform: Platform, tmp_path: Path) -> None:
    """First run opens one PR (3 API calls after the push), a second run with a new digest
    updates it (2 calls), a third with the same digest does nothing; main never moves."""
    main_before = gitutil.rev_parse(platform.bare, "main")
    first = digest_of("release-1")
    mark = platform.api.mark()
    out = promote(
        platform,
        tmp_path,
        "--app",
        "api-service",
        "--env",
        "production",
        "--digest",
        first,
        "--now",
        "2026-11-25T10:00:00+00:00",
    )
    assert out["operation"] == "pr-created"
    assert platform.api.count(since=mark) <= 3
    pulls = platform.api.pulls(state="open")
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr.head == "promote/production/api-service"
    assert pr.title == f"Promote api-service to production: {first[:19]}"
    assert set(pr.labels) == {"promotion", "production"}
    assert pr.requested_teams == ("oncall-approvers",)
    assert "gitops-promote" in (pr.body or "")
    assert first in (pr.body or "")
    assert out["pr-number"] == pr.number
    branch_file = gitutil.read_file(platform.bare, "promote/production/api-service", PROD)
    assert f"digest: {first}".encode() in branch_file

    second = digest_of("release-2")
    mark = platform.api.mark()
    out = promote(
        platform,
        tmp_path,
        "--app",
        "api-service",
        "--env",
        "production",
        "--digest",
        second,
        "--now",
        "2026-11-25T10:00:00+00:00",
    )
    assert out["operation"] == "pr-updated"
    assert platform.api.count(since=mark) <= 2
    assert len(platform.api.pulls(state="all")) == 1
    assert platform.api.pull(pr.number).title.endswith(second[:19])

    mark = platform.api.mark()
    out = promote(
        platform,
        tmp_path,
        "--app",
        "api-service",
        "--env",
        "production",
        "--digest",
        second,
        "--now",
        "2026-11-25T10:00:00+00:00",
    )
    assert out["operation"] == "unchanged"
    assert platform.api.count(since=mark) <= 1
    assert len(platform.api.pulls(state="all")) == 1
    assert gitutil.rev_parse(platform.bare, "main") == main_before


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
