"""The policy directories of the config repo, read from the work tree or from a commit.

Loading rules (docs/policies.md states the same):

- A policy path is repo-relative: no absolute path, no ``..``, no symlink on the way or
  below (a link is refused with its name, never followed, so nothing outside the repo is
  read). A path that is missing or not a directory (nor one ``.rego`` file) is a problem.
- A directory contributes every regular file below it, **recursively** (as Conftest
  loads a policy directory), in path order; overlapping directories give each file once.
- ``*_test.rego`` files are tests: loaded for ``policy test`` (:attr:`PolicySet.tests`),
  never evaluated as policies. Every other ``*.rego`` file is a policy module, of any
  package (the packages evaluated are chosen by the caller's namespaces).
- ``*.yaml``, ``*.yml`` and ``*.json`` files are ``data``: each document must be a
  mapping, and all are merged at the root of ``data`` (as Conftest merges its data
  documents): ``registries.yaml`` holding ``allowed_registries: [...]`` is
  ``data.allowed_registries``. Mappings merge key by key; the same key with two
  non-mapping values is a problem naming both files. Empty and comment-only documents
  (and files) are skipped: they contribute nothing and are no error.
- Other files are ignored. A file that is not UTF-8 or is over 5 MiB is a problem.

Problems do not stop the loading of the other files: :attr:`PolicySet.problems` holds one
line each (paths escaped for logs). Two views: :class:`WorkFiles` (the checkout) and
:class:`CommitFiles` (a commit's tree, for the base branch's policies: one ``ls-tree``
and one blob batch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Final, Protocol

from gitops_promote.adapters import escape, yamlsafe
from gitops_promote.adapters.files import MAX_FILE_BYTES, check_relative
from gitops_promote.adapters.git import Repo, plumbing
from gitops_promote.adapters.rego.model import PolicyModule
from gitops_promote.adapters.yamlcheck import guarded
from gitops_promote.errors import UserError
from gitops_promote.facts import tree

TEST_SUFFIX: Final = "_test.rego"
DATA_SUFFIXES: Final = (".yaml", ".yml", ".json")
DEFAULT_DIR: Final = "policy"


class PolicyFiles(Protocol):
    """A tree the policies are read from."""

    def kind(self, path: str) -> tree.Kind | None: ...

    def below(self, path: str) -> list[tuple[str, tree.Kind]]:
        """Every entry below the directory ``path`` (recursively, links not followed)."""
        ...

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The bytes of regular files (a file that cannot be read is absent)."""
        ...


@dataclass(frozen=True)
class WorkFiles:
    """The checkout at ``root``."""

    root: Path

    def kind(self, path: str) -> tree.Kind | None:
        return tree.WorkTree(self.root).kind(path)

    def below(self, path: str) -> list[tuple[str, tree.Kind]]:
        found: list[tuple[str, tree.Kind]] = []
        start = self.root / path
        for top, dirs, files in os.walk(start, followlinks=False):
            dirs[:] = [d for d in dirs if d != ".git"]  # a policy path of "." is the repo
            rel_top = PurePosixPath(Path(top).relative_to(self.root).as_posix())
            for name in [*dirs, *files]:
                rel = str(rel_top / name)
                kind = self.kind(rel)
                if kind is not None:
                    found.append((rel, kind))
        return found

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for rel in paths:
            target = self.root / rel
            try:
                with target.open("rb") as handle:  # a byte over the limit says "too large"
                    out[rel] = handle.read(MAX_FILE_BYTES + 1)
            except OSError:
                continue
        return out


@dataclass(frozen=True)
class CommitFiles:
    """A commit's tree (``view``) and a reader of blobs by id (one batch)."""

    view: tree.GitTree
    read_objects: Callable[[Iterable[str]], Mapping[str, bytes]]

    def kind(self, path: str) -> tree.Kind | None:
        return "dir" if path == "." else self.view.kind(path)

    def below(self, path: str) -> list[tuple[str, tree.Kind]]:
        prefix = "" if path == "." else path.rstrip("/") + "/"
        found: list[tuple[str, tree.Kind]] = []
        for entry in self.view.entries:
            if entry.startswith(prefix):
                kind = self.view.kind(entry)
                if kind is not None:
                    found.append((entry, kind))
        return found

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        oids = {p: self.view.entries[p][1] for p in paths if p in self.view.entries}
        blobs = self.read_objects(set(oids.values()))
        return {p: blobs[oid] for p, oid in oids.items() if oid in blobs}


def at_commit(repo: Repo, rev: str) -> CommitFiles:
    """The tree of ``rev`` in ``repo`` (the base branch's policies: a pull request cannot
    loosen the rules it is judged by). One ``ls-tree``; the blobs in one batch when read."""
    return CommitFiles(
        tree.GitTree(rev, plumbing.ls_tree(repo.git, rev, trees=True)), repo.read_objects
    )


@dataclass(frozen=True)
class PolicySet:
    """What policy directories hold: policy modules, test modules, the merged ``data``,
    the data files it came from, and the problems (one line each)."""

    modules: tuple[PolicyModule, ...] = ()
    tests: tuple[PolicyModule, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    data_files: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def _shown(path: str) -> str:
    return escape.log(path)


def _normal(rel: str) -> str:
    """The normalised repo-relative form of a checked path (``policy/`` -> ``policy``)."""
    text = str(PurePosixPath(rel))
    return text if text else "."


def _walk(view: PolicyFiles, rel: str, problems: list[str]) -> list[str]:
    """The regular files a policy path contributes (links refused), or [] and a problem."""
    try:
        check_relative(rel, what="policy path")
    except UserError as err:
        problems.append(str(err))
        return []
    norm = _normal(rel)
    parts = PurePosixPath(norm).parts
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if view.kind(prefix) == "link":
            problems.append(
                f"policy path {_shown(rel)}: {_shown(prefix)} is a symlink; policies are read "
                "only from regular files and directories of the repo"
            )
            return []
    kind = view.kind(norm)
    if kind is None:
        problems.append(f"policy path {_shown(rel)} does not exist")
        return []
    if kind == "file":
        if norm.endswith(".rego"):
            return [norm]
        problems.append(f"policy path {_shown(rel)} is neither a directory nor a .rego file")
        return []
    if kind != "dir":
        problems.append(f"policy path {_shown(rel)} is not a directory")
        return []
    files = []
    for entry, entry_kind in sorted(view.below(norm)):
        if entry_kind == "file":
            files.append(entry)
        elif entry_kind == "link":
            problems.append(
                f"{_shown(entry)} is a symlink (or submodule) in policy path {_shown(rel)}: "
                "not followed; policies are read only from regular files"
            )
    return files


def _merge(
    into: dict[str, Any],
    value: Mapping[str, Any],
    origin: dict[str, str],
    file: str,
    at: str,
    problems: list[str],
) -> None:
    for key, item in value.items():
        name = str(key)
        path = f"{at}.{name}" if at else name
        if name in into and isinstance(into[name], dict) and isinstance(item, Mapping):
            _merge(into[name], item, origin, file, path, problems)
        elif name in into:
            parts = path.split(".")
            prefixes = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
            first = next((origin[p] for p in prefixes if p in origin), "?")
            problems.append(
                f"{_shown(file)}: data key {_shown(path)} is also set by {_shown(first)} "
                "(data files are merged at the root of data)"
            )
        else:
            into[name] = _plain(item)
            origin[path] = file


def _plain(value: Any) -> Any:
    """A JSON value: round-trip YAML mappings and sequences as dicts and lists, other
    scalars (dates) as their text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _documents(file: str, text: str) -> list[Any]:
    """The non-empty documents of a data file (raises UserError when it is not valid)."""
    if file.endswith(".json"):
        if not text.strip():
            return []
        try:
            return [json.loads(text)]
        except ValueError as err:
            raise UserError(f"{_shown(file)}: not valid JSON: {err}") from None
    nodes = yamlsafe.compose(text, file)
    constructor = yamlsafe.rt_yaml().constructor
    found = []
    for node in nodes:
        value: Any = guarded(partial(constructor.construct_document, node), file, text)
        if value is not None:
            found.append(value)
    return found


def load(view: PolicyFiles, dirs: Sequence[str]) -> PolicySet:
    """The policies, tests and data of the policy paths ``dirs`` in ``view``."""
    problems: list[str] = []
    files: list[str] = []
    for rel in dirs:
        for file in _walk(view, rel, problems):
            if file not in files:
                files.append(file)
    wanted = [f for f in files if f.endswith(".rego") or f.endswith(DATA_SUFFIXES)]
    contents = view.read(wanted)
    modules: list[PolicyModule] = []
    tests: list[PolicyModule] = []
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    data_files: list[str] = []
    for file in wanted:
        raw = contents.get(file)
        if raw is None:
            problems.append(f"{_shown(file)} could not be read")
            continue
        if len(raw) > MAX_FILE_BYTES:
            problems.append(
                f"{_shown(file)} is over the {MAX_FILE_BYTES // 1024 // 1024} MiB limit"
            )
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{_shown(file)} is not UTF-8 text")
            continue
        if file.endswith(".rego"):
            (tests if file.endswith(TEST_SUFFIX) else modules).append(PolicyModule(file, text))
            continue
        try:
            documents = _documents(file, text)
        except UserError as err:
            problems.append(escape.log(str(err)))
            continue
        data_files.append(file)
        for document in documents:
            if not isinstance(document, Mapping):
                problems.append(
                    f"{_shown(file)}: a data document must be a mapping (it is merged at the "
                    "root of data)"
                )
                continue
            _merge(data, document, origin, file, "", problems)
    return PolicySet(
        tuple(modules), tuple(tests), data, tuple(data_files), tuple(dict.fromkeys(problems))
    )


__all__ = [
    "DEFAULT_DIR",
    "CommitFiles",
    "PolicyFiles",
    "PolicySet",
    "WorkFiles",
    "at_commit",
    "load",
]
