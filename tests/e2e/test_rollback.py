"""``promote --rollback`` end to end: the env's previous digest (from git history) goes
back through the env's normal path: a pull request marked as a rollback for a gated env,
a commit marked as one for a push env."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops_promote.report.promotion import parse_marker
from support import gitutil
from support.inprocess import cli
from support.repos import Platform, Run, digest_of

DEV = "apps/api-service/overlays/dev/kustomization.yaml"
PROD = "apps/api-service/overlays/production/kustomization.yaml"
SEEDED = "sha256:f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a"
WEDNESDAY = "2026-11-25T10:00:00+00:00"


def promote(platform: Platform, cwd: Path, *args: str, check: int | None = 0) -> Run:
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--app",
        "api-service",
        "--skip-registry-check",
        *args,
        cwd=cwd,
        env=platform.env,
        check=check,
    )
    assert platform.api.token not in run.output
    assert "Traceback" not in run.output
    return run


def as_json(run: Run) -> dict[str, Any]:
    return dict(json.loads(run.stdout))


def hotfix_production(platform: Platform, digest: str) -> str:
    """A person pins ``digest`` in production on Tuesday (the bad release)."""
    text = gitutil.read_file(platform.bare, "main", PROD).decode()
    return gitutil.commit_tree_to_bare(
        platform.bare,
        {PROD: text.replace(SEEDED, digest).replace("newTag: v1.4.0", "newTag: v1.5.0")},
        message="Promote api-service to production: v1.5.0 (#41)",
        date="2026-11-24T09:00:00+00:00",
    )


def test_gated_rollback_opens_a_pull_request_marked_as_a_rollback(
    platform: Platform, tmp_path: Path
) -> None:
    """production went v1.4.0 -> v1.5.0; --rollback proposes v1.4.0@its digest again in a
    PR whose title, body and marker say rollback; main does not move; a re-run changes
    nothing; once merged, history shows the rollback with its PR."""
    bad = digest_of("v1.5.0")
    hotfix_production(platform, bad)
    before = gitutil.rev_parse(platform.bare, "main")
    out = as_json(
        promote(
            platform, tmp_path, "--env", "production", "--rollback", "--now", WEDNESDAY, "--json"
        )
    )
    assert out["operation"] == "pr-created"
    assert out["rollback"] is True
    assert out["digest"] == SEEDED
    assert out["previous-digest"] == bad
    assert out["changes"][0]["source"] == "rollback"
    (pull,) = platform.api.pulls(state="open")
    assert pull.title == f"Rollback: Promote api-service to production: {SEEDED[:19]}"
    assert (pull.body or "").startswith("## Rollback to `production`")
    marker = parse_marker(pull.body)
    assert marker is not None
    assert marker["rollback"] is True
    text = gitutil.read_file(platform.bare, pull.head, PROD).decode()
    assert f"newTag: v1.4.0 # set by gitops-promote\n    digest: {SEEDED}\n" in text
    head = gitutil.list_commits(platform.bare, pull.head)[0]
    assert head.subject.endswith("(rollback)")
    assert gitutil.rev_parse(platform.bare, "main") == before

    again = as_json(
        promote(
            platform, tmp_path, "--env", "production", "--rollback", "--now", WEDNESDAY, "--json"
        )
    )
    assert again["operation"] == "unchanged"
    assert again["pr-number"] == pull.number
    assert len(platform.api.pulls(state="all")) == 1

    platform.api.merge(pull.number, "squash")
    history = cli(
        "history",
        "--config-repo",
        platform.repo,
        "--app",
        "api-service",
        "--env",
        "production",
        "--json",
        cwd=tmp_path,
        env=platform.env,
    )
    newest = json.loads(history.stdout)[0]
    assert (newest["pr-number"], newest["from-digest"], newest["to-digest"]) == (
        pull.number,
        bad,
        SEEDED,
    )


def test_push_env_rollback_is_a_commit_marked_as_one(platform: Platform, tmp_path: Path) -> None:
    """dev (mode: push) got a new build; --rollback pushes the previous digest back in one
    commit whose subject and body say rollback and list from -> to."""
    new = digest_of("build-77")
    promote(platform, tmp_path, "--env", "dev", "--digest", new, "--now", WEDNESDAY)
    out = as_json(
        promote(
            platform,
            tmp_path,
            "--env",
            "dev",
            "--rollback",
            "--now",
            "2026-11-25T10:30:00+00:00",
            "--json",
        )
    )
    assert out["operation"] == "pushed"
    assert out["rollback"] is True
    assert out["changes"][0]["to-digest"] == SEEDED
    commit = gitutil.list_commits(platform.bare, "main")[0]
    assert commit.subject == f"chore(dev): promote api-service to {SEEDED[:19]} (rollback)"
    assert f"- api-service: {new[:19]}… -> {SEEDED[:19]}…" in commit.body
    assert f"digest: {SEEDED}" in gitutil.read_file(platform.bare, "main", DEV).decode()
    assert platform.api.pulls(state="all") == []


def test_rollback_with_no_earlier_pin_is_refused(platform: Platform, tmp_path: Path) -> None:
    """production has only ever run one digest: nothing to roll back to (exit 2, the way
    out named), nothing written."""
    before = gitutil.rev_parse(platform.bare, "main")
    run = promote(
        platform, tmp_path, "--env", "production", "--rollback", "--now", WEDNESDAY, check=2
    )
    assert run.stderr.splitlines() == [
        "error: api-service has no earlier pin in production to roll back to "
        "(pass the digest to restore with --digest)"
    ]
    assert gitutil.rev_parse(platform.bare, "main") == before
    assert platform.api.pulls(state="all") == []


def test_rollback_during_a_freeze_is_refused_with_the_window(
    platform: Platform, tmp_path: Path
) -> None:
    """Friday evening in Berlin, production is frozen: the rollback PR is not opened (exit
    1), the message names the window and when it ends."""
    hotfix_production(platform, digest_of("v1.5.0"))
    run = promote(
        platform,
        tmp_path,
        "--env",
        "production",
        "--rollback",
        "--now",
        "2026-11-27T17:00:00+00:00",
        check=1,
    )
    assert "frozen by window 'weekend'" in run.stderr
    assert "Mon 2026-11-30 08:00 CET" in run.stderr
    assert platform.api.pulls(state="all") == []
