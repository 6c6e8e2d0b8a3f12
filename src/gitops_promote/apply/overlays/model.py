"""The values the overlay editors take and give: which image (Target), what is pinned (Pin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gitops_promote.config.model import EditorKind

from gitops_promote.errors import InputError, OverlayError
from gitops_promote.images import KEEP, ImageRef, SetImage

KUSTOMIZATION_NAMES: Final = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class Target:
    """Which image in a file an edit is about.

    ``image``: the app's repository (``ghcr.io/myorg/api-service``); ``match``: the
    kustomize ``images[].name`` to match (usually the same); ``kind``: which editor
    (``auto`` detects); ``key``: dotted Helm values key path; ``setter``: the setter-marker
    name (``{"$promote": "<app>"}``, or Flux's ``"ns:policy"``).
    """

    image: str
    match: str
    kind: EditorKind
    key: str = "image"
    setter: str = ""


@dataclass(frozen=True)
class Pin:
    """What a file pins for a target: the effective reference, and the 1-based line
    where it is written (the digest's line, else the tag's, else the name's)."""

    ref: ImageRef
    line: int


def resolve(current: ImageRef | None, new: SetImage) -> ImageRef:
    """The reference a file should carry after ``new``, as ``kustomize edit set image``
    would make it: the argument replaces the whole pin; ``*`` keeps what is there; a name
    that is not given is the argument's own name."""
    if new.new_name == KEEP:
        name = current.name if current is not None else new.name
    else:
        name = new.new_name or new.name
    tag = (current.tag if current else None) if new.new_tag == KEEP else new.new_tag
    digest = (current.digest if current else None) if new.digest == KEEP else new.digest
    return ImageRef(name, tag, digest)


class BadPinError(OverlayError):
    """A file pins an image with an invalid name, tag or digest. Reading the pin fails;
    an edit that replaces those values repairs it (see :class:`RawPin`)."""


@dataclass(frozen=True)
class RawPin:
    """A pin's values as the file writes them, not validated yet (None: not written).

    ``kustomize edit set image`` replaces the whole entry and checks only what it keeps
    (``*``), so a broken pin can be repaired by pinning over it; :meth:`ref` validates."""

    file: str
    line: int
    name: str | None
    tag: str | None
    digest: str | None

    @classmethod
    def of_text(cls, file: str, line: int, text: str) -> RawPin:
        """A whole reference (``name:tag@digest``), split but not validated."""
        name, tag, digest = split_reference(text)
        return cls(file, line, name, tag, digest)

    def ref(self, default_name: str = "") -> ImageRef:
        """The validated reference (BadPinError naming file:line when it is not one)."""
        return ref_at(self.file, self.line, self.name or default_name, self.tag, self.digest)


def resolve_kept(current: RawPin | None, new: SetImage, default_name: str = "") -> ImageRef:
    """:func:`resolve` over a pin as written: only the values ``new`` keeps (``*``) are
    taken from the file, so only those must be valid (BadPinError naming the line)."""
    if current is None:
        return resolve(None, new)
    if new.new_name == KEEP:
        name = current.name or default_name or new.name
    else:
        name = new.new_name or new.name
    tag = (current.tag or None) if new.new_tag == KEEP else new.new_tag
    digest = (current.digest or None) if new.digest == KEEP else new.digest
    return ref_at(current.file, current.line, name, tag, digest)


def split_reference(text: str) -> tuple[str | None, str | None, str | None]:
    """``name[:tag][@digest]`` -> its parts as written (None: absent), not validated."""
    rest, _, digest = text.strip().partition("@")
    tag: str | None = None
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    return rest or None, tag or None, digest or None


def ref_at(file: str, line: int, name: str, tag: str | None, digest: str | None) -> ImageRef:
    """An ImageRef from values read out of a file; invalid ones are the file's fault."""
    try:
        return ImageRef(name, tag or None, digest or None)
    except InputError as err:
        raise BadPinError(f"{file}:{line}: {err.message}", hint=err.hint) from None


def parse_ref_at(file: str, line: int, text: str) -> ImageRef:
    try:
        return ImageRef.parse(text)
    except InputError as err:
        raise BadPinError(f"{file}:{line}: {err.message}", hint=err.hint) from None
