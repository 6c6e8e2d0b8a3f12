"""Commit message, PR title and branch templates: a fixed set of ``{placeholders}``.

A template is user input, so it is never given to ``str.format``: only plain
``{name}`` placeholders from a fixed set are replaced; attribute access (``{app.x}``),
indexing (``{app[0]}``), conversions (``{app!r}``) and format specs (``{app:>9}``) are
refused when promotion.yaml is loaded. ``{{`` and ``}}`` are literal braces.

Placeholders:
``{app}`` the app (for a batch: the apps, comma separated), ``{env}`` the target
environment, ``{from_env}`` its upstream environment, ``{digest}`` the full digest,
``{short}`` its first 19 characters (``sha256:`` + 12 hex), ``{tag}`` the tag,
``{image}`` the full image reference, ``{apps}`` every app of a batch, comma separated.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from gitops_promote.errors import clip, quote
from gitops_promote.images import short_digest

PLACEHOLDERS: Final = frozenset(
    {"app", "env", "from_env", "digest", "short", "tag", "image", "apps"}
)
COMMIT_PLACEHOLDERS: Final = PLACEHOLDERS
TITLE_PLACEHOLDERS: Final = PLACEHOLDERS
# A branch must stay the same while its PR is open, so that a re-run (or the next digest)
# updates the same pull request instead of opening another: nothing digest-specific.
BRANCH_PLACEHOLDERS: Final = frozenset({"app", "env", "from_env", "apps"})
PATH_PLACEHOLDERS: Final = frozenset({"app", "env"})

MAX_BRANCH_LENGTH: Final = 200


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Field:
    name: str
    column: int  # 1-based column of the opening brace


_Part = _Literal | _Field


class TemplateError(ValueError):
    """A template cannot be rendered (unknown placeholder, unbalanced brace)."""


def _tokenize(text: str) -> tuple[list[_Part], list[str]]:
    """Split a template into literal text and ``{field}`` parts; collect syntax problems."""
    parts: list[_Part] = []
    problems: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "{":
            close = text.find("}", i + 1)
            nested = text.find("{", i + 1)
            if close < 0 or (0 <= nested < close):
                problems.append(
                    f"unmatched '{{' at column {i + 1}; write '{{{{' for a literal brace"
                )
                literal.append("{")
                i += 1
                continue
            if literal:
                parts.append(_Literal("".join(literal)))
                literal = []
            parts.append(_Field(text[i + 1 : close], i + 1))
            i = close + 1
        elif char == "}":
            problems.append(f"unmatched '}}' at column {i + 1}; write '}}}}' for a literal brace")
            literal.append("}")
            i += 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append(_Literal("".join(literal)))
    return parts, problems


def _plain_name(field: str) -> str:
    """The placeholder name without any attribute/index/conversion/spec part."""
    return re.split(r"[.\[!:]", field, maxsplit=1)[0].strip()


def _sorted(names: Iterable[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in sorted(names))


def validate_template(text: str, allowed: Iterable[str] = PLACEHOLDERS) -> list[str]:
    """Every problem of a template, one line each, each saying how to fix it; [] when fine."""
    allowed_set = frozenset(allowed)
    parts, problems = _tokenize(text)
    for part in parts:
        if not isinstance(part, _Field):
            continue
        field = part.name
        name = _plain_name(field)
        where = f"{{{field}}} at column {part.column}"
        if field != name:
            if "." in field or "[" in field:
                what = "attribute access or indexing"
            elif "!" in field:
                what = "a conversion"
            else:
                what = "a format spec"
            problems.append(
                f"{where} uses {what}; templates take plain placeholders only: write {{{name}}}"
            )
            if name in allowed_set or not name:
                continue
        if not name:
            problems.append(
                f"empty placeholder {{}} at column {part.column}; use one of: "
                f"{_sorted(allowed_set)}"
            )
            continue
        if name in allowed_set:
            continue
        if name in PLACEHOLDERS:
            why = ""
            if name in PLACEHOLDERS - BRANCH_PLACEHOLDERS and allowed_set <= BRANCH_PLACEHOLDERS:
                why = " (a branch stays the same for an app and env, so re-runs update one PR)"
            problems.append(
                f"{{{name}}} at column {part.column} is not available here{why}; use one of: "
                f"{_sorted(allowed_set)}"
            )
            continue
        guess = difflib.get_close_matches(name, sorted(allowed_set), n=1, cutoff=0.6)
        hint = f"did you mean {{{guess[0]}}}? " if guess else ""
        problems.append(
            f"unknown placeholder {{{clip(name)}}} at column {part.column}; {hint}"
            f"placeholders are: {_sorted(allowed_set)}"
        )
    return problems


def template_values(
    *,
    env: str,
    app: str | None = None,
    apps: Sequence[str] = (),
    from_env: str | None = None,
    digest: str | None = None,
    tag: str | None = None,
    image: str | None = None,
) -> dict[str, str]:
    """The values of every placeholder; missing ones render as empty text.

    ``apps`` lists a batch; ``app`` defaults to the batch joined with ``, ``.
    """
    batch = list(apps) if apps else ([app] if app else [])
    joined = ", ".join(batch)
    return {
        "app": app if app is not None else joined,
        "apps": joined,
        "env": env,
        "from_env": from_env or "",
        "digest": digest or "",
        "short": short_digest(digest) if digest else "",
        "tag": tag or "",
        "image": image or "",
    }


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``{placeholder}`` with its value. Raise :class:`TemplateError` on an
    invalid template or a placeholder without a value (the loader validates first)."""
    parts, problems = _tokenize(text)
    if problems:
        raise TemplateError(f"template {quote(text)}: {problems[0]}")
    out: list[str] = []
    for part in parts:
        if isinstance(part, _Literal):
            out.append(part.text)
        elif part.name in values:
            out.append(values[part.name])
        else:
            raise TemplateError(
                f"template {quote(text)}: no value for {{{part.name}}}; "
                f"placeholders are: {_sorted(values)}"
            )
    return "".join(out)


def render_message(text: str, values: Mapping[str, str]) -> str:
    """Render a commit message or PR title template (text, not a ref)."""
    return render_template(text, values)


_REF_BAD: Final = re.compile(r"[^A-Za-z0-9._/+-]+")


def sanitize_ref(name: str) -> str:
    """Make ``name`` a valid, shell-friendly git branch name (``git check-ref-format``).

    Characters outside ``[A-Za-z0-9._/+-]`` become ``-``; empty components, components
    starting with ``.`` or ending in ``.lock``, ``..``, a leading ``-`` and a trailing ``.``
    or ``/`` are removed. Names longer than 200 characters are cut and given a stable hash suffix.
    """
    result = _REF_BAD.sub("-", name)
    previous = None
    while result != previous:  # each pass only shortens the name: stops
        previous = result
        while ".." in result:
            result = result.replace("..", ".")
        components: list[str] = []
        for raw in result.split("/"):
            comp = raw.lstrip(".")
            while comp.endswith(".lock"):
                comp = comp[: -len(".lock")]
            comp = comp.rstrip(".")
            if comp:
                components.append(comp)
        result = "/".join(components).lstrip("-")
    if len(result) > MAX_BRANCH_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        result = result[: MAX_BRANCH_LENGTH - 13].rstrip("./") + "-" + digest
    if not result or result == "HEAD":
        result = "promote"
    return result


def render_branch(text: str, values: Mapping[str, str]) -> str:
    """Render a branch template; each value is made ref-safe, then the whole name is."""
    safe = {key: _REF_BAD.sub("-", value.replace("/", "-")) for key, value in values.items()}
    return sanitize_ref(render_template(text, safe))
