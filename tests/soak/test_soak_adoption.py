"""``soak`` never adopts a pull request someone else opened on its stable branch, even one
whose body carries the tool's marker: the target is refused by name (exit 2) and the PR
left untouched; the other targets are still delivered."""

from __future__ import annotations

from pathlib import Path

from github import Auth, Github

from soak import fleet
from support import gitutil
from support.inprocess import cli
from support.repos import Platform

BRANCH = "promote/staging/frontend"


def test_soak_refuses_a_foreign_pr_carrying_the_marker(platform: Platform, tmp_path: Path) -> None:
    """Someone opened a PR on promote/staging/frontend proposing dev's build with the
    tool's marker copied: soak does not report it "already proposed" nor update it; it
    names the PR and exits 2. Cost: the PR lookup and one GraphQL identity query."""
    fleet.seed(platform, "2026-11-20T10:00:00+00:00")
    fleet.pin(platform, {("frontend", "dev"): 2}, "2026-11-24T09:00:00+00:00")
    args = ("soak", "--config-repo", platform.repo, "--app", "frontend", "--env", "staging")
    now = ("--now", "2026-11-24T12:00:00+00:00")
    # the tool's own PR, to copy its marker; then closed and its branch deleted
    cli(*args, *now, cwd=tmp_path, env=platform.env)
    (own,) = platform.api.pulls(state="open")
    person = Github(base_url=platform.api.api_url, auth=Auth.Token(platform.api.user_token))
    repo = person.get_repo(platform.repo)
    repo.get_pull(own.number).edit(state="closed")
    gitutil.git("update-ref", f"refs/heads/{BRANCH}", "main", cwd=platform.bare)
    gitutil.commit_tree_to_bare(
        platform.bare,
        {fleet.path("frontend", "staging"): fleet.overlay("frontend", fleet.build("frontend", 2))},
        branch=BRANCH,
        message="my own staging change",
        author=("Mallory", "mallory@example.com"),
    )
    number = repo.create_pull(base="main", head=BRANCH, title="mine", body=own.body or "").number
    before = platform.api.pull(number)
    run = cli(*args, *now, cwd=tmp_path, env=platform.env, check=2)
    assert f"#{number}" in run.stdout + run.stderr
    assert "already proposed" not in run.stdout
    after = platform.api.pull(number)
    assert (after.head_sha, after.title, after.body) == (before.head_sha, "mine", own.body)
