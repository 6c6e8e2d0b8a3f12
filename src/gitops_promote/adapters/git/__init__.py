"""Every git operation the product runs, through the git CLI.

- :mod:`.runner`: :class:`Git`, the one place that builds argv and the environment
  (token as an ``Authorization`` header through ``GIT_CONFIG_*``, identity, no prompts),
  runs git, redacts and classifies failures; dry-run (``noop``) support.
- :mod:`.repo`: :class:`Repo`, a config-repo checkout: partial + sparse clone, one commit,
  one push, branch pushes with lease, and the base-branch guard.
- :mod:`.plumbing`: named read-only operations (tree listing, tracked files, remote refs,
  merged tree, formatted log...), so no module outside this package builds git argv.
- :mod:`.log`: history in one pass (:func:`log_paths`) and many blobs in one process
  (:func:`read_blobs`), with missing blobs of a partial clone fetched in one batch.

Callers import from this package.
"""

from __future__ import annotations

from gitops_promote.adapters.git import plumbing
from gitops_promote.adapters.git.log import CommitInfo, FileChange
from gitops_promote.adapters.git.plumbing import (
    Tree,
    cat_file,
    current_branch,
    diff_tree_names,
    has_remote,
    log_format,
    ls_files,
    ls_remote,
    ls_tree,
    merge_tree,
    toplevel,
)
from gitops_promote.adapters.git.repo import (
    FILTER_COMMITS,
    FILTER_HISTORY,
    ProtectedBranchError,
    PushOutcome,
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
from gitops_promote.adapters.git.runner import (
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
    "PushOutcome",
    "PushResult",
    "PushStatus",
    "Repo",
    "Retry",
    "StaleBranchError",
    "Tree",
    "Unpushed",
    "auth_header",
    "branch_name",
    "build_env",
    "cat_file",
    "check_push_allowed",
    "check_remote_url",
    "check_token_url",
    "clean_path",
    "current_branch",
    "diff_tree_names",
    "github_url",
    "has_remote",
    "log_format",
    "ls_files",
    "ls_remote",
    "ls_tree",
    "merge_tree",
    "plumbing",
    "safe_url",
    "toplevel",
]
