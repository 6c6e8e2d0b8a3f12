"""``gitops-promote history`` through the CLI over real git histories: every pin change of
an app in an env, with its commit, date, author, from -> to, and the pull request it came
through (merge commits and squashes); ``status`` reads the same facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.facts.events import pr_number
from support import gitutil
from support.inprocess import cli
from support.repos import Platform, digest_of

PROD = "apps/api-service/overlays/production/kustomization.yaml"
NOW = "2026-11-25T10:00:00+00:00"  # a Wednesday: production is not frozen


def _promote_prod(platform: Platform, cwd: Path, digest: str) -> int:
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
        "--digest",
        digest,
        "--defer-gates",  # staging does not run these digests: the PR's check would hold it
        "--now",
        NOW,
        cwd=cwd,
        env=platform.env,
    )
    return int(json.loads(run.stdout)["pr-number"])


def _history(platform: Platform, cwd: Path, *args: str) -> list[dict[str, Any]]:
    run = cli(
        "history",
        "--config-repo",
        platform.repo,
        "--app",
        "api-service",
        *args,
        "--json",
        cwd=cwd,
        env=platform.env,
    )
    data = json.loads(run.stdout)
    assert isinstance(data, list)
    return data


@pytest.fixture
def merged_history(platform: Platform, tmp_path: Path) -> dict[str, str]:
    """production: seed (2026-11-20), PR merged with a merge commit (11-25 12:00), PR
    squashed (11-26 09:30), then a human's direct edit (11-27 08:00)."""
    first, second, third = digest_of("prod-1"), digest_of("prod-2"), digest_of("prod-3")
    pr1 = _promote_prod(platform, tmp_path, first)
    merge1 = platform.api.merge(pr1, "merge", when=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    pr2 = _promote_prod(platform, tmp_path, second)
    merge2 = platform.api.merge(pr2, "squash", when=datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    text = gitutil.read_file(platform.bare, "main", PROD).decode()
    human = platform.git.seed(
        platform.repo,
        {PROD: text.replace(second, third)},
        message="hotfix: pin prod-3 by hand",
        date="2026-11-27T08:00:00+00:00",
        author=("Jane Oncall", "jane@example.test"),
    )
    return {
        "first": first,
        "second": second,
        "third": third,
        "pr1": str(pr1),
        "pr2": str(pr2),
        "merge1": merge1,
        "merge2": merge2,
        "human": human,
    }


def test_history_lists_every_pin_change_with_its_pr(
    platform: Platform, tmp_path: Path, merged_history: dict[str, str]
) -> None:
    """Newest first: the human's commit (no PR), the squash (#2), the merge (#1), the seed;
    each with the date it landed on main, its author, and from -> to chaining up."""
    h = merged_history
    events = _history(platform, tmp_path, "--env", "production")
    assert [e["commit"] for e in events[:3]] == [h["human"], h["merge2"], h["merge1"]]
    assert [e["pr-number"] for e in events] == [None, int(h["pr2"]), int(h["pr1"]), None]
    assert [e["to-digest"] for e in events[:3]] == [h["third"], h["second"], h["first"]]
    assert events[0]["from-digest"] == h["second"]
    assert events[1]["from-digest"] == h["first"]
    assert events[2]["from-digest"] == events[3]["to-digest"]
    assert events[3]["from"] is None
    assert events[0]["author"] == "Jane Oncall <jane@example.test>"
    assert events[0]["date"] == "2026-11-27T08:00:00+00:00"
    assert events[1]["date"] == "2026-11-26T09:30:00+00:00"
    assert events[2]["date"] == "2026-11-25T12:00:00+00:00"
    assert events[1]["pr-url"] == f"{platform.git.base_url}/org/config/pull/{h['pr2']}"
    assert {e["env"] for e in events} == {"production"}


def test_history_text_and_status_read_the_same_facts(
    platform: Platform, tmp_path: Path, merged_history: dict[str, str]
) -> None:
    """The table names the PRs; status's 'since' for production is the newest change's
    date and commit (both come from facts.timelines)."""
    h = merged_history
    run = cli(
        "history",
        "--config-repo",
        platform.repo,
        "--app",
        "api-service",
        "--env",
        "production",
        cwd=tmp_path,
        env=platform.env,
    )
    lines = run.stdout.splitlines()
    assert lines[0] == "api-service in production: 4 pin changes, newest first"
    assert lines[1].split() == ["DATE", "ENV", "COMMIT", "AUTHOR", "PR", "FROM", "TO"]
    assert f"#{h['pr2']}" in lines[3]
    assert f"#{h['pr1']}" in lines[4]
    assert "Jane Oncall" in lines[2]
    assert lines[2].split()[-3:] == [h["second"][:19], "->", h["third"][:19]]
    status = cli("status", "--config-repo", platform.repo, "--json", cwd=tmp_path, env=platform.env)
    rows = {(r["app"], r["env"]): r for r in json.loads(status.stdout)}
    prod = rows[("api-service", "production")]
    assert prod["since-commit"] == h["human"]
    assert prod["since"] == "2026-11-27T08:00:00+00:00"
    assert prod["digest"] == h["third"]


def test_history_of_every_env_and_limit(
    platform: Platform, tmp_path: Path, merged_history: dict[str, str]
) -> None:
    """Without --env every env of the app is listed (newest first); --limit keeps the N
    newest."""
    events = _history(platform, tmp_path)
    assert {e["env"] for e in events} == {"dev", "staging", "production"}
    dates = [e["date"] for e in events]
    assert dates == sorted(dates, reverse=True)
    assert [e["commit"] for e in _history(platform, tmp_path, "--limit", "2")] == [
        merged_history["human"],
        merged_history["merge2"],
    ]


def test_a_digest_that_comes_back_is_a_new_change(tmp_path: Path) -> None:
    """A -> B -> A is three changes (the last from B back to A), not one; a commit that
    re-writes the same pin (a comment edit) is no change at all."""
    repo = gitutil.init_repo(tmp_path / "config")
    yaml = (
        "version: 1\nenvironments:\n  - {name: dev, path: 'apps/{app}/dev'}\n"
        "apps:\n  web: {image: ghcr.io/o/web}\n"
    )

    def overlay(digest: str, comment: str = "") -> str:
        return f"resources: []\nimages:\n  - name: ghcr.io/o/web\n    digest: {digest}{comment}\n"

    a, b = digest_of("a"), digest_of("b")
    kust = "apps/web/dev/kustomization.yaml"
    gitutil.commit_files(
        repo,
        {"promotion.yaml": yaml, kust: overlay(a)},
        message="a",
        date="2026-01-01T00:00:00+00:00",
    )
    gitutil.commit_files(repo, {kust: overlay(b)}, message="b", date="2026-01-02T00:00:00+00:00")
    gitutil.commit_files(
        repo, {kust: overlay(b, " # ok")}, message="comment", date="2026-01-03T00:00:00+00:00"
    )
    back = gitutil.commit_files(
        repo, {kust: overlay(a)}, message="a again", date="2026-01-04T00:00:00+00:00"
    )
    run = cli("history", "--repo", str(repo), "--app", "web", "--json", cwd=tmp_path)
    events = json.loads(run.stdout)
    assert [(e["from-digest"], e["to-digest"]) for e in events] == [(b, a), (a, b), (None, a)]
    assert events[0]["commit"] == back
    assert events[0]["subject"] == "a again"


def test_unknown_app_or_env_is_one_clear_line(tmp_path: Path) -> None:
    """An app or env that promotion.yaml does not declare: exit 2, one line naming it and
    listing the known ones."""
    repo = gitutil.init_repo(tmp_path / "config")
    gitutil.commit_files(
        repo,
        {
            "promotion.yaml": "version: 1\nenvironments:\n  - {name: dev, path: 'a/{app}'}\n"
            "apps:\n  web: {image: ghcr.io/o/web}\n"
        },
    )
    run = cli("history", "--repo", str(repo), "--app", "nope", cwd=tmp_path, check=2)
    assert run.stderr.splitlines() == [
        "error: app 'nope' is not in promotion.yaml (known apps: web)"
    ]
    run = cli(
        "history", "--repo", str(repo), "--app", "web", "--env", "prod", cwd=tmp_path, check=2
    )
    assert "environment 'prod' is not in promotion.yaml" in run.stderr
    assert "Traceback" not in run.output


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Merge pull request #12 from org/promote/production/api-service", 12),
        ("Promote api-service to production: sha256:abc (#7)", 7),
        ("chore(dev): promote api-service to sha256:abc", None),
        ("fix #12 in the overlay", None),
        ("Merge branch 'main' into promote/production/api (#3) wip", None),
    ],
)
def test_pr_number_from_merge_and_squash_subjects(subject: str, number: int | None) -> None:
    """The PR a commit came through: GitHub's merge subject or a squash's trailing (#N)."""
    assert pr_number(subject) == number
