"""kustomize ``images:`` entries, edited as ``kustomize edit set image`` would, byte-minimally.

Semantics (kustomize's own): the argument replaces the whole entry matched by ``name``
(a field it does not give is removed: a digest-only pin drops a stale ``newTag``), ``*``
keeps the field's current value, tag and digest together are ``newTag`` + ``digest``
(rendered ``name:tag@digest``), ``tagSuffix`` is never written (and is removed: it would
change what the pin renders). A missing entry, or a missing ``images:`` block, is created
in the file's own layout. kustomize reads only the first YAML document of the file; so
do we. Values are the raw scalar text: ``newTag: 1.10`` is ``"1.10"``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from gitops_promote.adapters import yamlsafe
from gitops_promote.apply.overlays import blocks, nodes, textedit
from gitops_promote.apply.overlays.model import Pin, ref_at
from gitops_promote.images import KEEP, SetImage

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

FIELDS: Final = ("newName", "newTag", "digest")
CANONICAL: Final = ("name", "newName", "newTag", "digest")
ALPHABETICAL: Final = ("digest", "name", "newName", "newTag")
_MAX_STEPS: Final = 12


@dataclass(frozen=True)
class Entry:
    """One ``images:`` item: its mapping node, name, and the values it sets."""

    node: MappingNode
    name: str
    values: dict[str, str]  # newName/newTag/digest as written; empty values left out
    lines: dict[str, int]  # 1-based line of each key, name included


@dataclass(frozen=True)
class Doc:
    text: str
    file: str
    root: MappingNode | None
    aliased: set[int]

    @functools.cached_property
    def layout(self) -> nodes.Layout:
        """How the file lays out lists (editors need it; readers do not)."""
        if self.root is None:
            return nodes.Layout(0, 2, '"')
        return nodes.layout(self.root, self.text)


def parse(file: str, text: str, *, fast: bool = False) -> Doc:
    """The first YAML document of a kustomization (``fast``: for reading only, see
    :func:`gitops_promote.adapters.yamlsafe.compose`)."""
    docs = yamlsafe.compose(text, file, fast=fast)
    if not docs:
        return Doc(text, file, None, set())
    root = docs[0]
    if not nodes.is_map(root):
        raise textedit.refuse(
            file,
            text,
            nodes.start(root),
            "is not a kustomization: its first YAML document is not a mapping",
            "a kustomization starts with keys such as resources: and images:",
        )
    return Doc(text, file, root, nodes.shared(root))


def images_pair(doc: Doc) -> tuple[ScalarNode, Node] | None:
    if doc.root is None:
        return None
    pair = nodes.get(doc.root, "images")
    if pair is None:
        return None
    key, value = pair
    if id(value) in doc.aliased:
        raise textedit.refuse(
            doc.file,
            doc.text,
            nodes.start(key),
            "images: is a YAML alias",
            "write the images: list out instead of using an alias",
        )
    if not nodes.is_null(value) and not nodes.is_seq(value):
        raise textedit.refuse(
            doc.file,
            doc.text,
            nodes.start(value),
            "images: is not a list",
            "write images: as a list of entries, e.g. images: [{name: app, newTag: v1}]",
        )
    return pair


def entries(doc: Doc, seq: SequenceNode) -> list[Entry]:
    out: list[Entry] = []
    seen: dict[str, int] = {}
    for item in seq.value:
        line = textedit.line_number(doc.text, nodes.start(item))
        if not nodes.is_map(item):
            raise textedit.refuse(
                doc.file,
                doc.text,
                nodes.start(item),
                "an images: entry is not a mapping",
                "each entry looks like {name: app, newTag: v1}",
            )
        name_pair = nodes.get(item, "name")
        name = nodes.raw(name_pair[1]) if name_pair else None
        if not name:
            raise textedit.refuse(
                doc.file,
                doc.text,
                nodes.start(item),
                "an images: entry has no name",
                "add name: <image as written in the manifests>",
            )
        if name in seen:
            raise textedit.refuse(
                doc.file,
                doc.text,
                nodes.start(item),
                f"images: has two entries named {name!r} (lines {seen[name]} and {line})",
                "keep one entry per image name",
            )
        seen[name] = line
        values: dict[str, str] = {}
        lines = {"name": textedit.line_number(doc.text, nodes.start(name_pair[0]))}  # type: ignore[index]
        for key, value in nodes.pairs(item):
            if key.value not in FIELDS:
                continue
            lines[key.value] = textedit.line_number(doc.text, nodes.start(key))
            if id(value) in doc.aliased:
                raise textedit.refuse(
                    doc.file,
                    doc.text,
                    nodes.start(key),
                    f"{key.value} is a YAML alias (*name)",
                    f"write the {key.value} value out instead of using an alias",
                )
            if nodes.is_null(value):
                continue
            text = nodes.raw(nodes.one_line_scalar(value, doc.file, doc.text, key.value))
            if text:
                values[key.value] = text
        out.append(Entry(item, name, values, lines))
    return out


def _pin(doc: Doc, entry: Entry) -> Pin:
    for field in ("digest", "newTag", "newName"):
        if field in entry.values:
            line = entry.lines[field]
            break
    else:
        line = entry.lines["name"]
    name = entry.values.get("newName", entry.name)
    ref = ref_at(doc.file, line, name, entry.values.get("newTag"), entry.values.get("digest"))
    return Pin(ref, line)


def read(file: str, text: str, match: str, *, fast: bool = False) -> Pin | None:
    """The pin of the entry named ``match``; None when there is no such entry."""
    doc = parse(file, text, fast=fast)
    pair = images_pair(doc)
    if pair is None or not nodes.is_seq(pair[1]):
        return None
    for entry in entries(doc, pair[1]):
        if entry.name == match:
            return _pin(doc, entry)
    return None


def read_all(file: str, text: str, *, fast: bool = False) -> list[tuple[str, Pin]]:
    """Every entry's pin, keyed by its ``name``, in file order."""
    doc = parse(file, text, fast=fast)
    pair = images_pair(doc)
    if pair is None or not nodes.is_seq(pair[1]):
        return []
    return [(entry.name, _pin(doc, entry)) for entry in entries(doc, pair[1])]


def set_image(file: str, text: str, match: str, new: SetImage) -> str:
    """``text`` with the entry named ``match`` set as ``new`` says (see module docs).

    As kustomize does, only the values the edit keeps (``*``) are validated: an entry
    whose tag or digest is broken is repaired by pinning over it."""
    desired = _desired(file, text, match, new)
    for _ in range(_MAX_STEPS):
        edit = _next_edit(parse(file, text), match, desired)
        if edit is None:
            return text
        text = textedit.apply(text, [edit])
    raise AssertionError(f"{file}: the images: edit did not converge")  # a bug, not input


def _desired(file: str, text: str, match: str, new: SetImage) -> dict[str, str]:
    """The entry's fields after the edit (absent keys are removed)."""
    found: Entry | None = None
    doc = parse(file, text)
    pair = images_pair(doc)
    if pair is not None and nodes.is_seq(pair[1]):
        found = next((e for e in entries(doc, pair[1]) if e.name == match), None)
    now = found.values if found is not None else {}
    wanted = {"newName": new.new_name, "newTag": new.new_tag, "digest": new.digest}
    out: dict[str, str] = {}
    kept: list[str] = []
    for field, given in wanted.items():
        value = now.get(field) if given == KEEP else given
        if value:
            out[field] = value
            if given == KEEP:
                kept.append(field)
    if found is not None and kept:  # what is kept must be valid; the rest is replaced
        line = found.lines[kept[-1]]
        ref_at(file, line, out.get("newName", match), out.get("newTag"), out.get("digest"))
    return out


def _next_edit(doc: Doc, match: str, desired: dict[str, str]) -> textedit.Edit | None:
    """The first edit still needed to make the entry say ``desired`` (None: done)."""
    pair = images_pair(doc)
    if pair is None:
        return _add_images_block(doc, match, desired)
    key, seq = pair
    if not nodes.is_seq(seq):
        return _fill_null_images(doc, key, seq, match, desired)
    found = [e for e in entries(doc, seq) if e.name == match]
    if not found:
        return _add_entry(doc, seq, match, desired)
    entry = found[0]
    quote = _entry_quote([entry]) or doc.layout.quote
    for index, (k, v) in enumerate(nodes.pairs(entry.node)):
        field = k.value
        if field == "tagSuffix" or (field in FIELDS and field not in desired and nodes.raw(v)):
            return blocks.delete_pair(doc.text, entry.node, index, doc.aliased, doc.file)
        if field in desired and nodes.raw(v) != desired[field]:
            return nodes.write_value(
                k, v, desired[field], prefer=quote, file=doc.file, text=doc.text
            )
    present = [k.value for k, _ in nodes.pairs(entry.node)]
    order = blocks.key_order(present, (CANONICAL, ALPHABETICAL))
    for field in FIELDS:
        if field in desired and field not in present:
            value = textedit.render(desired[field], _entry_quote([entry]), quote)
            return blocks.insert_pair(
                doc.text,
                entry.node,
                field,
                value,
                order=order,
                aliased=doc.aliased,
                file=doc.file,
            )
    return None


def _entry_quote(items: list[Entry]) -> str | None:
    """The quote every value in these entries uses, when they all use one (else None)."""
    styles = {
        nodes.style(v)
        for e in items
        for k, v in nodes.pairs(e.node)
        if k.value in CANONICAL and nodes.is_scalar(v) and not nodes.is_null(v)
    }
    if len(styles) == 1:
        (style,) = styles
        return style if style in ("'", '"') else None
    return None


def _fields(match: str, desired: dict[str, str], order: tuple[str, ...]) -> list[tuple[str, str]]:
    values = {"name": match, **desired}
    return [(k, values[k]) for k in order if k in values]


def _entry_lines(
    fields: list[tuple[str, str]], dash_col: int, item_indent: int, force: str | None, quote: str
) -> list[str]:
    rendered = [f"{k}: {textedit.render(v, force, quote)}" for k, v in fields]
    dash = " " * dash_col + "-" + " " * (item_indent - 1)
    keys = " " * (dash_col + item_indent)
    return [dash + rendered[0]] + [keys + line for line in rendered[1:]]


def _flow_entry(fields: list[tuple[str, str]], force: str | None, quote: str) -> str:
    return "{" + ", ".join(f"{k}: {textedit.render(v, force, quote)}" for k, v in fields) + "}"


def _add_entry(doc: Doc, seq: SequenceNode, match: str, desired: dict[str, str]) -> textedit.Edit:
    text = doc.text
    items = entries(doc, seq)
    force = _entry_quote(items)
    quote = force or doc.layout.quote
    alphabetical = any(
        blocks.key_order([k.value for k, _ in nodes.pairs(e.node)], (CANONICAL, ALPHABETICAL))
        is ALPHABETICAL
        for e in items
    )
    fields = _fields(match, desired, ALPHABETICAL if alphabetical else CANONICAL)
    if nodes.is_flow(seq):
        if seq.value:
            stop = nodes.content_end(seq.value[-1], doc.aliased, doc.file, text)
            return textedit.Edit(stop, stop, ", " + _flow_entry(fields, force, quote))
        at = nodes.start(seq) + 1
        return textedit.Edit(at, at, _flow_entry(fields, force, quote))
    first = seq.value[0]
    dash_at = nodes.dash_start(text, first)
    if dash_at is None:
        raise textedit.refuse(
            doc.file,
            text,
            nodes.start(first),
            "cannot tell how the images: list is indented",
            "start each entry with '- ' on the line of its first key",
        )
    dash_col = textedit.column(text, dash_at)
    item_indent = (
        textedit.column(text, nodes.start(first)) - dash_col
        if not nodes.is_flow(first)
        else doc.layout.item_indent
    )
    lines = _entry_lines(fields, dash_col, item_indent, force, quote)
    nl = textedit.newline(text)
    where = _sorted_position(doc, items, match)
    if where is None:
        where = textedit.next_line(text, nodes.content_end(seq, doc.aliased, doc.file, text))
    return textedit.insert_lines(text, where, lines, nl)


def _sorted_position(doc: Doc, items: list[Entry], match: str) -> int | None:
    """Where a new entry goes to keep a name-sorted list sorted (None: at the end)."""
    names = [e.name for e in items]
    if names != sorted(names):
        return None
    for entry in items:
        if entry.name > match:
            dash = nodes.dash_start(doc.text, entry.node)
            if dash is None or not textedit.alone_on_line(doc.text, dash):
                return None
            at = textedit.line_start(doc.text, dash)
            before = doc.text[:at].rstrip("\r\n")
            prev_line = before[textedit.line_start(before, len(before)) :].strip()
            if prev_line.startswith("#"):
                return None  # a comment above the entry belongs to it
            return at
    return None


def _fill_null_images(
    doc: Doc, key: ScalarNode, value: Node, match: str, desired: dict[str, str]
) -> textedit.Edit:
    """``images:`` with no value (or ``~``/``null``): give it its first entry."""
    text = doc.text
    if nodes.start(value) != nodes.end(value):
        return textedit.Edit(nodes.after_colon(text, key), nodes.end(value), "")
    key_col = textedit.column(text, nodes.start(key))
    fields = _fields(match, desired, CANONICAL)
    lines = _entry_lines(
        fields, key_col + doc.layout.seq_indent, doc.layout.item_indent, None, doc.layout.quote
    )
    at = textedit.next_line(text, nodes.start(key))
    return textedit.insert_lines(text, at, lines, textedit.newline(text))


def _add_images_block(doc: Doc, match: str, desired: dict[str, str]) -> textedit.Edit:
    """No ``images:`` key: append the block after the last key, in the file's layout."""
    text = doc.text
    nl = textedit.newline(text)
    fields = _fields(match, desired, CANONICAL)
    root = doc.root
    if root is None:
        lines = ["images:", *_entry_lines(fields, doc.layout.seq_indent, 2, None, '"')]
        return textedit.insert_lines(text, len(text), lines, nl)
    if nodes.is_flow(root):
        raise textedit.refuse(
            doc.file,
            text,
            nodes.start(root),
            "the kustomization is written in flow style ({...}); cannot add images: to it",
            "rewrite it in block style (one key per line) or add images: by hand once",
        )
    pairs = nodes.pairs(root)
    root_col = textedit.column(text, nodes.start(pairs[0][0]))
    lines = [
        " " * root_col + "images:",
        *_entry_lines(
            fields,
            root_col + doc.layout.seq_indent,
            doc.layout.item_indent,
            None,
            doc.layout.quote,
        ),
    ]
    if len(pairs) >= 2:
        gap_from = nodes.content_end(pairs[-2][1], doc.aliased, doc.file, text)
        gap = text[textedit.next_line(text, gap_from) : nodes.start(pairs[-1][0])]
        if any(not line.strip() for line in gap.splitlines()):
            lines.insert(0, "")
    stop = nodes.content_end(root, doc.aliased, doc.file, text)
    return textedit.insert_lines(text, textedit.next_line(text, stop), lines, nl)
