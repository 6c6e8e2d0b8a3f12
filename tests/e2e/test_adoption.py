"""End to end through the CLI: a pull request the tool did not open, or whose branch holds
someone else's commit, is never adopted: refused by name (exit 2) and left untouched; and
the automation never applies the break-glass label (promote, config)."""

from __future__ import annotations

import shutil
from pathlib import Path

from github import Auth, Github

from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE, Platform, digest_of

BRANCH = "promote/production/api-service"
PROD = "apps/api-service/overlays/production/kustomization.yaml"
STAGING = "apps/api-service/overlays/staging/kustomization.yaml"
NOW = "2026-11-25T10:00:00+00:00"
MALLORY = ("Mallory", "mallory@example.com")


def _pin(platform: Platform, branch: str, file: str, digest: str, *, message: str) -> str:
    text = gitutil.read_file(platform.bare, branch, file).decode()
    lines = [
        f"    digest: {digest}" if line.strip().startswith("digest:") else line
        for line in text.splitlines()
    ]
    return gitutil.commit_tree_to_bare(
        platform.bare,
        {file: "\n".join(lines) + "\n"},
        branch=branch,
        message=message,
        date="2026-11-21T09:00:00+00:00",
        author=MALLORY if branch != "main" else gitutil.DEFAULT_AUTHOR,
    )


def _staging_runs(platform: Platform, digest: str) -> None:
    _pin(platform, "main", STAGING, digest, message="chore(staging): promote (#90)")


def _as_user(platform: Platform) -> Github:
    """A person's PyGithub client (the fake's PAT of release-manager)."""
    return Github(base_url=platform.api.api_url, auth=Auth.Token(platform.api.user_token))


def _foreign_pr(platform: Platform, digest: str, body: str) -> int:
    """Someone else's branch on the tool's stable name, and their PR from it."""
    gitutil.git(
        "update-ref", f"refs/heads/{BRANCH}", "main", cwd=platform.bare
    )  # their branch starts at main, as a real one would
    _pin(platform, BRANCH, PROD, digest, message="my own production change")
    repo = _as_user(platform).get_repo(platform.repo)
    return repo.create_pull(base="main", head=BRANCH, title="Mallory's change", body=body).number


def _promote(platform: Platform, cwd: Path, *, check: int | None = 0) -> tuple[int, str]:
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
        cwd=cwd,
        env=platform.env,
        check=check,
    )
    return run.returncode, run.stderr


def _assert_refused(platform: Platform, number: int, stderr: str, before: object) -> None:
    pull = platform.api.pull(number)
    assert (pull.head_sha, pull.title, pull.body, pull.labels) == before
    assert f"#{number}" in stderr
    assert f"/pull/{number}" in stderr  # the PR's URL
    assert f"close #{number}, or delete the branch {BRANCH}" in stderr
    assert len(platform.api.pulls(state="all", head=BRANCH)) == len(platform.api.pulls())


def _snapshot(platform: Platform, number: int) -> object:
    pull = platform.api.pull(number)
    return (pull.head_sha, pull.title, pull.body, pull.labels)


def test_foreign_pr_on_the_tool_branch_is_refused(platform: Platform, tmp_path: Path) -> None:
    """A PR someone else opened on promote/production/api-service is not force-pushed,
    retitled or labelled: exit 2, naming the PR and how to clear the way. Cost: find the
    PR (1 call) and who the token is (1 GraphQL call); nothing is written."""
    _staging_runs(platform, digest_of("release-1"))
    number = _foreign_pr(platform, digest_of("mallory"), "please merge")
    before = _snapshot(platform, number)
    mark = platform.api.mark()
    code, stderr = _promote(platform, tmp_path, check=None)
    assert code == 2, stderr
    assert "opened by release-manager" in stderr
    _assert_refused(platform, number, stderr, before)
    assert platform.api.count(since=mark) == 2
    assert platform.api.count("pulls/update", since=mark) == 0


def test_foreign_pr_with_the_marker_is_not_taken_as_proposed(
    platform: Platform, tmp_path: Path
) -> None:
    """Copying the tool's hidden marker into a foreign PR's body does not make it the
    tool's: the run is refused (exit 2), not reported "unchanged" with their commit kept."""
    digest = digest_of("release-1")
    _staging_runs(platform, digest)
    code, stderr = _promote(platform, tmp_path)  # the tool's own PR, to copy its body
    own = platform.api.pulls(state="open")[0]
    user = _as_user(platform).get_repo(platform.repo)
    user.get_pull(own.number).edit(state="closed")
    gitutil.git("update-ref", "-d", f"refs/heads/{BRANCH}", cwd=platform.bare)
    number = _foreign_pr(platform, digest, own.body or "")
    before = _snapshot(platform, number)
    code, stderr = _promote(platform, tmp_path, check=None)
    assert code == 2, stderr
    _assert_refused(platform, number, stderr, before)


def test_own_pr_with_a_foreign_commit_pushed_on_top_is_refused(
    platform: Platform, tmp_path: Path
) -> None:
    """The tool's own PR whose branch someone pushed a commit to is not force-pushed over
    (their commit is not silently dropped): exit 2, the branch and PR untouched."""
    _staging_runs(platform, digest_of("release-1"))
    _promote(platform, tmp_path)
    own = platform.api.pulls(state="open")[0]
    _pin(platform, BRANCH, PROD, digest_of("mallory"), message="tweak")
    _staging_runs(platform, digest_of("release-2"))
    before = _snapshot(platform, own.number)
    code, stderr = _promote(platform, tmp_path, check=None)
    assert code == 2, stderr
    assert "is not one commit on top of the base branch" in stderr
    _assert_refused(platform, own.number, stderr, before)


def _amend_own_tip(platform: Platform, files: dict[str, gitutil.FileContent]) -> None:
    """Replace the tool's branch tip by a commit with its author and message (trailers
    included) but ``files`` as its change."""
    tip = gitutil.rev_parse(platform.bare, BRANCH)
    message = gitutil.git("log", "-1", "--format=%B", tip, cwd=platform.bare)
    author = gitutil.git("log", "-1", "--format=%an%x00%ae", tip, cwd=platform.bare).split("\0")
    gitutil.git("update-ref", f"refs/heads/{BRANCH}", f"{tip}~1", cwd=platform.bare)
    gitutil.commit_tree_to_bare(
        platform.bare, files, branch=BRANCH, message=message, author=(author[0], author[1])
    )


def test_own_pr_with_extra_file_is_refused_even_when_already_proposed(
    platform: Platform, tmp_path: Path
) -> None:
    """The tool's own PR whose branch was amended to change another file (its author and
    trailers kept) is not reported "already proposed": exit 2, untouched."""
    _staging_runs(platform, digest_of("release-1"))
    _promote(platform, tmp_path)
    own = platform.api.pulls(state="open")[0]
    pinned = gitutil.read_file(platform.bare, BRANCH, PROD).decode()
    _amend_own_tip(platform, {PROD: pinned, "extra.yaml": "x: 1\n"})
    before = _snapshot(platform, own.number)
    code, stderr = _promote(platform, tmp_path, check=None)
    assert code == 2, stderr
    assert "changes 'extra.yaml'" in stderr or "changes extra.yaml" in stderr
    _assert_refused(platform, own.number, stderr, before)


def test_own_pr_whose_overlay_is_hostile_bytes_is_refused_cleanly(
    platform: Platform, tmp_path: Path
) -> None:
    """An amended tip whose overlay is not UTF-8 (hostile bytes, a newline and '::' in it)
    is refused as not the tool's change: exit 2, one error naming the PR, no traceback."""
    _staging_runs(platform, digest_of("release-1"))
    _promote(platform, tmp_path)
    own = platform.api.pulls(state="open")[0]
    _amend_own_tip(platform, {PROD: b"images:\n::error::\xff\xfe forged\n"})
    before = _snapshot(platform, own.number)
    code, stderr = _promote(platform, tmp_path, check=None)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert "does not pin api-service as the tool does" in stderr
    _assert_refused(platform, own.number, stderr, before)


def test_promote_refuses_to_apply_the_break_glass_label(platform: Platform, tmp_path: Path) -> None:
    """``promote --label freeze-exception`` is refused (exit 2) before anything is pushed
    or opened: break-glass is a person's decision on the pull request."""
    _staging_runs(platform, digest_of("release-1"))
    mark = platform.api.mark()
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--skip-registry-check",
        "--app",
        "api-service",
        "--env",
        "production",
        "--label",
        "Freeze-Exception",
        "--now",
        NOW,
        cwd=tmp_path,
        env=platform.env,
        check=2,
    )
    assert "is the break-glass label: promote and soak never apply it" in run.stderr
    assert platform.api.count(since=mark) == 0
    assert platform.api.pulls() == []
    assert gitutil.git("ls-remote", str(platform.bare), BRANCH, cwd=tmp_path) == ""


def test_validate_refuses_the_break_glass_label_in_an_environments_labels(tmp_path: Path) -> None:
    """An environment whose pull-request.labels include the break-glass label would have
    every promotion PR override the freeze: validate refuses it (exit 2, on its line)."""
    repo = tmp_path / "config"
    shutil.copytree(EXAMPLE, repo)
    config = repo / "promotion.yaml"
    text = config.read_text(encoding="utf-8")
    assert "labels: [promotion, production]" in text
    config.write_text(
        text.replace("labels: [promotion, production]", "labels: [promotion, freeze-exception]"),
        encoding="utf-8",
    )
    gitutil.init_repo(repo)
    gitutil.commit_files(repo, {}, message="config")
    run = cli("validate", cwd=repo, check=2)
    assert (
        "environments: production: pull-request: labels include the break-glass label "
        "'freeze-exception'" in run.stderr
    )
    assert "promotion.yaml:" in run.stderr
