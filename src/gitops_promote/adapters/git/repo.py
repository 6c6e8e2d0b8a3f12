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
- :meth:`Repo.push_with_retry` (``mode: push`` environments): commit, push; when the push
  is rejected (someone pushed first) or the server fails, fetch, drop the local commit,
  reset to the new tip, re-run the edit and try again, with jittered exponential backoff.
- :meth:`Repo.push_branch` (``mode: pull-request``): force-push with lease of a branch.

**The base-branch guard.** Every ``git push`` passes :func:`check_push_allowed`, and
:class:`~gitops_promote.adapters.git.runner.Git` refuses to run ``push`` without the token that
guard returns. Pushing to the base branch (or the remote's default branch) needs
``allow_base_push=True``, which only a ``mode: push`` environment may pass.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from gitops_promote.adapters import secrets
from gitops_promote.adapters.git import log as gitlog
from gitops_promote.adapters.git.runner import (
    _GUARD_PASSED,
    DEFAULT_IDENTITY,
    Completed,
    Git,
    GitCommandError,
    Identity,
    check_remote_url,
    register_url_secret,
    safe_url,
)
from gitops_promote.errors import GitPushError, UserError, quote

logger = logging.getLogger("gitops_promote.adapters.git")

PushStatus = Literal["pushed", "unchanged", "dry-run"]

FILTER_HISTORY = "blob:none"  # every commit and tree; blobs on demand
FILTER_COMMITS = "tree:0"  # commits only (with their dates); trees and blobs on demand

_OID_RE = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_BAD_BRANCH_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.+]|[/.]$|\.lock$|/\.")
# `git push --porcelain`: "<flag>\t<from>:<to>\t<summary>"
_RETRYABLE_REMOTE_REJECT = ("lock", "failed to update ref", "incorrect old value", "is at ")


class ProtectedBranchError(UserError):
    """Refused: a push to the base branch for an environment that is gated."""


class StaleBranchError(GitPushError):
    """A force-push with lease found the branch moved by someone else."""


@dataclass(frozen=True)
class PushResult:
    """What a push did.

    ``status``: ``pushed`` (``commit`` is on the remote ``branch``), ``unchanged`` (nothing
    to change: the edit is already in place, or the branch already had the commit) or
    ``dry-run`` (noop mode: nothing was pushed). ``parent``: the remote tip the commit was
    built on (the lease for branch pushes). ``attempts``: pushes tried.
    """

    status: PushStatus
    branch: str
    commit: str | None
    parent: str | None
    attempts: int


@dataclass(frozen=True)
class Unpushed:
    """Commits an opened checkout had on its base branch that the remote's does not (a
    ``--no-push`` run, or one stopped between commit and push): ``head``, the commit the
    branch was at; ``base``, where it forked from the remote's history; ``count``, how
    many commits ``base..head`` holds."""

    head: str
    base: str
    count: int


@dataclass(frozen=True)
class Retry:
    """Bounded retries with jittered exponential backoff (delays in seconds).

    ``attempts`` bounds the pushes that fail (server errors, dropped connections);
    ``races`` bounds the pushes rejected because someone else's push landed first, each
    of which means the others made progress: with many writers at once (CI of many apps)
    the last one needs about as many tries as there are writers ahead of it."""

    attempts: int = 8
    races: int = 40
    base_delay: float = 0.2
    max_delay: float = 6.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): "full jitter", uniform between
        a tenth of the ceiling and the ceiling, which doubles up to ``max_delay``; racing
        writers spread out instead of colliding again."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return self.rng.uniform(ceiling / 10, ceiling)


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


def _git_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


# -- the repository -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """One push attempt: the porcelain flag of the ref (``!`` rejected, ``=`` up to date,
    ``' '``/``+``/``*`` pushed, ``""`` no ref line: the push failed before) and its summary."""

    flag: str
    summary: str
    error: GitCommandError | None

    @property
    def pushed(self) -> bool:
        return self.flag in (" ", "+", "*")

    @property
    def retryable(self) -> bool:
        if self.flag == "!":
            summary = self.summary.lower()
            if summary.startswith("[rejected]"):
                return "stale info" not in summary  # fetch first / non-fast-forward
            return any(s in summary for s in _RETRYABLE_REMOTE_REJECT)
        return self.error is not None and self.error.transient

    def describe(self) -> str:
        if self.error is not None:
            return str(self.error.message)
        return self.summary or "push failed"


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


class Repo:
    """A checkout of the config repo with its base branch (``main``).

    Build one with :meth:`clone` or :meth:`open`. ``git`` is the runner (token, identity,
    dry-run); ``root`` the work tree.
    """

    gated: GatedFiles | None = None  # set by protect(): files base-branch pushes leave alone

    def __init__(
        self,
        git: Git,
        root: Path,
        *,
        base_branch: str,
        remote: str = "origin",
        partial: bool = False,
        sparse: bool = False,
        synced: bool = False,
        filter: str | None = None,
        shallow: bool = False,
    ) -> None:
        self.git = git.at(root)
        self.root = root
        self.base_branch = branch_name(base_branch)
        self.remote = remote
        self.partial = partial or filter is not None
        self.filter = filter
        self.shallow = shallow  # history cut short: see ensure_history
        self._history_since: datetime | None = None  # a shallow clone holds commits since
        self.sparse = sparse
        self._synced = synced
        self.unpushed: Unpushed | None = None  # see align_with_remote
        self._remote_default: str | None = None
        self._sparse_paths: list[str] = []
        self._trees_at: set[str] = set()  # commits whose whole tree is known to be local
        self._download: subprocess.Popen[bytes] | None = None  # start_tree_download

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r}, base_branch={self.base_branch!r})"

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

    # -- state ----------------------------------------------------------------------------

    @property
    def remote_url(self) -> str:
        """The remote's URL, without any user info (safe to print)."""
        return safe_url(self.git.remote_url or "")

    @property
    def _base_refspec(self) -> str:
        """The refspec that fetches the base branch into its remote-tracking ref."""
        return f"+refs/heads/{self.base_branch}:{self.base_ref}"

    def _is_shallow(self) -> bool:
        """What git says now: the repository is missing history (``.git/shallow``)."""
        return self.git.run("rev-parse", "--is-shallow-repository", check=False).text == "true"

    @property
    def base_ref(self) -> str:
        """The remote-tracking ref of the base branch (``refs/remotes/origin/main``)."""
        return f"refs/remotes/{self.remote}/{self.base_branch}"

    @property
    def sparse_paths(self) -> tuple[str, ...]:
        """Paths this checkout was asked to include (empty when not sparse)."""
        return tuple(self._sparse_paths)

    def head(self) -> str:
        """The sha of HEAD."""
        sha = self.rev_parse("HEAD")
        if sha is None:
            raise UserError(f"{self.root}: the branch {self.base_branch!r} has no commit yet")
        return sha

    def dirty_files(self) -> list[str]:
        """Changed, staged and untracked files (ignored files excluded)."""
        out = self.git.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules"
        ).stdout
        files: list[str] = []
        tokens = out.split(b"\0")
        i = 0
        while i < len(tokens):
            entry = tokens[i]
            i += 1
            if len(entry) < 4:
                continue
            files.append(entry[3:].decode("utf-8", "surrogateescape"))
            if entry[:1] in (b"R", b"C"):
                i += 1  # the source of a rename/copy follows
        return files

    def require_clean(self, *, what: str | None = None) -> None:
        """UserError when the work tree has uncommitted changes."""
        files = self.dirty_files()
        if files:
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            raise UserError(
                f"{what or self.root} has uncommitted changes ({shown})",
                hint="commit or stash them first: promote commits only its own edits and "
                "resets the checkout to the remote branch when it has to retry",
            )

    def add_sparse(self, paths: Sequence[str]) -> None:
        """Add ``paths`` to the sparse checkout (no-op for a full checkout)."""
        cleaned = [clean_path(p) for p in paths]
        new = [p for p in cleaned if p not in self._sparse_paths]
        if not self.sparse or not new:
            return
        patterns = "".join(f"{sparse_pattern(p)}\n" for p in new)
        self.git.run(
            "sparse-checkout", "add", "--stdin", input=patterns.encode("utf-8", "surrogateescape")
        )
        self._sparse_paths += new

    # -- plumbing -------------------------------------------------------------------------

    def rev_parse(self, rev: str, *, peel: str | None = "commit") -> str | None:
        """The object id ``rev`` names (peeled to ``peel``: ``commit``, ``tree``, or None
        for no peeling), or None when it does not exist."""
        if rev.startswith("-"):
            raise UserError(f"revision {rev!r} is not valid")
        spec = f"{rev}^{{{peel}}}" if peel else rev
        out = self.git.run(
            "rev-parse", "--quiet", "--verify", "--end-of-options", spec, check=False
        )
        return (out.text or None) if out.ok else None

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of ``a`` and ``b`` (None: unrelated histories)."""
        self.ensure_history()
        out = self.git.run("merge-base", "--end-of-options", a, b, check=False)
        if out.returncode == 1:
            return None
        if not out.ok:
            raise self._error("merge-base", out)
        return out.text

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        out = self.git.run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        if out.returncode == 1 and self.shallow:  # "no" may be the cut: ask the whole history
            self.ensure_history()
            out = self.git.run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        if out.returncode not in (0, 1):
            raise self._error("merge-base", out)
        return out.returncode == 0

    def diff_names(self, base: str, head: str) -> list[str]:
        """Files a pull request changes: ``base...head`` (from their merge base to head)."""
        self.ensure_trees()
        out = self.git.run(
            "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", f"{base}...{head}", "--"
        ).stdout
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def show(self, rev: str, path: str) -> bytes | None:
        """Content of ``path`` at ``rev`` (None: no such regular file)."""
        return self.read_blobs([(rev, path)])[(rev, clean_path(path))]

    def read_blobs(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
        """Content of many ``(rev, path)`` pairs: one ``cat-file`` process; in a partial clone
        the missing blobs come in one fetch. Keys use the cleaned path."""
        cleaned = [(rev, clean_path(path)) for rev, path in pairs]
        if self.shallow and any(self.rev_parse(rev) is None for rev in {r for r, _ in cleaned}):
            self.ensure_history()  # a commit beyond the cut: it is there after this
        if any(not self._tree_is_local(rev) for rev, _ in cleaned):
            self.ensure_trees()
        return gitlog.read_blobs(self.git, cleaned, partial=self.partial, remote=self.remote)

    def read_objects(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Content of blobs by id (e.g. ``FileChange.new_blob``), fetched in one batch."""
        return gitlog.read_objects(self.git, oids, partial=self.partial, remote=self.remote)

    def iter_log(
        self, paths: Sequence[str], ref: str | None = None, *, first_parent: bool = True
    ) -> Iterator[gitlog.CommitInfo]:
        """Commits of ``ref`` (default: HEAD) that changed any of ``paths``, newest first,
        from one ``git log`` read as it runs (stop early: git stops). See
        :func:`gitops_promote.adapters.git.log.iter_log`."""
        cleaned = [clean_path(p) for p in paths]
        self.ensure_trees()
        return gitlog.iter_log(self.git, cleaned, ref or "HEAD", first_parent=first_parent)

    def log_paths(
        self,
        paths: Sequence[str],
        ref: str | None = None,
        *,
        first_parent: bool = True,
        max_count: int | None = None,
    ) -> list[gitlog.CommitInfo]:
        """Commits of ``ref`` (default: HEAD) that changed any of ``paths``: one pass."""
        cleaned = [clean_path(p) for p in paths]
        self.ensure_trees()
        return gitlog.log_paths(
            self.git, cleaned, ref or "HEAD", first_parent=first_parent, max_count=max_count
        )

    def path_history(
        self,
        paths: Sequence[str],
        ref: str | None = None,
        *,
        windows: Sequence[int] = (),
    ) -> Iterator[list[gitlog.CommitInfo]]:
        """The first-parent history of ``ref`` (default: HEAD) for ``paths``, newest first,
        in stretches read only when the caller asks for the next one: the same commits
        and changes as :meth:`log_paths`.

        ``windows``: the sizes, in commits, of the first stretches; the rest comes as one.
        In a commits-only clone each window downloads just the trees of its own commits
        (one request), so a question answered by recent history never downloads every
        tree; the rest downloads them all at once (:meth:`ensure_trees`)."""
        cleaned = [clean_path(p) for p in paths]
        self.ensure_history()
        chain = gitlog.first_parent_chain(self.git, ref or "HEAD")
        start = 0
        if self._download is not None:
            windows = ()  # every tree is on its way already
        for size in windows:
            if start >= len(chain):
                return
            part = chain[start : start + size]
            if (self.filter or "").startswith("tree:"):
                # each commit's trees and the parent's of the oldest: all its diff reads
                trees = {link.tree for link in chain[start : start + size + 1]}
                gitlog.prefetch(self.git, trees, remote=self.remote)
            yield gitlog.diff_links(self.git, part, cleaned)
            start += len(part)
        if start < len(chain):
            self.ensure_trees()
            yield gitlog.diff_links(self.git, chain[start:], cleaned)

    def fetch_trees(self, links: Iterable[gitlog.Link]) -> None:
        """Make the whole trees of these commits local, and only theirs (a commits-only
        clone: one request; no-op otherwise, or when every tree is on its way already),
        so that reading files at them downloads no other tree."""
        if not (self.filter or "").startswith("tree:") or self._download is not None:
            return
        wanted = {link.commit: link.tree for link in links if link.commit not in self._trees_at}
        if wanted:
            gitlog.prefetch(self.git, set(wanted.values()), remote=self.remote)
            self._trees_at.update(wanted)

    def _tree_is_local(self, rev: str) -> bool:
        if not (self.filter or "").startswith("tree:"):
            return True
        if rev in ("HEAD", self.base_branch):
            rev = self.rev_parse(rev) or rev
        return rev in self._trees_at

    def _refetch_args(self) -> tuple[str, ...]:
        return (
            "fetch",
            "--quiet",
            "--no-tags",
            "--refetch",
            f"--filter={FILTER_HISTORY}",
            self.remote,
            self._base_refspec,
        )

    def start_tree_download(self) -> None:
        """Begin :meth:`ensure_trees`'s download in the background (no-op unless the clone
        is commits-only): a command that will read the whole history starts it first and
        parses promotion.yaml and the current overlays meanwhile. :meth:`ensure_trees`
        waits for it; :meth:`stop_background` ends it."""
        if not (self.filter or "").startswith("tree:") or self._download is not None:
            return
        if self.git.noop:
            return
        logger.info("downloading the trees of %s in the background", self.remote_url)
        try:  # its output does not matter: if it fails, ensure_trees runs it again and says why
            self._download = subprocess.Popen(
                (self.git.binary, *self._refetch_args()),
                cwd=self.root,
                env=self.git.env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._download = None

    def _background_download_done(self) -> bool:
        """Wait for the background download (bounded like any git command): did it work?"""
        proc, self._download = self._download, None
        if proc is None:
            return False
        try:
            return proc.wait(timeout=self.git.timeout) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return False

    def stop_background(self) -> None:
        """End a background download that is still running (the workspace is closing)."""
        proc, self._download = self._download, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def ensure_history(self) -> None:
        """Make the base branch's whole history local when this checkout is shallow (no-op
        otherwise): a partial clone fetches the missing commits only (``tree:0``; trees
        come as for any commits-only clone), a full one fetches them whole. Every reader
        of history calls it first: an answer from a cut history would be wrong, silently."""
        if not self.shallow:
            return
        logger.info("fetching the whole history of %s (the checkout is shallow)", self.remote_url)
        args = ["fetch", "--quiet", "--no-tags", "--recurse-submodules=no", "--unshallow"]
        if self.partial:
            args.append(f"--filter={FILTER_COMMITS}")
        out = self.git.run(*args, self.remote, self._base_refspec, check=False)
        if not out.ok:
            raise self._error("fetch", out)
        if self.partial:
            self.git.run("config", f"remote.{self.remote}.partialclonefilter", FILTER_COMMITS)
            self.filter = FILTER_COMMITS
        self.shallow = False

    def deepen_since(self, moment: datetime) -> None:
        """Make the commits of the last stretch of history, back to ``moment``, local when
        this checkout is shallow (no-op otherwise): commits only, one request. A reader
        that looks back no further (``git log --since``) needs nothing more."""
        if not self.shallow:
            return
        if self._history_since is not None and moment >= self._history_since:
            return  # those commits are here already
        tip = self.git.run("log", "-1", "--format=%ct", "HEAD", check=False).text
        if tip.isdigit() and datetime.fromtimestamp(int(tip), UTC) < moment:
            self._history_since = moment  # nothing landed since: the window is empty
            return
        args = ["fetch", "--quiet", "--no-tags", "--recurse-submodules=no"]
        args.append(f"--shallow-since={_git_time(moment)}")
        if self.partial:
            args.append(f"--filter={FILTER_COMMITS}")
        if not self.git.run(*args, self.remote, self._base_refspec, check=False).ok:
            self.ensure_history()  # whatever went wrong, the whole history answers too
            return
        self._history_since = moment
        self.shallow = self._is_shallow()

    def ensure_trees(self) -> None:
        """Make every tree of the base branch's history local (no-op unless the clone is
        commits-only, ``tree:0``): one refetch instead of one request per tree during a
        history pass. Called by the history and blob readers; the new filter is kept. A
        download begun by :meth:`start_tree_download` is waited for; if it failed, the
        download runs again here (and reports what fails)."""
        self.ensure_history()
        if not (self.filter or "").startswith("tree:"):
            return
        if not self._background_download_done():
            logger.info("downloading the trees of %s for a history pass", self.remote_url)
            self.git.run(*self._refetch_args())
        self.git.run("config", f"remote.{self.remote}.partialclonefilter", FILTER_HISTORY)
        self.filter = FILTER_HISTORY

    def fetch(self, refs: Sequence[str]) -> dict[str, str]:
        """Fetch branches (``name`` or ``refs/heads/name``), other refs (``refs/...``) or
        commit ids from the remote in one request; return each one's commit id. Branches
        land in ``refs/remotes/origin/<name>``, other refs under ``refs/remotes/origin/``.
        """
        specs: list[str] = []
        local: dict[str, str] = {}
        for ref in refs:
            if _OID_RE.fullmatch(ref):
                specs.append(ref)
                local[ref] = ref
                continue
            if ref.startswith("refs/") and not ref.startswith("refs/heads/"):
                if _BAD_BRANCH_RE.search(ref.removeprefix("refs/")):
                    raise UserError(f"ref {ref!r} is not valid")
                dst = f"refs/remotes/{self.remote}/{ref.removeprefix('refs/')}"
                specs.append(f"+{ref}:{dst}")
            else:
                name = branch_name(ref)
                dst = f"refs/remotes/{self.remote}/{name}"
                specs.append(f"+refs/heads/{name}:{dst}")
            local[ref] = dst
        if not specs:
            return {}
        self.git.run(
            "fetch", "--quiet", "--no-tags", "--recurse-submodules=no", self.remote, *specs
        )
        result: dict[str, str] = {}
        for ref, dst in local.items():
            sha = self.rev_parse(dst)
            if sha is None:
                raise GitPushError(f"git fetch: {ref} did not arrive from {self.remote_url}")
            result[ref] = sha
        return result

    def remote_branch_sha(self, branch: str) -> str | None:
        """The commit ``branch`` points at on the remote (None: no such branch), with
        ``git ls-remote`` (one request, which also learns the remote's default branch)."""
        name = branch_name(branch)
        out = self.git.run("ls-remote", "--symref", self.remote, "HEAD", f"refs/heads/{name}").text
        sha: str | None = None
        for line in out.splitlines():
            left, _, right = line.partition("\t")
            if left.startswith("ref: ") and right == "HEAD":
                self._remote_default = left.removeprefix("ref: ").removeprefix("refs/heads/")
            elif right == f"refs/heads/{name}":
                sha = left
        return sha

    def reset_hard(self, rev: str) -> None:
        """Move the current branch and the (sparse) work tree to ``rev``."""
        if rev.startswith("-"):
            raise UserError(f"revision {rev!r} is not valid")
        self.git.run("reset", "--quiet", "--hard", rev, "--", write=True)
        self._trees_at.add(self.head())

    def switch(self, branch: str, start: str | None = None) -> None:
        """Check out a local branch ``branch`` at ``start`` (default: the base tip),
        created or moved there."""
        name = branch_name(branch)
        self.git.run(
            "checkout", "--quiet", "--force", "-B", name, start or self.base_ref, write=True
        )
        self._trees_at.add(self.head())

    def _error(self, sub: str, out: Completed) -> GitCommandError:
        from gitops_promote.adapters.git.runner import command_error  # noqa: PLC0415 - tiny cycle

        return command_error(sub, out, self.git.remote_url)

    # -- commits --------------------------------------------------------------------------

    def commit(self, paths: Sequence[str], message: str) -> str | None:
        """Commit the changes under ``paths`` (files or directories) and nothing else;
        return the new commit id, or None when there is nothing to commit.

        Refuses (UserError) when anything outside ``paths`` is staged. In noop mode the
        commit is printed, not made (returns None).
        """
        roots = [clean_path(p) for p in paths]
        if not roots:
            raise UserError("nothing to commit: no paths given")
        if not message.strip():
            raise UserError("the commit message is empty")
        if self.git.noop:
            self.git.echo(f"dry-run: would commit {', '.join(roots)}: {message.splitlines()[0]}")
            return None
        present = self._existing(roots)
        if present:
            self.git.run("--literal-pathspecs", "add", "--all", "--", *present)
        staged = self._staged()
        outside = [p for p in staged if not _under(p, roots)]
        if outside:
            raise UserError(
                f"refusing to commit: files outside the promoted paths are staged "
                f"({', '.join(outside[:3])})",
                hint="unstage them (git restore --staged) or use a clean checkout",
            )
        if not staged:
            return None
        self.git.run(
            "commit",
            "--quiet",
            "--no-verify",
            "--cleanup=whitespace",
            "--file=-",
            input=message.encode(),
            write=True,
        )
        sha = self.head()
        self._trees_at.add(sha)  # written from the (full) index: every tree is local
        return sha

    def _existing(self, roots: Sequence[str]) -> list[str]:
        """The roots that exist on disk or in the index (a pathspec must match something)."""
        tracked = self.git.run("--literal-pathspecs", "ls-files", "-z", "--", *roots).stdout
        tracked_paths = [p.decode("utf-8", "surrogateescape") for p in tracked.split(b"\0") if p]
        return [
            root
            for root in roots
            if (self.root / root).exists()
            or (self.root / root).is_symlink()
            or any(t == root or t.startswith(root + "/") for t in tracked_paths)
        ]

    def _staged(self) -> list[str]:
        out = self.git.run(
            "diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff"
        ).stdout
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    # -- pushes ---------------------------------------------------------------------------

    def protect(self, roots: Mapping[str, str], allowed: Iterable[str] = ()) -> None:
        """From now on, refuse any base-branch push (``allow_base_push``) whose commits
        change a file under ``roots`` (overlay path -> gated environment), but for
        ``allowed`` ones (:func:`check_push_allowed`)."""
        self.gated = GatedFiles(
            {str(PurePosixPath(root)): env for root, env in roots.items()},
            frozenset(str(PurePosixPath(p)) for p in allowed),
        )

    def _pushed_files(self, rev: str) -> list[str]:
        """The files ``rev`` changes against the remote base branch (its parent when
        there is no remote-tracking ref): what a push of ``rev`` would change there."""
        base = self.rev_parse(self.base_ref) or self.rev_parse(f"{rev}^")
        flags = ("--name-only", "-z", "--no-renames", "--no-ext-diff")
        if base is None:  # the first commit: everything in it
            out = self.git.run("diff-tree", "-r", "--root", *flags, rev)
        else:
            out = self.git.run("diff", *flags, base, rev, "--")
        return [p.decode("utf-8", "surrogateescape") for p in out.stdout.split(b"\0") if p]

    def push(
        self,
        branch: str,
        *,
        allow_base_push: bool,
        lease: str | Literal[False] | None = False,
        rev: str = "HEAD",
    ) -> _Outcome:
        """THE one place ``git push`` runs: ``rev`` to ``refs/heads/<branch>``, after
        :func:`check_push_allowed`. ``lease``: False for a plain (fast-forward) push; a
        commit id, or None for "must not exist yet", for ``--force-with-lease``.
        """
        checked = allow_base_push is True and self.gated is not None and not self.git.noop
        guard = check_push_allowed(
            branch,
            base_branch=self.base_branch,
            allow_base_push=allow_base_push,
            protected=(self._remote_default,),
            changed=self._pushed_files(rev) if checked else (),
            gated=self.gated if checked else None,
        )
        name = branch_name(branch)
        args = ["push", "--porcelain", "--no-verify", "--no-recurse-submodules"]
        if lease is not False:
            args.append(f"--force-with-lease=refs/heads/{name}:{lease or ''}")
        args += [self.remote, f"{rev}:refs/heads/{name}"]
        if self.git.noop:
            self.git.run(*args, write=True, push_guard=guard)
            return _Outcome("dry-run", "", None)
        out = self.git.run(*args, check=False, push_guard=guard)
        flag, summary = "", ""
        for line in out.text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1].endswith(f":refs/heads/{name}"):
                flag, summary = parts[0], parts[2]
        error = None
        if not out.ok and flag in ("", "!"):
            error = self._error("push", out)
        if error is not None and flag == "!":
            error = None  # the porcelain line says it all
        return _Outcome(flag, secrets.redact(summary), error)

    def _sync_base(self) -> None:
        """Before the first push from an opened checkout: bring the base branch to the
        remote tip (fast-forward only; local commits not on the remote are refused)."""
        if self._synced:
            return
        tip = self.fetch([self.base_branch])[self.base_branch]
        head = self.head()
        if head != tip:
            if not self.is_ancestor(head, tip):
                raise UserError(
                    f"{self.root}: branch {self.base_branch!r} has commits that are not on "
                    f"{self.remote}/{self.base_branch}",
                    hint="push or drop them first; promote pushes only its own commit",
                )
            self.reset_hard(tip)
        self._synced = True

    def align_with_remote(self) -> Unpushed | None:
        """Before anything is decided from an opened checkout: move its base branch to the
        remote's tip, so that what the work tree holds is what the remote has ("already in
        place" then means the remote has it). Behind: a fast-forward. Ahead or diverged
        (commits not pushed): the branch moves to the tip all the same, and what it was at
        is kept in :attr:`unpushed` (and returned): the caller decides whether those
        commits are exactly its own change (it then re-applies it on the tip) or refuses,
        and :meth:`restore_unpushed` puts the branch back when the run does not deliver."""
        tip = self.fetch([self.base_branch])[self.base_branch]
        head = self.head()
        self.unpushed = None
        if head != tip and not self.is_ancestor(head, tip):
            base = self.merge_base(head, tip) or tip
            count = self.git.run("rev-list", "--count", f"{base}..{head}", "--").text
            self.unpushed = Unpushed(head, base, int(count) if count.isdigit() else 0)
        if head != tip:
            self.reset_hard(tip)
        self._synced = True
        return self.unpushed

    def restore_unpushed(self) -> None:
        """Put the base branch back at the commits :meth:`align_with_remote` moved it away
        from (no-op when there were none, or when they were delivered)."""
        unpushed, self.unpushed = self.unpushed, None
        if unpushed is not None:
            self.reset_hard(unpushed.head)
            self._synced = False

    def push_with_retry(
        self,
        apply: Callable[[], bool],
        message: str | Callable[[], str],
        *,
        paths: Sequence[str],
        allow_base_push: bool,
        retry: Retry | None = None,
    ) -> PushResult:
        """Edit, commit and push to the base branch until it lands (``mode: push`` only).

        ``apply()`` edits the files under ``paths`` in the work tree and returns whether
        it changed anything; it is re-run from the new remote tip after every rejected or
        failed push (the edit is re-applied, text is never merged). ``message`` may be a
        callable, evaluated after each ``apply()``. Returns ``unchanged`` when ``apply()``
        finds nothing to do (already in place, or superseded by a newer push). Raises
        :class:`ProtectedBranchError` unless ``allow_base_push`` is True, and
        :class:`GitPushError` after ``retry.attempts`` failed pushes, or ``retry.races``
        pushes rejected because others landed first.
        """
        check_push_allowed(
            self.base_branch, base_branch=self.base_branch, allow_base_push=allow_base_push
        )
        retry = retry or Retry()
        self._sync_base()
        last = ""
        ours: str | None = None
        failures = races = 0
        attempt = 0
        while failures < retry.attempts and races < retry.races:
            attempt += 1
            if attempt > 1:
                retry.sleep(retry.delay(attempt - 1))
                try:
                    tip = self.fetch([self.base_branch])[self.base_branch]
                except GitCommandError as exc:
                    if not exc.transient:
                        raise
                    last = str(exc.message)
                    failures += 1
                    continue
                if ours is not None and self.is_ancestor(ours, tip):
                    # the "failed" push had landed (the answer was lost on the way back)
                    return PushResult("pushed", self.base_branch, ours, None, attempt - 1)
                self.reset_hard(tip)
            parent = self.head()
            if not apply():
                return PushResult("unchanged", self.base_branch, None, parent, attempt - 1)
            text = message() if callable(message) else message
            if self.git.noop:
                self.commit(paths, text)
                self.push(self.base_branch, allow_base_push=allow_base_push)
                return PushResult("dry-run", self.base_branch, None, parent, 0)
            ours = self.commit(paths, text)
            if ours is None:
                return PushResult("unchanged", self.base_branch, None, parent, attempt - 1)
            try:
                outcome = self.push(self.base_branch, allow_base_push=allow_base_push)
            except ProtectedBranchError:
                self.reset_hard(parent)  # a refused commit leaves nothing behind
                raise
            if outcome.pushed or outcome.flag == "=":
                return PushResult("pushed", self.base_branch, ours, parent, attempt)
            if not outcome.retryable:
                raise self._push_error(outcome)
            if outcome.flag == "!" and outcome.summary.lower().startswith("[rejected]"):
                races += 1  # another push landed first: re-apply on the new tip
            else:
                failures += 1
            last = outcome.describe()
            logger.info("push to %s failed (%s); retrying", self.base_branch, last)
        tries = (
            f"failed {failures} times"
            if failures >= retry.attempts
            else f"was rejected {races} times as other pushes landed first"
        )
        raise GitPushError(
            f"git push to {self.base_branch} of {self.remote_url} {tries}; last: {last}",
            hint="others keep pushing or the server keeps failing: re-run the job, it "
            "starts again from the new tip and changes nothing that is already in place",
        )

    def push_branch(
        self,
        branch: str,
        *,
        expected_remote_sha: str | None,
        rev: str = "HEAD",
        retry: Retry | None = None,
    ) -> PushResult:
        """Force-push ``rev`` to ``branch`` (a pull-request branch, never the base branch)
        with lease: only when the remote branch is still at ``expected_remote_sha`` (None:
        it must not exist). Transient failures are retried; a lost lease raises
        :class:`StaleBranchError`. ``unchanged`` when the branch already had ``rev``.
        """
        retry = retry or Retry()
        if self._remote_default is None and not self.git.noop:
            self.remote_branch_sha(branch)  # learn the remote's default branch for the guard
        commit = self.rev_parse(rev)
        last = ""
        for attempt in range(1, retry.attempts + 1):
            if attempt > 1:
                retry.sleep(retry.delay(attempt - 1))
            outcome = self.push(branch, allow_base_push=False, lease=expected_remote_sha, rev=rev)
            if outcome.flag == "dry-run":
                return PushResult("dry-run", branch, commit, expected_remote_sha, 0)
            if outcome.pushed:
                return PushResult("pushed", branch, commit, expected_remote_sha, attempt)
            if outcome.flag == "=":
                # up to date: already there before we came, or an earlier attempt of ours
                # landed but its answer was lost
                status: PushStatus = "unchanged" if attempt == 1 else "pushed"
                return PushResult(status, branch, commit, expected_remote_sha, attempt)
            if outcome.flag == "!" and "stale info" in outcome.summary:
                now = self.remote_branch_sha(branch)
                if now is not None and now == commit:
                    # an earlier attempt landed but its answer was lost
                    return PushResult("pushed", branch, commit, expected_remote_sha, attempt)
                raise StaleBranchError(
                    f"branch {branch} of {self.remote_url} moved while promoting "
                    f"(expected {(expected_remote_sha or 'no branch')[:12]}, "
                    f"found {(now or 'no branch')[:12]})",
                    hint="another run updated it at the same time: re-run, the promotion "
                    "starts again from the current state",
                )
            if not outcome.retryable:
                raise self._push_error(outcome)
            last = outcome.describe()
        raise GitPushError(
            f"git push to {branch} of {self.remote_url} failed {retry.attempts} times; "
            f"last: {last}",
            hint="the git server keeps failing: re-run the job",
        )

    def _push_error(self, outcome: _Outcome) -> GitPushError:
        if outcome.error is not None:
            error = outcome.error
            refused = GitPushError(str(error.message), hint=error.hint)
            refused.exit_code = error.exit_code  # 2 for auth/permission, like the cause
            return refused
        hint = None
        if "protected" in outcome.summary or "declined" in outcome.summary:
            hint = (
                "the server refused the push (branch protection?): let the bot push to it, "
                "or make the environment mode: pull-request"
            )
        return GitPushError(
            f"git push to {self.remote_url} was refused: {outcome.summary}", hint=hint
        )
