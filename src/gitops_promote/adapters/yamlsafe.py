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

The guards and :class:`YamlError` live in :mod:`.yamlcheck`, the fast path in
:mod:`.yamlfast`; callers import from this module.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from gitops_promote.adapters.yamlcheck import (
    BOM,
    MAX_ALIAS_EXPANSION,
    MAX_BYTES,
    MAX_FLOW_DEPTH,
    YamlError,
    check_flow_depth,
    check_line_breaks,
    check_size,
    checked,
    decode,
    guarded,
    line_of,
)
from gitops_promote.adapters.yamlfast import Builder, SlowPathError, fast_available, fast_docs

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node


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
        docs = fast_docs(text, name)
        if docs is not None:
            return docs
    return _compose(rt_yaml(), text, name)


def load(text: str, name: str, *, fast: bool = False) -> Any:
    """The round-trip value of a single-document YAML text (None when empty).

    Mappings are ``CommentedMap`` with ``.lc`` positions; duplicate keys, alias bombs and
    more than one document are refused. ``fast``: composed through libyaml when it can
    give the same nodes (see the module docs); the values are built by ruamel.yaml either
    way."""
    if fast:
        docs = fast_docs(text, name)
        if docs is not None and len(docs) <= 1:
            if not docs:
                return None
            yaml = rt_yaml()
            try:
                return Builder(yaml.constructor).document(docs[0])
            except SlowPathError:
                pass
            except Exception:  # noqa: BLE001, S110 - ruamel.yaml below says what is wrong
                pass
    yaml = rt_yaml()
    nodes = _compose(yaml, text, name)
    if not nodes:
        return None
    if len(nodes) > 1:
        raise YamlError(
            name,
            f"holds {len(nodes)} YAML documents, expected one",
            line=line_of(text, nodes[1].start_mark.index),
            hint="remove the extra '---' documents",
        )
    return guarded(lambda: yaml.constructor.construct_document(nodes[0]), name, text)


def _compose(yaml: Any, text: str, name: str) -> list[Node]:
    check_size(text, name)
    check_line_breaks(text, name)
    check_flow_depth(text, name)
    docs: list[Node | None] = guarded(lambda: list(yaml.compose_all(text)), name, text)
    return checked(docs, name, text)


def rt_yaml() -> Any:
    from ruamel.yaml import YAML  # noqa: PLC0415 - lazy: fast start

    return YAML(typ="rt", pure=True)


def plain(value: Any) -> Any:
    """A loaded YAML value as JSON data (keys as text, timestamps as ISO text)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


__all__ = [
    "BOM",
    "MAX_ALIAS_EXPANSION",
    "MAX_BYTES",
    "MAX_FLOW_DEPTH",
    "YamlError",
    "compose",
    "decode",
    "fast_available",
    "load",
    "plain",
]
