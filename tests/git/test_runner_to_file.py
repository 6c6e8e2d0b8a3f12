"""Git output read from a file (``Git.run(..., to_file=True)``): the very bytes a pipe
gives, large outputs and input included, and failures reported the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_promote.adapters.git import Git
from gitops_promote.adapters.git.blobs import cat_batch
from gitops_promote.adapters.git.failures import GitCommandError
from support import gitutil


def test_output_through_a_file_is_the_pipes(tmp_path: Path) -> None:
    root = gitutil.init_repo(tmp_path / "repo")
    big = "".join(f"line {i}\n" for i in range(200_000))  # megabytes: more than a pipe holds
    gitutil.commit_files(root, {"a.txt": "a\n", "big.txt": big, "b.bin": "\0\xff"}, message="x")
    git = Git(cwd=root)
    names = b"HEAD:a.txt\nHEAD:big.txt\nHEAD:b.bin\nHEAD:missing\n" * 50
    piped = git.run("cat-file", "--batch", input=names)
    filed = git.run("cat-file", "--batch", input=names, to_file=True)
    assert filed.stdout == piped.stdout
    assert filed.returncode == piped.returncode == 0
    assert len(filed.stdout) > 50 * len(big)
    found = cat_batch(git, ["HEAD:big.txt", "HEAD:missing"])
    assert found == [("blob", big.encode()), None]


def test_a_failure_through_a_file_says_why(tmp_path: Path) -> None:
    root = gitutil.init_repo(tmp_path / "repo")
    git = Git(cwd=root)
    out = git.run("cat-file", "-p", "no-such-object", check=False, to_file=True)
    assert not out.ok
    assert out.stdout == b""
    assert "no-such-object" in out.stderr
    with pytest.raises(GitCommandError):
        git.run("cat-file", "-p", "no-such-object", to_file=True)
