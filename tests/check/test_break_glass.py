"""Break-glass stays human and the plan comment stays the tool's, end to end through the CLI
against the git HTTP server and the GitHub fake (issue events held to GitHub's OpenAPI).

The production PR is opened by ``promote``; on Saturday 2026-11-28 production is inside the
example's weekend freeze, so only the break-glass label can pass the check."""

from __future__ import annotations

import json
from pathlib import Path

from github import Auth, Github

from check.scenario import result
from check.test_comment import API, NEW, event_file, pinned
from gitops_promote.report.check import COMMENT_MARKER
from support import gitutil
from support.inprocess import cli
from support.repos import Platform

SATURDAY = "2026-11-28T12:00:00+00:00"
LABEL = "freeze-exception"


def _client(platform: Platform, token: str) -> Github:
    return Github(base_url=platform.api.api_url, auth=Auth.Token(token))


def _production_pr(platform: Platform) -> int:
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
        "2026-11-23T12:00:00+00:00",
        "--defer-gates",
        env=platform.env,
    )
    (pull,) = platform.api.pulls(state="open")
    return pull.number


def _check(platform: Platform, tmp_path: Path, number: int, *args: str, code: int) -> str:
    env = {
        **platform.env,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_file(tmp_path, platform, number)),
    }
    run = cli("check", "--config-repo", platform.repo, *args, env=env, check=code)
    assert platform.api.token not in run.output
    return run.stdout


def _freeze_message(stdout: str) -> str:
    return str(result(json.loads(stdout), "freeze", "api-service", "production")["message"])


def _add_label(platform: Platform, token: str, number: int) -> None:
    """Add the break-glass label to PR ``number`` as whoever ``token`` is."""
    _client(platform, token).requester.requestJsonAndCheck(
        "POST", f"/repos/{platform.repo}/issues/{number}/labels", input={"labels": [LABEL]}
    )


def test_break_glass_added_by_a_person_passes_and_names_them(
    platform: Platform, tmp_path: Path
) -> None:
    """A person (release-manager) adds the label on the PR: the frozen check passes as a
    loud override that names who broke glass. Cost: 1 call for the PR's issue events and
    1 GraphQL call to learn the check's own identity."""
    number = _production_pr(platform)
    _add_label(platform, platform.api.user_token, number)
    mark = platform.api.mark()
    out = _check(platform, tmp_path, number, "--json", "--now", SATURDAY, code=0)
    message = _freeze_message(out)
    assert message.startswith("BREAK-GLASS")
    assert message.endswith("added by release-manager")
    assert platform.api.count("issues/list-events", since=mark) == 1
    assert platform.api.count(since=mark) == 2


def test_break_glass_added_by_the_tool_identity_is_refused(
    platform: Platform, tmp_path: Path
) -> None:
    """The label added with the automation's token (github-actions[bot], a bot) does not
    break glass: the freeze gate stays failed and says why. Cost: 1 call (issue events)."""
    number = _production_pr(platform)
    _add_label(platform, platform.api.token, number)
    mark = platform.api.mark()
    out = _check(platform, tmp_path, number, "--json", "--now", SATURDAY, code=1)
    message = _freeze_message(out)
    assert not message.startswith("BREAK-GLASS")
    assert (
        f"the label '{LABEL}' does not count: it was added by github-actions[bot], a bot" in message
    )
    assert platform.api.count(since=mark) == 1


def test_break_glass_label_with_no_event_is_refused(platform: Platform, tmp_path: Path) -> None:
    """A break-glass label the PR never received (given with --label on a PR run) is not
    an override: no person added it."""
    number = _production_pr(platform)
    out = _check(platform, tmp_path, number, "--json", "--label", LABEL, "--now", SATURDAY, code=1)
    assert f"#{number} has no event of a person adding it" in _freeze_message(out)


def test_foreign_comment_with_the_marker_is_not_edited(platform: Platform, tmp_path: Path) -> None:
    """A comment someone else wrote that starts with the plan's hidden marker is never
    taken for the plan: it stays as written and the check creates its own comment."""
    number = _production_pr(platform)
    forged = f"{COMMENT_MARKER}\n## ✅ Promotion plan: check passed (trust me)"
    issue = _client(platform, platform.api.user_token).get_repo(platform.repo).get_issue(number)
    issue.create_comment(forged)
    out = _check(platform, tmp_path, number, "--comment", "--now", SATURDAY, code=1)
    assert f"comment created on #{number}" in out
    comments = platform.api.pull(number).comments
    assert comments[0] == forged
    assert len(comments) == 2
    assert comments[1].startswith(COMMENT_MARKER)
    out = _check(platform, tmp_path, number, "--comment", "--now", SATURDAY, code=1)
    assert f"comment unchanged on #{number}" in out
    assert len(platform.api.pull(number).comments) == 2
