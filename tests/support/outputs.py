"""Read what the tool printed the way the runner and GitHub's markdown read it.

:func:`runner_commands` follows actions/runner ``ActionCommand.TryParseV2`` (``::name
props::data`` at the start of a line, after leading whitespace) and ``TryParse`` (legacy
``##[name props]data`` anywhere in a line), with lines split at ``\\r`` and ``\\n`` like its
``StreamReader.ReadLine``; any command name counts, not only the registered ones.
The markdown readers follow CommonMark 0.31 (code spans, fenced code blocks, backslash
escapes) and GFM tables (``\\|`` does not end a cell), the rules of cmark-gfm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


@dataclass(frozen=True)
class Command:
    """One workflow command the runner would execute."""

    name: str
    properties: dict[str, str]
    data: str
    line: str


def _unescape(text: str, mapping: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mapping:
        text = text.replace(replacement, token)
    return text


# the runner's own unescape tables, in its order
DATA = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
PROPERTY = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))


def runner_commands(output: str) -> list[Command]:
    """Every line of ``output`` the runner reads as a workflow command."""
    found = []
    for line in _LINE_BREAK.split(output):
        body = line.lstrip()
        end = body.find("::", 2)
        if body.startswith("::") and end >= 0:
            info = body[2:end]
            name, _, props = info.partition(" ")
            properties = {}
            for pair in props.strip().split(","):
                key, eq, value = pair.partition("=")
                if eq and key and value:
                    properties[key] = _unescape(value, PROPERTY)
            found.append(Command(name, properties, _unescape(body[end + 2 :], DATA), line))
            continue
        start = line.find("##[")
        close = line.find("]", start) if start >= 0 else -1
        if close >= 0:
            name = line[start + 3 : close].partition(" ")[0]
            found.append(Command(name, {}, line[close + 1 :], line))
    return found


# -- markdown ---------------------------------------------------------------------------------


def code_span(text: str) -> str | None:
    """The content of ``text`` when it is exactly one code span, else None."""
    opener = re.match(r"`+", text)
    if not opener:
        return None
    width = len(opener.group())
    for run in re.finditer(r"`+", text[width:]):
        if len(run.group()) == width:
            if width + run.end() != len(text):
                return None
            content = text[width : width + run.start()].replace("\n", " ")
            if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
                content = content[1:-1]
            return content
    return None


def table_cells(row: str) -> list[str]:
    """The cells of a GFM table row (``\\|`` stays in its cell and reads as ``|``)."""
    cells, current, i = [], "", 0
    body = row.strip()
    body = body.removeprefix("|")
    while i < len(body):
        if body.startswith("\\|", i):
            current += "|"
            i += 2
        elif body[i] == "|":
            cells.append(current.strip())
            current = ""
            i += 1
        else:
            current += body[i]
            i += 1
    if current.strip():
        cells.append(current.strip())
    return cells


@dataclass
class Markdown:
    """A markdown document split into what is code and what is read as markdown."""

    prose: list[str] = field(default_factory=list)  # lines outside fences, code spans cut out
    spans: list[str] = field(default_factory=list)  # every code span's content
    blocks: list[list[str]] = field(default_factory=list)  # every fenced block's lines
    unclosed: bool = False


def _strip_spans(line: str, spans: list[str]) -> str:
    out, i = "", 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line) and line[i + 1] in _PUNCTUATION:
            out += "E"  # an escaped character: plain text
            i += 2
            continue
        if char == "`":
            width = len(re.match(r"`+", line[i:]).group())  # type: ignore[union-attr]
            for run in re.finditer(r"`+", line[i + width :]):
                if len(run.group()) == width:
                    end = i + width + run.end()
                    content = code_span(line[i:end])
                    assert content is not None
                    spans.append(content)
                    out += "CODE"
                    i = end
                    break
            else:
                out += line[i : i + width]
                i += width
            continue
        out += char
        i += 1
    return out


def read_markdown(text: str) -> Markdown:
    doc = Markdown()
    fence: str | None = None
    block: list[str] = []
    for line in _LINE_BREAK.split(text):
        if fence is not None:
            close = re.fullmatch(r" {0,3}(`+|~+)[ \t]*", line)
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= len(fence):
                doc.blocks.append(block)
                fence, block = None, []
            else:
                block.append(line)
            continue
        opening = re.match(r" {0,3}(`{3,}|~{3,})(.*)", line)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence = opening.group(1)
            continue
        doc.prose.append(_strip_spans(line, doc.spans))
    doc.unclosed = fence is not None
    return doc


__all__ = [
    "Command",
    "Markdown",
    "code_span",
    "read_markdown",
    "runner_commands",
    "table_cells",
]
