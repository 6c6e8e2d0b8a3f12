"""One view over a tree of the config repo, and the one rule for which file carries a pin.

A :class:`TreeView` says what a path is (a directory, a regular file, a link the view
does not follow, something else, or nothing) in

- :class:`WorkTree`: the checkout (what the work tree holds, uncommitted edits included);
- :class:`GitTree`: a commit's tree, from its ``git ls-tree -r -t`` entries (the blobs
  are read through the git adapter by :mod:`gitops_promote.facts.pins`);
- :class:`gitops_promote.facts.changes.Tree`: the file list of a revision ``check`` reads.

:func:`pin_file` is the only place that decides which file of an overlay path carries the
pin (the path itself, or the kustomization in a directory), with the same errors whatever
the view; :func:`read_pin` is the one reading of what a view pins (the texts come from
the caller: the work tree's files, a blob batch, the texts ``check`` read). Imports no
adapter: the pure layers may use it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final, Literal, Protocol

from gitops_promote.apply.overlays.model import KUSTOMIZATION_NAMES
from gitops_promote.config.model import App
from gitops_promote.errors import OverlayError, UserError, quote
from gitops_promote.facts.overlay import Current, read_pin_text

Kind = Literal["dir", "file", "link", "other"]  # "link": a symlink or submodule


class TreeView(Protocol):
    def kind(self, path: str) -> Kind | None:
        """What the normalised repo-relative ``path`` is ("." the root; None: absent)."""
        ...


class Blocked(Exception):  # noqa: N818 - a signal, not an error shown to users
    """A link (symlink, submodule) on the way to the pin: the work tree refuses it
    (:func:`gitops_promote.adapters.files.refuse_links`); a git tree leaves it to the work
    tree."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class WorkTree:
    """The checkout at ``root`` (nothing is followed: a symlink is a ``link``)."""

    root: Path

    def kind(self, path: str) -> Kind | None:
        if path == ".":
            return "dir" if self.root.is_dir() else None
        try:  # one lstat: what pathlib's is_symlink, is_dir, is_file and exists tell
            mode = os.lstat(f"{self.root}/{path}").st_mode
        except OSError as err:
            if err.errno in _ABSENT:
                return None
            raise
        except ValueError:  # a NUL in the path: pathlib says it is not there
            return None
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISREG(mode):
            return "file"
        return "other"


# The errors pathlib's tests read as "no such path" (ENOENT, ENOTDIR, EBADF, ELOOP).
_ABSENT: Final = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


REGULAR: Final = frozenset({"100644", "100755"})
TREE: Final = "040000"


@dataclass(frozen=True)
class GitTree:
    """A commit's tree: path -> (mode, object id) of every entry, directories included."""

    rev: str
    entries: Mapping[str, tuple[str, str]]

    def kind(self, path: str) -> Kind | None:
        if path == ".":
            return "link"  # the repository root itself: the work tree knows
        entry = self.entries.get(path)
        if entry is None:
            return None
        if entry[0] == TREE:
            return "dir"
        return "file" if entry[0] in REGULAR else "link"

    def blob(self, file: str) -> str:
        """The object id of a file :func:`pin_file` found."""
        return self.entries[str(PurePosixPath(file))][1]


def pin_file(view: TreeView, rel: str, *, what: str) -> str:
    """The file that carries the pin of the overlay path ``rel`` (repo-relative, already
    checked: no ``..``, not absolute): ``rel`` itself, or the first kustomization file of
    the directory ``rel``. Raises :class:`~gitops_promote.errors.OverlayError` when there
    is none (the messages every reader shows) and :class:`Blocked` when a link is on the
    way (``rel`` itself, a directory above it, or the kustomization file)."""
    path = PurePosixPath(rel)
    for depth in range(1, len(path.parts)):  # the directories above it
        prefix = "/".join(path.parts[:depth])
        if view.kind(prefix) == "link":
            raise Blocked(prefix)
    norm = str(path)
    kind = view.kind(norm)
    if kind == "link":
        raise Blocked(norm)
    if kind == "dir":
        for name in KUSTOMIZATION_NAMES:
            found = view.kind(name if norm == "." else f"{norm}/{name}")
            if found == "file":
                return f"{rel.rstrip('/')}/{name}"
            if found == "link":
                raise Blocked(name if norm == "." else f"{norm}/{name}")
        raise OverlayError(
            f"{what} {quote(rel)} has no kustomization.yaml",
            hint="create it, or point the path at a values file or manifest",
        )
    if kind is None:
        raise OverlayError(
            f"{what} {quote(rel)} does not exist",
            hint="create the overlay, or fix the path template in promotion.yaml",
        )
    if kind != "file":
        raise OverlayError(f"{what} {quote(rel)} is not a regular file")
    return rel


def read_pin(
    view: TreeView,
    rel: str,
    app: App,
    *,
    what: str,
    text: Callable[[str], str | UserError],
) -> Current:
    """What ``view`` pins for ``app`` at the overlay path ``rel`` (checked): the file
    (:func:`pin_file`; its errors give a Current with no file), its ``text`` (an error: the
    file cannot be read) and the pin in it (a broken pin is an error). :class:`Blocked`
    is left to the caller."""
    try:
        file = pin_file(view, rel, what=what)
    except OverlayError as err:
        return Current(None, None, err)
    found = text(file)
    if isinstance(found, UserError):
        return Current(file, None, found)
    try:
        return Current(file, read_pin_text(file, found, app))
    except UserError as err:
        return Current(file, None, err)


__all__ = [
    "REGULAR",
    "Blocked",
    "GitTree",
    "Kind",
    "TreeView",
    "WorkTree",
    "pin_file",
    "read_pin",
]
