"""End to end through the CLI, against the OpenAPI-held GitHub fake and a real git remote:
the GitHub API calls a promotion pull request costs, one by one, for each way a run can
find it: a new PR, an update, a re-run with nothing to do, a re-run after an update that
stopped half-way, a PR closed or merged meanwhile, and a create whose answer was lost.
Every case ends with one open PR with the right title, body, labels and reviewers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from github import Auth, Github

from support import gitutil
from support.github_fake import PullView
from support.inprocess import cli
from support.repos import Platform, digest_of

BRANCH = "promote/production/api-service"
STAGING = "apps/api-service/overlays/staging/kustomization.yaml"
PROD = "apps/api-service/overlays/production/kustomization.yaml"
NOW = "2026-11-25T10:00:00+00:00"  # a Wednesday: no freeze

# The calls, in order, as "METHOD operationId"
CREATE = ["POST pulls/create", "POST issues/add-labels", "POST pulls/request-reviewers"]
UPDATE = ["GET pulls/list", "POST graphql", "PATCH pulls/update"]  # find, who am I, edit
UNCHANGED = ["GET pulls/list", "POST graphql"]  # find, who am I


def _in_staging(platform: Platform, digest: str, date: str) -> None:
    """``digest`` lands in staging's overlay on main (a merged promotion on ``date``)."""
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


def _promote(
    platform: Platform, cwd: Path, *, check: int | None = 0
) -> tuple[int, dict[str, object], list[str]]:
    """One production promotion: exit code, its --json output, the API calls it made."""
    mark = platform.api.mark()
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--json",
        "--app",
        "api-service",
        "--env",
        "production",
        "--now",
        NOW,
        cwd=cwd,
        env=platform.env,
        check=check,
    )
    assert platform.api.token not in run.output
    assert "Traceback" not in run.output
    out = dict(json.loads(run.stdout)) if run.returncode == 0 else {"stderr": run.stderr}
    calls = [f"{c.method} {c.operation}" for c in platform.api.calls[mark:]]
    return run.returncode, out, calls


def _the_open_pr(platform: Platform, digest: str) -> PullView:
    """The one open PR, proposing ``digest`` with the tool's title, labels and reviewers,
    its branch pinning ``digest``; no other PR open."""
    pulls = platform.api.pulls(state="open")
    assert len(pulls) == 1, pulls
    pr = pulls[0]
    assert pr.head == BRANCH
    assert pr.title == f"Promote api-service to production: {digest[:19]}"
    assert digest in (pr.body or "")
    assert "gitops-promote" in (pr.body or "")  # the hidden marker
    assert sorted(pr.labels) == ["production", "promotion"]
    assert pr.requested_teams == ("oncall-approvers",)
    assert f"digest: {digest}".encode() in gitutil.read_file(platform.bare, BRANCH, PROD)
    assert pr.head_sha == gitutil.rev_parse(platform.bare, BRANCH)
    return pr


def _first_pr(platform: Platform, cwd: Path) -> PullView:
    first = digest_of("calls-1")
    _in_staging(platform, first, "2026-11-21T09:00:00+00:00")
    code, out, calls = _promote(platform, cwd)
    assert (code, out["operation"], calls) == (0, "pr-created", CREATE)
    return _the_open_pr(platform, first)


def test_create_update_and_rerun_cost_what_the_budget_says(
    platform: Platform, tmp_path: Path
) -> None:
    """A new PR: 3 calls (create, labels, reviewers), no lookup (the branch did not
    exist). An update: 3 (find, who am I, edit); labels and reviewers it already has are not
    sent again. The same run again: 2 (find, who am I), nothing written."""
    pr = _first_pr(platform, tmp_path)
    second = digest_of("calls-2")
    _in_staging(platform, second, "2026-11-23T09:00:00+00:00")
    code, out, calls = _promote(platform, tmp_path)
    assert (code, out["operation"], out["pr-number"], calls) == (0, "pr-updated", pr.number, UPDATE)
    updated = _the_open_pr(platform, second)
    assert updated.number == pr.number

    code, out, calls = _promote(platform, tmp_path)
    assert (code, out["operation"], calls) == (0, "unchanged", UNCHANGED)
    assert _the_open_pr(platform, second) == updated
    assert len(platform.api.pulls(state="all")) == 1


def test_rerun_after_an_update_that_stopped_after_the_push(
    platform: Platform, tmp_path: Path
) -> None:
    """The update pushed the branch, then GitHub refused the edit (the run stopped: exit 2,
    one error line). The PR shows the old digest on the new commit; the re-run finishes the
    edit in the update's 3 calls and leaves one PR, as an uninterrupted update would."""
    pr = _first_pr(platform, tmp_path)
    second = digest_of("calls-2")
    _in_staging(platform, second, "2026-11-23T09:00:00+00:00")
    platform.api.fail_next(1, operation="pulls/update", status=403)
    code, out, calls = _promote(platform, tmp_path, check=None)
    assert code == 2, out
    assert calls == UPDATE
    assert f"digest: {second}".encode() in gitutil.read_file(platform.bare, BRANCH, PROD)
    assert platform.api.pull(pr.number).title == pr.title  # not edited

    code, out, calls = _promote(platform, tmp_path)
    assert (code, out["operation"], out["pr-number"], calls) == (0, "pr-updated", pr.number, UPDATE)
    assert _the_open_pr(platform, second).number == pr.number
    assert len(platform.api.pulls(state="all")) == 1


def test_rerun_after_an_edit_whose_answer_was_lost(platform: Platform, tmp_path: Path) -> None:
    """GitHub applied the edit but its answer was lost (the run stopped). The re-run finds
    the PR already proposing the digest: 2 calls, nothing written, "unchanged"."""
    pr = _first_pr(platform, tmp_path)
    second = digest_of("calls-2")
    _in_staging(platform, second, "2026-11-23T09:00:00+00:00")
    platform.api.fail_next(1, operation="pulls/update", status=403, apply=True)
    code, _, calls = _promote(platform, tmp_path, check=None)
    assert (code, calls) == (2, UPDATE)
    tip = gitutil.rev_parse(platform.bare, BRANCH)

    code, out, calls = _promote(platform, tmp_path)
    assert (code, out["operation"], out["pr-number"], calls) == (
        0,
        "unchanged",
        pr.number,
        UNCHANGED,
    )
    assert _the_open_pr(platform, second).number == pr.number
    assert gitutil.rev_parse(platform.bare, BRANCH) == tip  # not pushed again


@pytest.mark.parametrize("how", ["closed", "merged"])
def test_pr_closed_or_merged_meanwhile_gets_a_new_pr(
    platform: Platform, tmp_path: Path, how: str
) -> None:
    """Someone closed (or merged) the tool's PR and its branch stayed. The next promotion
    finds no open PR (1 call), pushes over the stale branch and opens a new PR (3 calls):
    4 in all. The old PR stays as it was left; one PR is open."""
    pr = _first_pr(platform, tmp_path)
    if how == "closed":
        person = Github(base_url=platform.api.api_url, auth=Auth.Token(platform.api.user_token))
        person.get_repo(platform.repo).get_pull(pr.number).edit(state="closed")
        person.close()
    else:
        platform.api.merge(pr.number, when=datetime(2026, 11, 22, 9, tzinfo=UTC))
    old = platform.api.pull(pr.number)
    assert old.state == "closed"
    second = digest_of("calls-2")
    _in_staging(platform, second, "2026-11-23T09:00:00+00:00")
    code, out, calls = _promote(platform, tmp_path)
    assert (code, out["operation"], calls) == (0, "pr-created", ["GET pulls/list", *CREATE])
    new = _the_open_pr(platform, second)
    assert new.number != pr.number
    assert out["pr-number"] == new.number
    assert platform.api.pull(pr.number) == old
    assert len(platform.api.pulls(state="all")) == 2


def test_create_whose_answer_was_lost_adopts_the_pr(platform: Platform, tmp_path: Path) -> None:
    """GitHub opened the PR but its answer was lost; the retry is told one "already exists"
    (422). The run adopts that PR: found (1 call), proved the token's own (1), its title and
    body already right (no edit), then dressed (labels, reviewers): one PR."""
    first = digest_of("calls-1")
    _in_staging(platform, first, "2026-11-21T09:00:00+00:00")
    platform.api.fail_next(1, operation="pulls/create", status=502, apply=True)
    code, out, calls = _promote(platform, tmp_path)
    assert (code, out["operation"]) == (0, "pr-created")
    assert calls == [
        "POST pulls/create",  # applied, answered 502
        "POST pulls/create",  # the retry: 422 already exists
        "GET pulls/list",
        "POST graphql",
        "POST issues/add-labels",
        "POST pulls/request-reviewers",
    ]
    assert out["pr-number"] == _the_open_pr(platform, first).number
    assert len(platform.api.pulls(state="all")) == 1
