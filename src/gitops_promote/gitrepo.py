"""Every git operation the product runs, through the git CLI (facade).

The code lives in :mod:`gitops_promote.git`; import from here::

    from gitops_promote.gitrepo import Repo, Git, Identity, PushResult

See :class:`Repo` for clone/open/commit/push, :func:`check_push_allowed` for the guard
that keeps gated environments off the base branch, and :class:`CommitInfo` for history.
"""

from __future__ import annotations

from gitops_promote.git.log import CommitInfo, FileChange
from gitops_promote.git.repo import (
    FILTER_COMMITS,
    FILTER_HISTORY,
    ProtectedBranchError,
    PushResult,
    PushStatus,
    Repo,
    Retry,
    StaleBranchError,
    Unpushed,
    branch_name,
    check_push_allowed,
    clean_path,
)
from gitops_promote.git.runner import (
    DEFAULT_IDENTITY,
    Completed,
    Git,
    GitCommandError,
    Identity,
    PushGuardError,
    auth_header,
    build_env,
    check_remote_url,
    check_token_url,
    github_url,
    safe_url,
)

__all__ = [
    "DEFAULT_IDENTITY",
    "FILTER_COMMITS",
    "FILTER_HISTORY",
    "CommitInfo",
    "Completed",
    "FileChange",
    "Git",
    "GitCommandError",
    "Identity",
    "ProtectedBranchError",
    "PushGuardError",
    "PushResult",
    "PushStatus",
    "Repo",
    "Retry",
    "StaleBranchError",
    "Unpushed",
    "auth_header",
    "branch_name",
    "build_env",
    "check_push_allowed",
    "check_remote_url",
    "check_token_url",
    "clean_path",
    "github_url",
    "safe_url",
]
