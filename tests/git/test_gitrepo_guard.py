"""The base-branch guard: the automation never pushes a gated environment's change to the
base branch, whatever the flags. Every ``git push`` passes one check, at the lowest level;
branch pushes for pull requests are force-pushes with lease."""

from __future__ import annotations

from pathlib import Path

import pytest

from git.gitrepo_helpers import ConfigRepo, clone, overlay
from gitops_promote.adapters.git import (
    Git,
    ProtectedBranchError,
    PushGuardError,
    Repo,
    Retry,
    StaleBranchError,
    branch_name,
    check_push_allowed,
)
from gitops_promote.deliver.push import push_with_retry
from gitops_promote.errors import UserError
from support import gitutil

PROD = overlay("api", "production")


def _edit(repo: Repo, value: str = "9") -> bool:
    target = repo.root / PROD / "kustomization.yaml"
    text = target.read_text()
    new = text.replace("0" * 64, value * 64)
    target.write_text(new)
    return new != text


def _remote_heads(config_repo: ConfigRepo) -> str:
    return gitutil.git("for-each-ref", "--format=%(refname) %(objectname)", cwd=config_repo.bare)


@pytest.mark.parametrize("target", ["main", "refs/heads/main"])
@pytest.mark.parametrize("allow", [False, 0, 1, "yes", None])
def test_guard_refuses_the_base_branch_unless_allowed(target: str, allow: object) -> None:
    """Only ``allow_base_push=True`` itself lets a push reach the base branch: False, and
    truthy look-alikes (1, "yes") are refused, however the branch is spelled."""
    with pytest.raises(ProtectedBranchError) as info:
        check_push_allowed(target, base_branch="main", allow_base_push=allow)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    assert "pull request" in str(info.value)
    check_push_allowed(target, base_branch="main", allow_base_push=True)


def test_guard_also_protects_the_remote_default_branch() -> None:
    """A branch listed as protected (the remote's default branch) is refused too; other
    branches pass."""
    with pytest.raises(ProtectedBranchError):
        check_push_allowed(
            "trunk", base_branch="release", allow_base_push=False, protected=["trunk"]
        )
    check_push_allowed("promote/production/api", base_branch="main", allow_base_push=False)


@pytest.mark.parametrize(
    "name",
    ["main:main", "+main", "-f", "a..b", "x@{1}", "refs/tags/v1", "a b", "", "x.lock", "HEAD"],
)
def test_branch_names_that_could_smuggle_a_refspec_are_refused(name: str) -> None:
    """Names with refspec syntax (':', '+'), options, or other invalid forms are user
    errors before any git command runs."""
    with pytest.raises(UserError):
        branch_name(name)


def test_git_push_cannot_run_without_the_guard(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """The runner itself refuses ``git push`` unless the guard's token comes with it:
    there is no way to push that skips the check."""
    repo = clone(config_repo, tmp_path / "c", PROD)
    before = _remote_heads(config_repo)
    for args in (
        ("push", "origin", "HEAD:refs/heads/main"),
        ("--literal-pathspecs", "push", "origin", "HEAD:main"),
    ):
        with pytest.raises(PushGuardError):
            repo.git.run(*args)
        with pytest.raises(PushGuardError):
            next(iter(repo.git.stream(*args)))
    with pytest.raises(PushGuardError):
        Git(cwd=repo.root).run("push", "origin", "HEAD:main", push_guard=object())
    assert _remote_heads(config_repo) == before


def test_gated_push_to_base_is_refused_before_anything_happens(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """push_with_retry with allow_base_push=False raises before editing, committing or
    pushing: the remote and the checkout are untouched."""
    repo = clone(config_repo, tmp_path / "c", PROD)
    before = _remote_heads(config_repo)
    head = repo.head()
    calls: list[bool] = []

    def apply() -> bool:
        calls.append(True)
        return _edit(repo)

    with pytest.raises(ProtectedBranchError):
        push_with_retry(repo, apply, "x", paths=[PROD], allow_base_push=False, retry=no_wait)
    assert calls == []
    assert repo.head() == head
    assert _remote_heads(config_repo) == before
    assert not any(r.service == "git-receive-pack" for r in config_repo.server.requests)


@pytest.mark.parametrize("spelling", ["main", "refs/heads/main"])
def test_branch_push_to_base_is_refused(
    config_repo: ConfigRepo, tmp_path: Path, spelling: str
) -> None:
    """A pull-request push whose branch is the base branch (e.g. a branch template that
    renders to 'main') is refused; nothing reaches the server."""
    repo = clone(config_repo, tmp_path / "c", PROD)
    _edit(repo)
    repo.commit([PROD], "promote production")
    before = _remote_heads(config_repo)
    with pytest.raises(ProtectedBranchError):
        repo.push_branch(spelling, expected_remote_sha=gitutil.rev_parse(config_repo.bare, "main"))
    assert _remote_heads(config_repo) == before
    assert not any(r.service == "git-receive-pack" for r in config_repo.server.requests)


def test_branch_push_to_the_remote_default_is_refused(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """Working on another base branch ('release'), a pull-request push to the remote's
    default branch ('main') is refused as well."""
    gitutil.git("branch", "release", "main", cwd=config_repo.bare)
    repo = Repo.clone(
        config_repo.url,
        tmp_path / "c",
        token=config_repo.token,
        branch="release",
        sparse_paths=[PROD],
    )
    _edit(repo)
    repo.commit([PROD], "promote production")
    before = _remote_heads(config_repo)
    with pytest.raises(ProtectedBranchError):
        repo.push_branch("main", expected_remote_sha=None)
    assert _remote_heads(config_repo) == before


def test_branch_push_with_lease(config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry) -> None:
    """push_branch creates the branch (lease: must not exist), updates it when the lease
    holds, reports 'unchanged' when it already has the commit, and refuses with
    StaleBranchError when someone else moved it; the base branch never moves."""
    branch = "promote/production/api"
    main_before = gitutil.rev_parse(config_repo.bare, "main")
    repo = clone(config_repo, tmp_path / "c", PROD)
    tip = repo.head()
    assert repo.remote_branch_sha(branch) is None
    _edit(repo, "1")
    first = repo.commit([PROD], "promote 1")
    created = repo.push_branch(branch, expected_remote_sha=None, retry=no_wait)
    assert (created.status, created.commit, created.parent) == ("pushed", first, None)
    assert repo.remote_branch_sha(branch) == first

    again = repo.push_branch(branch, expected_remote_sha=first, retry=no_wait)
    assert again.status == "unchanged"

    repo.reset_hard(tip)
    _edit(repo, "2")
    second = repo.commit([PROD], "promote 2")
    updated = repo.push_branch(branch, expected_remote_sha=first, retry=no_wait)
    assert (updated.status, updated.commit) == ("pushed", second)
    assert gitutil.rev_parse(config_repo.bare, branch) == second

    theirs = config_repo.server.seed(config_repo.name, {"x": "1\n"}, branch=branch)
    repo.reset_hard(tip)
    _edit(repo, "3")
    repo.commit([PROD], "promote 3")
    with pytest.raises(StaleBranchError) as info:
        repo.push_branch(branch, expected_remote_sha=second, retry=no_wait)
    assert info.value.exit_code == 3
    assert "moved" in str(info.value)
    assert gitutil.rev_parse(config_repo.bare, branch) == theirs
    assert gitutil.rev_parse(config_repo.bare, "main") == main_before


def test_branch_push_survives_a_lost_answer(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """The server takes the branch push but the answer is lost: the retry's lease fails,
    the branch is found at our commit, and the push is reported as done (no error)."""
    repo = clone(config_repo, tmp_path / "c", PROD)
    _edit(repo)
    ours = repo.commit([PROD], "promote")
    config_repo.server.fail_next(
        mode="drop-after-backend", service="git-receive-pack", method="POST"
    )
    result = repo.push_branch("promote/production/api", expected_remote_sha=None, retry=no_wait)
    assert (result.status, result.commit) == ("pushed", ours)
    assert result.attempts == 2


def test_dry_run_branch_push_prints_and_pushes_nothing(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """noop: the lease push is printed (with the lease), not run."""
    printed: list[str] = []
    repo = Repo.clone(
        config_repo.url,
        tmp_path / "c",
        token=config_repo.token,
        sparse_paths=[PROD],
        noop=True,
        git=Git(echo=printed.append),
    )
    result = repo.push_branch("promote/production/api", expected_remote_sha=None)
    assert result.status == "dry-run"
    assert any("--force-with-lease=refs/heads/promote/production/api:" in p for p in printed)
    assert gitutil.ref_exists(config_repo.bare, "promote/production/api") is False


DEV = overlay("api", "dev")
STAGING = overlay("api", "staging")
GATED = {STAGING: "staging", PROD: "production"}


def _edit_file(repo: Repo, rel: str, value: str) -> None:
    target = repo.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    text = target.read_text() if target.exists() else ""
    target.write_text(text.replace("0" * 64, value * 64) if "0" * 64 in text else value)


def test_a_base_push_that_changes_a_gated_file_is_refused(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """A push environment's commit (allow_base_push) that changes a file under a gated
    environment's overlay is refused, exit 2, naming the file and the environment, before
    anything reaches the server; dev's own files and the state file still push."""
    repo = clone(config_repo, tmp_path / "c", DEV, PROD, "versions.json")
    repo.protect(GATED, allowed=[f"{PROD}/versions.json"])
    before = _remote_heads(config_repo)

    def sneaky() -> bool:
        _edit_file(repo, f"{DEV}/kustomization.yaml", "1")
        _edit_file(repo, f"{PROD}/kustomization.yaml", "1")
        return True

    with pytest.raises(ProtectedBranchError) as info:
        push_with_retry(
            repo, sneaky, "promote dev", paths=[DEV, PROD], allow_base_push=True, retry=no_wait
        )
    assert info.value.exit_code == 2
    message = str(info.value)
    assert f"{PROD}/kustomization.yaml" in message
    assert "production" in message
    assert _remote_heads(config_repo) == before
    assert not any(r.service == "git-receive-pack" for r in config_repo.server.requests)
    assert repo.head() == gitutil.rev_parse(config_repo.bare, "main")  # nothing left behind
    assert repo.dirty_files() == []

    def honest() -> bool:
        _edit_file(repo, f"{DEV}/kustomization.yaml", "2")
        _edit_file(repo, f"{PROD}/versions.json", "{}\n")  # the state file, aside
        return True

    pushed = push_with_retry(
        repo, honest, "promote dev", paths=[DEV, PROD], allow_base_push=True, retry=no_wait
    )
    assert pushed.status == "pushed"
    assert gitutil.rev_parse(config_repo.bare, "main") == pushed.commit


def test_the_gated_file_guard_holds_whatever_the_branch(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A base-branch-style push (allow_base_push) to any branch name is checked for gated
    files too; a pull-request branch push of a gated environment is not."""
    from gitops_promote.adapters.git.repo import GatedFiles

    gated = GatedFiles(GATED)
    with pytest.raises(ProtectedBranchError, match="staging"):
        check_push_allowed(
            "release/2026",
            base_branch="main",
            allow_base_push=True,
            changed=[f"{DEV}/kustomization.yaml", f"{STAGING}/patch.yaml"],
            gated=gated,
        )
    check_push_allowed(
        "release/2026",
        base_branch="main",
        allow_base_push=True,
        changed=[f"{DEV}/kustomization.yaml", "apps/api/overlays/staging-notes.md"],
        gated=gated,
    )
    repo = clone(config_repo, tmp_path / "c", PROD)
    repo.protect(GATED)
    _edit(repo)
    repo.commit([PROD], "promote production")
    with pytest.raises(ProtectedBranchError):
        repo.push("hotfix", allow_base_push=True)
    result = repo.push_branch("promote/production/api", expected_remote_sha=None)
    assert result.status == "pushed"
