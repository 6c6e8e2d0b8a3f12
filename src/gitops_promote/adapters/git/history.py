"""History readers of a checkout: commits and path histories in one pass, trees of a
partial clone fetched in batches (or downloaded in the background), a shallow clone
made whole (:meth:`History.ensure_history`) or deep enough (:meth:`History.deepen_since`)
before anything is computed from it."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from gitops_promote.adapters.git import blobs as gitblobs
from gitops_promote.adapters.git import log as gitlog
from gitops_promote.adapters.git.checkout import FILTER_COMMITS, FILTER_HISTORY, Checkout, _git_time
from gitops_promote.adapters.git.guard import clean_path

logger = logging.getLogger("gitops_promote.adapters.git")


class History(Checkout):
    """:class:`Checkout` with its history readers."""

    def commit_text(self, rev: str) -> str:
        """The raw commit object ``rev`` (headers, a blank line, the message)."""
        return self.git.run("cat-file", "commit", rev).text

    def changed_between(self, parent: str, rev: str) -> list[str]:
        """The files commit ``rev`` changes against ``parent`` (``git diff-tree``)."""
        out = self.git.run("diff-tree", "--no-commit-id", "--name-only", "-r", parent, rev)
        return out.text.splitlines()

    def last_trailer(self, key: str, path: str, window: str) -> str | None:
        """The ``key`` trailer of the last commit in ``window`` (``--since=…`` or an
        ``A..HEAD`` range) that changed ``path`` (None: no such commit, or no trailer).
        Bounded, so a partial clone fetches the trees of a few recent commits, not of
        the whole history."""
        bound = [window] if window.startswith("--") else []
        rev = "HEAD" if bound else window
        out = self.git.run(
            "log",
            "-1",
            *bound,
            f"--format=%(trailers:key={key},valueonly)",
            rev,
            "--",
            path,
            check=False,
        )
        value = out.text.strip() if out.ok else ""
        return value or None

    def trailers_in(self, key: str, window: str) -> list[str] | None:
        """The ``key`` trailers of every commit in ``window`` (``--since=…``) up to HEAD,
        whatever they changed (commits only: no tree is read); None when git cannot say."""
        out = self.git.run(
            "log", window, f"--format=%(trailers:key={key},valueonly)", "HEAD", check=False
        )
        if not out.ok:
            return None
        return [line.strip() for line in out.text.splitlines()]

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
        return gitblobs.read_blobs(self.git, cleaned, partial=self.partial, remote=self.remote)

    def read_objects(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Content of blobs by id (e.g. ``FileChange.new_blob``), fetched in one batch."""
        return gitblobs.read_objects(self.git, oids, partial=self.partial, remote=self.remote)

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
                gitblobs.prefetch(self.git, trees, remote=self.remote)
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
            gitblobs.prefetch(self.git, set(wanted.values()), remote=self.remote)
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
