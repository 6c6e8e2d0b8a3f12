"""Container image references and digests: parse, validate, format.

Grammar follows the distribution reference grammar
(``[registry[:port]/]path/name[:tag][@digest]``), except that digests are held to the two
algorithms registries use (``sha256:`` + 64 lowercase hex, ``sha512:`` + 128), so that a
mutable tag such as ``sha-abc1234`` or ``sha256-...`` is never taken for a digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from gitops_promote.errors import InputError, quote

_DIGEST_HEX: Final = {"sha256": 64, "sha512": 128}
_DIGEST_RE: Final = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_TAG_RE: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PATH_COMPONENT: Final = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT: Final = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN: Final = (
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]{{1,5}})?"
)
_NAME_RE: Final = re.compile(rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_PATH_RE: Final = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
MAX_NAME_LENGTH: Final = 255
DIGEST_SHORT: Final = 19  # "sha256:" + 12 hex, as the guide's ${DIGEST::19}
KEEP: Final = "*"  # kustomize's "keep the existing value" marker


def is_digest(text: str) -> bool:
    """True when ``text`` is a well-formed sha256/sha512 digest."""
    return bool(_DIGEST_RE.fullmatch(text))


def parse_digest(text: str, *, what: str = "digest") -> str:
    """Return ``text`` when it is a valid digest; raise a one-line error that says why not."""
    value = text.strip()
    if is_digest(value):
        return value
    algo, sep, hexpart = value.partition(":")
    if not sep:
        hint = "a digest looks like sha256:<64 lowercase hex>; a tag is not a digest"
        if value.startswith(("sha256-", "sha-")):
            hint = (
                f"{quote(value)} is a tag, not a digest; pass it with --tag or give sha256:<64 hex>"
            )
        raise InputError(f"{what} {quote(value)} is not a digest", hint=hint)
    if algo not in _DIGEST_HEX:
        raise InputError(
            f"{what} {quote(value)} uses unknown algorithm {algo!r}",
            hint="use sha256:<64 hex> or sha512:<128 hex>",
        )
    want = _DIGEST_HEX[algo]
    if hexpart.lower() != hexpart and re.fullmatch(r"[0-9a-fA-F]+", hexpart):
        raise InputError(f"{what} {quote(value)} has uppercase hex", hint="digests are lowercase")
    raise InputError(
        f"{what} {quote(value)} is not a valid {algo} digest",
        hint=f"{algo}: must be followed by exactly {want} lowercase hex characters "
        f"(got {len(hexpart)})",
    )


def _require_name(name: str, what: str = "image name", *, example: str = "") -> None:
    """Refuse (InputError) a repository name that is not valid."""
    if not is_valid_name(name):
        raise InputError(
            f"{what} {quote(name)} is not a valid repository name",
            hint=f"use lowercase [registry[:port]/]path/name{example}",
        )


def _require_digest(value: str, what: str) -> None:
    """Refuse anything but an exact digest (no stripping: the value is stored as given)."""
    if is_digest(value):
        return
    if value != value.strip():
        raise InputError(f"{what} {quote(value)} has surrounding whitespace", hint="remove it")
    parse_digest(value, what=what)


# -- showing a reference: the one place that decides how a digest or a reference reads ----


def short_digest(digest: str) -> str:
    """The first 19 characters of a digest (``sha256:`` + 12 hex): the form of a column
    (``status``, ``history``), a title or the ``{short}`` template placeholder."""
    return digest[:DIGEST_SHORT]


def abbrev_digest(digest: str) -> str:
    """``sha256:f9811b73ac5d…``: a digest shortened in a sentence (the ellipsis says so)."""
    return f"{short_digest(digest)}…"


def describe(ref: ImageRef | None, *, none: str = "(none)", compact: bool = False) -> str:
    """A reference in a sentence or a message: ``v1.4.0 (sha256:f9811b73ac5d…)``,
    ``sha256:f9811b73ac5d…``, ``v1.4.0`` (a tag-only pin), the name when it has neither;
    ``none`` when there is no reference. ``compact`` joins tag and digest as
    ``v1.4.0@sha256:f9811b73ac5d…``, for a reference already inside parentheses."""
    if ref is None:
        return none
    if ref.digest:
        short = abbrev_digest(ref.digest)
        if not ref.tag:
            return short
        return f"{ref.tag}@{short}" if compact else f"{ref.tag} ({short})"
    return ref.tag or ref.name


def ref_column(ref: ImageRef | None, *, none: str = "(none)") -> str:
    """A reference in a table column: ``v1.4.0@sha256:f9811b73ac5d``,
    ``sha256:f9811b73ac5d``, ``v1.4.0`` or the name; ``none`` when there is none."""
    if ref is None:
        return none
    digest = short_digest(ref.digest) if ref.digest else None
    if ref.tag and digest:
        return f"{ref.tag}@{digest}"
    return digest or ref.tag or ref.name


def is_valid_tag(text: str) -> bool:
    return bool(_TAG_RE.fullmatch(text))


def is_valid_name(text: str) -> bool:
    return len(text) <= MAX_NAME_LENGTH and bool(_NAME_RE.fullmatch(text))


def _split_domain(name: str) -> tuple[str | None, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name


@dataclass(frozen=True, order=True)
class ImageRef:
    """An image reference: repository ``name`` plus an optional ``tag`` and ``digest``.

    ``name`` is kept as written (``nginx`` stays ``nginx``); :meth:`canonical_name` gives the
    fully qualified form for comparisons.
    """

    name: str
    tag: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        _require_name(self.name, example=", e.g. ghcr.io/myorg/api")
        if self.tag is not None and not is_valid_tag(self.tag):
            raise InputError(
                f"image tag {quote(self.tag)} is not a valid tag",
                hint="tags are 1-128 characters of letters, digits, '_', '.', '-', "
                "not starting with '.' or '-'",
            )
        if self.digest is not None:
            _require_digest(self.digest, "image digest")

    @classmethod
    def parse(cls, text: str, *, what: str = "image") -> ImageRef:
        """Parse ``[registry[:port]/]path/name[:tag][@digest]``."""
        value = text.strip()
        if not value:
            raise InputError(f"{what} is empty", hint="give e.g. ghcr.io/myorg/api@sha256:<hex>")
        if any(c.isspace() for c in value):
            raise InputError(f"{what} {quote(text)} contains whitespace", hint="remove the spaces")
        rest, tag, digest = _split_target(value, value, what=what)
        try:
            return cls(rest, tag, digest)
        except InputError as err:
            raise InputError(f"{what} {quote(value)}: {err.message}", hint=err.hint) from None

    def __str__(self) -> str:
        out = self.name
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    @property
    def registry(self) -> str | None:
        """The registry host as written (``ghcr.io``, ``localhost:5000``), or None."""
        return _split_domain(self.name)[0]

    @property
    def path(self) -> str:
        """The repository path inside the registry (``myorg/api``)."""
        return _split_domain(self.name)[1]

    def canonical_name(self) -> str:
        """``nginx`` -> ``docker.io/library/nginx``; everything else as written."""
        domain, path = _split_domain(self.name)
        if domain is None or domain in {"index.docker.io", "registry-1.docker.io"}:
            domain = "docker.io"
        if domain == "docker.io" and "/" not in path:
            path = f"library/{path}"
        return f"{domain}/{path}"

    def same_repository(self, other: ImageRef) -> bool:
        return self.canonical_name() == other.canonical_name()

    @property
    def pinned(self) -> bool:
        """True when the reference is immutable (carries a digest)."""
        return self.digest is not None

    def with_tag(self, tag: str | None) -> ImageRef:
        return replace(self, tag=tag)

    def with_digest(self, digest: str | None) -> ImageRef:
        return replace(self, digest=digest)

    def short(self) -> str:
        """Digest shortened to 19 characters if there is one, else the tag: for titles."""
        if self.digest:
            return short_digest(self.digest)
        return self.tag or "latest"


@dataclass(frozen=True)
class SetImage:
    """One argument of ``kustomize edit set image``: ``name[=newName][:newTag][@digest]``.

    Any of ``new_name``, ``new_tag``, ``digest`` may be :data:`KEEP` (``*``): keep what the
    existing entry says. ``None`` means the field is absent (and, as in kustomize, an
    existing value for it is dropped: the argument replaces the whole entry).
    """

    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        _require_name(self.name)
        if self.new_name is not None and self.new_name != KEEP:
            _require_name(self.new_name, "new image name")
        if self.new_tag not in (None, KEEP) and not is_valid_tag(self.new_tag):
            raise InputError(f"image tag {quote(self.new_tag)} is not a valid tag")
        if self.digest is not None and self.digest != KEEP:
            _require_digest(self.digest, "image digest")

    @classmethod
    def parse(cls, text: str) -> SetImage:
        """Parse kustomize's forms: ``name:tag``, ``name@digest``, ``name:tag@digest``,
        ``name=newName``, ``name=newName:tag@digest``, with ``*`` for "keep"."""
        value = text.strip()
        if not value or any(c.isspace() for c in value):
            raise InputError(
                f"image argument {quote(text)} is not valid",
                hint="use NAME[=NEWNAME][:TAG][@DIGEST], e.g. ghcr.io/org/api@sha256:<hex>",
            )
        name, eq, target = value.partition("=")
        if eq:
            if not name or not target:
                raise InputError(
                    f"image argument {quote(value)} is not valid",
                    hint="give both sides of '=': NAME=NEWNAME[:TAG][@DIGEST]",
                )
            new_name, tag, digest = _split_target(target, value)
            return cls(name, new_name, tag, digest)
        base, tag, digest = _split_target(value, value)
        if base == KEEP:
            raise InputError(f"image argument {quote(value)} needs a name before '*'")
        if tag is None and digest is None:
            raise InputError(
                f"image argument {quote(value)} sets nothing",
                hint="add :TAG, @DIGEST or =NEWNAME, e.g. nginx@sha256:<hex>",
            )
        return cls(base, None, tag, digest)

    def __str__(self) -> str:
        out = self.name
        if self.new_name is not None:
            out += f"={self.new_name}"
        if self.new_tag is not None:
            out += f":{self.new_tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out


def _split_target(
    target: str, whole: str, *, what: str = "image argument"
) -> tuple[str, str | None, str | None]:
    """``name[:tag][@digest]`` -> its three parts (a ``:`` after the last ``/`` is a tag)."""
    rest, at, digest = target.partition("@")
    if at and not digest:
        raise InputError(f"{what} {quote(whole)} ends with '@'", hint="add the digest after '@'")
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not tag:
            raise InputError(f"{what} {quote(whole)} ends with ':'", hint="add the tag after ':'")
    if not rest:
        raise InputError(f"{what} {quote(whole)} has no image name", hint="e.g. ghcr.io/org/api")
    return rest, tag, (digest or None)
