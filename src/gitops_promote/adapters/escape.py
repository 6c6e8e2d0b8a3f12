"""Escapers for text that came from a pull request or an input, one per place it is printed.

Paths, file text, branch names, tags, YAML keys, rendered diff lines and input values are
hostile: a file named ``"a\\n::error::x"`` printed raw starts a workflow command the runner
executes, a key holding a backtick fence closes the diff block of the job summary. Every
string from outside passes through one of these before it is printed; the sinks
(:func:`log_lines`, :func:`json_output`) defuse whatever still slipped through.

The runner treats as a command any line that starts with ``::`` after leading whitespace,
and any line that holds ``##[`` anywhere (the legacy form). It splits lines at ``\\n`` and
``\\r``. Markdown (GitHub's cmark-gfm) ends a code span at a backtick run as long as its
opener, a fence at a line of at least as many backticks, a table cell at an unescaped
``|``, and reads ``<...>`` as raw HTML. Pure functions, no I/O.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Final

_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# categories that print nothing or move the cursor: controls, format characters (zero-width,
# bidi overrides, BOM), line and paragraph separators; and surrogates (a file name that is
# not UTF-8, read with surrogateescape), which cannot be written as UTF-8 at all
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_COMMAND_START: Final = "::"
_LEGACY_COMMAND: Final = "##["
_BACKTICKS: Final = re.compile(r"`+")
# what opens inline markdown anywhere in a line: emphasis, code, links, images, raw HTML,
# entities, strikethrough, a table cell's end; ``#`` too (a heading after ``> ``)
_INLINE: Final = frozenset("\\`*_[]<>&|~!#")
# what opens a block at the start of a line: a list item, a setext or thematic break
_LINE_START: Final = re.compile(r"[-+=]|\d+(?=[.)])")


def _visible_char(char: str, *, keep: str) -> str:
    if char in keep or unicodedata.category(char) not in _INVISIBLE:
        return char
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): that byte
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every control, format and line-breaking character written out
    (``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u202e``), except those in ``keep``."""
    if text.isprintable():
        return text  # the common case (every Cc, Cf, Zl, Zp and Cs is unprintable)
    return "".join(_visible_char(c, keep=keep) for c in text)


def _defuse(line: str) -> str:
    """One physical line that the runner cannot read as a workflow command."""
    body = line.lstrip()
    if body.startswith(_COMMAND_START):
        line = line[: len(line) - len(body)] + "\\" + body
    return line.replace(_LEGACY_COMMAND, "##\\[")


# -- log lines (stdout, stderr) ---------------------------------------------------------------


def log(text: object) -> str:
    """A value inside one log line: on one line, invisible characters written out, no
    workflow command (``\\n::error::x`` prints as the literal text ``\\n::error::x``)."""
    return _defuse(visible(str(text)))


def log_lines(text: str) -> str:
    """A block of lines (a diff, a file, or all the tool prints, as the last guard before
    stdout and stderr): one output line per ``\\n``, each with invisible characters
    written out (tabs kept) and no workflow command."""
    return "\n".join(_defuse(visible(line, keep="\t")) for line in text.split("\n"))


def json_output(text: str) -> str:
    """JSON on its way to stdout: ``json.dumps`` already escapes newlines and controls,
    so only the legacy ``##[`` inside a string is left; ``\\u005b`` keeps the value."""
    return text.replace(_LEGACY_COMMAND, "##\\u005b")


# -- workflow-command annotations -------------------------------------------------------------


def command_data(text: str) -> str:
    """The message of ``::error ...::message``: the runner unescapes ``%25 %0D %0A``."""
    text = visible(text, keep="\n\r\t")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A property value (``file=``, ``title=``): also ``:`` and ``,`` escaped."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


# -- markdown (job summary, PR comment and body) ----------------------------------------------


def md_text(text: object) -> str:
    """Plain text in markdown (a paragraph, a list item, a quote, a table cell), shown
    as it is: on one line, the characters that open emphasis, a code span, a link, raw
    HTML or a heading backslash-escaped, ``|`` too (it ends a table cell), a leading
    ``-``/``+``/``=``/``1.`` too (a list, a rule), leading spaces as ``&#32;`` (they
    indent nothing); ``@`` mentions no one."""
    body = visible(str(text))
    out = []
    for char in body:
        if char == "@":
            out.append("@&#8203;")  # a zero-width space after it: GitHub links no @mention
        elif char in _INLINE:
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = "".join(out)
    rest = escaped.lstrip(" ")
    if len(rest) < len(escaped):  # leading spaces: kept, but they indent nothing
        return "&#32;" * (len(escaped) - len(rest)) + rest
    start = _LINE_START.match(escaped)
    if start:
        cut = start.end() if start.group().isdigit() else 0
        escaped = f"{escaped[:cut]}\\{escaped[cut:]}"
    return escaped


def md_code(text: object, *, cell: bool = False) -> str:
    """``text`` as one inline code span that shows it exactly (invisible characters
    written out): fenced with more backticks than the longest run inside. ``cell``: the
    span sits in a table row, where ``|`` is escaped even inside code."""
    body = visible(str(text))
    if not body:
        return "_(empty)_"
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * (longest + 1)
    padded = body.startswith("`") or body.endswith("`")
    padded |= body.startswith(" ") and body.endswith(" ") and bool(body.strip(" "))
    pad = " " if padded else ""
    span = f"{fence}{pad}{body}{pad}{fence}"
    return span.replace("|", "\\|") if cell else span


def md_fence(text: str, info: str = "") -> list[str]:
    """A fenced code block holding ``text`` line by line (invisible characters written
    out, tabs kept): the fence is longer than any backtick run inside, so no line of
    ``text`` can close it."""
    lines = [visible(line, keep="\t") for line in text.split("\n")]
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


def html_code(text: object) -> str:
    """``text`` as ``<code>`` inside raw HTML (``<summary>``), where markdown is not read."""
    body = visible(str(text))
    return f"<code>{html.escape(body, quote=True)}</code>"


__all__ = [
    "command_data",
    "command_property",
    "html_code",
    "json_output",
    "log",
    "log_lines",
    "md_code",
    "md_fence",
    "md_text",
    "visible",
]
