"""Setter markers: a trailing comment names the scalar on its line as an image pin.

``image: ghcr.io/org/api:v1  # {"$promote": "api"}`` marks a whole reference for the
app ``api``. Flux's image-automation markers work as they are:
``# {"$imagepolicy": "ns:policy"}`` (whole reference), ``"ns:policy:tag"`` (tag only),
``"ns:policy:digest"`` (digest only), ``"ns:policy:name"`` (repository only). The same
``:tag``/``:digest``/``:name`` suffixes work on ``$promote``.

Only the marked scalars change, each keeping its quote style. Every marked line must
carry a value before its marker; a marker that points at nothing is refused, so that a
typo never turns into a silently skipped promotion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from gitops_promote.adapters import yamlsafe
from gitops_promote.apply.overlays import nodes, textedit
from gitops_promote.apply.overlays.model import Pin, RawPin, Target, parse_ref_at, resolve_kept
from gitops_promote.errors import InputError, OverlayError
from gitops_promote.images import ImageRef, SetImage

if TYPE_CHECKING:
    from ruamel.yaml.nodes import ScalarNode

KINDS: Final = ("$promote", "$imagepolicy")
FIELDS: Final = ("tag", "digest", "name")
_COMMENT: Final = re.compile(r"[ \t]+#[ \t]*(\{.*\})[ \t]*")
_MENTION: Final = re.compile(r'"\$(?:promote|imagepolicy)"')


@dataclass(frozen=True)
class Marker:
    node: ScalarNode
    name: str  # app name, or Flux's "namespace:policy"
    field: str | None  # None: the whole reference
    line: int
    quote: str

    @property
    def value(self) -> str:
        return str(self.node.value)


def has_markers(text: str) -> bool:
    """Cheap test: does the text mention a setter marker at all?"""
    return bool(_MENTION.search(text))


def markers(file: str, text: str, *, fast: bool = False) -> list[Marker]:
    """Every setter marker in the file, in order; malformed or misplaced ones are refused."""
    if not has_markers(text):
        return []
    found: dict[int, Marker] = {}
    for doc in yamlsafe.compose(text, file, fast=fast):
        quote = nodes.layout(doc, text).quote
        for node, is_key in nodes.walk(doc):
            if is_key or not nodes.is_scalar(node) or nodes.start(node) == nodes.end(node):
                continue
            stop = nodes.end(node)
            if "\n" in text[nodes.start(node) : stop]:
                continue
            match = _COMMENT.fullmatch(text[stop : textedit.line_end(text, stop)])
            if match is None:
                continue
            marker = _marker(file, text, node, match.group(1), quote)
            if marker is not None:
                found[marker.line] = marker
    _refuse_stray(file, text, found)
    return [found[line] for line in sorted(found)]


def _marker(file: str, text: str, node: ScalarNode, comment: str, quote: str) -> Marker | None:
    line = textedit.line_number(text, nodes.start(node))
    try:
        data = json.loads(comment)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if _MENTION.search(comment):
            raise textedit.refuse(
                file,
                text,
                nodes.start(node),
                f"setter marker {comment} is not valid JSON",
                'write it as # {"$promote": "<app>"} or # {"$imagepolicy": "<ns>:<policy>"}',
            )
        return None
    kinds = [k for k in KINDS if k in data]
    if not kinds:
        return None
    kind = kinds[0]
    value = data[kind]
    if len(data) != 1 or not isinstance(value, str) or not value:
        raise textedit.refuse(
            file,
            text,
            nodes.start(node),
            f"setter marker {comment} must hold one non-empty string",
            f'write it as # {{"{kind}": "<name>"}}',
        )
    name, field = value, None
    head, sep, tail = value.rpartition(":")
    if kind == "$imagepolicy":
        parts = value.split(":")
        if len(parts) == 3 and parts[2] in FIELDS:
            name, field = head, tail
        elif len(parts) != 2 or not all(parts):
            raise textedit.refuse(
                file,
                text,
                nodes.start(node),
                f"Flux marker {comment} is not <namespace>:<policy>[:tag|:digest|:name]",
                'write e.g. # {"$imagepolicy": "flux-system:app"}',
            )
    elif sep and tail in FIELDS and head:
        name, field = head, tail
    if field is None and nodes.raw(node) is None:
        raise textedit.refuse(
            file,
            text,
            nodes.start(node),
            "a setter marker follows an empty value",
            "write the value",
        )
    scalar = nodes.one_line_scalar(node, file, text, "the marked value")
    return Marker(scalar, name, field, line, quote)


def _refuse_stray(file: str, text: str, found: dict[int, Marker]) -> None:
    """A marker on a line where it does not follow a one-line value is a mistake."""
    for match in _MENTION.finditer(text):
        line = textedit.line_number(text, match.start())
        if line in found:
            continue
        begin = textedit.line_start(text, match.start())
        head = text[begin : match.start()]
        if "#" not in head or head.lstrip().startswith("#"):
            continue  # not in a comment, or a commented-out line: not a marker
        raise textedit.refuse(
            file,
            text,
            match.start(),
            "this setter marker does not follow a value on its line",
            'put it after the value it marks: image: repo:tag # {"$promote": "<app>"}',
        )


def matching(target: Target, found: list[Marker]) -> list[Marker]:
    """The markers of ``target``: by setter name; or, when the setter is unnamed (or is the
    image itself), whole-reference markers whose value is that image."""
    named = [m for m in found if target.setter and m.name == target.setter]
    if named or target.setter not in ("", target.image, target.match):
        return named
    out = []
    for marker in found:
        if marker.field is not None:
            continue
        try:
            ref = ImageRef.parse(marker.value)
        except InputError:
            continue
        if ref.name in (target.image, target.match):
            out.append(marker)
    return out


def read(file: str, text: str, target: Target, *, fast: bool = False) -> Pin | None:
    """The pin the target's markers say; None when the file has none of them."""
    mine = matching(target, markers(file, text, fast=fast))
    if not mine:
        return None
    for marker in mine:
        if marker.field is None:
            return Pin(parse_ref_at(file, marker.line, marker.value), marker.line)
    raw = _raw(file, target, mine)
    return Pin(raw.ref(target.image), raw.line)


def _raw(file: str, target: Target, mine: list[Marker]) -> RawPin:
    """What the markers of one target write, as written (not validated)."""
    for marker in mine:
        if marker.field is None:
            return RawPin.of_text(file, marker.line, marker.value)
    parts = {m.field: m for m in mine}
    name = parts["name"].value if "name" in parts else target.image
    tag = parts["tag"].value if "tag" in parts else None
    digest = parts["digest"].value if "digest" in parts else None
    where = parts.get("digest") if digest else None
    where = where or (parts.get("tag") if tag else None) or mine[0]
    return RawPin(file, where.line, name, tag, digest)


def read_all(file: str, text: str, *, fast: bool = False) -> list[tuple[str, Pin]]:
    """Every marked pin, keyed by marker name, in file order (markers that do not name
    the image, only its tag or digest, are left out: use :func:`read` with a target)."""
    found = markers(file, text, fast=fast)
    out: list[tuple[str, Pin]] = []
    for name in dict.fromkeys(m.name for m in found):
        if not any(m.name == name and m.field in (None, "name") for m in found):
            continue  # only :tag/:digest markers: the file does not say which image
        pin = read(file, text, Target(image="", match="", kind="setter", setter=name), fast=fast)
        if pin is not None:
            out.append((name, pin))
    return out


def set_image(file: str, text: str, target: Target, new: SetImage) -> str:
    """``text`` with every marker of ``target`` rewritten to the pin ``new`` describes."""
    found = markers(file, text)
    mine = matching(target, found)
    if not mine:
        raise OverlayError(
            f"{file}: has no setter marker for {target.setter or target.image}",
            hint=f'mark the image value: image: {target.image}:TAG # {{"$promote": '
            f'"{target.setter or "<app>"}"}}',
        )
    current = _raw(file, target, mine)
    want = resolve_kept(current, new, target.image)  # only what is kept must be valid
    fields = {m.field for m in mine}
    if None not in fields:
        missing = [
            part
            for part, needed in (
                ("digest", bool(want.digest)),
                ("tag", bool(want.tag)),
                ("name", want.name != (current.name or target.image)),
            )
            if needed and part not in fields
        ]
        if missing:
            raise textedit.refuse(
                file,
                text,
                nodes.start(mine[0].node),
                f"the markers of {mine[0].name} carry no {' or '.join(missing)}, so {want} "
                "cannot be pinned here",
                f'mark that field too, e.g. # {{"$imagepolicy": "{mine[0].name}:{missing[0]}"}}, '
                "or mark the whole reference",
            )
    edits: list[textedit.Edit] = []
    for marker in mine:
        if marker.field is None:
            value = str(resolve_kept(RawPin.of_text(file, marker.line, marker.value), new))
        elif marker.field == "name":
            value = want.name
        elif marker.field == "tag":
            value = want.tag or ""
        else:
            value = want.digest or ""
        if value != (nodes.raw(marker.node) or ""):
            edits.append(
                nodes.replace(
                    marker.node, value, prefer=marker.quote, file=file, text=text, what="the value"
                )
            )
    return textedit.apply(text, edits)
