"""Positions in loaded promotion.yaml: the value at a path, the line of a key, a value or an
item (ruamel.yaml nodes carry them), and the document as plain JSON data for the schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Path = tuple[str | int, ...]


def map_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def key_line(node: Any, key: Any) -> int | None:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):  # merged (<<) keys have no position
        return map_line(node)


def value_line(node: Any, key: Any) -> int | None:
    try:
        return int(node.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return key_line(node, key)


def item_line(node: Any, index: int) -> int | None:
    try:
        return int(node.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return map_line(node)


def raw_key(node: Mapping[Any, Any], key: str) -> Any:
    """The key of ``node`` that :func:`plain` turned into ``key``."""
    return key if key in node else next((k for k in node if str(k) == key), key)


def child(node: Any, step: str | int) -> Any:
    if isinstance(node, Mapping):
        return node.get(raw_key(node, str(step)))
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def at(data: Any, path: Iterable[str | int]) -> Any:
    for step in path:
        data = child(data, step)
    return data


def line_at(data: Any, path: Path) -> int | None:
    """The line of the value at ``path`` (the document's first line for the root)."""
    if not path:
        return map_line(data) or 1
    parent = at(data, path[:-1])
    step = path[-1]
    if isinstance(parent, list) and isinstance(step, int):
        return item_line(parent, step)
    if isinstance(parent, Mapping):
        return value_line(parent, raw_key(parent, str(step)))
    return None
