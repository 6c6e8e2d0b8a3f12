"""Every git operation the product runs, through the git CLI.

- :mod:`.runner`: :class:`Git`, the one place that builds argv and the environment
  (token as an ``Authorization`` header through ``GIT_CONFIG_*``, identity, no prompts),
  runs git, redacts and classifies failures; dry-run (``noop``) support.
- :mod:`.repo`: :class:`Repo`, a config-repo checkout: partial + sparse clone, one commit,
  one push, branch pushes with lease, and the base-branch guard.
- :mod:`.plumbing`: named read-only operations (tree listing, tracked files, remote refs,
  merged tree, formatted log...), so no module outside this package builds git argv.
- :mod:`.log`: history in one pass (:func:`log_paths`).
- :mod:`.blobs`: many blobs in one process (:func:`read_blobs`), with missing blobs of a
  partial clone fetched in one batch.
- :mod:`.urls` and :mod:`.failures`: remote URLs and the token; results and classified
  errors.

Callers import from this package.
"""

from __future__ import annotations

from gitops_promote.adapters.git import plumbing, repo, runner
from gitops_promote.adapters.git.log import CommitInfo, FileChange
from gitops_promote.adapters.git.plumbing import *  # noqa: F403 (re-exported: plumbing.__all__)
from gitops_promote.adapters.git.repo import *  # noqa: F403 (re-exported: repo.__all__)
from gitops_promote.adapters.git.runner import *  # noqa: F403 (re-exported: runner.__all__)

__all__ = ["CommitInfo", "FileChange", "plumbing"]
__all__ += plumbing.__all__
__all__ += repo.__all__
__all__ += runner.__all__
