"""Every git operation the product runs, through the git CLI.

- :mod:`.runner`: :class:`Git`, the one place that builds argv and the environment
  (token as an ``Authorization`` header through ``GIT_CONFIG_*``, identity, no prompts),
  runs git, redacts and classifies failures; dry-run (``noop``) support.
- :mod:`.repo`: :class:`Repo`, a config-repo checkout: partial + sparse clone, commit,
  push with fetch/re-apply/retry, branch pushes with lease, and the base-branch guard.
- :mod:`.log`: history in one pass (:func:`log_paths`) and many blobs in one process
  (:func:`read_blobs`), with missing blobs of a partial clone fetched in one batch.

Callers import from the facade :mod:`gitops_promote.gitrepo`.
"""
