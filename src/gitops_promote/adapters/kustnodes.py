"""YAML nodes read the way kustomize reads them (through Go's YAML and JSON decoders): keys
matched case-insensitively, merge keys followed, ``!!binary`` keys decoded, a lone value
taken as a one-item list. Used by :mod:`gitops_promote.adapters.hermetic`."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

STR: Final = "tag:yaml.org,2002:str"
NULL: Final = "tag:yaml.org,2002:null"
MERGE: Final = "tag:yaml.org,2002:merge"
BINARY: Final = "tag:yaml.org,2002:binary"


def line(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def tag(node: Node) -> str:
    """A node's YAML tag."""
    return str(node.tag)


def pairs(node: Node, depth: int = 0) -> Iterator[tuple[str, Node, Node]]:
    """(casefolded key, key node, value node) of a mapping node, merge keys followed."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode  # noqa: PLC0415

    if not isinstance(node, MappingNode) or depth > 20:
        return
    for key, value in node.value:
        if tag(key) == MERGE or (isinstance(key, ScalarNode) and key.value == "<<"):
            merged = value.value if isinstance(value, SequenceNode) else [value]
            for item in merged:
                yield from pairs(item, depth + 1)
            continue
        if isinstance(key, ScalarNode):
            yield key_text(key).casefold(), key, value


def key_text(key: Node) -> str:
    """A key as Go's YAML reader gives it to kustomize: ``!!binary`` keys decoded, any
    other tag ignored."""
    text = str(key.value)
    if tag(key) == BINARY:
        with contextlib.suppress(ValueError):
            return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
    return text


def fields(node: Node, names: Mapping[str, str]) -> Iterator[tuple[str, Node]]:
    """(field name as kustomize spells it, value node) of each key matching ``names``."""
    for folded, _key, value in pairs(node):
        if folded in names:
            yield names[folded], value


def items(node: Node) -> list[Node]:
    """A sequence's items; a lone value counts as a one-item list (read more, never less)."""
    from ruamel.yaml.nodes import SequenceNode  # noqa: PLC0415

    return list(node.value) if isinstance(node, SequenceNode) else [node]


def folded(data: Any, key: str) -> Any:
    """``data[key]`` with the key matched case-insensitively (None: absent)."""
    if not isinstance(data, Mapping):
        return None
    for k, v in data.items():
        if isinstance(k, str) and k.casefold() == key:
            return v
    return None


def construct(node: Node) -> Any:
    """The plain data of a node (safe constructor)."""
    from ruamel.yaml import YAML  # noqa: PLC0415 - lazy

    return YAML(typ="safe", pure=True).constructor.construct_document(node)


__all__ = [
    "BINARY",
    "MERGE",
    "NULL",
    "STR",
    "construct",
    "fields",
    "folded",
    "items",
    "key_text",
    "line",
    "pairs",
    "tag",
]
