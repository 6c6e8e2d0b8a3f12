"""Named read-only git operations, so no module outside this package builds git argv.

Each takes the :class:`~gitops_promote.adapters.git.runner.Git` runner of a checkout
(``repo.git``) and returns parsed values: tree listings (:func:`ls_tree`, the one parser of
``git ls-tree`` output), tracked files, remote refs, a merged tree, one commit's raw text,
the files a commit changed, formatted ``git log`` output, and the facts a local checkout is
opened with (its top level, its branch, whether it has a remote).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, overload

from gitops_promote.adapters.git.runner import Git

Tree = dict[str, tuple[str, str]]
"""path -> (mode, object id), in git's order."""


def _paths(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def ls_tree(git: Git, rev: str, *, trees: bool = False) -> Tree:
    """path -> (mode, object id) of every entry of ``rev``'s tree, recursively; with
    ``trees``, the directories too (mode ``040000``). Trees are always present in a
    blob-less clone, so nothing is fetched."""
    options = ("-r", "-t") if trees else ("-r",)
    out = git.run("ls-tree", *options, "-z", "--full-tree", rev).stdout
    entries: Tree = {}
    # decoded once: UTF-8 never uses the bytes of NUL, tab or space inside a character,
    # so each path decodes as it would alone (bytes that are not UTF-8 as surrogates)
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if record:
            meta, _, path = record.partition("\t")
            mode, _kind, oid = meta.split(" ")
            entries[path] = (mode, oid)
    return entries


def ls_files(git: Git) -> list[str]:
    """Every file the index tracks."""
    return _paths(git.run("ls-files", "-z").stdout)


@overload
def ls_remote(
    git: Git, remote: str, refs: Iterable[str], *, check: Literal[True] = True
) -> dict[str, str]: ...
@overload
def ls_remote(
    git: Git, remote: str, refs: Iterable[str], *, check: bool
) -> dict[str, str] | None: ...
def ls_remote(
    git: Git, remote: str, refs: Iterable[str], *, check: bool = True
) -> dict[str, str] | None:
    """ref -> object id of those of ``refs`` the remote has (one ``git ls-remote``); when
    git fails, raise (``check``) or return None."""
    out = git.run("ls-remote", remote, *refs, check=check)
    if not out.ok:
        return None
    listed: dict[str, str] = {}
    for line in out.text.splitlines():
        oid, _, ref = line.partition("\t")
        listed[ref or oid] = oid
    return listed


def merge_tree(git: Git, base: str, head: str) -> str | None:
    """The tree id of merging ``head`` into ``base`` (None: it conflicts, or git cannot say)."""
    out = git.run("merge-tree", "--write-tree", "--no-messages", base, head, check=False)
    if out.returncode == 0 and out.text:
        return out.text.splitlines()[0].strip()
    return None


def cat_file(git: Git, kind: str, rev: str) -> str:
    """The raw text of object ``rev`` of type ``kind`` (``commit``: headers, blank line,
    message)."""
    return git.run("cat-file", kind, rev).text


def diff_tree_entries(git: Git, old: str, new: str) -> dict[str, tuple[str, str] | None]:
    """path -> (mode, object id) in ``new`` of every entry (as :func:`ls_tree` lists them:
    files, symlinks, submodules) that differs between the tree-ishes ``old`` and ``new``;
    None where ``new`` lacks it. One ``git diff-tree``, which walks only the subtrees that
    differ: ``ls_tree(old)`` patched with this is ``ls_tree(new)``."""
    out = git.run(
        "diff-tree",
        "-r",
        "-z",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--ignore-submodules=none",
        "--no-commit-id",
        old,
        new,
    ).stdout
    fields = out.split(b"\0")
    changed: dict[str, tuple[str, str] | None] = {}
    for meta, raw_path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(b":"):
            continue
        _old_mode, mode, _old_oid, oid, status = meta[1:].decode().split(" ")
        path = raw_path.decode("utf-8", "surrogateescape")
        changed[path] = None if status == "D" else (mode, oid)
    return changed


def diff_tree_names(git: Git, old: str, new: str) -> list[str]:
    """The files that differ between commits ``old`` and ``new``, recursively."""
    return git.run("diff-tree", "--no-commit-id", "--name-only", "-r", old, new).text.splitlines()


def log_format(
    git: Git,
    fmt: str,
    *revs: str,
    options: Sequence[str] = (),
    paths: Sequence[str] = (),
) -> str | None:
    """``git log`` of ``revs`` (limited by ``options``, e.g. ``-1``, ``--since=…``, and by
    ``paths``) with one ``fmt`` line per commit; None when git fails."""
    out = git.run("log", *options, f"--format={fmt}", *revs, "--", *paths, check=False)
    return out.text if out.ok else None


def toplevel(git: Git) -> Path | None:
    """The top directory of the checkout ``git`` runs in (None: not in a checkout)."""
    out = git.run("rev-parse", "--show-toplevel", check=False)
    return Path(out.text) if out.ok else None


def current_branch(git: Git) -> str:
    """The branch checked out ("": HEAD is detached)."""
    return git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).text


def has_remote(git: Git, name: str = "origin") -> bool:
    """Whether the checkout has the remote ``name``."""
    return git.run("remote", "get-url", name, check=False).ok


__all__ = [
    "Tree",
    "cat_file",
    "current_branch",
    "diff_tree_entries",
    "diff_tree_names",
    "has_remote",
    "log_format",
    "ls_files",
    "ls_remote",
    "ls_tree",
    "merge_tree",
    "toplevel",
]
