"""The history pass reads diff-tree's records the way one ``git log`` reads them, whatever
the file names and subjects hold (newlines, separators, bytes that are not UTF-8), and
leaves nothing behind in the temporary directory, whether git succeeds or fails."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_promote.adapters.git import Git, GitCommandError
from gitops_promote.adapters.git import log as gitlog
from support import gitutil

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOSTILE = [
    "apps/new\nline/kustomization.yaml",
    "apps/:colon/values.yaml",
    "apps/\x1erecord/k.yaml",
    "apps/\x1ffield\tand tab/k.yaml",
    "apps/caf\udce9/k.yaml",  # the byte 0xe9: not UTF-8
    "apps/../dots/k.yaml".replace("../", "..."),
    "apps/plain/kustomization.yaml",
]


def _history(root: Path) -> None:
    """Adds, edits, a deletion, a type change, an empty commit and a merged branch, with
    subjects holding the parser's own separators."""
    when = T0
    files: dict[str, gitutil.FileContent] = {p: f"{p!r} v0\n" for p in HOSTILE}
    gitutil.commit_files(root, files, message="seed\x1fwith a field separator", date=when)
    for n, path in enumerate(HOSTILE, start=1):
        when += timedelta(minutes=5)
        subject = f"edit {n} :: \x1erecord separator (#{n})"
        gitutil.commit_files(root, {path: f"{path!r} v{n}\n"}, message=subject, date=when)
    when += timedelta(minutes=5)
    gitutil.commit_files(root, {HOSTILE[1]: None}, message="delete", date=when)
    when += timedelta(minutes=5)
    target = root / HOSTILE[2]
    target.unlink()
    target.symlink_to("elsewhere")
    gitutil.commit_files(root, {}, message="a link now", date=when)
    when += timedelta(minutes=5)
    gitutil.commit_files(root, {}, message="nothing", date=when, allow_empty=True)
    gitutil.git("checkout", "-q", "-b", "side", cwd=root)
    when += timedelta(minutes=5)
    gitutil.commit_files(root, {HOSTILE[0]: "side\n", HOSTILE[4]: "side\n"}, date=when)
    gitutil.git("checkout", "-q", "main", cwd=root)
    when += timedelta(minutes=5)
    gitutil.commit_files(root, {HOSTILE[6]: "main\n"}, date=when)
    env = gitutil.identity_env(when + timedelta(minutes=5))
    gitutil.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #9 from o/side",
        "side",
        cwd=root,
        env=env,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = gitutil.init_repo(tmp_path_factory.mktemp("records") / "r")
    _history(root)
    return root


@pytest.mark.parametrize("jobs", [1, 2])
def test_diff_links_reads_hostile_names_and_subjects_as_log_does(repo: Path, jobs: int) -> None:
    git = Git(cwd=repo)
    chain = gitlog.first_parent_chain(git, "HEAD")
    many = HOSTILE + [f"apps/x{n}/k.yaml" for n in range(gitlog.MAX_PATHSPECS)]
    for paths in ([HOSTILE[0]], HOSTILE, many, ["apps"]):
        whole = gitlog.diff_links(git, chain, paths, jobs=jobs)
        assert whole == gitlog.log_paths(git, paths), paths
    every = gitlog.diff_links(git, chain, many, jobs=jobs)
    seen = {c.path for commit in every for c in commit.changes}
    assert seen == set(HOSTILE)
    statuses = {(c.path, c.status) for commit in every for c in commit.changes}
    assert (HOSTILE[1], "D") in statuses
    assert (HOSTILE[2], "T") in statuses
    deleted = next(c for commit in every for c in commit.changes if c.status == "D")
    assert deleted.new_blob is None
    assert deleted.old_blob is not None
    seed = every[-1]
    assert seed.subject == "seed\x1fwith a field separator"
    assert all(c.status == "A" and c.old_blob is None for c in seed.changes)
    merge = every[0]
    assert merge.is_merge
    assert merge.subject.startswith("Merge pull request #9")
    assert sorted(c.path for c in merge.changes) == sorted([HOSTILE[0], HOSTILE[4]])
    assert any("\x1erecord separator" in commit.subject for commit in every)


def test_the_history_pass_leaves_no_file_behind(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its output goes through a temporary file that is gone when it returns, or when
    git fails (no repository there, no such branch)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    git = Git(cwd=repo)
    chain = gitlog.first_parent_chain(git, "HEAD")
    assert gitlog.diff_links(git, chain, HOSTILE, jobs=2)
    assert list(scratch.iterdir()) == []
    plain = tmp_path / "not-a-repository"
    plain.mkdir()
    elsewhere = Git(cwd=plain)
    with pytest.raises(GitCommandError):
        gitlog.diff_links(elsewhere, chain, HOSTILE)
    with pytest.raises(GitCommandError):
        gitlog.first_parent_chain(git, "no-such-branch")
    assert list(scratch.iterdir()) == []
