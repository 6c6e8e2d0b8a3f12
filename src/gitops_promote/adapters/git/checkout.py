"""A checkout of the config repo: its state, the plumbing every reader uses (revisions,
blobs, fetch), moving the branch, and one commit (:meth:`Checkout.commit`). History
(:mod:`.history`), pushes (:mod:`.push`) and construction (:mod:`.repo`) build on it."""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gitops_promote.adapters.git import blobs as gitblobs
from gitops_promote.adapters.git.guard import (
    _BAD_BRANCH_RE,
    GatedFiles,
    _under,
    branch_name,
    clean_path,
    sparse_pattern,
)
from gitops_promote.adapters.git.runner import (
    Completed,
    Git,
    GitCommandError,
    command_error,
    safe_url,
)
from gitops_promote.errors import GitPushError, UserError

logger = logging.getLogger("gitops_promote.adapters.git")

FILTER_HISTORY = "blob:none"  # every commit and tree; blobs on demand
FILTER_COMMITS = "tree:0"  # commits only (with their dates); trees and blobs on demand

_OID_RE = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True)
class Unpushed:
    """Commits an opened checkout had on its base branch that the remote's does not (a
    ``--no-push`` run, or one stopped between commit and push): ``head``, the commit the
    branch was at; ``base``, where it forked from the remote's history; ``count``, how
    many commits ``base..head`` holds."""

    head: str
    base: str
    count: int


def _git_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Checkout:
    """A checkout of the config repo with its base branch (``main``): see
    :class:`~gitops_promote.adapters.git.repo.Repo`, which builds one."""

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

    def rev_parse_many(self, revs: Sequence[str]) -> dict[str, str]:
        """The commit id of each of ``revs`` that names a commit, in one process
        (``cat-file --batch-check``: a name that is missing or not a commit is left out)."""
        wanted = list(dict.fromkeys(revs))
        if not wanted:
            return {}
        bad = next((rev for rev in wanted if rev.startswith("-") or "\n" in rev), None)
        if bad is not None:
            raise UserError(f"revision {bad!r} is not valid")
        out = self.git.run(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            input="".join(f"{rev}^{{commit}}\n" for rev in wanted).encode(
                "utf-8", "surrogateescape"
            ),
        ).stdout.decode("utf-8", "surrogateescape")
        result: dict[str, str] = {}
        for rev, line in zip(wanted, out.splitlines(), strict=False):
            oid, _, kind = line.partition(" ")
            if kind == "commit" and _OID_RE.fullmatch(oid):
                result[rev] = oid
        return result

    def fetch(self, refs: Sequence[str], *, trees: bool = False) -> dict[str, str]:
        """Fetch branches (``name`` or ``refs/heads/name``), other refs (``refs/...``) or
        commit ids from the remote in one request; return each one's commit id. Branches
        land in ``refs/remotes/origin/<name>``, other refs under ``refs/remotes/origin/``.

        ``trees`` (a ``tree:0`` partial clone): the fetched commits' trees come in the same
        request, only those the commits we have do not hold (``blob:none``: the server
        leaves out what the local history reaches). Reading a tree that is missing instead
        makes git fetch its whole closure (every subtree: the whole repository's listing),
        which grows with the repository even when the commit changes one file.
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
        commits_only = trees and self.filter == FILTER_COMMITS
        with_trees = [f"--filter={FILTER_HISTORY}"] if commits_only else []
        self.git.run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--recurse-submodules=no",
            *with_trees,
            self.remote,
            *specs,
        )
        shas = self.rev_parse_many(list(local.values()))
        result: dict[str, str] = {}
        for ref, dst in local.items():
            sha = shas.get(dst)
            if sha is None:
                raise GitPushError(f"git fetch: {ref} did not arrive from {self.remote_url}")
            result[ref] = sha
        if commits_only:
            self._complete_trees(list(result.values()))
        return result

    def _complete_trees(self, commits: Sequence[str]) -> None:
        """Fetch, in one request, the trees of ``commits`` the fetch left out because an
        older commit of the local history holds them (a server with reachability bitmaps
        counts every local commit's trees as had; a pull request branched long ago shares
        trees with its fork point, which a commits-only clone lacks). Listed without
        fetching anything (~20 ms for 2,000 apps); read one by one later, each missing
        tree would cost a request."""
        listed = self.git.run(
            "rev-list",
            "--objects",
            "--no-walk",
            "--missing=print",
            f"--filter={FILTER_HISTORY}",
            *commits,
            check=False,
        )
        if not listed.ok:
            return  # git reads what it lacks when asked (slower, same answer)
        missing = [line[1:] for line in listed.text.splitlines() if line.startswith("?")]
        gitblobs.prefetch(self.git, missing, remote=self.remote)

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
