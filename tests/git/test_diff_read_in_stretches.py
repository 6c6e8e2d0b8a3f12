"""``diff_links`` parses git's output as it reads it, a stretch at a time: any stretch
size (down to one byte, so every token and record is cut somewhere) gives the very
commits ``git log`` gives, and equal strings (paths, blob ids, names) are shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitops_promote.adapters.git import Git
from gitops_promote.adapters.git import log as gitlog
from support import gitutil

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PATHS = [
    "apps/new\nline/k.yaml",
    "apps/::colon/k.yaml",
    "apps/\x1erecord\x1ffield/k.yaml",
    "apps/ünï/k.yaml",
    "apps/plain/k.yaml",
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = gitutil.init_repo(tmp_path_factory.mktemp("stretches") / "r")
    when = T0
    gitutil.commit_files(root, dict.fromkeys(PATHS, "v0\n"), message="seed", date=when)
    for n in range(1, 13):
        when += timedelta(minutes=5)
        path = PATHS[n % len(PATHS)]
        subject = f"edit {n} :: \x1e\x1f\u2603 (#{n})"
        gitutil.commit_files(root, {path: f"v{n}\n" + "x" * n * 100}, message=subject, date=when)
    return root


@pytest.mark.parametrize("size", [1, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("jobs", [1, 2])
def test_any_stretch_size_gives_what_log_gives(
    repo: Path, size: int, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitlog, "_READ_SIZE", size)
    git = Git(cwd=repo)
    chain = gitlog.first_parent_chain(git, "HEAD")
    many = PATHS + [f"apps/x{n}/k.yaml" for n in range(gitlog.MAX_PATHSPECS)]
    for paths in (PATHS[:1], PATHS, many):
        got = gitlog.diff_links(git, chain, paths, jobs=jobs)
        assert got == gitlog.log_paths(git, paths), (size, paths)
    assert len(gitlog.diff_links(git, chain, PATHS, jobs=jobs)) == 13


def test_equal_strings_are_shared(repo: Path) -> None:
    git = Git(cwd=repo)
    commits = gitlog.diff_links(git, gitlog.first_parent_chain(git, "HEAD"), PATHS, jobs=1)
    changes = [c for commit in commits for c in commit.changes]
    by_path: dict[str, int] = {}
    for change in changes:  # one string object per distinct path
        by_path.setdefault(change.path, id(change.path))
        assert id(change.path) == by_path[change.path]
    # a blob id read as one change's new blob is the same object as the next's old one
    newer = {c.old_blob: c.old_blob for c in changes if c.old_blob}
    shared = [c.new_blob for c in changes if c.new_blob in newer]
    assert shared
    assert all(newer[b] is b for b in shared)
    assert len({id(c.author_email) for c in commits}) == 1
