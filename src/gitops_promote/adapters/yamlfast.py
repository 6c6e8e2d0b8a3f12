"""The fast YAML read path: libyaml (PyYAML's C parser) scans and parses, and a small
composer here builds the very ruamel.yaml node tree ruamel.yaml's own composer would
(see :mod:`gitops_promote.adapters.yamlsafe`, which chooses between the two paths).
:class:`Builder` constructs the round-trip values from those nodes."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from gitops_promote.adapters.yamlcheck import (
    check_flow_depth,
    check_line_breaks,
    check_size,
    checked,
)

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

# Printable ASCII, tab and the two line-break characters: the text libyaml and ruamel.yaml
# read alike, where a byte offset is a character offset.
_FAST_TEXT: Final = re.compile(r"[\n\r\x20-\x7e]*")
# Deeper block nesting than this goes through ruamel.yaml, which decides whether it is
# too deep (its composer recurses more per level than this one).
_FAST_MAX_DEPTH: Final = 48
# A block scalar header as ruamel.yaml reads it: indicators, then spaces and a comment.
_BLOCK_HEADER: Final = re.compile(r"\|(?:[+-][1-9]?|[1-9][+-]?)?(?: +#[^\r\n]*| *)(?:\r?\n|$)")


class SlowPathError(Exception):
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


def fast_docs(text: str, name: str) -> list[Node] | None:
    """The checked documents of ``text`` through libyaml, or None: take the slow path
    (which also raises every error, in ruamel.yaml's words)."""
    parts = _libyaml()
    if parts is None or not _FAST_TEXT.fullmatch(text) or text.startswith("%") or "\n%" in text:
        return None
    try:
        check_size(text, name)
        check_line_breaks(text, name)
        check_flow_depth(text, name)
        composer = _FastComposer(text, parts)
        docs = list(composer.documents())
        if composer.aliases:
            return checked(list(docs), name, text)
        # a tree without aliases: nothing recurses or expands, and duplicate keys were
        # refused while composing; drop the empty documents as checked does
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
        # the tags of this text's scalars: a promotion.yaml of 10,000 apps holds more
        # distinct values than the shared cache below keeps, and would resolve each anew
        self.tags: dict[tuple[str, Any], Any] = {}

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
            raise SlowPathError  # explicit tags: ruamel.yaml's Tag objects and their marks
        anchor = event.anchor
        if anchor is not None:
            if anchor in self.anchors:
                raise SlowPathError  # a reused anchor: ruamel.yaml warns about it
            self._name_ends(event.start_mark.index, anchor)
        if kind is self.scalar:
            return self._scalar(event, anchor, parent_flow)
        self.depth += 1
        if self.depth > _FAST_MAX_DEPTH:
            raise SlowPathError
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
                        raise SlowPathError  # a duplicate key: the slow path says where
                    seen.add(text)
                pairs.append((key, self.node(get(), flow)))
        else:
            raise SlowPathError
        node.end_mark = self._mark(event.end_mark)
        self.depth -= 1
        return node

    def _name_ends(self, at: int, name: str) -> None:
        """The anchor or alias ``name`` written at ``at`` ends where libyaml says: YAML 1.2
        (ruamel.yaml) allows more characters in names (``&a:`` is the anchor ``a:``)."""
        text = self.text
        stop = at + 1 + len(name)
        if text[at + 1 : stop] != name or (stop < len(text) and text[stop] not in " \r\n,]}"):
            raise SlowPathError

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
            raise SlowPathError  # ruamel.yaml marks the folds in the value ("\a")
        if style == "|" and not _BLOCK_HEADER.match(self.text, start.index):
            raise SlowPathError  # libyaml takes headers ruamel.yaml refuses (``|#``)
        if not value and style is None and anchor is None and parent_flow is not None:
            start = end = self._empty_value_mark(start, parent_flow)
        elif end.index == self.size:
            start, end = self._mark(start), self._mark(end)
        implicit = event.implicit
        tag = self.tags.get((value, implicit))
        if tag is None:
            tag = self.tags[value, implicit] = _resolve(self.scalar_node, value, implicit)
        node = self.scalar_node(
            tag,
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
            raise SlowPathError  # flow mappings: ruamel.yaml and libyaml differ the other way
        end = len(text)
        pos = at
        while pos < end and text[pos] in " \r\n":
            pos += 1
        if pos < end and text[pos] == "#":
            raise SlowPathError
        if pos < end and text[pos] == "?" and (pos + 1 == end or text[pos + 1] in " \r\n"):
            pos += 1
        return _text_mark(text, pos)


class Builder:
    """ruamel.yaml's round-trip values of a composed tree without an anchor, alias or merge
    key, built directly: ``CommentedMap``/``CommentedSeq`` with the same ``.lc`` positions
    and styles, plain strings as they are, other scalars by ruamel.yaml's own constructor.
    A few times faster than its generic machinery on a promotion.yaml of thousands of apps;
    anything else raises :class:`SlowPathError`."""

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
            raise SlowPathError  # anchored values carry their anchor
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
                    raise SlowPathError  # merge keys and collection keys
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
        raise SlowPathError  # sets, ordered maps and other tagged collections

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
