"""Semver tag policies: which registry tags a ``track:`` range lets an environment take.

Ranges are written as Flux's ImagePolicy writes them, in the syntax and semantics of the
Masterminds/semver Go library:

- comparators ``=``, ``!=``, ``>``, ``<``, ``>=``, ``<=`` (also ``=>``, ``=<``), ``~``
  (``~>``) and ``^``; versions may be partial (``1.2``) and start with ``v``;
- AND: comparators separated by spaces or commas; OR: ``||``;
- x-ranges ``1.2.x``, ``1.*``, ``*``; hyphen ranges ``1.2 - 1.4.5`` (spaces required);
- pre-releases: a pre-release version matches an AND group only when a comparator of that
  group carries a pre-release itself (``>=1.0.0-0 <2.0.0`` takes ``1.5.0-rc.1``; so does
  ``~1.2.3-beta.2`` take ``1.2.4-beta.2``: the pre-release need not be on the same
  major.minor.patch, unlike npm).

The adapter: ``nodesemver`` (node-semver's range grammar) turns each ``~``, ``^`` and
x-range comparator into plain bounds; this module fixes where Masterminds differs (pre-release
bounds, ``!=``, ``~0.0.0``, commas, partial versions with pre-releases) and compares with
the ``semver`` package. Deliberately stricter than Masterminds: an empty range, leading
zeros, and comparators that hold a lone wildcard with ``>``, ``<``, ``<=`` or ``!=`` (which
match nothing or almost everything) are refused with a message.

Tags are versions when they are full semver ``MAJOR.MINOR.PATCH[-pre][+build]``, with an
optional ``v``. Other tags (``latest``, ``sha-abc1234``, and floating ``1.2``) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, cast

import semver

from gitops_promote.errors import InputError

MAX_RANGE_LENGTH: Final = 512
_HINT: Final = (
    "write a range such as '>=1.0.0 <2.0.0', '^1.2', '~1.2.3', '1.x' or '1.2 - 1.4.5'; "
    "add '-0' (e.g. '>=1.0.0-0') to let pre-releases match"
)
_SEG: Final = r"(?:0|[1-9][0-9]*|[xX*])"
_IDENT: Final = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION: Final = rf"v?{_SEG}(?:\.{_SEG}){{0,2}}(?:-{_IDENT})?(?:\+{_IDENT})?"
_HYPHEN_RE: Final = re.compile(rf"(?<![^\s,|])({_VERSION})\s+-\s+({_VERSION})(?![^\s,|])")
_COMPARATOR_RE: Final = re.compile(
    rf"(?P<op>!=|>=|=>|<=|=<|~>|[=<>~^])?\s*"
    rf"v?(?P<segs>{_SEG}(?:\.{_SEG}){{0,2}})(?:-(?P<pre>{_IDENT}))?(?:\+{_IDENT})?"
    r"(?=[\s,]|$)"
)
_OPS: Final = {"=>": ">=", "=<": "<=", "~>": "~", "": "="}

Op = Literal["<", "<=", ">", ">=", "="]


@dataclass(frozen=True)
class _Bound:
    """A plain comparison with one version."""

    op: Op
    version: semver.Version

    def test(self, version: semver.Version) -> bool:
        order = version.compare(self.version)
        if self.op == "<":
            return order < 0
        if self.op == "<=":
            return order <= 0
        if self.op == ">":
            return order > 0
        if self.op == ">=":
            return order >= 0
        return order == 0


@dataclass(frozen=True)
class _Outside:
    """Masterminds' ``!=``: every version that the bounds do not all take."""

    excluded: tuple[_Bound, ...]

    def test(self, version: semver.Version) -> bool:
        return not all(bound.test(version) for bound in self.excluded)


@dataclass(frozen=True)
class _Group:
    """One AND group of a range (the parts of a range between ``||``)."""

    tests: tuple[_Bound | _Outside, ...]
    prerelease: bool  # a comparator names a pre-release: pre-release versions may match

    def test(self, version: semver.Version) -> bool:
        if version.prerelease and not self.prerelease:
            return False
        return all(t.test(version) for t in self.tests)


@dataclass(frozen=True)
class Range:
    """A parsed ``track:`` range; ``str()`` gives the text it was parsed from."""

    text: str
    groups: tuple[_Group, ...]

    def matches(self, tag: str) -> bool:
        """True when ``tag`` is a semver version (``v`` prefix allowed) in the range."""
        version = tag_version(tag)
        return version is not None and self.matches_version(version)

    def matches_version(self, version: semver.Version) -> bool:
        return any(group.test(version) for group in self.groups)

    def __str__(self) -> str:
        return self.text


def tag_version(tag: str) -> semver.Version | None:
    """The semver version a tag names (``v1.2.3``, ``1.2.3-rc.1``), or None when the tag is
    not a full ``MAJOR.MINOR.PATCH`` semver version."""
    text = tag[1:] if tag.startswith("v") else tag
    if not text[:1].isdigit():
        return None
    try:
        return semver.Version.parse(text)
    except ValueError:
        return None


def parse_range(text: str, *, what: str = "track range") -> Range:
    """Parse a Masterminds/Flux semver range; a bad one raises a one-line :class:`InputError`."""
    if not text.strip():
        raise InputError(f"{what} is empty", hint="write '*' to accept every release; " + _HINT)
    if len(text) > MAX_RANGE_LENGTH:
        raise InputError(f"{what} is longer than {MAX_RANGE_LENGTH} characters", hint=_HINT)
    if "\n" in text or "\r" in text:
        raise InputError(f"{what} {text!r} spans several lines", hint=_HINT)
    rewritten = _HYPHEN_RE.sub(r" >=\1, <=\2 ", text)
    groups = []
    for part in rewritten.split("||"):
        if not part.strip():
            raise InputError(
                f"{what} {text!r} has an empty alternative around '||'",
                hint="put a range on both sides of each '||'",
            )
        groups.append(_parse_group(part, text, what))
    return Range(text, tuple(groups))


def highest(tags: Iterable[str], rng: Range) -> str | None:
    """The tag (as written) of the highest version in ``rng``; None when no tag matches.

    Tags that are not semver are ignored. Equal versions (``1.2.3`` and ``v1.2.3``) are
    decided by the tag text, so the answer does not depend on the order of ``tags``.
    """
    best: tuple[semver.Version, str] | None = None
    for tag in tags:
        version = tag_version(tag)
        if version is None or not rng.matches_version(version):
            continue
        if best is None or version > best[0] or (version == best[0] and tag > best[1]):
            best = (version, tag)
    return best[1] if best else None


def is_downgrade(current_tag: str, new_tag: str) -> bool:
    """True when both tags are semver and ``new_tag`` is a lower version than ``current_tag``.

    A tag that is not semver (``latest``, ``sha-...``) cannot be judged: False.
    """
    current, new = tag_version(current_tag), tag_version(new_tag)
    return current is not None and new is not None and new < current


# -- parsing ------------------------------------------------------------------------------


def _parse_group(part: str, text: str, what: str) -> _Group:
    tests: list[_Bound | _Outside] = []
    prerelease = False
    pos = _skip_space(part, 0)
    while pos < len(part):
        match = _COMPARATOR_RE.match(part, pos)
        if match is None:
            raise InputError(
                f"{what} {text!r} is not a valid semver range: cannot read {_rest(part, pos)!r}",
                hint=_HINT,
            )
        token = match.group(0)
        pre = match.group("pre")
        tests.extend(_translate(match.group("op") or "", match.group("segs"), pre, token, what))
        prerelease = prerelease or pre is not None
        pos = _skip_space(part, match.end())
        if pos < len(part) and part[pos] == ",":
            pos = _skip_space(part, pos + 1)
            if pos >= len(part):
                raise InputError(f"{what} {text!r} ends with ','", hint=_HINT)
    return _Group(tuple(tests), prerelease)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _rest(text: str, pos: int) -> str:
    word = text[pos:].split()
    return word[0] if word else text[pos:]


def _version(parts: list[int], pre: str | None) -> semver.Version:
    padded = [*parts, 0, 0, 0][:3]
    return semver.Version(padded[0], padded[1], padded[2], prerelease=pre)


def _translate(
    raw_op: str, segs: str, pre: str | None, token: str, what: str
) -> list[_Bound | _Outside]:
    """One Masterminds comparator as plain bounds."""
    op = _OPS.get(raw_op, raw_op)
    numbers: list[int] = []
    for seg in segs.split("."):
        if seg in ("x", "X", "*"):
            break  # a wildcard makes the rest wildcards too: 1.x.3 is 1.x
        numbers.append(int(seg))
    if pre is not None:
        _check_prerelease(pre, token, what)
    if not numbers:
        if op in ("=", "~", "^", ">="):
            return []  # every version (the pre-release rule still applies)
        raise InputError(
            f"{what}: {token.strip()!r} compares with a lone wildcard",
            hint="use '*' for every release, or give a version",
        )
    if op == "~" and numbers == [0, 0, 0]:
        return [_Bound(">=", _version(numbers, pre))]  # Masterminds: ~0.0.0 is >=0.0.0
    if op == "!=":
        if pre is not None and len(numbers) < 3:
            raise InputError(
                f"{what}: {token.strip()!r} mixes a partial version with a pre-release",
                hint="write the full version after '!=', e.g. '!=1.2.0-rc.1'",
            )
        excluded = _translate("=", segs, pre, token, what)
        return [_Outside(tuple(b for b in excluded if isinstance(b, _Bound)))]
    if op in ("<", ">=") or (len(numbers) == 3 and op in (">", "<=", "=")):
        return [_Bound(cast(Op, op), _version(numbers, pre))]
    return _desugar(op, numbers, pre)


def _desugar(op: str, numbers: list[int], pre: str | None) -> list[_Bound | _Outside]:
    """``~``, ``^`` and the wildcard forms of ``=``, ``>``, ``<=`` as bounds, by node-semver.

    Then Masterminds' differences: the comparator's pre-release goes on the lower bound;
    the upper bound excludes the next release's pre-releases (Masterminds compares the
    major/minor numbers); ``>1.2`` (node-semver: ``>=1.3.0``) takes ``1.3.0-rc.1`` too.
    """
    import nodesemver  # noqa: PLC0415 - only policies need the range grammar

    text = f"{op if op != '=' else ''}{'.'.join(map(str, numbers))}"
    comparators = nodesemver.make_range(text, loose=False).set
    bounds: list[_Bound | _Outside] = []
    for comparator in comparators[0]:
        parsed = comparator.semver
        if not hasattr(parsed, "major"):
            continue  # node-semver's "any version"
        version = semver.Version(
            parsed.major,
            parsed.minor,
            parsed.patch,
            prerelease=".".join(str(p) for p in parsed.prerelease) or None,
        )
        bound_op: Op = comparator.operator or "="
        if bound_op in (">", ">="):
            if op == ">":
                bound_op, version = ">=", version.replace(prerelease="0")
            elif pre is not None:
                version = version.replace(prerelease=pre)
        elif bound_op == "<" and not version.prerelease:
            version = version.replace(prerelease="0")
        bounds.append(_Bound(bound_op, version))
    return bounds


def _check_prerelease(pre: str, token: str, what: str) -> None:
    for ident in pre.split("."):
        if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
            raise InputError(
                f"{what}: {token.strip()!r} has a pre-release number with a leading zero",
                hint="semver pre-release numbers have no leading zeros",
            )
