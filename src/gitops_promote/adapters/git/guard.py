"""The base-branch guard and the names it checks: every ``git push`` passes
:func:`check_push_allowed`, and :class:`~gitops_promote.adapters.git.runner.Git` refuses to
run ``push`` without the token that guard returns. Pushing to the base branch (or the
remote's default branch) needs ``allow_base_push=True``, which only a ``mode: push``
environment may pass; a push that changes a gated environment's file is refused whatever
the branch."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from gitops_promote.adapters.git.runner import (
    _GUARD_PASSED,
)
from gitops_promote.errors import UserError

_BAD_BRANCH_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.+]|[/.]$|\.lock$|/\.")


class ProtectedBranchError(UserError):
    """Refused: a push to the base branch for an environment that is gated."""


# -- validation ---------------------------------------------------------------------------


def branch_name(name: str) -> str:
    """A valid branch name without ``refs/heads/`` (UserError otherwise)."""
    short = name.removeprefix("refs/heads/")
    if not short or _BAD_BRANCH_RE.search(short) or short == "HEAD" or short.startswith("refs/"):
        raise UserError(
            f"branch name {name!r} is not valid",
            hint="use letters, digits, '-', '_', '.' and '/' (as in promote/production/api)",
        )
    return short


def clean_path(path: str) -> str:
    """A repository-relative POSIX path (no ``..``, not absolute); UserError otherwise."""
    if not isinstance(path, str) or not path or any(c in path for c in "\0\n\r"):
        raise UserError(f"path {path!r} is not valid", hint="use a path relative to the repo")
    pure = PurePosixPath(path)
    parts = [p for p in pure.parts if p != "."]
    if pure.is_absolute() or ".." in parts or not parts or parts[0] == ".git":
        raise UserError(
            f"path {path!r} is outside the config repo",
            hint="use a path relative to the repo root, without '..'",
        )
    return "/".join(parts)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def sparse_pattern(path: str) -> str:
    """Non-cone sparse-checkout pattern that selects exactly ``path`` (file or directory)."""
    escaped = re.sub(r"([\\*?\[!#])", r"\\\1", clean_path(path))
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


@dataclass(frozen=True)
class GatedFiles:
    """What a push to the base branch must leave alone: every file under the overlay
    path (a directory or a file) of a gated environment, except ``allowed`` (the state
    file, which every promotion rewrites)."""

    roots: Mapping[str, str]  # repo-relative overlay path -> its gated environment
    allowed: frozenset[str] = frozenset()

    def owner(self, path: str) -> tuple[str, str] | None:
        """(overlay path, environment) that ``path`` belongs to; None: no gated one."""
        if path in self.allowed:
            return None
        pure = PurePosixPath(path)
        for candidate in (pure, *pure.parents):
            env = self.roots.get(str(candidate))
            if env is not None:
                return str(candidate), env
        return None


def check_push_allowed(
    branch: str,
    *,
    base_branch: str,
    allow_base_push: bool,
    protected: Iterable[str | None] = (),
    changed: Iterable[str] = (),
    gated: GatedFiles | None = None,
) -> object:
    """THE guard: refuse a push to the base branch (or any ``protected`` branch, e.g. the
    remote's default branch) unless ``allow_base_push`` is exactly ``True`` (only a
    ``mode: push`` environment may pass that); and refuse, whatever the branch, a push
    whose ``changed`` files include one of a ``gated`` environment's files. Returns the
    token ``Git.run`` requires to run ``git push``.
    """
    target = branch_name(branch)
    guarded = {branch_name(base_branch)} | {branch_name(p) for p in protected if p}
    if target in guarded and allow_base_push is not True:
        raise ProtectedBranchError(
            f"refusing to push to {target!r}: it is the base branch and this environment "
            "is gated (mode: pull-request)",
            hint="gated environments change only through a pull request from another "
            "branch; check the pull-request branch template",
        )
    if gated is not None:
        for path in changed:
            owner = gated.owner(path)
            if owner is not None:
                root, env = owner
                under = f" (under its overlay {root})" if root != path else ""
                raise ProtectedBranchError(
                    f"refusing to push to {target!r}: the commit changes {path}, a file "
                    f"{env} deploys{under}, and {env} changes only through a pull request",
                    hint="each environment needs its own overlay: check the paths in "
                    "promotion.yaml, and that no gated overlay is built from a push "
                    "environment's files (gitops-promote validate lists them)",
                )
    return _GUARD_PASSED
