"""Position-based text edits: the bytes around an edit stay exactly as they were.

The editors find nodes with ruamel.yaml (exact character spans) and describe changes as
:class:`Edit` spans over the original text; :func:`apply` splices them in. Scalars are
rendered in the style already there (plain, 'single' or "double" quoted), and quoted
when YAML would otherwise read them as something other than a string (``"1.10"``).
Inserted lines use the file's own newline (LF or CRLF); a missing final newline stays
missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from gitops_promote.errors import OverlayError

BOM: Final = "\ufeff"

# Plain scalars that a YAML 1.1 or 1.2 reader takes for something other than a string.
_NOT_A_STRING: Final = re.compile(
    r"""(?x)
    | ~ | null | Null | NULL
    | y | Y | yes | Yes | YES | n | N | no | No | NO
    | true | True | TRUE | false | False | FALSE | on | On | ON | off | Off | OFF
    | [-+]? (?: 0b[01_]+ | 0o?[0-7_]+ | 0x[0-9a-fA-F_]+ )
    | [-+]? (?= [0-9._]*[0-9] ) [0-9_]* (?: \.[0-9_]* )? (?: [eE][-+]?[0-9]+ )?
    | [-+]? [0-9][0-9_]* (?: :[0-5]?[0-9] )+ (?: \.[0-9_]* )?
    | [-+]? \. (?: inf | Inf | INF ) | \. (?: nan | NaN | NAN )
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2} (?: [Tt\ ].* )?
    | = | <<
    """
)
# What may stand unquoted: image names, tags, digests and references are all made of these.
_SAFE_PLAIN: Final = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./@:+-]*(?<!:)")


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``new``."""

    start: int
    end: int
    new: str


def apply(text: str, edits: Iterable[Edit]) -> str:
    """Splice non-overlapping edits into ``text``."""
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < pos:
            raise AssertionError(f"overlapping edits at {edit.start}")  # a bug, not input
        out.append(text[pos : edit.start])
        out.append(edit.new)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def newline(text: str) -> str:
    """The file's newline: CRLF when its first line ends with one, else LF."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def line_start(text: str, index: int) -> int:
    start = text.rfind("\n", 0, index) + 1
    if start == 0 and text.startswith(BOM):
        return 1
    return start


def line_end(text: str, index: int) -> int:
    """Index of the line break that ends the line of ``index`` (``len(text)`` on the last)."""
    end = text.find("\n", index)
    if end < 0:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def next_line(text: str, index: int) -> int:
    """Index just after the line break ending the line of ``index`` (or ``len(text)``)."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def line_number(text: str, index: int) -> int:
    """1-based line of ``index``, counting LF line breaks as editors and git do."""
    return text.count("\n", 0, index) + 1


def column(text: str, index: int) -> int:
    """0-based column of ``index`` in its line."""
    return index - line_start(text, index)


def alone_on_line(text: str, start: int) -> bool:
    """True when only whitespace precedes ``start`` on its line."""
    return not text[line_start(text, start) : start].strip()


def needs_quotes(value: str) -> bool:
    """True when ``value`` cannot be written as a plain scalar and still read as this string."""
    return not _SAFE_PLAIN.fullmatch(value) or bool(_NOT_A_STRING.fullmatch(value))


def render(value: str, style: str | None, prefer: str = '"') -> str:
    """``value`` as a scalar: in ``style`` (``None`` plain, ``'`` or ``"``); a plain
    scalar that needs quotes gets ``prefer`` quotes."""
    if style is None and not needs_quotes(value):
        return value
    quote = style if style in ("'", '"') else prefer
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def insert_lines(text: str, at: int, lines: list[str], nl: str) -> Edit:
    """Insert whole lines at line start ``at`` (or at the end of the text)."""
    body = nl.join(lines)
    if at >= len(text) and text and not text.endswith("\n"):
        return Edit(len(text), len(text), nl + body)  # keep the missing final newline missing
    return Edit(at, at, body + nl)


def delete_lines(text: str, first: int, last: int) -> Edit:
    """Delete the whole lines holding indexes ``first`` .. ``last``."""
    start = line_start(text, first)
    end = next_line(text, last)
    if end >= len(text) and not text.endswith("\n") and start > 0:
        # the last line has no newline: eat the one before it so that none appears
        start -= 2 if text[start - 2 : start] == "\r\n" else 1
    return Edit(start, end, "")


def refuse(file: str, text: str, index: int, problem: str, hint: str) -> OverlayError:
    """An OverlayError located at ``index``: ``file:line: problem``."""
    return OverlayError(f"{file}:{line_number(text, index)}: {problem}", hint=hint)
