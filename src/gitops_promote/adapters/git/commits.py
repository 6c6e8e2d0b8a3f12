"""The root trees of a few commits: what proving a state-file entry reads after the
commit list (:func:`gitops_promote.adapters.git.log.first_parent_chain` with
``trees=False``) left the trees out.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitops_promote.adapters.git.runner import Git


def trees_of(git: Git, commits: Sequence[str]) -> dict[str, str]:
    """The root tree of each of ``commits`` (full ids), in one ``git rev-parse``."""
    if not commits:
        return {}
    done = git.run("rev-parse", *(f"{commit}^{{tree}}" for commit in commits))
    trees = done.stdout.decode("ascii").split()
    return dict(zip(commits, trees, strict=True))


__all__ = ["trees_of"]
