"""The first-parent commit list with times, and the root trees of a few commits: what
confirming a state-file entry needs from git, without reading a tree.

:func:`first_parent_times` is :func:`gitops_promote.adapters.git.log.first_parent_chain`
without the trees (``%H %cI %P``: a list of commit ids and dates, no tree id, so nothing
is diffed or fetched later on its strength); :func:`trees_of` names the root trees of the
few commits whose files must then be read (one ``rev-parse``: commit objects only).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from gitops_promote.adapters.git.log import Link, clamp_times
from gitops_promote.adapters.git.runner import Git


def first_parent_times(git: Git, ref: str = "HEAD") -> list[Link]:
    """The first-parent chain of ``ref``, newest first, each commit with its parents and
    clamped committer time (:func:`gitops_promote.adapters.git.log.clamp_times`); ``tree``
    is left empty (:func:`trees_of`). One ``git log`` of commit headers."""
    with tempfile.TemporaryDirectory(prefix="gitops-promote-") as tmp:
        out = Path(tmp) / "out"
        args = ("log", "--first-parent", "--no-color", "--format=%H %cI %P")
        git.run(*args, f"--output={out}", ref, "--")
        text = out.read_bytes().decode("utf-8", "surrogateescape")
    rows = [line.split() for line in text.splitlines()]
    times = clamp_times([datetime.fromisoformat(row[1]) for row in rows])
    return [Link(row[0], "", tuple(row[2:]), time) for row, time in zip(rows, times, strict=True)]


def trees_of(git: Git, commits: Sequence[str]) -> dict[str, str]:
    """The root tree of each of ``commits`` (full ids), in one ``git rev-parse``."""
    if not commits:
        return {}
    done = git.run("rev-parse", *(f"{commit}^{{tree}}" for commit in commits))
    trees = done.stdout.decode("ascii").split()
    return dict(zip(commits, trees, strict=True))


__all__ = ["first_parent_times", "trees_of"]
