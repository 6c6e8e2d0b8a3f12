"""A config-repo checkout: clone only what a promotion needs, commit, push safely.

- :meth:`Repo.clone`: partial clone: every commit (and its date) comes, trees and blobs
  on demand (``--filter=tree:0``; the first history pass downloads the trees once); one
  branch, no tags, protocol v2, a sparse checkout of just the paths asked (more with
  :meth:`Repo.add_sparse`). ``shallow=True`` (a promotion, which may need no history at
  all): the tip alone, with its trees, in one request.
- **Shallow clones** (that one, or a ``--repo`` checkout made with ``fetch-depth: 1``):
  every reader of history first makes it whole (:meth:`Repo.ensure_history`; the
  superseded check only the recent part, :meth:`Repo.deepen_since`), so no answer is
  ever computed from a cut history.
- :meth:`Repo.open`: an existing checkout (``--repo DIR``); a dirty tree is refused.
- :meth:`Repo.commit` and :meth:`Repo.push`: one commit, one push (``mode: push``
  environments: the retry loop that re-applies the edit on a race is the deliver layer's,
  :func:`gitops_promote.deliver.push.push_with_retry`).
- :meth:`Repo.push_branch` (``mode: pull-request``): force-push with lease of a branch.

**The base-branch guard** (:mod:`.guard`): every ``git push`` passes
:func:`check_push_allowed`. The class is built up by job: :class:`.checkout.Checkout`
(state, plumbing, one commit) <- :class:`.history.History` (history readers) <-
:class:`.push.Pushing` (one push, branch push with lease) <- :class:`Repo` (clone, open).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from gitops_promote.adapters.git.checkout import FILTER_COMMITS, FILTER_HISTORY, Unpushed, _git_time
from gitops_promote.adapters.git.guard import (
    GatedFiles,
    ProtectedBranchError,
    branch_name,
    check_push_allowed,
    clean_path,
    sparse_pattern,
)
from gitops_promote.adapters.git.push import (
    Pushing,
    PushOutcome,
    PushResult,
    PushStatus,
    Retry,
    StaleBranchError,
)
from gitops_promote.adapters.git.runner import (
    DEFAULT_IDENTITY,
    Git,
    GitCommandError,
    Identity,
    check_remote_url,
    register_url_secret,
)
from gitops_promote.errors import UserError, quote

__all__ = [
    "FILTER_COMMITS",
    "FILTER_HISTORY",
    "GatedFiles",
    "ProtectedBranchError",
    "PushOutcome",
    "PushResult",
    "PushStatus",
    "Repo",
    "Retry",
    "StaleBranchError",
    "Unpushed",
    "branch_name",
    "check_push_allowed",
    "clean_path",
]

logger = logging.getLogger("gitops_promote.adapters.git")


def _lacks_branch(runner: Git, url: str, branch: str) -> bool:
    """True when the remote answers and has no ``branch`` (bad input); False when it has
    it or does not answer (the world's failure): asked, not read from an error's words."""
    listed = runner.run("ls-remote", "--heads", "--", url, f"refs/heads/{branch}", check=False)
    return listed.ok and not listed.text.strip()


def _runner(
    base: Git, cwd: Path, token: str | None, url: str, identity: Identity, noop: bool
) -> Git:
    """``base``'s options (echo, binary, environment, timeout) for a remote at ``url``;
    ``token`` (when given) replaces base's."""
    return replace(
        base,
        cwd=cwd,
        token=token if token is not None else base.token,
        remote_url=url,
        identity=identity,
        noop=noop,
    )


class Repo(Pushing):
    """A checkout of the config repo with its base branch (``main``).

    Build one with :meth:`clone` or :meth:`open`. ``git`` is the runner (token, identity,
    dry-run); ``root`` the work tree.
    """

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def clone(
        cls,
        url: str,
        dest: Path | str,
        *,
        token: str | None = None,
        branch: str | None = None,
        sparse_paths: Sequence[str] | None = None,
        identity: Identity = DEFAULT_IDENTITY,
        noop: bool = False,
        git: Git | None = None,
        filter: str | None = FILTER_COMMITS,
        shallow: bool = False,
        recent: datetime | None = None,
    ) -> Repo:
        """Clone ``url`` into ``dest`` (absent or empty): one branch (``branch``, default
        the remote's default branch), no tags, every commit and its date (unless
        ``shallow``), then check out ``sparse_paths`` only (None: everything).

        ``shallow``: only the tip commit and its trees (``--depth=1``, blobs on demand):
        the fastest start for a run that may read no history; readers of history make it
        whole first (:meth:`ensure_history`). ``recent`` (with ``shallow``): the commits
        since then too, in the same request (what :meth:`deepen_since` would fetch next).

        ``filter`` (partial clone): :data:`FILTER_COMMITS` (``tree:0``, the default: every
        commit, trees and blobs on demand: the fastest clone; the first history pass or
        historical read downloads the trees once, see :meth:`ensure_trees`) or
        :data:`FILTER_HISTORY` (``blob:none``: every commit and tree up front), or None
        for a full clone. ``git``: a runner to copy options from (echo, binary, timeout,
        environment); ``token``/``identity``/``noop`` given here win.
        """
        check_remote_url(url)
        dest = Path(dest).absolute()
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise UserError(f"cannot clone into {dest}: it exists and is not an empty directory")
        dest.parent.mkdir(parents=True, exist_ok=True)
        base = git or Git()
        runner = _runner(base, dest.parent, token, url, identity, noop)
        args = ["clone", "--quiet", "--no-checkout", "--single-branch", "--no-tags"]
        args.append("--template=")
        if shallow:
            filter = FILTER_HISTORY  # the tip's trees come in the clone's own pack
        if filter:
            args.append(f"--filter={filter}")
        if branch:
            args += ["--branch", branch_name(branch)]
        since = None
        if shallow and recent is not None:
            out = runner.run(
                *args, f"--shallow-since={_git_time(recent)}", "--", url, str(dest), check=False
            )
            if out.ok:
                since = recent
            else:
                # git refuses an empty window, each transport in its own words ("no commits
                # selected for shallow requests", a hung-up connection, ...): whatever the
                # words, the tip alone; a server or network that really fails fails that
                # clone too, and says why. Whether the window was empty, git's state tells
                # later (deepen_since reads the tip's date).
                logger.info("clone since %s failed; cloning the tip alone", _git_time(recent))
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True, exist_ok=True)
        if since is None:
            try:
                runner.run(*args, *(["--depth=1"] if shallow else []), "--", url, str(dest))
            except GitCommandError:
                if branch and _lacks_branch(runner, url, branch_name(branch)):
                    raise UserError(
                        f"the config repo has no branch {quote(branch)}",
                        hint="check --base-branch (settings.base-branch in promotion.yaml); "
                        "git ls-remote --heads lists the branches it has",
                    ) from None
                raise
        runner = runner.at(dest)
        head = runner.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).text
        repo = cls(
            runner,
            dest,
            base_branch=head or branch or "main",
            filter=filter or None,
            sparse=sparse_paths is not None,
            synced=True,
            shallow=shallow,
        )
        repo._history_since = since
        # the window may reach the first commit: then nothing is cut
        repo.shallow = shallow and repo._is_shallow()
        if sparse_paths is not None:
            patterns = [sparse_pattern(p) for p in sparse_paths]
            runner.run(
                "sparse-checkout",
                "set",
                "--no-cone",
                "--stdin",
                input="".join(f"{p}\n" for p in patterns).encode("utf-8", "surrogateescape"),
            )
            repo._sparse_paths = [clean_path(p) for p in sparse_paths]
        tip = repo.rev_parse("HEAD")
        if tip is not None:
            runner.run("checkout", "--quiet", "--force", repo.base_branch)
            repo._trees_at.add(tip)  # the checkout fetched HEAD's trees in one batch
        return repo

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        token: str | None = None,
        base_branch: str | None = None,
        require_clean: bool = True,
        remote: str = "origin",
        identity: Identity = DEFAULT_IDENTITY,
        noop: bool = False,
        git: Git | None = None,
    ) -> Repo:
        """An existing checkout (``--repo DIR``). The base branch is ``base_branch`` or the
        checked-out branch; the remote is ``remote``. ``require_clean`` (for promote): a
        checkout with uncommitted changes is refused (UserError).
        """
        where = Path(path).absolute()
        if not where.is_dir():
            raise UserError(f"--repo {path}: no such directory")
        base = git or Git()
        probe = Git(
            cwd=where,
            identity=identity,
            noop=noop,
            echo=base.echo,
            binary=base.binary,
            base_env=base.base_env,
            timeout=base.timeout,
        )
        top = probe.run("rev-parse", "--show-toplevel", check=False)
        if not top.ok:
            raise UserError(
                f"--repo {path}: not a git checkout",
                hint="pass the directory of a clone of the config repo",
            )
        root = Path(top.text)
        probe = probe.at(root)
        current = probe.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).text
        branch = base_branch or current
        if not branch:
            raise UserError(
                f"--repo {path}: HEAD is detached, so the base branch is unknown",
                hint="check out the base branch (e.g. git switch main) or pass --base-branch",
            )
        url = probe.run("remote", "get-url", remote, check=False)
        if not url.ok:
            raise UserError(
                f"--repo {path}: the checkout has no remote {remote!r}",
                hint=f"add it: git remote add {remote} <config repo URL>",
            )
        remote_url = url.text
        register_url_secret(remote_url)  # a checkout made the guide's way has a token in it
        runner = _runner(base, root, token, remote_url, identity, noop)
        promisor = runner.run("config", "--bool", f"remote.{remote}.promisor", check=False)
        partial = promisor.text == "true" or bool(
            runner.run("config", "--get", "extensions.partialClone", check=False).text
        )
        spec = runner.run(
            "config", "--get", f"remote.{remote}.partialclonefilter", check=False
        ).text
        sparse = runner.run("config", "--bool", "core.sparseCheckout", check=False).text
        repo = cls(
            runner,
            root,
            base_branch=branch,
            remote=remote,
            partial=partial,
            sparse=sparse == "true",
            filter=spec or None,
        )
        repo.shallow = repo._is_shallow()  # e.g. actions/checkout's default depth of 1
        if require_clean:
            repo.require_clean(what=f"--repo {path}")
        return repo
