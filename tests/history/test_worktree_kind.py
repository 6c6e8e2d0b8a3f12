"""The work tree's view tells what a path is with one ``lstat``: the same answers as
pathlib's ``is_symlink``, ``is_dir``, ``is_file`` and ``exists`` in that order (the rule it
replaces), for every kind of path a checkout can hold."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gitops_promote.facts.tree import Kind, WorkTree


def by_pathlib(root: Path, path: str) -> Kind | None:
    if path == ".":
        return "dir" if root.is_dir() else None
    target = root / path
    if target.is_symlink():
        return "link"
    if target.is_dir():
        return "dir"
    if target.is_file():
        return "file"
    return "other" if target.exists() else None


def outcome(read: Callable[[], Kind | None]) -> object:
    try:
        return read()
    except OSError as err:
        return ("error", err.errno)


def test_every_kind_of_path_reads_as_pathlib_reads_it(tmp_path: Path) -> None:
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "file.yaml").write_text("a: 1\n")
    (tmp_path / "to-file").symlink_to("dir/file.yaml")
    (tmp_path / "to-dir").symlink_to("dir")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop").symlink_to("loop")
    os.mkfifo(tmp_path / "fifo")
    paths = [
        ".",
        "dir",
        "dir/sub",
        "dir/file.yaml",
        "to-file",
        "to-dir",
        "to-dir/file.yaml",  # under a link: the link itself is what pin_file looks at first
        "dangling",
        "loop",
        "loop/x",
        "fifo",
        "missing",
        "dir/missing/deeper",
        "dir/file.yaml/under-a-file",
        "bad\0name",
        "x" * 300,  # too long a name: an error either way, not "absent"
    ]
    view = WorkTree(tmp_path)
    for path in paths:
        assert outcome(lambda p=path: view.kind(p)) == outcome(  # type: ignore[misc]
            lambda p=path: by_pathlib(tmp_path, p)  # type: ignore[misc]
        ), path[:40]
    assert WorkTree(tmp_path / "missing").kind(".") is None
