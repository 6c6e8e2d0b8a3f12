"""The quick pin reader: the pin of a target read straight from the text of an ordinary
overlay, without building a YAML node tree (pure: text in, answer out).

Reading history reads every version of every overlay; nearly all of them are a few lines
of plain block YAML. :func:`read_pin` reads those: a kustomization's ``images:`` entries
(block or one-line flow forms), a Helm values key (a reference string, or a mapping with
``repository``/``tag``/``digest``), a file that carries no setter marker. It accepts only
a small subset of YAML whose meaning it knows exactly: printable ASCII with LF line
breaks; block mappings and sequences (indentless ones too); one-line plain, single- or
double-quoted (no escapes) scalars; one-line flow collections of those; comments; one
leading ``---``. Anything else (anchors, aliases, tags, several documents, block or
multi-line scalars, escapes, duplicate keys, odd keys, CRLF, non-ASCII, setter markers,
a file the full reader would refuse or find a broken pin in) is :data:`UNSURE`: the
full reader (:func:`gitops_promote.apply.overlays.read_pin`) decides. Whenever it
answers, the answer is exactly the full reader's (``tests/overlays/test_quick.py``).

Texts that differ only in the one-word values of their ``key: value`` lines (the
versions of an overlay, the overlays of a fleet) share one parse of their shape (a
bounded cache), each reading its own words back (``tests/overlays/test_quick_shapes.py``).
"""

from __future__ import annotations

import re
from typing import Final

from gitops_promote.apply.overlays.model import KUSTOMIZATION_NAMES, Pin, Target
from gitops_promote.errors import InputError
from gitops_promote.images import ImageRef


class Unsure:
    """The quick reader's "ask the full reader" (one instance: :data:`UNSURE`)."""

    _instance: Unsure | None = None

    def __new__(cls) -> Unsure:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSURE"


UNSURE: Final = Unsure()


class _Refused(Exception):  # noqa: N818 - a signal, not an error shown to users
    """Outside the subset: the answer is :data:`UNSURE`."""


# Printable ASCII and LF only (no tab, CR, BOM or other character the readers treat apart).
_TEXT: Final = re.compile(r"[\n\x20-\x7e]*")
_LIMIT: Final = 256 * 1024
# The setter markers' mention (as gitops_promote.apply.overlays.setters finds them).
_MENTION: Final = re.compile(r'"\$(?:promote|imagepolicy)"')
# A mapping key: a plain scalar of a safe alphabet, not one YAML reads as anything else.
_KEY: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_./-]{0,199}):(?: +|$)")
_NOT_STRING_KEY: Final = re.compile(
    r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL)"
)
# A one-line plain scalar of a safe alphabet (block context: words separated by spaces,
# none ending with ':'), then only spaces or a comment up to the end of the line.
_WORD: Final = r"[A-Za-z0-9_./@:+=-]*[A-Za-z0-9_./@+=-]"
_PLAIN: Final = re.compile(
    rf"([A-Za-z0-9_./](?:{_WORD})?(?: +[A-Za-z0-9_./@+=-](?:{_WORD})?)*)(?: *| +#.*)"
)
# In a flow collection: one word (no spaces, no flow indicators).
_FLOW_PLAIN: Final = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./@:+=-]*")
_SINGLE: Final = re.compile(r"'((?:[^']|'')*)'")
_DOUBLE: Final = re.compile(r'"([^"\\]*)"')
_NULLS: Final = frozenset(("~", "null", "Null", "NULL"))
_END: Final = re.compile(r" *(?: #.*)?")  # what may follow a value on its line


class _Scalar:
    __slots__ = ("line", "null", "value")

    def __init__(self, value: str, line: int, *, null: bool = False) -> None:
        self.value = value
        self.line = line
        self.null = null


class _Map:
    __slots__ = ("lines", "pairs")

    def __init__(self) -> None:
        self.pairs: dict[str, _Node] = {}
        self.lines: dict[str, int] = {}

    def add(self, key: str, line: int, value: _Node) -> None:
        if key in self.pairs:
            raise _Refused  # a duplicate key: the full reader refuses it
        if key not in _PLAIN_KEYS:
            if _NOT_STRING_KEY.fullmatch(key):
                raise _Refused  # a key YAML reads as a boolean or null
            if len(_PLAIN_KEYS) < 4096:
                _PLAIN_KEYS.add(key)
        self.pairs[key] = value
        self.lines[key] = line


class _Seq:
    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[_Node] = []


_Node = _Scalar | _Map | _Seq
_PLAIN_KEYS: set[str] = set()  # keys seen to be plain strings (bounded)
_EMPTY: Final = object()  # ``key:`` with nothing after it on its line


class _Lines:
    """The content lines of a text: (1-based number, indent, content)."""

    def __init__(self, text: str) -> None:
        rows: list[tuple[int, int, str]] = []
        indents: list[int] = []
        started = False
        for number, line in enumerate(text.split("\n"), 1):
            content = line.lstrip(" ")
            if not content or content.startswith("#"):
                continue
            indent = len(line) - len(content)
            if indent == 0 and content.startswith(("---", "...", "%")):
                if started or not _is_start_marker(content):
                    raise _Refused  # several documents, an end marker, a directive
                started = True
                continue
            started = True
            rows.append((number, indent, content))
            indents.append(indent)
        indents.append(-1)  # after the last line
        self.rows = rows
        self.indents = indents  # of each row, and -1 after the last


def _is_start_marker(content: str) -> bool:
    return content == "---" or bool(re.fullmatch(r"--- *(?: #.*)?", content))


# A line ``key: value`` (after a sequence's dash or not) whose value is one plain word of
# a safe alphabet (never null, never ending with ``:``) right up to the end of the line:
# such a line always parses as that key and a string scalar of exactly that word,
# whatever the word, so the rest of the parse does not depend on it.
_SLOT: Final = re.compile(
    r"^( *(?:- +)?[A-Za-z_][A-Za-z0-9_./-]{0,199}: +)"
    r"([A-Za-z0-9](?:[A-Za-z0-9_.:@/+=-]*[A-Za-z0-9_.@/+=-])?)$",
    re.MULTILINE,
)
# shape -> its parse (or _Refused) and the number of each slot line, in order
_TEMPLATES: dict[str, tuple[_Map | type[_Refused] | None, tuple[int, ...]]] = {}
_TEMPLATES_MAX: Final = 1024


def _parse(text: str) -> tuple[_Map | None, dict[int, str]]:
    """:func:`_parse_text` of ``text``, its structure parsed once for every text that
    differs from it only in the words of its :data:`_SLOT` lines (the versions of an
    overlay differ in a digest or a tag; the overlays of a fleet in the image's name):
    the parse of that shape, and the word of each slot line (by line number), which is
    the value of the scalar on that line (:func:`_value_of`)."""
    parts = _SLOT.split(text)  # text, then (prefix, word, text) for each slot line
    found = parts[2::3]
    if not found or not _NULLS.isdisjoint(found):
        return _parse_text(text), {}
    parts[2::3] = ["x"] * len(found)
    shape = "".join(parts)
    cached = _TEMPLATES.get(shape)
    if cached is None:
        lines = tuple(shape.count("\n", 0, m.start()) + 1 for m in _SLOT.finditer(shape))
        try:
            cached = (_parse_text(shape), lines)
        except _Refused:
            cached = (_Refused, lines)
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[shape] = cached
    root, lines = cached
    if root is _Refused:
        raise _Refused
    return (root if isinstance(root, _Map) else None), dict(zip(lines, found, strict=True))


def _value_of(node: _Scalar, words: dict[int, str]) -> str:
    """A scalar's text: its line's word when it stands on a slot line (its value in the
    text, where the shape has a placeholder)."""
    return words.get(node.line, node.value)


def _parse_text(text: str) -> _Map | None:
    """The one document of ``text`` (None: none), when it is in the subset; a root that
    is not a mapping is refused."""
    lines = _Lines(text)
    if not lines.rows:
        return None
    root, i = _block(lines, 0)
    if i != len(lines.rows) or not isinstance(root, _Map):
        raise _Refused
    return root


def _block(lines: _Lines, i: int) -> tuple[_Node, int]:
    """The block node whose first line is ``i`` (at its own indent)."""
    _, indent, content = lines.rows[i]
    if content.startswith("- "):
        return _seq(lines, i, indent)
    return _map(lines, i, indent, content)


def _map(lines: _Lines, i: int, indent: int, content: str) -> tuple[_Map, int]:
    """A block mapping at column ``indent``; its first pair is ``content`` on line ``i``
    (which may follow a sequence's dash)."""
    out = _Map()
    while True:
        number = lines.rows[i][0]
        key = _KEY.match(content)
        if key is None:
            raise _Refused
        value, i = _value(lines, i, indent, content[key.end() :], indentless=True)
        out.add(key.group(1), number, value)
        if lines.indents[i] != indent:
            if lines.indents[i] > indent:
                raise _Refused
            return out, i
        content = lines.rows[i][2]


def _seq(lines: _Lines, i: int, indent: int) -> tuple[_Seq, int]:
    """A block sequence whose dashes stand at column ``indent``."""
    out = _Seq()
    while lines.indents[i] == indent and lines.rows[i][2].startswith("- "):
        content = lines.rows[i][2]
        rest = content[2:].lstrip(" ")
        column = indent + len(content) - len(rest)
        if _KEY.match(rest):
            item: _Node
            item, i = _map(lines, i, column, rest)
        else:
            found = _inline(rest, lines.rows[i][0])
            if found is _EMPTY or not isinstance(found, _Scalar | _Map | _Seq):
                raise _Refused  # "- " then a comment, a nested dash...
            item = found
            i += 1
            if lines.indents[i] > indent:
                raise _Refused  # a multi-line scalar or worse
        out.items.append(item)
    return out, i


def _value(lines: _Lines, i: int, indent: int, rest: str, *, indentless: bool) -> tuple[_Node, int]:
    """The value of the pair on line ``i`` of a mapping at ``indent``: ``rest`` is what
    follows its ``key:``. Returns it and the line after it."""
    number = lines.rows[i][0]
    found = _inline(rest, number)
    i += 1
    if found is not _EMPTY:
        if lines.indents[i] > indent:
            raise _Refused  # a multi-line scalar or worse
        return found, i  # type: ignore[return-value]
    below = lines.indents[i]
    if below > indent:
        node, i = _block(lines, i)
        if lines.indents[i] > indent:
            raise _Refused
        return node, i
    if below == indent and indentless and lines.rows[i][2].startswith("- "):
        return _seq(lines, i, indent)
    return _Scalar("", number, null=True), i


def _inline(rest: str, line: int) -> object:
    """The value written on a line after ``key:`` or ``- ``: a node, or :data:`_EMPTY`."""
    if not rest or rest.startswith("#"):
        return _EMPTY
    first = rest[0]
    if first in "[{":
        node, at = _flow(rest, 0, line, 0)
        tail = rest[at:]
    elif first == "'":
        match = _SINGLE.match(rest)
        if match is None:
            raise _Refused
        node, tail = _Scalar(match.group(1).replace("''", "'"), line), rest[match.end() :]
    elif first == '"':
        match = _DOUBLE.match(rest)
        if match is None:
            raise _Refused
        node, tail = _Scalar(match.group(1), line), rest[match.end() :]
    else:
        match = _PLAIN.fullmatch(rest)
        if match is not None:
            value = match.group(1)
            return _Scalar(value, line, null=value in _NULLS)
        value, _, tail = rest.partition(" ")
        if value != "~":
            raise _Refused  # "a: b" in a value, "a:" at its end, an indicator...
        node, tail = _Scalar(value, line, null=True), " " + tail
    if not _END.fullmatch(tail):
        raise _Refused
    return node


def _flow(text: str, at: int, line: int, depth: int) -> tuple[_Node, int]:
    """The flow collection or scalar at ``text[at]`` (one line); returns it and the index
    after it."""
    if depth > 4:
        raise _Refused
    char = text[at] if at < len(text) else ""
    if char in ("[", "{"):
        close = "]" if char == "[" else "}"
        node: _Map | _Seq = _Seq() if char == "[" else _Map()
        at = _skip(text, at + 1)
        while True:
            if text[at : at + 1] == close:
                return node, at + 1
            if isinstance(node, _Map):
                key = _FLOW_KEY.match(text, at)
                if key is None:
                    raise _Refused  # empty values, keys without values, odd keys
                value, at = _flow(text, _skip(text, key.end()), line, depth + 1)
                node.add(key.group(1), line, value)
            else:
                item, at = _flow(text, at, line, depth + 1)
                node.items.append(item)
            at = _skip(text, at)
            if text[at : at + 1] == ",":
                at = _skip(text, at + 1)
            elif text[at : at + 1] != close:
                raise _Refused
    if char == "'":
        match = _SINGLE.match(text, at)
        if match is None:
            raise _Refused
        return _Scalar(match.group(1).replace("''", "'"), line), match.end()
    if char == '"':
        match = _DOUBLE.match(text, at)
        if match is None:
            raise _Refused
        return _Scalar(match.group(1), line), match.end()
    match = _FLOW_PLAIN.match(text, at)
    if match is None or match.group().endswith(":"):
        raise _Refused
    plain = match.group()
    return _Scalar(plain, line, null=plain in _NULLS), match.end()


_FLOW_KEY: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_./-]{0,199}): +(?=[^ ,}\]])")


def _skip(text: str, at: int) -> int:
    while text[at : at + 1] == " ":
        at += 1
    return at


# -- the readers -------------------------------------------------------------------------


def is_kustomization_name(filename: str) -> bool:
    """Whether ``filename`` is named as a kustomization: the one thing about the file's
    name that :func:`read_pin`'s answers depend on."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES


def read_pin(filename: str, text: str, target: Target) -> Pin | Unsure | None:
    """What :func:`gitops_promote.apply.overlays.read_pin` gives for ``target`` in this
    file, or :data:`UNSURE` (the full reader decides: an error, or a file outside the
    subset)."""
    kind = target.kind
    if kind == "setter" or (kind == "auto" and not is_kustomization_name(filename)):
        if _MENTION.search(text):
            return UNSURE  # setter markers: the full reader reads them
        if kind == "setter":
            return None  # no marker: the full reader parses nothing and finds nothing
        kind = "helm"
    elif kind == "auto":
        kind = "kustomize"
    if len(text) > _LIMIT or not _TEXT.fullmatch(text):
        return UNSURE
    try:
        root, words = _parse(text)
        if kind == "kustomize":
            return _kustomize(root, target.match, words)
        return _helm(root, target.key, target.image, words)
    except (_Refused, InputError):
        return UNSURE


def _raw(node: _Node, words: dict[int, str]) -> str | None:
    """A scalar's text (None for a null or a collection), as the full reader's ``raw``."""
    if isinstance(node, _Scalar) and not node.null:
        return _value_of(node, words)
    return None


def _kustomize(root: _Map | None, match: str, words: dict[int, str]) -> Pin | None:
    if root is None:
        return None
    images = root.pairs.get("images")
    if images is None or (isinstance(images, _Scalar) and images.null):
        return None
    if not isinstance(images, _Seq):
        raise _Refused  # "images: is not a list"
    found: Pin | None = None
    seen: set[str] = set()
    for item in images.items:
        if not isinstance(item, _Map):
            raise _Refused
        name_node = item.pairs.get("name")
        name = _raw(name_node, words) if name_node is not None else None
        if not name or name in seen:
            raise _Refused  # no name, or two entries with it
        seen.add(name)
        values: dict[str, str] = {}
        for field in ("newName", "newTag", "digest"):
            value = item.pairs.get(field)
            if value is None or (isinstance(value, _Scalar) and value.null):
                continue
            if not isinstance(value, _Scalar):
                raise _Refused  # "is not a single value"
            if text := _value_of(value, words):
                values[field] = text
        if name == match and found is None:
            line = item.lines["name"]
            for field in ("digest", "newTag", "newName"):
                if field in values:
                    line = item.lines[field]
                    break
            ref = ImageRef(values.get("newName", name), values.get("newTag"), values.get("digest"))
            found = Pin(ref, line)
    return found


def _helm(root: _Map | None, key: str, image: str, words: dict[int, str]) -> Pin | None:
    if root is None:
        return None
    node: _Node = root
    value: _Node | None = None
    line = 0
    for part in key.split("."):
        value = node.pairs.get(part) if isinstance(node, _Map) else None
        if value is None:
            return None
        line = node.lines[part]  # type: ignore[union-attr]
        node = value
    if isinstance(node, _Scalar):
        if node.null:
            raise _Refused  # "neither an image reference nor a mapping"
        return Pin(ImageRef.parse(_value_of(node, words)), node.line)
    if not isinstance(node, _Map):
        raise _Refused
    mapping = node

    def field(name: str) -> tuple[str | None, int | None]:
        found = mapping.pairs.get(name)
        if found is None:
            return None, None
        if not isinstance(found, _Scalar):
            raise _Refused
        value = None if found.null else _value_of(found, words) or None
        return value, mapping.lines[name]

    repo_key = (
        "name" if "repository" not in mapping.pairs and "name" in mapping.pairs else "repository"
    )
    registry, _ = field("registry")
    repository, repo_line = field(repo_key)
    tag, tag_line = field("tag")
    digest, digest_line = field("digest")
    if tag and "@" in tag and not digest:
        tag, _, digest = tag.partition("@")
        digest_line = tag_line
    name = repository
    if registry and repository:
        name = f"{registry}/{repository}"
    where = (digest_line if digest else None) or (tag_line if tag else None) or repo_line or line
    return Pin(ImageRef(name or image, tag or None, digest or None), where)


__all__ = ["UNSURE", "Unsure", "is_kustomization_name", "read_pin"]
