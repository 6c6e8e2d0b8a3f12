"""Helm values files: the image at a dotted key path (default ``image``), byte-minimally.

Shapes understood at the key path:

- a string: ``image: ghcr.io/org/api:v1@sha256:...`` (the whole reference);
- a mapping with ``repository`` (or ``name``), optional ``registry``, ``tag``, ``digest``.

The pin is replaced as a whole, like ``kustomize edit set image``: a field the argument
does not give is cleared (``tag: ""``), ``*`` keeps it. When the mapping has no
``digest`` key, a digest travels in the tag as ``tag@digest`` (what a chart rendering
``repository:tag`` needs to pull by digest); a digest without a tag then cannot be
written, and the editor says how to fix the values file. The file must already carry
the key path: the editor does not invent a chart's values layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from gitops_promote.adapters import yamlsafe
from gitops_promote.apply.overlays import blocks, nodes, textedit
from gitops_promote.apply.overlays.model import (
    Pin,
    RawPin,
    parse_ref_at,
    resolve_kept,
    split_reference,
)
from gitops_promote.errors import OverlayError
from gitops_promote.images import ImageRef, SetImage

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

_MAX_STEPS: Final = 12


@dataclass(frozen=True)
class Found:
    key: ScalarNode
    value: Node
    aliased: set[int]
    quote: str


def locate(file: str, text: str, key: str, *, fast: bool = False) -> Found | None:
    """The node at dotted ``key`` in the one document that has it (None: no document)."""
    found: list[Found] = []
    for doc in yamlsafe.compose(text, file, fast=fast):
        node: Node = doc
        pair: tuple[ScalarNode, Node] | None = None
        for part in key.split("."):
            pair = nodes.get(node, part) if nodes.is_map(node) else None
            if pair is None:
                break
            node = pair[1]
        if pair is not None:
            found.append(Found(pair[0], pair[1], nodes.shared(doc), nodes.layout(doc, text).quote))
    if len(found) > 1:
        raise textedit.refuse(
            file,
            text,
            nodes.start(found[1].key),
            f"more than one YAML document has the key {key!r}",
            "keep the image values in one document",
        )
    if not found:
        return None
    hit = found[0]
    if id(hit.value) in hit.aliased:
        raise textedit.refuse(
            file,
            text,
            nodes.start(hit.key),
            f"{key} is a YAML alias",
            "write the image values out instead of using an alias",
        )
    if not (nodes.is_map(hit.value) or (nodes.raw(hit.value) is not None)):
        raise textedit.refuse(
            file,
            text,
            nodes.start(hit.key),
            f"{key} is neither an image reference nor a mapping with repository/tag",
            f"write {key}: {{repository: ..., tag: ...}} or {key}: repo:tag",
        )
    return hit


def _repo_key(mapping: MappingNode) -> str:
    return (
        "name"
        if nodes.get(mapping, "repository") is None and nodes.get(mapping, "name")
        else ("repository")
    )


def _field(hit: Found, name: str, file: str, text: str) -> tuple[str | None, int | None]:
    if not nodes.is_map(hit.value):
        raise AssertionError("_field needs a mapping")  # a bug: callers check the shape
    pair = nodes.get(hit.value, name)
    if pair is None:
        return None, None
    key, value = pair
    line = textedit.line_number(text, nodes.start(key))
    if id(value) in hit.aliased:
        raise textedit.refuse(
            file,
            text,
            nodes.start(key),
            f"{name} is a YAML alias (*name)",
            f"write the {name} value out instead of using an alias",
        )
    if nodes.is_null(value):
        return None, line
    return nodes.raw(nodes.one_line_scalar(value, file, text, name)) or None, line


def read(file: str, text: str, key: str, image: str, *, fast: bool = False) -> Pin | None:
    """The pin at ``key``; None when no document has the key path."""
    raw = read_raw(file, text, key, fast=fast)
    if raw is None:
        return None
    if raw.whole is not None:
        return Pin(parse_ref_at(file, raw.line, raw.whole), raw.line)
    return Pin(raw.ref(image), raw.line)


@dataclass(frozen=True)
class _Raw(RawPin):
    whole: str | None = None  # the string form's text (parsed as a whole when read)


def read_raw(file: str, text: str, key: str, *, fast: bool = False) -> _Raw | None:
    """The values at ``key`` as written, not validated (None: no document has the key)."""
    hit = locate(file, text, key, fast=fast)
    if hit is None:
        return None
    if not nodes.is_map(hit.value):
        line = textedit.line_number(text, nodes.start(hit.value))
        whole = nodes.raw(hit.value) or ""
        name, tag, digest = split_reference(whole)
        return _Raw(file, line, name, tag, digest, whole)
    mapping = hit.value
    registry, _ = _field(hit, "registry", file, text)
    repository, repo_line = _field(hit, _repo_key(mapping), file, text)
    tag, tag_line = _field(hit, "tag", file, text)
    digest, digest_line = _field(hit, "digest", file, text)
    if tag and "@" in tag and not digest:
        tag, _, digest = tag.partition("@")
        digest_line = tag_line
    name = repository
    if registry and repository:
        name = f"{registry}/{repository}"
    line = (
        (digest_line if digest else None)
        or (tag_line if tag else None)
        or repo_line
        or textedit.line_number(text, nodes.start(hit.key))
    )
    return _Raw(file, line, name, tag, digest)


def read_all(file: str, text: str, *, fast: bool = False) -> list[tuple[str, Pin]]:
    """Every image-shaped value reachable through mappings, keyed by dotted key path."""
    out: list[tuple[str, Pin]] = []
    for doc in yamlsafe.compose(text, file, fast=fast):
        stack: list[tuple[str, Node]] = [("", doc)]
        while stack:
            prefix, node = stack.pop()
            if not nodes.is_map(node):
                continue
            for k, v in reversed(nodes.pairs(node)):
                if not isinstance(k.value, str):
                    continue
                path = f"{prefix}.{k.value}" if prefix else k.value
                if _looks_like_image(k.value, v):
                    pin = read(file, text, path, "", fast=fast)
                    if pin is not None:
                        out.append((path, pin))
                else:
                    stack.append((path, v))
    out.sort(key=lambda item: item[1].line)
    return out


def _looks_like_image(key: str, value: Node) -> bool:
    if nodes.is_map(value):
        keys = {k.value for k, _ in nodes.pairs(value)}
        return bool(keys & {"repository"}) and bool(keys & {"tag", "digest"})
    raw = nodes.raw(value)
    return key == "image" and raw is not None and ("@" in raw or ":" in raw.rsplit("/", 1)[-1])


def set_image(file: str, text: str, key: str, image: str, new: SetImage) -> str:
    """``text`` with the image at ``key`` pinned as ``new`` says (see module docs)."""
    current = read_raw(file, text, key)
    if current is None:
        raise OverlayError(
            f"{file}: has no {key!r} key to pin the image in",
            hint=f"add {key}: {{repository: {image or 'REPO'}, tag: ...}} to the values file, "
            "or set the app's key: in promotion.yaml to where the chart reads the image",
        )
    want = resolve_kept(current, new, image)  # only what is kept must be valid
    for _ in range(_MAX_STEPS):
        edit = _next_edit(file, text, key, want, image)
        if edit is None:
            return text
        text = textedit.apply(text, [edit])
    raise AssertionError(f"{file}: the values edit did not converge")  # a bug, not input


def _next_edit(file: str, text: str, key: str, want: ImageRef, image: str) -> textedit.Edit | None:
    hit = locate(file, text, key)
    if hit is None:  # pragma: no cover - the first read found it, edits keep the key
        raise AssertionError("key path vanished")
    if not nodes.is_map(hit.value):
        if nodes.raw(hit.value) == str(want):
            return None
        return nodes.replace(hit.value, str(want), prefer=hit.quote, file=file, text=text, what=key)
    mapping = hit.value
    repo_key = _repo_key(mapping)
    wanted: dict[str, str] = {}
    if nodes.get(mapping, "registry") is not None:
        wanted["registry"] = want.registry or "docker.io"
        wanted[repo_key] = want.path
    elif nodes.get(mapping, repo_key) is not None or want.name != image:
        wanted[repo_key] = want.name
    if want.digest and nodes.get(mapping, "digest") is None:
        if not want.tag:
            raise textedit.refuse(
                file,
                text,
                nodes.start(hit.key),
                f"{key} has no digest key, and the pin {want} has no tag to carry the digest",
                f'add digest: "" under {key} if the chart reads .Values.{key}.digest, or '
                "promote a tag with the digest: it is written as tag: <tag>@<digest>",
            )
        wanted["tag"] = f"{want.tag}@{want.digest}"
    else:
        wanted["tag"] = want.tag or ""
        wanted["digest"] = want.digest or ""
    order = ("registry", repo_key, "tag", "digest")
    for name in order:
        if name not in wanted:
            continue
        pair = nodes.get(mapping, name)
        if pair is None:
            if not wanted[name]:
                continue
            value = textedit.render(wanted[name], None, hit.quote)
            return blocks.insert_pair(
                text, mapping, name, value, order=order, aliased=hit.aliased, file=file
            )
        now = "" if nodes.is_null(pair[1]) else nodes.raw(pair[1])
        if now != wanted[name]:
            return nodes.write_value(
                pair[0], pair[1], wanted[name], prefer=hit.quote, file=file, text=text
            )
    return None
