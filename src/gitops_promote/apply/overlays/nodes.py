"""Small helpers over ruamel.yaml nodes (as :func:`gitops_promote.adapters.yamlsafe.compose` gives).

Nodes carry exact character spans (``start_mark.index``/``end_mark.index``); these helpers
answer layout questions the editors ask: where does a block collection's content end,
how are sequences indented in this file, which quote style does it prefer.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from gitops_promote.apply.overlays import textedit

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

NULL_TAG = "tag:yaml.org,2002:null"


@functools.cache
def _classes() -> tuple[Any, Any, Any]:
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode  # noqa: PLC0415 - lazy

    return MappingNode, SequenceNode, ScalarNode


def is_map(node: Node | None) -> TypeGuard[MappingNode]:
    return isinstance(node, _classes()[0])


def is_seq(node: Node | None) -> TypeGuard[SequenceNode]:
    return isinstance(node, _classes()[1])


def is_scalar(node: Node | None) -> TypeGuard[ScalarNode]:
    return isinstance(node, _classes()[2])


def is_null(node: Node) -> bool:
    """An empty, ``~`` or ``null`` plain scalar."""
    return is_scalar(node) and node.tag == NULL_TAG


def style(node: Node) -> str | None:
    """A scalar's style: None (plain), ``'``, ``"``, ``|`` or ``>``."""
    value = getattr(node, "style", None)
    return value if isinstance(value, str) else None


def is_flow(node: Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def raw(node: Node) -> str | None:
    """A scalar's text as written (``1.10`` stays ``"1.10"``); None for collections/nulls."""
    if not is_scalar(node) or is_null(node):
        return None
    value = node.value
    return value if isinstance(value, str) else None


def pairs(mapping: MappingNode) -> list[tuple[ScalarNode, Node]]:
    return list(mapping.value)


def get(mapping: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for k, v in mapping.value:
        if is_scalar(k) and k.value == key:
            return k, v
    return None


def start(node: Node) -> int:
    return int(node.start_mark.index)


def end(node: Node) -> int:
    return int(node.end_mark.index)


def walk(root: Node) -> Iterator[tuple[Node, bool]]:
    """Every node once, with ``True`` for mapping keys."""
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, is_key = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, is_key
        if is_map(node):
            for k, v in reversed(node.value):
                stack.append((v, False))
                stack.append((k, True))
        elif is_seq(node):
            stack.extend((item, False) for item in reversed(node.value))


def shared(root: Node) -> set[int]:
    """ids of nodes reached more than once (through YAML aliases)."""
    mapping, sequence, _ = _classes()
    seen: set[int] = set()
    out: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        key = id(node)
        if key in seen:
            out.add(key)
            continue
        seen.add(key)
        kind = type(node)
        if kind is mapping or isinstance(node, mapping):
            for k, v in node.value:
                stack.append(k)
                stack.append(v)
        elif kind is sequence or isinstance(node, sequence):
            stack.extend(node.value)
    return out


def content_end(node: Node, aliased: set[int], file: str, text: str) -> int:
    """Index just after the last character of ``node``'s content (comments excluded)."""
    current = node
    while True:
        if id(current) in aliased:
            raise textedit.refuse(
                file,
                text,
                start(node),
                "the value is shared through a YAML alias (*name) and cannot be edited here",
                "write the value out instead of using an alias",
            )
        if is_scalar(current) or is_flow(current) or not current.value:
            return end(current)
        last = current.value[-1]
        current = last[1] if is_map(current) else last


@dataclass(frozen=True)
class Layout:
    """How a file lays out block sequences and the mappings inside them."""

    seq_indent: int  # columns from a key to the '-' of its sequence (0: indentless)
    item_indent: int  # columns from '-' to the first key of a mapping item
    quote: str  # preferred quote character when a value needs quotes


def layout(root: Node, text: str) -> Layout:
    """Read sequence indentation and quote preference off the file itself."""
    seq_indent: int | None = None
    item_indent: int | None = None
    quotes: Counter[str] = Counter()
    for node, _ in walk(root):
        quote_style = style(node) if is_scalar(node) else None
        if quote_style in ("'", '"'):
            quotes[quote_style] += 1
        if not is_map(node) or is_flow(node):
            continue
        for key, value in node.value:
            if not is_seq(value) or is_flow(value) or not value.value:
                continue
            dash = _dash_column(text, value.value[0])
            if dash is None:
                continue
            if seq_indent is None:
                seq_indent = max(dash - textedit.column(text, start(key)), 0)
            if item_indent is None and is_map(value.value[0]) and not is_flow(value.value[0]):
                item_indent = textedit.column(text, start(value.value[0])) - dash
    quote = quotes.most_common(1)[0][0] if quotes else '"'
    return Layout(seq_indent or 0, item_indent or 2, quote)


def _dash_column(text: str, item: Node) -> int | None:
    """Column of the '-' that starts ``item``, when it stands on the item's line."""
    begin = textedit.line_start(text, start(item))
    prefix = text[begin : start(item)]
    stripped = prefix.rstrip()
    if not stripped.endswith("-") or stripped[:-1].strip():
        return None
    return len(stripped) - 1


def dash_start(text: str, item: Node) -> int | None:
    """Index of the '-' that starts a block sequence item, when it begins its line."""
    col = _dash_column(text, item)
    return None if col is None else textedit.line_start(text, start(item)) + col


def one_line_scalar(node: Node, file: str, text: str, what: str) -> ScalarNode:
    """``node`` when it is a scalar written on one line without tag or anchor; else refuse."""
    if not is_scalar(node):
        raise textedit.refuse(
            file, text, start(node), f"{what} is not a single value", f"write {what} as a string"
        )
    span = text[start(node) : end(node)]
    if style(node) in ("|", ">") or "\n" in span:
        raise textedit.refuse(
            file,
            text,
            start(node),
            f"{what} spans several lines",
            f"write {what} on one line, e.g. newTag: v1.2.3",
        )
    if span[:1] in ("!", "&"):
        raise textedit.refuse(
            file,
            text,
            start(node),
            f"{what} carries a YAML tag or anchor",
            "remove the '!tag' or '&anchor' before the value",
        )
    return node


def replace(
    node: Node, value: str, *, prefer: str, file: str, text: str, what: str
) -> textedit.Edit:
    """An edit that writes ``value`` over the scalar ``node``, keeping its quote style."""
    scalar = one_line_scalar(node, file, text, what)
    if is_null(scalar) and start(scalar) == end(scalar):
        raise AssertionError("an empty value has no span; use after_colon()")  # a bug
    quote = style(scalar)
    quote = quote if quote in ("'", '"') else None
    return textedit.Edit(start(scalar), end(scalar), textedit.render(value, quote, prefer))


def write_value(
    key: Node, value: Node, new: str, *, prefer: str, file: str, text: str
) -> textedit.Edit:
    """An edit that makes ``key: value`` say ``new``; an empty value gets `` new``."""
    if is_null(value) and start(value) == end(value):
        at = after_colon(text, key)
        return textedit.Edit(at, at, " " + textedit.render(new, None, prefer))
    return replace(value, new, prefer=prefer, file=file, text=text, what=str(key.value))


def after_colon(text: str, key: Node) -> int:
    """Index just after the ':' that follows a mapping key."""
    index = end(key)
    while index < len(text) and text[index] in " \t":
        index += 1
    if index < len(text) and text[index] == ":":
        return index + 1
    raise AssertionError(f"no ':' after key at {end(key)}")  # a bug: keys are followed by ':'


__all__ = [
    "Layout",
    "after_colon",
    "content_end",
    "dash_start",
    "end",
    "get",
    "is_flow",
    "is_map",
    "is_null",
    "is_scalar",
    "is_seq",
    "layout",
    "one_line_scalar",
    "pairs",
    "raw",
    "replace",
    "shared",
    "start",
    "style",
    "walk",
    "write_value",
]
