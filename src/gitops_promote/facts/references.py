"""Kustomize references, followed without rendering: which files a kustomization reads,
and which overlays a changed file reaches (:func:`reached`).

Pure, over a :class:`~gitops_promote.facts.changes.Tree` of texts the caller read.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from gitops_promote.adapters import yamlsafe
from gitops_promote.apply import overlays
from gitops_promote.errors import OverlayError

if TYPE_CHECKING:
    from gitops_promote.facts.changeset import Tree

# Kustomization fields whose string items name local files or directories.
_PATH_LISTS: Final = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "patchesStrategicMerge",
    "generators",
    "transformers",
    "validators",
)
_PATH_ITEMS: Final = ("patches", "patchesJson6902", "replacements")  # items with `path:`
_GENERATORS: Final = ("configMapGenerator", "secretGenerator")  # files:, envs:, env:


def is_kustomization(path: str) -> bool:
    """Whether ``path`` is named like a kustomization file."""
    return posixpath.basename(path) in overlays.KUSTOMIZATION_NAMES


@functools.lru_cache(maxsize=4096)
def _refs(text: str, file: str) -> tuple[str, ...]:
    return tuple(kustomization_refs(text, file))


def kustomization_refs(text: str, file: str) -> list[str]:
    """Local paths a kustomization names (relative to its directory), in file order.

    Inline patches and generator configs (strings with a newline) are skipped; remote
    references are returned too and dropped by :func:`build_inputs` when they do not
    exist in the tree.
    """
    try:
        data = yamlsafe.load(text, file)
    except OverlayError:
        return []
    if not isinstance(data, Mapping):
        return []
    refs: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value.strip() and "\n" not in value:
            refs.append(value.strip())

    for key in _PATH_LISTS:
        items = data.get(key)
        if isinstance(items, list):
            for item in items:
                add(item)
    for key in _PATH_ITEMS:
        items = data.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping):
                    add(item.get("path"))
    for key in _GENERATORS:
        items = data.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, Mapping):
                continue
            for sub in ("files", "envs"):
                values = item.get(sub)
                if isinstance(values, list):
                    for value in values:
                        if isinstance(value, str):
                            add(value.split("=", 1)[-1])
            add(item.get("env"))
    openapi = data.get("openapi")
    if isinstance(openapi, Mapping):
        add(openapi.get("path"))
    return refs


def join_ref(directory: str, ref: str) -> str | None:
    """``ref`` (as a kustomization writes it) resolved against ``directory``; None for a
    remote or absolute reference, or one that leaves the repository."""
    if "://" in ref or ref.startswith(("git@", "/")):
        return None
    joined = posixpath.normpath(posixpath.join(directory, ref))
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined


def build_inputs(tree: Tree, root: str) -> set[str]:
    """Every file of ``tree`` that the overlay at ``root`` is built from: its own files,
    and the files and directories its kustomizations reference, recursively."""
    inputs: set[str] = set()
    seen: set[str] = set()
    queue = [root]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        if path in tree.files:
            inputs.add(path)
            continue
        if not tree.is_dir(path):
            continue
        kfile = tree.kustomization(path)
        if kfile is None:
            continue
        inputs.add(kfile)
        text = tree.text(kfile)
        if text is None:
            continue
        for ref in _refs(text, kfile):
            target = join_ref(path, ref)
            if target is not None and (target in tree.files or tree.is_dir(target)):
                queue.append(target)
    return inputs


# A path written in an unusual way (``x/..``, ``/./``, ``//``, a YAML escape): such a text
# may name a file without holding its normal relative path, so it is always parsed.
_IRREGULAR: Final = re.compile(r"\\|//|/\./|[^/.\s'\"\[,]/\.{1,2}(?=[/\s'\",\]#}]|$)", re.M)


@functools.lru_cache(maxsize=65536)
def _irregular(text: str) -> bool:
    return "\\" in text or _IRREGULAR.search(text) is not None


def _parts(path: str) -> list[str]:
    return path.split("/") if path else []


def relative(target: str, directory: str) -> str:
    """The normal relative path from ``directory`` to ``target`` (both repo-relative and
    normalised; ``""`` is the root): ``posixpath.relpath`` without the file system."""
    return spellings(target, directory)[-1]


def spellings(target: str, directory: str) -> list[str]:
    """Every regular way to write ``target`` relative to ``directory``: ``..`` up to a
    common ancestor (the nearest, or any above it), then down: ``../../base``,
    ``../../../app/base``... The last one is the normal relative path."""
    to, start = _parts(target), _parts(directory)
    common = 0
    for a, b in zip(to, start, strict=False):
        if a != b:
            break
        common += 1
    return ["/".join([".."] * (len(start) - m) + to[m:]) or "." for m in range(common + 1)]


def could_reference(text: str, directory: str, target: str) -> bool:
    """Whether the kustomization ``text`` of ``directory`` may name ``target``: a cheap
    test with no false negatives. A reference that leads to ``target`` holds one of its
    regular spellings (:func:`spellings`; a ``./`` before or ``/`` after it keeps it a
    substring) unless it is written irregularly (``x/..``, ``/./``, ``//``, escapes)."""
    return _irregular(text) or any(s in text for s in spellings(target, directory))


def reached(tree: Tree, changed: Iterable[str]) -> dict[str, set[str]]:
    """Every file and directory of ``tree`` whose build a changed file reaches, with the
    changed files that reach it: the reverse of :func:`build_inputs`.

    A changed file reaches itself and, when it is a kustomization, its directory; a
    directory or file reaches each directory whose kustomization names it (a resource,
    base, component, patch, generator input, replacements source...), transitively.
    Only the kustomizations whose text may name a reached path are parsed
    (:func:`could_reference`), so the work follows what the change reaches; every
    kustomization's text must have been read (one that was not cannot be followed)."""
    kfiles = [  # the texts read, not every file listed: the same kustomizations, fewer steps
        (parent, p, text, _irregular(text))
        for p, text in tree.texts.items()
        for parent, _, base in [p.rpartition("/")]
        if base in overlays.KUSTOMIZATION_NAMES and p in tree.files
    ]
    out: dict[str, set[str]] = {}
    queue: list[tuple[str, str]] = []
    for path in changed:
        queue.append((path, path))
        if is_kustomization(path):
            queue.append((posixpath.dirname(path), path))
    while queue:
        node, source = queue.pop()
        sources = out.setdefault(node, set())
        if source in sources:
            continue
        sources.add(source)
        name = posixpath.basename(node)
        for directory, kfile, text, irregular in kfiles:
            if directory == node:
                continue
            if not irregular:
                above = directory.startswith(f"{node}/") or not node
                if not above and name not in text:
                    continue  # every regular spelling ends with its name
                if not any(s in text for s in spellings(node, directory)):
                    continue  # cannot name it (see could_reference)
            if any(join_ref(directory, ref) == node for ref in _refs(text, kfile)):
                queue.append((directory, source))
    return out
