"""``check --combine --comment --set-status``: the fan-in of a sharded check writes the one
PR comment and the one commit status, exactly as an unsharded check does. Through the
GitHub fake: the production promotion PR (soak not met, a freeze window ahead) is checked
unsharded with --comment; then four shards and their fan-in on the same PR find that
comment and leave it unchanged (byte for byte the same plan), and set the status."""

from __future__ import annotations

from pathlib import Path

from check.test_comment import API, NEW, event_file, pinned
from gitops_promote.report.check import COMMENT_MARKER
from support import gitutil
from support.inprocess import cli
from support.repos import Platform
from support.tools import kustomize_argv

NOW = "2026-11-23T12:00:00+00:00"


def test_the_fan_in_writes_the_comment_an_unsharded_check_writes(
    platform: Platform, tmp_path: Path
) -> None:
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
    cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--env",
        "production",
        "--app",
        "api-service",
        "--now",
        NOW,
        "--defer-gates",
        env=platform.env,
    )
    (pull,) = platform.api.pulls(state="open")
    env = {
        **platform.env,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_file(tmp_path, platform, pull.number)),
    }
    whole = cli(
        "check", "--config-repo", platform.repo, "--comment", "--now", NOW, env=env, check=1
    )
    assert f"comment created on #{pull.number}" in whole.stdout
    (body,) = platform.api.pull(pull.number).comments
    assert body.startswith(COMMENT_MARKER)
    assert "open; next 'weekend' Fri 2026-11-27 16:00 CET" in body

    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    for k in range(1, 5):
        cli(
            "check",
            "--config-repo",
            platform.repo,
            "--now",
            NOW,
            "--shard",
            f"{k}/4",
            "--output",
            str(verdicts / f"{k}.json"),
            env=env,
            check=None,
        )
    mark = platform.api.mark()
    fan_in = cli(
        "check",
        "--combine",
        str(verdicts),
        "--config-repo",
        platform.repo,
        "--comment",
        "--set-status",
        env=env,
        check=1,
    )
    assert platform.api.token not in fan_in.output
    assert fan_in.stdout.startswith(whole.stdout.split(f"comment created on #{pull.number}")[0])
    assert f"comment unchanged on #{pull.number}" in fan_in.stdout
    assert platform.api.count("issues/update-comment", since=mark) == 0
    assert tuple(platform.api.pull(pull.number).comments) == (body,)
    assert "status gitops-promote/check: failure on" in fan_in.stdout
