"""What the ``policy`` gate is given: each evaluation of the base branch's Rego policies on
the rendered documents of the targets a pull request touches, and where each document
came from in the config repo (pure values and text tracing; no I/O).

:mod:`gitops_promote.facts.policycheck` gathers them (the loader, the engine in a child
process); :mod:`gitops_promote.plan.gates.policy` judges them.

Where a document came from: the rendered object ``Kind/name`` is looked up in the files
its overlay is built from, most specific first (the files the pull request changes, then
the overlay's own files, then its bases): the first YAML document of kind ``Kind`` whose
``metadata.name`` is the rendered name (or a part of it: kustomize's ``namePrefix`` and
``nameSuffix``) gives the file, and the line of its ``name:`` (in a file the pull request
changes, the first changed line below it inside that document, when there is one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from gitops_promote.adapters.rego.model import PolicyOutcome
from gitops_promote.facts.changeset import Key

_KIND: Final = re.compile(r"""^kind:\s*["']?([A-Za-z0-9]+)["']?\s*(?:#.*)?$""")
_NAME: Final = re.compile(r"""^(\s+)name:\s*["']?([^"'#\s]+)["']?\s*(?:#.*)?$""")
_METADATA: Final = re.compile(r"^metadata:\s*(?:#.*)?$")


@dataclass(frozen=True)
class PolicyDocument:
    """One rendered document given to the policies: the target it belongs to, its
    ``Kind/name``, the file and line it came from (None: not found), and the images it
    runs (to point a message about an image at the line that wrote it)."""

    key: Key
    label: str
    file: str | None = None
    line: int | None = None
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyRun:
    """One evaluation: the policy directories, the targets judged, the documents given
    (input ``i`` is ``documents[i]``; under ``combine`` one input per run: the list of
    all of them), and what the engine said. Problems loading the policies are errors of
    the outcome."""

    dirs: tuple[str, ...]
    keys: tuple[Key, ...]
    documents: tuple[PolicyDocument, ...]
    outcome: PolicyOutcome
    combine: bool = False


@dataclass(frozen=True)
class PolicyFacts:
    """Every evaluation of one check, and the targets whose policies were not evaluated
    (target -> why: the overlay did not render, it is not a kustomize overlay)."""

    runs: tuple[PolicyRun, ...] = ()
    skipped: Mapping[Key, str] = field(default_factory=dict)

    def runs_of(self, key: Key) -> tuple[PolicyRun, ...]:
        return tuple(r for r in self.runs if key in r.keys)


def label(doc: Mapping[str, Any]) -> str:
    """``Kind/name`` of a rendered document (``?`` for what it lacks)."""
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    kind = doc.get("kind")
    return f"{kind if isinstance(kind, str) else '?'}/{name if isinstance(name, str) else '?'}"


def _chunks(text: str) -> Iterable[tuple[int, list[str]]]:
    """The YAML documents of ``text``: (first line number, lines)."""
    start, lines = 1, list[str]()
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("---"):
            if lines:
                yield start, lines
            start, lines = number + 1, []
            continue
        lines.append(line)
    if lines:
        yield start, lines


def _declared(lines: Sequence[str]) -> tuple[str | None, str | None, int | None]:
    """(kind, metadata.name, index of the name line) of one YAML document's text."""
    kind = name = None
    at = None
    in_meta = False
    indent: int | None = None  # of metadata's own keys
    for index, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            in_meta = bool(_METADATA.match(line))
            indent = None
            if (found := _KIND.match(line)) is not None:
                kind = found.group(1)
            continue
        if not in_meta or name is not None:
            continue
        width = len(line) - len(line.lstrip())
        indent = width if indent is None else indent
        if width == indent and (found := _NAME.match(line)) is not None:
            name, at = found.group(2), index
    return kind, name, at


def source(
    kind: str,
    name: str,
    texts: Sequence[tuple[str, str]],
    changed: Mapping[str, Sequence[int]] | None = None,
) -> tuple[str, int] | None:
    """Where the rendered ``kind/name`` is declared among ``texts`` ((file, text), most
    specific first): the exact name first, then a declared name the rendered one
    contains (a prefix or suffix added); in a file of ``changed`` (file -> changed line
    numbers), the first changed line below the name inside that document."""
    changed = changed or {}
    found: list[tuple[bool, str, int]] = []
    for file, text in texts:
        for start, lines in _chunks(text):
            doc_kind, doc_name, at = _declared(lines)
            if doc_kind != kind or doc_name is None or at is None:
                continue
            if doc_name != name and doc_name not in name:
                continue
            end = start + len(lines) - 1
            named = start + at
            edits = sorted(n for n in changed.get(file, ()) if named < n <= end)
            line = edits[0] if edits else named
            if doc_name == name:
                return file, line
            found.append((False, file, line))
    return (found[0][1], found[0][2]) if found else None


_STRING: Final = re.compile(r'"((?:[^"\\\n]|\\.)*)"|`([^`]*)`')
_VERB: Final = re.compile(r"%[-+# 0-9.*]*[a-zA-Z]")
_MIN_FRAGMENT: Final = 4


def _score(text: str, message: str) -> int:
    """How much of ``message`` the string literals of a policy's ``text`` spell: the
    longest literal whose every fixed part (around ``sprintf``'s verbs) is in it."""
    best = 0
    for match in _STRING.finditer(text):
        literal = match.group(1) if match.group(1) is not None else match.group(2)
        if match.group(1) is not None:
            literal = literal.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        parts = [p for p in _VERB.split(literal) if p]
        fixed = sum(len(p) for p in parts)
        if fixed >= _MIN_FRAGMENT and all(p in message for p in parts):
            best = max(best, fixed)
    return best


def narrow(files: tuple[str, ...], message: str, texts: Mapping[str, str]) -> tuple[str, ...]:
    """Of the policy ``files`` that define a rule (several files of ``package main`` all
    define ``deny``), the one whose string literals spell ``message`` best; all of them
    when none or several do equally."""
    if len(files) < 2:
        return files
    scores = {f: _score(texts.get(f, ""), message) for f in files}
    top = max(scores.values())
    best = tuple(f for f in files if scores[f] == top)
    return best if top > 0 and len(best) == 1 else files


__all__ = ["PolicyDocument", "PolicyFacts", "PolicyRun", "label", "narrow", "source"]
