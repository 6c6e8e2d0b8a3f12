"""What a pull request changes, as values: the two trees (:class:`Tree`), each pin change,
each other edit of an overlay or of a file it is built from, the files that cannot be
read, and the whole :class:`ChangeSet`. Computed by :mod:`gitops_promote.facts.changes`."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from gitops_promote.apply import overlays
from gitops_promote.facts import tree as views
from gitops_promote.images import ImageRef

Key = tuple[str, str]  # (app, env)
EditKind = Literal["overlay", "input", "added", "removed"]

CODEOWNERS_PATHS: Final = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
KUSTOMIZATION_NAMES: Final = overlays.KUSTOMIZATION_NAMES


@dataclass(frozen=True)
class Tree:
    """One revision of the config repo: its regular files and the texts read from it.

    Build it with :meth:`of`; ``texts`` holds only the files the caller read (see
    :func:`texts_needed`); a file that exists but was not read is "unknown", not empty.
    """

    rev: str
    files: frozenset[str]
    texts: Mapping[str, str] = field(default_factory=dict)
    dirs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rev: str, files: Iterable[str], texts: Mapping[str, str] | None = None) -> Tree:
        names = frozenset(files)
        dirs: set[str] = set()
        for name in names:
            parent = posixpath.dirname(name)
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = posixpath.dirname(parent)
        return cls(rev, names, dict(texts or {}), frozenset(dirs))

    def patched(self, rev: str, regular: Mapping[str, bool]) -> Tree:
        """The tree ``rev`` whose regular files are this one's, except the paths of
        ``regular``: each a regular file there (True) or not (False); no texts. When the
        set of files stays the same (a pin edited in place), its directories are this
        tree's, not computed again."""
        gone = {p for p, kept in regular.items() if not kept and p in self.files}
        new = {p for p, kept in regular.items() if kept and p not in self.files}
        if not gone and not new:
            return Tree(rev, self.files, {}, self.dirs)
        return Tree.of(rev, (self.files - gone) | new)

    def is_dir(self, path: str) -> bool:
        return path.rstrip("/") in self.dirs

    def text(self, path: str) -> str | None:
        return self.texts.get(path)

    def with_texts(self, texts: Mapping[str, str]) -> Tree:
        return Tree(self.rev, self.files, {**self.texts, **texts}, self.dirs)

    def kind(self, path: str) -> views.Kind | None:
        """What ``path`` is here (:class:`gitops_promote.facts.tree.TreeView`): only
        regular files are listed, so nothing is a link."""
        if self.is_dir(path):
            return "dir"
        return "file" if path in self.files else None

    def kustomization(self, directory: str) -> str | None:
        """The kustomization file of ``directory``, when there is one."""
        for name in KUSTOMIZATION_NAMES:
            candidate = f"{directory.rstrip('/')}/{name}"
            if candidate in self.files:
                return candidate
        return None


@dataclass(frozen=True)
class Pinned:
    """What one (app, env) pins in one tree: the file that carries the pin, the reference
    and its line (``ref`` None: the file does not pin the app; ``file`` None: no overlay)."""

    file: str | None
    ref: ImageRef | None
    line: int | None = None
    problem: str | None = None  # the file cannot be read (bad YAML...), one line


@dataclass(frozen=True)
class PinChange:
    """An image pin that the pull request changes: ``old`` -> ``new`` (None: absent)."""

    app: str
    env: str
    file: str
    old: ImageRef | None
    new: ImageRef | None
    line: int | None  # in the new file; None when the pin is removed

    @property
    def key(self) -> Key:
        return (self.app, self.env)


@dataclass(frozen=True)
class Edit:
    """A change to an env's overlay other than its image pin.

    ``kind``: ``overlay`` (a file of the overlay changes beyond the pin), ``input`` (a file
    the overlay is built from, outside it, e.g. a shared base), ``added``/``removed`` (the
    overlay file itself appears or disappears). ``app`` is None for an app promotion.yaml
    does not know (a new overlay in the env's path).
    """

    app: str | None
    env: str
    file: str
    line: int | None
    kind: EditKind
    via: str | None = None  # for ``input``: the overlay that uses the file

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        owner = f"{self.app} in {self.env}" if self.app else self.env
        if self.kind == "input":
            return f"{where} changes what {owner} renders (through {self.via})"
        if self.kind == "added":
            return f"{where} is a new overlay file of {owner}"
        if self.kind == "removed":
            return f"{where} is removed from the overlay of {owner}"
        return f"{where} changes the overlay of {owner} beyond its image pin"


@dataclass(frozen=True)
class FileProblem:
    """A file of the pull request that cannot be read as an overlay."""

    app: str | None
    env: str | None
    file: str
    line: int | None
    message: str


@dataclass(frozen=True)
class ChangeSet:
    """Everything a pull request changes, mapped onto promotion.yaml's apps and envs."""

    files: tuple[str, ...]
    pins: tuple[PinChange, ...]
    edits: tuple[Edit, ...]
    unmapped: tuple[str, ...]
    problems: tuple[FileProblem, ...] = ()
    config_changed: bool = False

    @property
    def touched(self) -> tuple[Key, ...]:
        """Every (app, env) the pull request changes, pins first, in a stable order."""
        keys: dict[Key, None] = {}
        for change in self.pins:
            keys[change.key] = None
        for edit in self.edits:
            if edit.app is not None:
                keys[(edit.app, edit.env)] = None
        return tuple(keys)

    @property
    def touched_envs(self) -> tuple[str, ...]:
        names = dict.fromkeys([c.env for c in self.pins] + [e.env for e in self.edits])
        names.update(dict.fromkeys(p.env for p in self.problems if p.env))
        return tuple(names)

    def pin(self, key: Key) -> PinChange | None:
        return next((c for c in self.pins if c.key == key), None)

    def edits_of(self, key: Key) -> tuple[Edit, ...]:
        return tuple(e for e in self.edits if (e.app, e.env) == key)


__all__ = [
    "CODEOWNERS_PATHS",
    "KUSTOMIZATION_NAMES",
    "ChangeSet",
    "Edit",
    "EditKind",
    "FileProblem",
    "Key",
    "PinChange",
    "Pinned",
    "Tree",
]
