"""History in one pass.

:func:`log_paths` runs ONE ``git log`` for any number of paths and returns typed
:class:`CommitInfo` records, each with the files it changed (and their blob ids, which
cost nothing: they come from trees). :func:`first_parent_chain` lists the base branch's
commits without reading a tree, and :func:`diff_links` gives the same records for any
stretch of that chain (``git diff-tree --stdin``, split over the machine's cores), so a
caller can read as much history as it needs, newest first. Blobs: :mod:`.blobs`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from gitops_promote.adapters.git.runner import Git

_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%s")
_FORMAT = "%x1e" + "%x1f".join(_FIELDS)

# Options that keep user config (log.showSignature, diff.external, color...) out of output.
_LOG_OPTIONS = (
    "-z",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "--root",
    "--no-color",
    "--no-show-signature",
    "--no-ext-diff",
    "--no-textconv",
    "--no-mailmap",
    "--encoding=UTF-8",
    f"--format={_FORMAT}",
)


@dataclass(frozen=True)
class FileChange:
    """One file a commit changed (relative to its first parent).

    ``status``: ``A`` added, ``M`` modified, ``D`` deleted, ``T`` type changed.
    ``old_blob``/``new_blob``: blob ids before/after (None for added/deleted).
    """

    path: str
    status: str
    old_blob: str | None
    new_blob: str | None


@dataclass(frozen=True)
class CommitInfo:
    """One commit of a path-limited history. ``date`` is the committer date (when it landed
    on the branch), timezone-aware; ``changes`` are only the files matching the paths asked."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: datetime
    committer_name: str
    committer_email: str
    date: datetime
    subject: str
    changes: tuple[FileChange, ...]

    @property
    def author(self) -> str:
        return f"{self.author_name} <{self.author_email}>"

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes)

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


def _change(path: str, record: bytes, same: dict[str, str] | None = None) -> FileChange:
    """The change of ``path`` a raw diff record gives:
    ``:<old mode> <new mode> <old oid> <new oid> <status>`` (an all-zero id: none).
    ``same``: the strings seen before, by value; the path and the ids are those where
    equal (a file's path recurs in every commit that changes it, and each blob id twice:
    the new blob of one change is the old blob of the next)."""
    meta = record[1:].split(b" ")
    old, new = meta[2], meta[3]
    old_blob = old.decode() if old.strip(b"0") else None
    new_blob = new.decode() if new.strip(b"0") else None
    if same is not None:
        path = same.setdefault(path, path)
        old_blob = None if old_blob is None else same.setdefault(old_blob, old_blob)
        new_blob = None if new_blob is None else same.setdefault(new_blob, new_blob)
    return FileChange(path, meta[4][:1].decode(), old_blob, new_blob)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _commit(header: list[str], changes: list[FileChange]) -> CommitInfo:
    sha, parents, an, ae, ad, cn, ce, cd, subject = header
    return CommitInfo(
        sha=sha,
        parents=tuple(parents.split()),
        author_name=an,
        author_email=ae,
        author_date=datetime.fromisoformat(ad),
        committer_name=cn,
        committer_email=ce,
        date=datetime.fromisoformat(cd),
        subject=subject,
        changes=tuple(changes),
    )


def _tokens(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """NUL-separated tokens of a byte stream that arrives in chunks."""
    rest = b""
    for chunk in chunks:
        parts = (rest + chunk).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def parse_log_stream(chunks: Iterable[bytes]) -> Generator[CommitInfo, None, None]:
    """Parse, as it arrives, the output of ``git log`` run with :data:`_LOG_OPTIONS`."""
    header: list[str] | None = None
    changes: list[FileChange] = []
    tokens = _tokens(chunks)
    for raw in tokens:
        token = raw.lstrip(b"\n")
        if token.startswith(b"\x1e"):
            if header is not None:
                yield _commit(header, changes)
            header = _decode(token[1:]).split("\x1f", len(_FIELDS) - 1)
            changes = []
        elif token.startswith(b":"):
            changes.append(_change(_decode(next(tokens, b"")), token))  # the path follows
    if header is not None:
        yield _commit(header, changes)


# git compares every tree entry with every pathspec: thousands of pathspecs make a history
# pass quadratic. Beyond this many, ask git for their common parent directories instead and
# keep only the requested paths here (same result with first-parent history).
MAX_PATHSPECS = 32


def coarse_pathspecs(paths: Sequence[str], limit: int = MAX_PATHSPECS) -> list[str]:
    """At most ``limit`` pathspecs that cover ``paths`` (their deepest common parents);
    an empty list means the whole tree."""
    unique = sorted(set(paths))
    if len(unique) <= limit:
        return unique
    depth = max(p.count("/") + 1 for p in unique)
    for level in range(depth - 1, 0, -1):
        prefixes = sorted({"/".join(p.split("/")[:level]) for p in unique})
        if len(prefixes) <= limit:
            return prefixes
    return []


def _selector(paths: Sequence[str]) -> Callable[[str], bool]:
    wanted = frozenset(paths)

    def selected(path: str) -> bool:
        if path in wanted:
            return True
        cut = path.rfind("/")
        while cut > 0:
            if path[:cut] in wanted:
                return True
            cut = path.rfind("/", 0, cut)
        return False

    return selected


def iter_log(
    git: Git,
    paths: Sequence[str],
    ref: str = "HEAD",
    *,
    first_parent: bool = True,
    max_count: int | None = None,
) -> Iterator[CommitInfo]:
    """Commits of ``ref`` that changed any of ``paths`` (files or directories; none: every
    commit), newest first, from ONE ``git log`` read as it runs: stop iterating when you
    have what you need and git is stopped. ``first_parent`` (default) follows the branch
    itself: a pull request shows up as its merge commit (the date it landed on the branch)
    with the merge's changes against the branch. No blob is read: a partial clone fetches
    nothing. ``changes`` of each commit lists only files under ``paths``.
    """
    specs = list(paths)
    keep: Callable[[str], bool] | None = None
    if first_parent and len(set(paths)) > MAX_PATHSPECS:
        specs = coarse_pathspecs(paths)
        keep = _selector(paths)
    args = ["--literal-pathspecs", "log", *_LOG_OPTIONS]
    if first_parent:
        args += ["--first-parent", "--diff-merges=first-parent"]
    if max_count is not None and keep is None:
        args.append(f"--max-count={max_count}")
    args += [ref, "--", *specs]
    count = 0
    with closing(parse_log_stream(git.stream(*args))) as commits:
        for found in commits:
            commit = found
            if keep is not None:
                changes = tuple(c for c in found.changes if keep(c.path))
                if not changes:
                    continue
                commit = replace(found, changes=changes)
            yield commit
            count += 1
            if max_count is not None and count >= max_count:
                return


@dataclass(frozen=True)
class Link:
    """One commit of a first-parent chain: its id, its root tree, its parents and its
    time on the chain (:func:`clamp_times`; None: not read)."""

    commit: str
    tree: str
    parents: tuple[str, ...]
    time: datetime | None = None

    @property
    def parent(self) -> str | None:
        """The first parent (None: the root commit)."""
        return self.parents[0] if self.parents else None


def clamp_times(dates: Sequence[datetime]) -> list[datetime]:
    """Times of a first-parent chain's commits, from their committer dates, newest first
    (pure): a commit's time is never earlier than its first parent's,
    ``time(c) = max(date(c), time(first parent))``. A committer date is whatever the
    committer wrote; a commit cannot have landed on the branch before its parent did, so
    a backdated commit counts from its parent's time (soak starts no earlier than the
    commit could have landed). Undated or honest chains keep their dates exactly."""
    out: list[datetime] = []
    latest: datetime | None = None
    for date in reversed(dates):
        latest = date if latest is None or date >= latest else latest
        out.append(latest)
    out.reverse()
    return out


def first_parent_chain(git: Git, ref: str = "HEAD", *, trees: bool = True) -> list[Link]:
    """The first-parent chain of ``ref``, newest first, each commit with its clamped
    committer time (:func:`clamp_times`). Reads commits only: a commits-only partial
    clone has them all. ``trees=False``: each ``tree`` is left empty (a list of commit
    ids and dates, so nothing is diffed or fetched later on its strength; the state
    file's chain check)."""
    fields = "%H %T %cI %P" if trees else "%H %cI %P"
    args = ("log", "--first-parent", "--no-color", f"--format={fields}", ref, "--")
    out = git.run(*args, to_file=True).stdout.decode("utf-8", "surrogateescape")
    rows = [line.split() for line in out.splitlines()]
    if not trees:
        rows = [[row[0], "", *row[1:]] for row in rows]
    times = clamp_times([datetime.fromisoformat(row[2]) for row in rows])
    return [
        Link(row[0], row[1], tuple(row[3:]), time) for row, time in zip(rows, times, strict=True)
    ]


# `git diff-tree --stdin` gives, for each "commit parent" line, what `git log --raw`
# gives for that commit (the same header and records), in about two thirds of the time:
# log also computes each commit's diff once more to decide whether to show it.
_DIFF_OPTIONS = (
    "-r",
    "--root",
    "-z",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--encoding=UTF-8",
    f"--format={_FORMAT}",
)
# Below this many commits a second diff-tree process costs more than it saves.
_PARALLEL_MIN = 2000


def diff_links(
    git: Git, links: Sequence[Link], paths: Sequence[str], *, jobs: int | None = None
) -> list[CommitInfo]:
    """The commits of ``links`` (newest first) that changed any of ``paths`` against their
    first parent, with those changes: exactly what :func:`log_paths` (first-parent) gives
    for the same stretch of history, except that ``date`` is the link's clamped time
    (:func:`clamp_times`) when the link has one: pin events, and so soak, count from it.
    ``jobs``: diff-tree processes run at once (default: the machine's cores, up to 4, for
    long stretches); each one's output is read while the next ones still run."""
    if not links:
        return []
    specs = list(paths)
    keep: Callable[[str], bool] | None = None
    if len(set(paths)) > MAX_PATHSPECS:
        specs = coarse_pathspecs(paths)
        keep = _selector(paths)
        if _every_top_directory(git, links[0].tree, specs):
            specs = []  # the same changes once filtered here, and git matches no pathspec
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4) if len(links) >= _PARALLEL_MIN else 1
    jobs = max(1, min(jobs, len(links)))
    size = -(-len(links) // jobs)
    parts = [links[i : i + size] for i in range(0, len(links), size)]

    by_commit = {x.commit: x for x in links}  # diff-tree names only the parent given

    def run(part: Sequence[Link]) -> list[CommitInfo]:
        lines = "".join(f"{x.commit} {x.parent}\n" if x.parent else f"{x.commit}\n" for x in part)
        args = ["--literal-pathspecs", "diff-tree", "--stdin", *_DIFF_OPTIONS]
        with tempfile.TemporaryDirectory(prefix="gitops-promote-") as tmp:
            out = Path(tmp) / "out"
            git.run(*args, f"--output={out}", "--", *specs, input=lines.encode())
            # parsed as read, a stretch at a time: the output (tens of megabytes over a
            # long history) is never in memory whole, nor split into tokens whole
            with out.open("rb") as f:
                return _parse_diff(iter(lambda: f.read(_READ_SIZE), b""), by_commit, keep)

    commits: list[CommitInfo] = []
    if len(parts) == 1:
        commits = run(parts[0])
    else:
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            for found in pool.map(run, parts):
                commits += found
    return commits


_READ_SIZE = 1 << 20


def _parse_diff(
    chunks: Iterable[bytes], links: Mapping[str, Link], keep: Callable[[str], bool] | None
) -> list[CommitInfo]:
    """:func:`parse_log_stream` of ``git diff-tree --stdin`` output (every token read the
    same way), each commit given its link's parents and clamped time, and only the changes
    ``keep`` keeps (None: every one; a commit left without any is left out): each record
    built once, and no change object for a file that is not kept."""
    commits: list[CommitInfo] = []
    tokens = _tokens(chunks)
    same: dict[str, str] = {}  # one string for each name, email, path and id that recurs
    header: bytes | None = None
    changes: list[FileChange] = []
    for raw in tokens:
        token = raw.lstrip(b"\n") if raw[:1] == b"\n" else raw
        if token[:1] == b"\x1e":
            if header is not None and (changes or keep is None):
                commits.append(_linked(header, changes, links, same))
            header, changes = token, []
        elif token[:1] == b":":
            path = _decode(next(tokens, b""))  # the path follows the record
            if keep is None or keep(path):
                changes.append(_change(path, token, same))
    if header is not None and (changes or keep is None):  # the last commit ends
        commits.append(_linked(header, changes, links, same))
    return commits


def _linked(
    raw: bytes, changes: list[FileChange], links: Mapping[str, Link], same: dict[str, str]
) -> CommitInfo:
    sha, _, an, ae, ad, cn, ce, cd, subject = _decode(raw[1:]).split("\x1f", len(_FIELDS) - 1)
    link = links[sha]
    return CommitInfo(
        link.commit,
        link.parents,
        same.setdefault(an, an),
        same.setdefault(ae, ae),
        datetime.fromisoformat(ad),
        same.setdefault(cn, cn),
        same.setdefault(ce, ce),
        link.time or datetime.fromisoformat(cd),  # clamped along the chain (Link.time)
        subject,
        tuple(changes),
    )


def _every_top_directory(git: Git, tree: str, specs: Sequence[str]) -> bool:
    """Whether ``specs`` name every directory at the top of ``tree`` (only files beside
    them): then the pathspecs narrow nothing worth their cost (git matches every path of
    every changed tree against them, a quarter of a history pass over a fleet's overlays)
    and the caller filters the changes itself. False when git cannot tell."""
    if not specs or any("/" in spec for spec in specs):
        return False
    out = git.run("ls-tree", "-z", tree, check=False)
    if not out.ok:
        return False
    wanted = set(specs)
    for record in out.stdout.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        if (
            meta.split(b" ")[1:2] == [b"tree"]
            and name.decode("utf-8", "surrogateescape") not in wanted
        ):
            return False
    return True


def log_paths(
    git: Git,
    paths: Sequence[str],
    ref: str = "HEAD",
    *,
    first_parent: bool = True,
    max_count: int | None = None,
) -> list[CommitInfo]:
    """:func:`iter_log` as a list."""
    return list(iter_log(git, paths, ref, first_parent=first_parent, max_count=max_count))
