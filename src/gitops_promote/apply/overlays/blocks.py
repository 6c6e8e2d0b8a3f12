"""Structural edits of block and flow mappings: insert or delete one ``key: value`` pair.

Shared by the kustomize and Helm editors. New pairs go where the mapping's own key order
puts them, at the mapping's indentation; deleting a pair removes its whole line(s), or
just the pair when it shares the line with a sequence dash (``- newTag: v1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitops_promote.apply.overlays import nodes, textedit

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode


def key_order(present: Sequence[str], orders: Sequence[Sequence[str]]) -> Sequence[str]:
    """The first of ``orders`` that the keys already present follow (else the first)."""
    for order in orders:
        known = [k for k in present if k in order]
        if known == sorted(known, key=order.index):
            return order
    return orders[0]


def insert_pair(
    text: str,
    mapping: MappingNode,
    key: str,
    value: str,
    *,
    order: Sequence[str],
    aliased: set[int],
    file: str,
) -> textedit.Edit:
    """Insert ``key: value`` (``value`` already rendered) where ``order`` puts it."""
    pairs = nodes.pairs(mapping)
    nl = textedit.newline(text)
    known = [(i, k.value) for i, (k, _) in enumerate(pairs) if k.value in order]
    rank = order.index(key)
    before = [i for i, name in known if order.index(name) < rank]
    flow = nodes.is_flow(mapping)
    if not pairs:
        raise AssertionError("insert_pair needs a mapping with at least one pair")  # a bug
    indent = " " * textedit.column(text, nodes.start(pairs[0][0]))
    if before:
        after = pairs[max(before)][1]
        stop = nodes.content_end(after, aliased, file, text)
        if flow:
            return textedit.Edit(stop, stop, f", {key}: {value}")
        at = textedit.next_line(text, stop)
        return textedit.insert_lines(text, at, [f"{indent}{key}: {value}"], nl)
    first = pairs[min((i for i, _ in known), default=0)][0]
    at = nodes.start(first)
    if flow:
        return textedit.Edit(at, at, f"{key}: {value}, ")
    return textedit.Edit(at, at, f"{key}: {value}{nl}{indent}")


def delete_pair(
    text: str, mapping: MappingNode, index: int, aliased: set[int], file: str
) -> textedit.Edit:
    """Remove the ``index``-th pair of ``mapping``."""
    pairs = nodes.pairs(mapping)
    key, value = pairs[index]
    stop = nodes.content_end(value, aliased, file, text)
    if nodes.is_flow(mapping):
        if index > 0:
            prev_end = nodes.content_end(pairs[index - 1][1], aliased, file, text)
            return textedit.Edit(prev_end, stop, "")
        if len(pairs) > 1:
            return textedit.Edit(nodes.start(key), nodes.start(pairs[1][0]), "")
        return textedit.Edit(nodes.start(key), stop, "")
    if textedit.alone_on_line(text, nodes.start(key)):
        return textedit.delete_lines(text, nodes.start(key), stop)
    if index + 1 < len(pairs):
        # ``- newTag: v1`` / ``  name: x``: pull the next key up onto the dash line
        return textedit.Edit(nodes.start(key), nodes.start(pairs[index + 1][0]), "")
    raise textedit.refuse(
        file,
        text,
        nodes.start(key),
        f"cannot remove {key.value!r}: it is the only key of its entry",
        "edit this entry by hand once",
    )
