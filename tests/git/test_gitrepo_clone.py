"""Working on a remote config repo: partial + sparse clone over HTTP, adding paths later,
and opening an existing checkout (``--repo DIR``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from git.gitrepo_helpers import APPS, ENVS, ConfigRepo, clone, kustomization, overlay
from gitops_promote.adapters.git import Git, GitCommandError, Repo, clean_path
from gitops_promote.errors import UserError
from support import gitutil
from support.githttp import GitServer


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )


def _local_blobs(repo: Repo) -> int:
    out = repo.git.run(
        "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)", "--unordered"
    ).text
    return out.split().count("blob")


def test_partial_sparse_clone_checks_out_only_what_was_asked(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """The clone checks out promotion.yaml and the one overlay asked for, keeps the whole
    history (not shallow: every commit and date is there), and downloads no blob of the
    other overlays (the default partial clone brings commits; trees and blobs on demand)."""
    for i in range(3):
        config_repo.server.seed(
            config_repo.name,
            {f"{overlay('web', 'dev')}/kustomization.yaml": kustomization("web", str(i + 1) * 64)},
            message=f"web {i}",
        )
    repo = clone(config_repo, tmp_path / "c", "promotion.yaml", overlay("api", "dev"))
    assert _files(repo.root) == ["apps/api/overlays/dev/kustomization.yaml", "promotion.yaml"]
    assert repo.base_branch == "main"
    assert repo.partial
    assert repo.sparse
    assert not (repo.root / ".git" / "shallow").exists()
    history = gitutil.list_commits(repo.root)
    assert [c.subject for c in history] == ["web 2", "web 1", "web 0", "seed"]
    # the two checked-out files are the only blobs downloaded
    assert _local_blobs(repo) == 2


def test_add_sparse_brings_more_paths(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Paths added after the clone appear in the work tree (and only those)."""
    repo = clone(config_repo, tmp_path / "c", "promotion.yaml")
    repo.add_sparse([overlay("web", "staging"), "apps/web/base"])
    repo.add_sparse([overlay("web", "staging")])  # again: nothing changes
    assert _files(repo.root) == [
        "apps/web/base/kustomization.yaml",
        "apps/web/overlays/staging/kustomization.yaml",
        "promotion.yaml",
    ]
    assert repo.sparse_paths == (
        "promotion.yaml",
        "apps/web/overlays/staging",
        "apps/web/base",
    )


def test_full_clone_and_named_branch(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """sparse_paths=None checks out everything; ``branch`` picks another base branch."""
    gitutil.git("branch", "release", "main", cwd=config_repo.bare)
    config_repo.server.seed(config_repo.name, {"only-on-release": "x\n"}, branch="release")
    repo = Repo.clone(config_repo.url, tmp_path / "c", token=config_repo.token, branch="release")
    assert repo.base_branch == "release"
    assert not repo.sparse
    assert "only-on-release" in _files(repo.root)
    assert len(_files(repo.root)) == len(APPS) * (len(ENVS) + 1) + 2


def test_sparse_paths_are_literal(git_server: GitServer, tmp_path: Path) -> None:
    """Characters that mean something in sparse patterns ('*', '?', '[', '!', '#') are
    taken literally: a sparse path selects that one path, nothing that a glob would."""
    server = git_server
    server.seed(
        "org/odd",
        {"a*b/x.yaml": "1\n", "aXb/x.yaml": "2\n", "#c/x.yaml": "3\n", "[d]/x.yaml": "4\n"},
    )
    repo = Repo.clone(
        server.url("org/odd"), tmp_path / "c", token=server.token, sparse_paths=["a*b", "#c"]
    )
    assert _files(repo.root) == ["#c/x.yaml", "a*b/x.yaml"]
    repo.add_sparse(["[d]"])
    assert _files(repo.root) == ["#c/x.yaml", "[d]/x.yaml", "a*b/x.yaml"]


def test_clone_refuses_a_non_empty_destination(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Cloning into a directory that has files in it is a user error; nothing is touched."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("mine\n")
    with pytest.raises(UserError, match="not an empty directory"):
        clone(config_repo, tmp_path / "c")
    assert (tmp_path / "c" / "keep.txt").read_text() == "mine\n"


def test_clone_of_a_missing_repo_or_branch(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A repository that does not exist gives a one-line GitError; a branch the remote
    does not have (asked of it with ls-remote) is bad input: a one-line UserError (exit 2)."""
    with pytest.raises(GitCommandError) as info:
        Repo.clone(config_repo.server.url("org/nope"), tmp_path / "a", token=config_repo.token)
    assert info.value.kind == "not-found"
    assert "not found" in info.value.message
    with pytest.raises(UserError) as missing:
        Repo.clone(config_repo.url, tmp_path / "b", token=config_repo.token, branch="nope")
    assert not isinstance(missing.value, GitCommandError)
    assert "no branch 'nope'" in missing.value.message
    assert "\n" not in str(missing.value)


@pytest.mark.parametrize(
    "path", ["../x", "/etc/passwd", "a/../../b", "", ".git/config", "a\nb", "./"]
)
def test_paths_outside_the_repo_are_refused(path: str) -> None:
    """Paths are repository-relative: '..', absolute paths, .git and control characters
    are refused with a user error."""
    with pytest.raises(UserError):
        clean_path(path)


def test_clean_path_normalises() -> None:
    """'./a//b/' and 'a/b' are the same path."""
    assert clean_path("./a//b/") == "a/b"


# -- open ---------------------------------------------------------------------------------


def _checkout(config_repo: ConfigRepo, tmp_path: Path) -> Path:
    work = tmp_path / "checkout"
    gitutil.git("clone", "-q", config_repo.url, str(work), env=config_repo.server.git_env())
    return work


def test_open_detects_branch_and_remote(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """An existing full checkout: root (from a subdirectory), branch and remote URL are
    detected; it is not partial, so blobs are read without fetching."""
    work = _checkout(config_repo, tmp_path)
    repo = Repo.open(work / "apps", token=config_repo.token)
    assert repo.root == work
    assert repo.base_branch == "main"
    assert repo.remote_url == config_repo.url
    assert not repo.partial
    assert not repo.sparse
    before = len(config_repo.server.requests)
    assert repo.show("HEAD", "promotion.yaml") == b"version: 1\n"
    assert len(config_repo.server.requests) == before


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ("modify", "promotion.yaml"),
        ("untracked", "new.txt"),
        ("staged", "promotion.yaml"),
    ],
)
def test_open_refuses_a_dirty_checkout(
    config_repo: ConfigRepo, tmp_path: Path, change: str, shown: str
) -> None:
    """Uncommitted changes (modified, staged or untracked files) are refused for promote
    with a one-line error naming the files and saying what to do."""
    work = _checkout(config_repo, tmp_path)
    if change == "untracked":
        (work / "new.txt").write_text("x\n")
    else:
        (work / "promotion.yaml").write_text("version: 2\n")
        if change == "staged":
            gitutil.git("add", "promotion.yaml", cwd=work)
    with pytest.raises(UserError) as info:
        Repo.open(work, token=config_repo.token)
    assert "uncommitted changes" in str(info.value)
    assert shown in str(info.value)
    assert "\n" not in str(info.value)
    Repo.open(work, token=config_repo.token, require_clean=False)  # read-only commands


def test_open_ignores_ignored_files(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Files matched by .gitignore do not make a checkout dirty."""
    work = _checkout(config_repo, tmp_path)
    (work / ".git" / "info").mkdir(exist_ok=True)
    (work / ".git" / "info" / "exclude").write_text("*.log\n")
    (work / "build.log").write_text("x\n")
    Repo.open(work, token=config_repo.token)


def test_open_errors(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Not a checkout, a detached HEAD without --base-branch, no remote: each a UserError."""
    with pytest.raises(UserError, match="not a git checkout"):
        Repo.open(tmp_path)
    with pytest.raises(UserError, match="no such directory"):
        Repo.open(tmp_path / "nope")
    work = _checkout(config_repo, tmp_path)
    gitutil.git("checkout", "-q", "--detach", cwd=work)
    with pytest.raises(UserError, match="detached"):
        Repo.open(work)
    assert Repo.open(work, base_branch="main").base_branch == "main"
    bare = gitutil.init_repo(tmp_path / "lonely")
    gitutil.commit_files(bare, {"a": "1\n"})
    with pytest.raises(UserError, match="no remote 'origin'"):
        Repo.open(bare)


def test_open_a_partial_sparse_clone(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Opening a checkout made by clone() finds it partial and sparse again."""
    first = clone(config_repo, tmp_path / "c", overlay("api", "dev"))
    repo = Repo.open(first.root, token=config_repo.token, git=Git())
    assert repo.partial
    assert repo.sparse


def _seed_history(config_repo: ConfigRepo, count: int, *, recent: bool = False) -> None:
    from datetime import UTC, datetime, timedelta

    for i in range(count):
        when = datetime.now(UTC) - timedelta(hours=count - i) if recent else gitutil.DEFAULT_DATE
        config_repo.server.seed(
            config_repo.name,
            {f"{overlay('api', 'dev')}/kustomization.yaml": kustomization("api", str(i) * 64)},
            message=f"api {i}",
            date=when,
        )


def test_shallow_clone_brings_the_tip_and_makes_history_whole_when_read(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """``shallow=True``: one commit and its trees; the first reader of history fetches the
    rest (commits only) and answers exactly as a full clone does."""
    _seed_history(config_repo, 3)
    files = [f"{overlay('api', 'dev')}/kustomization.yaml"]
    full = clone(config_repo, tmp_path / "full")
    repo = Repo.clone(
        config_repo.url,
        tmp_path / "shallow",
        token=config_repo.token,
        sparse_paths=["promotion.yaml"],
        shallow=True,
    )
    assert repo.shallow
    assert gitutil.git("rev-list", "--count", "HEAD", cwd=repo.root) == "1"
    assert repo.show("HEAD", files[0]) == full.show("HEAD", files[0])  # the tip reads as is
    assert [c.sha for c in repo.log_paths(files)] == [c.sha for c in full.log_paths(files)]
    assert gitutil.git("rev-parse", "--is-shallow-repository", cwd=repo.root) == "false"
    assert not (repo.root / ".git" / "shallow").exists()
    assert len(repo.log_paths(files)) == 3  # the three changes: the tip alone shows one


def test_shallow_clone_answers_ancestry_and_merge_base_from_the_whole_history(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """merge-base and is-ancestor never answer from a cut history."""
    _seed_history(config_repo, 2)
    first = gitutil.list_commits(config_repo.bare, "main")[-1].sha
    repo = Repo.clone(config_repo.url, tmp_path / "s", token=config_repo.token, shallow=True)
    tip = repo.head()
    assert repo.is_ancestor(first, tip)
    assert repo.merge_base(first, tip) == first


def test_deepen_since_fetches_only_the_recent_commits(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A reader of the last stretch of history (the superseded check) deepens a shallow
    clone to the commits after a moment, not the whole history."""
    from datetime import UTC, datetime, timedelta

    config_repo.server.seed(config_repo.name, {"old": "1\n"}, message="old")
    _seed_history(config_repo, 2, recent=True)
    repo = Repo.clone(config_repo.url, tmp_path / "s", token=config_repo.token, shallow=True)
    repo.deepen_since(datetime.now(UTC) - timedelta(days=1))
    subjects = gitutil.git("log", "--format=%s", "HEAD", cwd=repo.root).splitlines()
    assert subjects[:2] == ["api 1", "api 0"]
    assert "old" not in subjects
    repo.ensure_history()
    assert "old" in gitutil.git("log", "--format=%s", "HEAD", cwd=repo.root).splitlines()


def test_open_a_shallow_checkout_reads_the_whole_history(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A ``--repo`` checkout made with depth 1 (actions/checkout's default): history is
    fetched before anything reads it, so since-when answers are not the cut's."""
    _seed_history(config_repo, 2)
    work = tmp_path / "shallow-checkout"
    gitutil.git(
        "clone", "-q", "--depth=1", config_repo.url, str(work), env=config_repo.server.git_env()
    )
    repo = Repo.open(work, token=config_repo.token)
    assert repo.shallow
    files = [f"{overlay('api', 'dev')}/kustomization.yaml"]
    full = Repo.open(_checkout(config_repo, tmp_path), token=config_repo.token)
    assert not full.shallow
    assert [c.sha for c in repo.log_paths(files)] == [c.sha for c in full.log_paths(files)]
    assert len(full.log_paths(files)) == 2
    assert gitutil.git("rev-parse", "--is-shallow-repository", cwd=repo.root) == "false"


def test_shallow_clone_with_recent_commits_needs_no_second_request(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """``recent``: the commits since then come in the clone itself (the superseded check's
    window: deepening to it asks nothing more); when nothing landed since, the tip alone."""
    from datetime import UTC, datetime, timedelta

    config_repo.server.seed(config_repo.name, {"old": "1\n"}, message="old")
    _seed_history(config_repo, 2, recent=True)
    since = datetime.now(UTC) - timedelta(days=1)
    repo = Repo.clone(
        config_repo.url, tmp_path / "s", token=config_repo.token, shallow=True, recent=since
    )
    subjects = gitutil.git("log", "--format=%s", "HEAD", cwd=repo.root).splitlines()
    assert subjects == ["api 1", "api 0"]
    before = len(config_repo.server.requests)
    repo.deepen_since(since + timedelta(minutes=1))
    assert len(config_repo.server.requests) == before

    quiet = Repo.clone(
        config_repo.url,
        tmp_path / "q",
        token=config_repo.token,
        shallow=True,
        recent=datetime.now(UTC) + timedelta(hours=1),
    )
    assert gitutil.git("rev-list", "--count", "HEAD", cwd=quiet.root) == "1"
    before = len(config_repo.server.requests)
    quiet.deepen_since(datetime.now(UTC) + timedelta(hours=1))  # nothing landed since
    assert len(config_repo.server.requests) == before


def test_shallow_clone_reads_a_file_at_a_commit_beyond_the_cut(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """Reading a file at an older commit fetches the history first: never "no such file"
    because the commit is not in the shallow checkout (a partial clone would fetch the one
    commit lazily; a depth-1 checkout cannot)."""
    _seed_history(config_repo, 2)
    old = gitutil.list_commits(config_repo.bare, "main")[1].sha
    work = tmp_path / "depth-1"
    gitutil.git(
        "clone", "-q", "--depth=1", config_repo.url, str(work), env=config_repo.server.git_env()
    )
    repo = Repo.open(work, token=config_repo.token)
    assert repo.show(old, "promotion.yaml") == b"version: 1\n"
