"""The two trees ``check`` compares, read from git: the base branch's tip and the tree once
the pull request is merged (``git merge-tree --write-tree``: what GitHub's merge ref would
hold; when the PR conflicts, its head against the merge base), their entries, texts read in
one ``cat-file`` batch (a partial clone fetches the missing blobs in one request), and a
tree written to a directory for the renderer (only the repository's files: a symlink that
stays inside the repository is written as a copy of its target, one that leaves it is not
written; no submodules).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitops_promote.adapters import files, yamlsafe
from gitops_promote.adapters.git import Repo, plumbing
from gitops_promote.errors import InputError, OverlayError, UserError, quote
from gitops_promote.facts.changes import Tree

Entries = Mapping[str, tuple[str, str]]  # path -> (mode, object id)


REGULAR = frozenset({"100644", "100755"})


SYMLINK = "120000"


MAX_TREE_BYTES = 256 * 1024 * 1024


MAX_LINK_HOPS = 40


@dataclass(frozen=True)
class Revisions:
    """What is compared: the base tip, the PR head, their merge base, and the tree that
    merging would give (``merged`` False: it conflicts, so ``after`` is the head's tree and
    ``before`` the merge base)."""

    base: str
    head: str
    merge_base: str
    before: str
    after: str
    merged: bool


def ls_tree(repo: Repo, rev: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of every entry of ``rev``'s tree, recursively (trees are
    always present in a blob-less clone, so nothing is fetched)."""
    return plumbing.ls_tree(repo.git, rev)


def both_trees(
    repo: Repo, before: str, after: str
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]], list[str]]:
    """The entries of ``before``'s and ``after``'s trees (as :func:`ls_tree`) and the sorted
    paths whose entry differs: ``before`` listed once, ``after`` as ``before`` patched with
    one ``git diff-tree`` (which reads only the subtrees that differ, not the whole tree a
    second time)."""
    before_entries = ls_tree(repo, before)
    delta = plumbing.diff_tree_entries(repo.git, before, after)
    after_entries = dict(before_entries)
    for path, entry in delta.items():
        if entry is None:
            after_entries.pop(path, None)
        else:
            after_entries[path] = entry
    return before_entries, after_entries, sorted(delta)


def revisions(repo: Repo, base: str, head: str) -> Revisions:
    """Resolve ``base`` and ``head`` and compute the merged tree."""

    base_sha = repo.rev_parse(base)
    head_sha = repo.rev_parse(head)
    if base_sha is None:
        raise InputError(f"--base {quote(base)}: no such commit", hint="fetch it: git fetch origin")
    if head_sha is None:
        raise InputError(f"--head {quote(head)}: no such commit", hint="fetch it: git fetch origin")
    fork = repo.merge_base(base_sha, head_sha)
    if fork is None:
        raise InputError(
            f"no common history: --base {quote(base)} and --head {quote(head)}",
            hint="compare the pull request's head with the branch it targets",
        )
    if fork == base_sha:  # up to date with the base: merging is a fast-forward
        tree = repo.rev_parse(head_sha, peel="tree") or head_sha
        return Revisions(base_sha, head_sha, fork, base_sha, tree, True)
    merged = plumbing.merge_tree(repo.git, base_sha, head_sha)
    if merged is not None:
        return Revisions(base_sha, head_sha, fork, base_sha, merged, True)
    return Revisions(base_sha, head_sha, fork, fork, head_sha, False)


def decode(blobs: Mapping[str, bytes], oid: str, path: str) -> str | None:
    raw = blobs.get(oid)
    if raw is None:
        return None
    try:
        return yamlsafe.decode(raw, path)
    except OverlayError:
        return None


def with_texts(
    repo: Repo, *sides: tuple[Tree, Mapping[str, tuple[str, str]], Iterable[str]]
) -> tuple[Tree, ...]:
    """Each tree with the texts of the given paths read (those it does not have yet),
    every side in one blob batch; a file that is not UTF-8 YAML text stays unread."""
    wanted = [
        (tree, entries, [p for p in paths if p not in tree.texts]) for tree, entries, paths in sides
    ]
    blobs = repo.read_objects({entries[p][1] for _, entries, paths in wanted for p in paths})
    decoded: dict[str, str | None] = {}  # by blob: both trees share most of them

    def text(oid: str, path: str) -> str | None:
        if oid not in decoded:
            decoded[oid] = decode(blobs, oid, path)
        return decoded[oid]

    return tuple(
        tree.with_texts({p: t for p in paths if (t := text(entries[p][1], p)) is not None})
        for tree, entries, paths in wanted
    )


def _resolve_link(
    path: str, modes: Mapping[str, str], targets: Mapping[str, str]
) -> tuple[str | None, str]:
    """The repo path ``path`` names once every symlink on the way is followed (as the
    operating system would, within the tree), or None and why it leaves the repository."""
    pending = path.split("/")
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return None, "leaves the repository"
            done.pop()
            continue
        here = "/".join([*done, part])
        if modes.get(here) != SYMLINK:
            done.append(part)
            continue
        hops += 1
        target = targets.get(here)
        if hops > MAX_LINK_HOPS or target is None:
            return None, "is a symlink loop" if target is not None else "cannot be read"
        if target.startswith("/"):
            return None, "is an absolute path, outside the repository"
        pending = target.split("/") + pending
    return "/".join(done), ""


def _links(
    entries: Mapping[str, tuple[str, str]], targets: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Each symlink of the tree: the repo path it stands for (a file or directory inside the
    repository), or why it is not followed."""
    if not targets and not any(mode == SYMLINK for mode, _oid in entries.values()):
        return {}, {}
    modes = {p: mode for p, (mode, _oid) in entries.items()}
    dirs = {parent for p in entries for parent in _parents(p)}
    follow: dict[str, str] = {}
    refused: dict[str, str] = {}
    for path, (mode, _oid) in entries.items():
        if mode != SYMLINK:
            continue
        raw = targets.get(path)
        shown = f"is a symlink to {raw!r}" if raw is not None else "is a symlink"
        resolved, why = _resolve_link(path, modes, targets)
        if resolved is None:
            refused[path] = f"{shown}, which {why}; symlinks are followed only inside it"
        elif resolved == "" or path.startswith(f"{resolved}/"):
            refused[path] = f"{shown}, a directory that contains it (a loop)"
        elif modes.get(resolved) in REGULAR or resolved in dirs:
            follow[path] = resolved
        else:
            refused[path] = f"{shown}, which is not in the repository"
    return follow, refused


def _parents(path: str) -> Iterable[str]:
    parent = posixpath.dirname(path)
    while parent:
        yield parent
        parent = posixpath.dirname(parent)


def materialise(
    repo: Repo,
    entries: Mapping[str, tuple[str, str]],
    dest: Path,
    *,
    only: Collection[str] | None = None,
) -> dict[str, str]:
    """Write the files of a tree under ``dest`` (one blob batch; ``only``: just these of
    its regular files). Nothing but the repository's files is written: a symlink that stays
    inside the repository (as Argo CD follows it) is written as a copy of what it points to
    (a file, or the regular files under a directory), never as a link; submodules are left
    out.

    Returns the symlinks not written, and why ("is a symlink to '/etc', which ..."; they
    lead out of the repository, dangle or loop), for
    :func:`gitops_promote.adapters.hermetic.refusal` to name."""
    link_oids = {p: oid for p, (mode, oid) in entries.items() if mode == SYMLINK}
    raw_links = repo.read_objects(set(link_oids.values())) if link_oids else {}
    targets = {
        p: raw_links[oid].decode("utf-8", "surrogateescape")
        for p, oid in link_oids.items()
        if oid in raw_links
    }
    follow, refused = _links(entries, targets)
    writes: dict[str, str] = {
        p: oid
        for p, (mode, oid) in entries.items()
        if mode in REGULAR and (only is None or p in only)
    }
    for link, resolved in follow.items():
        if resolved in entries:
            writes[link] = entries[resolved][1]
            continue
        for path, (mode, oid) in entries.items():
            if mode in REGULAR and path.startswith(f"{resolved}/"):
                writes[f"{link}/{path[len(resolved) + 1 :]}"] = oid
    blobs = repo.read_objects(set(writes.values()))
    total = 0
    for path, oid in sorted(writes.items()):
        data = blobs.get(oid)
        if data is None:
            continue
        total += len(data)
        if total > MAX_TREE_BYTES:
            raise UserError(
                f"the config repo tree is larger than {MAX_TREE_BYTES // 1048576} MiB",
                hint="render checks need the tree on disk; keep large files out of the config repo",
            )
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            continue
        target = files.resolve_in_repo(dest, path, what="tree path")
        if target.exists() and not target.is_file():
            continue  # a path under a link that is also a real directory: the real one wins
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return refused
