"""The promotion plan as one PR comment, updated in place, through the GitHub fake.

``promote`` opens the production PR (the soak is not met yet: it warns, the PR waits);
``check --comment`` on that PR's pull_request event clones the config repo over HTTP,
judges the PR and writes one comment (found again by its hidden marker on every run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_promote.apply import overlays
from gitops_promote.config.load import parse_config
from gitops_promote.facts import pins
from gitops_promote.images import ImageRef
from gitops_promote.report.check import COMMENT_MARKER
from support import gitutil
from support.inprocess import cli
from support.repos import Platform, digest_of
from support.tools import kustomize_argv

NEW = digest_of("api-service 1.5.0")
API = "ghcr.io/myorg/api-service"


def pinned(bare: Path, app: str, env: str, ref: str) -> dict[str, str]:
    rel = f"apps/{app}/overlays/{env}/kustomization.yaml"
    config = parse_config(gitutil.read_file(bare, "main", "promotion.yaml").decode())
    target = config.app(app)
    text = gitutil.read_file(bare, "main", rel).decode()
    new = overlays.set_pin(
        rel, text, pins.target(target), pins.set_image_arg(target, ImageRef.parse(ref))
    )
    return {rel: new}


def event_file(tmp_path: Path, platform: Platform, number: int) -> Path:
    pull = platform.api.pull(number)
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": number,
                    "base": {"ref": pull.base, "sha": pull.base_sha},
                    "head": {"ref": pull.head, "sha": pull.head_sha},
                    "labels": [{"name": name} for name in pull.labels],
                }
            }
        )
    )
    return event


def test_plan_comment_created_then_updated_in_place(platform: Platform, tmp_path: Path) -> None:
    """First run: check fails (22h of soak left) and writes the plan comment; a later run
    passes and edits that same comment; a run with nothing new leaves it alone."""
    kustomize_argv()
    bare = platform.bare
    gitutil.commit_tree_to_bare(
        bare, pinned(bare, "api-service", "dev", f"{API}@{NEW}"), date="2026-11-23T09:00:00+00:00"
    )
    gitutil.commit_tree_to_bare(
        bare,
        pinned(bare, "api-service", "staging", f"{API}:v1.5.0@{NEW}"),
        date="2026-11-23T10:00:00+00:00",
    )
    opened = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--env",
        "production",
        "--app",
        "api-service",
        "--now",
        "2026-11-23T12:00:00+00:00",
        "--defer-gates",
        env=platform.env,
    )
    assert "warning: sha256:" in opened.stdout
    assert "deferred to the pull request's check, which refuses it until this passes" in (
        opened.stdout
    )
    (pull,) = platform.api.pulls(state="open")
    env = {
        **platform.env,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_file(tmp_path, platform, pull.number)),
    }

    def check(now: str, code: int) -> str:
        run = cli(
            "check", "--config-repo", platform.repo, "--comment", "--now", now, env=env, check=code
        )
        assert platform.api.token not in run.output
        return run.stdout

    mark = platform.api.mark()
    out = check("2026-11-23T12:00:00+00:00", 1)
    assert f"comment created on #{pull.number}" in out
    assert platform.api.count("issues/create-comment", since=mark) == 1
    (body,) = platform.api.pull(pull.number).comments
    assert body.startswith(COMMENT_MARKER)
    assert "## ❌ Promotion plan: check failed" in body
    assert "| `api-service` | `production` |" in body
    assert "22h left (met Tue 2026-11-24 10:00 UTC)" in body
    assert "open; next 'weekend' Fri 2026-11-27 16:00 CET" in body

    mark = platform.api.mark()
    out = check("2026-11-24T11:00:00+00:00", 0)
    assert f"comment updated on #{pull.number}" in out
    assert platform.api.count("issues/update-comment", since=mark) == 1
    (body,) = platform.api.pull(pull.number).comments
    assert "## ✅ Promotion plan: check passed" in body
    assert "met (1d 1h)" in body

    mark = platform.api.mark()
    out = check("2026-11-24T11:00:00+00:00", 0)
    assert f"comment unchanged on #{pull.number}" in out
    assert platform.api.count("issues/update-comment", since=mark) == 0
    assert len(platform.api.pull(pull.number).comments) == 1


def test_comment_needs_a_pull_request_number(tmp_path: Path) -> None:
    """--comment outside a pull_request event and without --pr is bad input (exit 2)."""
    run = cli("check", "--repo", str(tmp_path), "--comment", check=2)
    assert "--comment needs a pull request number" in run.stderr


@pytest.mark.parametrize("operation", ["issues/create-comment"])
def test_failed_comment_keeps_the_verdict(
    platform: Platform, tmp_path: Path, operation: str
) -> None:
    """When GitHub refuses the comment, the check still reports and exits by its gates."""
    kustomize_argv()
    cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--env",
        "production",
        "--app",
        "api-service",
        "--digest",
        NEW,
        "--skip-registry-check",
        "--now",
        "2026-11-23T12:00:00+00:00",
        "--defer-gates",
        env=platform.env,
    )
    (pull,) = platform.api.pulls(state="open")
    platform.api.fail_next(1, operation=operation, status=403)
    run = cli(
        "check",
        "--config-repo",
        platform.repo,
        "--comment",
        "--now",
        "2026-11-23T12:00:00+00:00",
        env={
            **platform.env,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event_file(tmp_path, platform, pull.number)),
        },
        check=1,
    )
    assert "warning: could not write the promotion plan comment" in run.stderr
    assert "check FAILED" in run.stdout
