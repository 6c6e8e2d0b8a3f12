"""Safe reading of YAML text: overlays and promotion.yaml go through here.

- :func:`decode` turns file bytes into text: UTF-8 only (a leading BOM is kept as
  ``"\\ufeff"`` so that ``text.encode("utf-8")`` gives the same bytes back); UTF-16/32,
  binary and oversized files are refused.
- :func:`compose` parses every document into ruamel.yaml *nodes* (exact character spans,
  scalar styles, raw scalar text) without constructing Python values, after refusing
  alias bombs, recursive aliases and duplicate keys. The overlay editors work on these.
- :func:`load` gives the round-trip value of a single-document file (``CommentedMap``
  with ``.lc`` positions) for promotion.yaml, with the same protections.

Every refusal is a :class:`YamlError`: one line ``file:line:col: problem`` plus a hint.
ruamel.yaml is imported on first use so that commands that never parse YAML start fast.

**The fast path** (``fast=True``, for readers that edit nothing): libyaml (PyYAML's C
parser) scans and parses, and a small composer here builds the very ruamel.yaml node
tree ruamel.yaml's own composer would (same classes, tags from ruamel.yaml's resolver,
values, styles, anchors, shared alias nodes, character positions), some 20-40 times
faster. It takes only what it can reproduce exactly: printable ASCII text (so byte and
character offsets agree) without directives, explicit tags, reused anchors or flow
collections with empty values; anything else, and every error, goes through ruamel.yaml,
so results and messages are ruamel.yaml's. The one difference: fast nodes carry no
comments (``node.comment`` is None); nothing that reads overlays or promotion.yaml looks
at them (setter markers are read from the text). ``tests/overlays/test_yamlfast.py``
holds the two paths to the same trees, values and errors.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

from gitops_promote.errors import OverlayError

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

MAX_BYTES: Final = 5 * 1024 * 1024
# Nodes that aliases may add on top of the nodes written out: a few merge keys
# (``<<: *defaults``) stay far below this; a billion-laughs file goes far beyond it.
MAX_ALIAS_EXPANSION: Final = 10_000
BOM: Final = "\ufeff"
_T = TypeVar("_T")


class YamlError(OverlayError):
    """A YAML file cannot be read safely; ``file``/``line``/``column`` locate it (1-based)."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = file
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {problem}", hint=hint)
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem


def decode(data: bytes, name: str) -> str:
    """UTF-8 bytes (with or without BOM) to text; anything else is refused in one line."""
    if len(data) > MAX_BYTES:
        raise YamlError(
            name,
            f"is {len(data)} bytes, more than the {MAX_BYTES // 1048576} MiB limit for YAML files",
            hint="overlays and promotion.yaml are small text files; check the path",
        )
    encoding = _wide_encoding(data)
    if encoding:
        raise YamlError(
            name,
            f"is encoded as {encoding}, not UTF-8",
            hint=f"convert it: iconv -f {encoding} -t UTF-8 FILE > FILE.new && mv FILE.new FILE",
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise YamlError(
            name,
            f"contains NUL bytes (offset {nul}): it is binary, not YAML text",
            hint="point the path at a YAML file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise YamlError(
            name,
            f"is not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})",
            line=line,
            hint="save the file as UTF-8, e.g. iconv -f LATIN1 -t UTF-8 FILE > FILE.new",
        ) from None


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16/32 by BOM, or by the NUL pattern of an ASCII-heavy start without one."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = data[:4]
    if len(head) == 4:
        if head[:3] == b"\x00\x00\x00" or head[1:] == b"\x00\x00\x00":
            return "UTF-32"
        if (head[0] == 0 and head[2] == 0 and head[1] and head[3]) or (
            head[1] == 0 and head[3] == 0 and head[0] and head[2]
        ):
            return "UTF-16"
    return None


def compose(text: str, name: str, *, fast: bool = False) -> list[Node]:
    """Every document of ``text`` as a ruamel.yaml node tree (empty documents dropped).

    Scalars keep their raw text (``newTag: 1.10`` is ``"1.10"``) and exact spans
    (``start_mark.index``/``end_mark.index``, quotes included). The nodes are shared
    between calls with the same text: treat them as read-only. ``fast``: through libyaml
    when it can give the same tree (see the module docs), for readers only."""
    if len(text) > _CACHE_TEXT_LIMIT:
        return _compose_either(text, name, fast=fast)
    return list(_compose_cached(text, name, fast))


# Editors read the same small file several times per edit (read, plan, each step).
_CACHE_TEXT_LIMIT: Final = 256 * 1024


@functools.lru_cache(maxsize=16)
def _compose_cached(text: str, name: str, fast: bool) -> tuple[Node, ...]:
    return tuple(_compose_either(text, name, fast=fast))


def _compose_either(text: str, name: str, *, fast: bool) -> list[Node]:
    if fast:
        docs = _fast_docs(text, name)
        if docs is not None:
            return docs
    return _compose(_yaml(), text, name)


def load(text: str, name: str, *, fast: bool = False) -> Any:
    """The round-trip value of a single-document YAML text (None when empty).

    Mappings are ``CommentedMap`` with ``.lc`` positions; duplicate keys, alias bombs and
    more than one document are refused. ``fast``: composed through libyaml when it can
    give the same nodes (see the module docs); the values are built by ruamel.yaml either
    way."""
    if fast:
        docs = _fast_docs(text, name)
        if docs is not None and len(docs) <= 1:
            if not docs:
                return None
            yaml = _yaml()
            try:
                return _Builder(yaml.constructor).document(docs[0])
            except _SlowPathError:
                pass
            except Exception:  # noqa: BLE001, S110 - ruamel.yaml below says what is wrong
                pass
    yaml = _yaml()
    nodes = _compose(yaml, text, name)
    if not nodes:
        return None
    if len(nodes) > 1:
        raise YamlError(
            name,
            f"holds {len(nodes)} YAML documents, expected one",
            line=_line(text, nodes[1].start_mark.index),
            hint="remove the extra '---' documents",
        )
    return _guarded(lambda: yaml.constructor.construct_document(nodes[0]), name, text)


def _compose(yaml: Any, text: str, name: str) -> list[Node]:
    _check_size(text, name)
    _check_line_breaks(text, name)
    _check_flow_depth(text, name)
    docs: list[Node | None] = _guarded(lambda: list(yaml.compose_all(text)), name, text)
    return _checked(docs, name, text)


def _checked(docs: list[Node | None], name: str, text: str) -> list[Node]:
    """The non-empty documents, after the alias and duplicate-key checks."""
    from ruamel.yaml.nodes import ScalarNode  # noqa: PLC0415 - lazy: fast start

    out = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, ScalarNode) and doc.tag == "tag:yaml.org,2002:null" and not doc.value:
            continue
        _check_graph(doc, name, text)
        out.append(doc)
    return out


def _guarded(run: Callable[[], _T], name: str, text: str) -> _T:
    """Run a ruamel.yaml step; whatever it raises becomes one YamlError line."""
    try:
        return run()
    except RecursionError:
        raise YamlError(name, "nests too deeply to be read", hint="flatten the nesting") from None
    except Exception as err:  # noqa: BLE001 - ruamel raises assorted errors on hostile input
        raise _yaml_error(err, name, text) from None


def _yaml() -> Any:
    from ruamel.yaml import YAML  # noqa: PLC0415 - lazy: fast start

    return YAML(typ="rt", pure=True)


MAX_FLOW_DEPTH: Final = 64


def _check_flow_depth(text: str, name: str) -> None:
    """Refuse deeply nested flow collections before ruamel.yaml sees them: its scanner
    slows down quadratically on them (a denial of service, not a config)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return
    depth = 0
    quote = ""
    comment = False
    for found in _FLOW_SIGNIFICANT.finditer(text):  # every other character changes nothing
        index = found.start()
        char = found.group()
        prev = text[index - 1] if index else "\n"
        if comment:
            comment = char != "\n"
        elif quote:
            if char == quote:
                quote = ""
        elif char == "#" and prev in " \t\n":
            comment = True
        elif char in "'\"" and prev in " \t\n[{,:":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                raise YamlError(
                    name,
                    f"nests flow collections ([...] or {{...}}) more than {MAX_FLOW_DEPTH} deep",
                    line=_line(text, index),
                    column=_column(text, index),
                    hint="flatten the nesting",
                )
        elif char in "]}":
            depth = max(depth - 1, 0)


_FLOW_SIGNIFICANT: Final = re.compile(r"[\n#'\"\[\]{}]")


_ODD_BREAK: Final = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def _check_line_breaks(text: str, name: str) -> None:
    """Only LF and CRLF end lines here: YAML also breaks lines at a lone CR, NEL, LS and PS,
    which editors and git do not, so line numbers and edits would disagree."""
    odd = _ODD_BREAK.search(text)
    if odd is not None:
        raise YamlError(
            name,
            f"contains a line break other than LF or CRLF (U+{ord(odd.group()):04X})",
            line=_line(text, odd.start()),
            column=_column(text, odd.start()),
            hint="save the file with LF or CRLF line endings, e.g. with dos2unix",
        )


def _check_size(text: str, name: str) -> None:
    if len(text) > MAX_BYTES:
        raise YamlError(
            name,
            f"is more than the {MAX_BYTES // 1048576} MiB limit for YAML files",
            hint="overlays and promotion.yaml are small text files; check the path",
        )


def _children(node: Node) -> Iterator[Node]:
    from ruamel.yaml.nodes import MappingNode, SequenceNode  # noqa: PLC0415

    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def _check_graph(root: Node, name: str, text: str) -> None:
    """Refuse recursive aliases, aliases that expand too far, and duplicate mapping keys."""
    from ruamel.yaml.nodes import MappingNode  # noqa: PLC0415

    size: dict[int, int] = {}  # expanded node count of each finished node
    on_path: set[int] = set()
    written = 0
    stack: list[tuple[Node, Iterator[Node]]] = [(root, _children(root))]
    on_path.add(id(root))
    while stack:
        node, it = stack[-1]
        child = next(it, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in _children(node))
            written += 1
            if isinstance(node, MappingNode):
                _check_duplicates(node, name, text)
            continue
        if id(child) in on_path:
            raise YamlError(
                name,
                "has a recursive alias (an anchor that contains its own alias)",
                line=_line(text, child.start_mark.index),
                hint="remove the '&anchor' and '*alias' pair",
            )
        if id(child) in size:
            continue
        on_path.add(id(child))
        stack.append((child, _children(child)))
    expanded = size[id(root)]
    if expanded - written > MAX_ALIAS_EXPANSION:
        raise YamlError(
            name,
            f"uses YAML aliases that expand to {expanded} nodes from {written} written "
            "(an alias bomb?)",
            hint="write the values out instead of using '&anchor'/'*alias'",
        )


def _check_duplicates(node: Node, name: str, text: str) -> None:
    from ruamel.yaml.nodes import ScalarNode  # noqa: PLC0415

    seen: set[str] = set()
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if key.value in seen:
            raise YamlError(
                name,
                f"has the key {key.value!r} twice in one mapping",
                line=_line(text, key.start_mark.index),
                column=_column(text, key.start_mark.index),
                hint="remove one of them: YAML tools disagree about which one wins",
            )
        seen.add(key.value)


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _column(text: str, index: int) -> int:
    start = text.rfind("\n", 0, index) + 1
    if start == 0 and text.startswith(BOM):
        start = 1
    return index - start + 1


def _yaml_error(err: BaseException, name: str, text: str) -> YamlError:
    """One-line YamlError from whatever ruamel.yaml raised."""
    from ruamel.yaml.error import MarkedYAMLError  # noqa: PLC0415
    from ruamel.yaml.reader import ReaderError  # noqa: PLC0415

    if isinstance(err, ReaderError):
        char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1])
        where = err.position if isinstance(err.position, int) else 0
        return YamlError(
            name,
            f"contains the control character U+{char:04X}",
            line=_line(text, where),
            column=_column(text, where),
            hint="remove control characters from the file; YAML allows only printable text",
        )
    if isinstance(err, MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = _one_line(err.problem or err.context or "is not valid YAML")
        if err.context and err.problem:
            problem = f"{problem} ({_one_line(err.context)})"
        return YamlError(
            name,
            f"invalid YAML: {problem}",
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
            hint="fix the YAML syntax at that position; a YAML linter points at it too",
        )
    return YamlError(
        name,
        f"invalid YAML: {_one_line(str(err)) or type(err).__name__}",
        hint="fix the YAML syntax; a YAML linter shows where",
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- the fast path: libyaml events, composed into ruamel.yaml nodes ---------------------------

# Printable ASCII, tab and the two line-break characters: the text libyaml and ruamel.yaml
# read alike, where a byte offset is a character offset.
_FAST_TEXT: Final = re.compile(r"[\n\r\x20-\x7e]*")
# Deeper block nesting than this goes through ruamel.yaml, which decides whether it is
# too deep (its composer recurses more per level than this one).
_FAST_MAX_DEPTH: Final = 48
# A block scalar header as ruamel.yaml reads it: indicators, then spaces and a comment.
_BLOCK_HEADER: Final = re.compile(r"\|(?:[+-][1-9]?|[1-9][+-]?)?(?: +#[^\r\n]*| *)(?:\r?\n|$)")


class _SlowPathError(Exception):
    """The fast path cannot reproduce ruamel.yaml here: take the slow path."""


@functools.cache
def _libyaml() -> tuple[Any, ...] | None:
    """libyaml's parser and PyYAML's event classes, or None (pure-Python PyYAML, or none)."""
    try:  # import_module: PyYAML ships no type hints, and this stays untyped on purpose
        events = importlib.import_module("yaml.events")
        parser = importlib.import_module("yaml._yaml").CParser
    except (ImportError, AttributeError):
        return None
    return (
        parser,
        events.ScalarEvent,
        events.SequenceStartEvent,
        events.SequenceEndEvent,
        events.MappingStartEvent,
        events.MappingEndEvent,
        events.AliasEvent,
        events.StreamEndEvent,
    )


def fast_available() -> bool:
    """Whether the fast path can run here (PyYAML built with libyaml)."""
    return _libyaml() is not None


def _fast_docs(text: str, name: str) -> list[Node] | None:
    """The checked documents of ``text`` through libyaml, or None: take the slow path
    (which also raises every error, in ruamel.yaml's words)."""
    parts = _libyaml()
    if parts is None or not _FAST_TEXT.fullmatch(text) or text.startswith("%") or "\n%" in text:
        return None
    try:
        _check_size(text, name)
        _check_line_breaks(text, name)
        _check_flow_depth(text, name)
        composer = _FastComposer(text, parts)
        docs = list(composer.documents())
        if composer.aliases:
            return _checked(list(docs), name, text)
        # a tree without aliases: nothing recurses or expands, and duplicate keys were
        # refused while composing; drop the empty documents as _checked does
        return [d for d in docs if not (d.value == "" and d.tag == _NULL_TAG)]
    except Exception:  # noqa: BLE001 - whatever it is, ruamel.yaml says it properly
        return None


class _FastComposer:
    """ruamel.yaml's composer (``ruamel.yaml.composer.Composer``) over libyaml's events."""

    def __init__(self, text: str, parts: tuple[Any, ...]) -> None:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode  # noqa: PLC0415

        self.text = text
        self.size = len(text)
        self.scalar_node = ScalarNode
        self.sequence_node = SequenceNode
        self.mapping_node = MappingNode
        parser, self.scalar, self.seq_start, self.seq_end = parts[:4]
        self.map_start, self.map_end, self.alias, self.stream_end = parts[4:]
        self.get = parser(text).get_event
        self.anchors: dict[str, Node] = {}
        self.aliases = False
        self.depth = 0

    def documents(self) -> Iterator[Node]:
        get = self.get
        get()  # StreamStart
        while True:
            event = get()
            if type(event) is self.stream_end:
                return
            self.anchors = {}
            root = self.node(get(), None)
            get()  # DocumentEnd
            yield root

    def node(self, event: Any, parent_flow: bool | None) -> Node:
        """The node that starts with ``event``; ``parent_flow``: the style of the mapping
        whose value it is (None: not a mapping value)."""
        kind = type(event)
        if kind is self.scalar and event.anchor is None and event.tag is None:
            return self._scalar(event, None, parent_flow)  # the common case, first
        if kind is self.alias:
            self._name_ends(event.start_mark.index, event.anchor)
            self.aliases = True
            return self.anchors[event.anchor]  # KeyError: undefined alias, slow path
        if event.tag is not None:
            raise _SlowPathError  # explicit tags: ruamel.yaml's Tag objects and their marks
        anchor = event.anchor
        if anchor is not None:
            if anchor in self.anchors:
                raise _SlowPathError  # a reused anchor: ruamel.yaml warns about it
            self._name_ends(event.start_mark.index, anchor)
        if kind is self.scalar:
            return self._scalar(event, anchor, parent_flow)
        self.depth += 1
        if self.depth > _FAST_MAX_DEPTH:
            raise _SlowPathError
        get = self.get
        node: Node
        if kind is self.seq_start:
            node = self._collection(self.sequence_node, event, anchor)
            items = node.value
            while type(event := get()) is not self.seq_end:
                items.append(self.node(event, None))
        elif kind is self.map_start:
            node = self._collection(self.mapping_node, event, anchor)
            pairs = node.value
            flow = bool(event.flow_style)
            seen: set[str] = set()
            scalar = self.scalar_node
            while type(event := get()) is not self.map_end:
                key = self.node(event, None)
                if type(key) is scalar:
                    text = key.value
                    if text in seen and not (text == "<<" and key.tag == _MERGE_TAG):
                        raise _SlowPathError  # a duplicate key: the slow path says where
                    seen.add(text)
                pairs.append((key, self.node(get(), flow)))
        else:
            raise _SlowPathError
        node.end_mark = self._mark(event.end_mark)
        self.depth -= 1
        return node

    def _name_ends(self, at: int, name: str) -> None:
        """The anchor or alias ``name`` written at ``at`` ends where libyaml says: YAML 1.2
        (ruamel.yaml) allows more characters in names (``&a:`` is the anchor ``a:``)."""
        text = self.text
        stop = at + 1 + len(name)
        if text[at + 1 : stop] != name or (stop < len(text) and text[stop] not in " \r\n,]}"):
            raise _SlowPathError

    def _collection(self, cls: Any, event: Any, anchor: str | None) -> Any:
        tag = _resolve(cls, None, event.implicit)
        node = cls(tag, [], self._mark(event.start_mark), None, flow_style=event.flow_style)
        node.anchor = anchor
        if anchor is not None:
            self.anchors[anchor] = node
        return node

    def _scalar(self, event: Any, anchor: str | None, parent_flow: bool | None) -> Node:
        value = event.value
        style = event.style or None  # libyaml says '' for plain
        start, end = event.start_mark, event.end_mark
        if style == ">":
            raise _SlowPathError  # ruamel.yaml marks the folds in the value ("\a")
        if style == "|" and not _BLOCK_HEADER.match(self.text, start.index):
            raise _SlowPathError  # libyaml takes headers ruamel.yaml refuses (``|#``)
        if not value and style is None and anchor is None and parent_flow is not None:
            start = end = self._empty_value_mark(start, parent_flow)
        elif end.index == self.size:
            start, end = self._mark(start), self._mark(end)
        node = self.scalar_node(
            _resolve(self.scalar_node, value, event.implicit),
            value,
            start,
            end,
            style=style,
            anchor=anchor,
        )
        if anchor is not None:
            self.anchors[anchor] = node
        return node

    def _mark(self, mark: Any) -> Any:
        """libyaml's mark, except at the very end of a text without a final line break,
        where libyaml counts one more line than ruamel.yaml."""
        if mark.index == self.size and not self.text.endswith("\n"):
            return _text_mark(self.text, mark.index)
        return mark

    def _empty_value_mark(self, mark: Any, flow: bool) -> Any:
        """Where ruamel.yaml puts the empty value of ``key:`` in a block mapping: where the
        next token ends (a simple key's or a block end's: where it starts; an explicit
        key's ``?``: after it), while libyaml puts it just after the ':'. When a comment
        comes first, ruamel.yaml's answer depends on where it attaches the comment."""
        text = self.text
        at = mark.index
        if flow or at == 0 or text[at - 1] != ":":
            raise _SlowPathError  # flow mappings: ruamel.yaml and libyaml differ the other way
        end = len(text)
        pos = at
        while pos < end and text[pos] in " \r\n":
            pos += 1
        if pos < end and text[pos] == "#":
            raise _SlowPathError
        if pos < end and text[pos] == "?" and (pos + 1 == end or text[pos + 1] in " \r\n"):
            pos += 1
        return _text_mark(text, pos)


class _Builder:
    """ruamel.yaml's round-trip values of a composed tree without an anchor, alias or merge
    key, built directly: ``CommentedMap``/``CommentedSeq`` with the same ``.lc`` positions
    and styles, plain strings as they are, other scalars by ruamel.yaml's own constructor.
    A few times faster than its generic machinery on a promotion.yaml of thousands of apps;
    anything else raises :class:`_SlowPathError`."""

    def __init__(self, constructor: Any) -> None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq  # noqa: PLC0415

        self.constructor = constructor
        self.commented_map = CommentedMap
        self.commented_seq = CommentedSeq

    def document(self, node: Node) -> Any:
        try:
            return self.value(node)
        finally:  # as construct_document leaves it
            self.constructor.constructed_objects = {}
            self.constructor.recursive_objects = {}

    def value(self, node: Any) -> Any:
        if node.anchor is not None:
            raise _SlowPathError  # anchored values carry their anchor
        if node.id == "scalar":
            if node.tag == _STR_TAG and node.style in _PLAIN_STYLES:
                return node.value
            return self.constructor.construct_object(node, deep=True)
        if node.id == "sequence" and node.tag == _SEQ_TAG:
            seq = self.commented_seq()
            seq._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
            for index, child in enumerate(node.value):
                seq.append(self.value(child))
                seq._yaml_set_idx_line_col(index, [child.start_mark.line, child.start_mark.column])
            self._style(seq, node)
            return seq
        if node.id == "mapping" and node.tag == _MAP_TAG:
            data = self.commented_map()
            data._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
            for key_node, value_node in node.value:
                if key_node.id != "scalar" or key_node.tag == _MERGE_TAG:
                    raise _SlowPathError  # merge keys and collection keys
                key = self.value(key_node)
                value = self.value(value_node)
                data._yaml_set_kv_line_col(
                    key,
                    [
                        key_node.start_mark.line,
                        key_node.start_mark.column,
                        value_node.start_mark.line,
                        value_node.start_mark.column,
                    ],
                )
                data[key] = value
            self._style(data, node)
            return data
        raise _SlowPathError  # sets, ordered maps and other tagged collections

    @staticmethod
    def _style(data: Any, node: Any) -> None:
        if len(data) == 0:
            return
        if node.flow_style is True:
            data.fa.set_flow_style()
        elif node.flow_style is False:
            data.fa.set_block_style()


_STR_TAG: Final = "tag:yaml.org,2002:str"
_SEQ_TAG: Final = "tag:yaml.org,2002:seq"
_MAP_TAG: Final = "tag:yaml.org,2002:map"
_PLAIN_STYLES: Final = (None, "'", '"')  # block scalars become ruamel.yaml string types


_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_NULL_TAG: Final = "tag:yaml.org,2002:null"


def _text_mark(text: str, index: int) -> Any:
    from ruamel.yaml.error import StreamMark  # noqa: PLC0415

    start = text.rfind("\n", 0, index) + 1
    return StreamMark(None, index, text.count("\n", 0, index), index - start)


@functools.cache
def _resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver  # noqa: PLC0415

    return VersionedResolver()


@functools.lru_cache(maxsize=4096)
def _resolve(kind: Any, value: str | None, implicit: Any) -> Any:
    """ruamel.yaml's tag for an untagged node of class ``kind`` (YAML 1.2 rules, as its
    composer resolves them)."""
    return _resolver().resolve(kind, value, implicit)
