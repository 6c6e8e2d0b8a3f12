"""The escapers of text from a pull request or an input, held to how the runner reads
workflow commands and how GitHub's markdown reads code spans, cells and fences."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gitops_promote.adapters import actions
from gitops_promote.adapters.escape import (
    html_code,
    json_output,
    log,
    log_lines,
    md_code,
    md_fence,
    md_text,
    visible,
)
from support.outputs import code_span, read_markdown, runner_commands, table_cells

# what hostile names are made of: command openers, line breaks of every kind, markdown and
# HTML openers, invisible characters, plus any text at all
PIECES = [
    "::",
    "::error::pwned",
    "::stop-commands::tok",
    "##[error]",
    "##[",
    "%0A",
    "%25",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "\u00a0",
    "\u2028",
    "\x85",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "`",
    "```",
    "|",
    "\\",
    "\\|",
    "<details>",
    "</details>",
    "<!--",
    "<script>",
    "&amp;",
    "@org/team",
    "# ",
    "- ",
    "1. ",
    "===",
    "*",
    "_",
    "[x](y)",
    ":",
    ",",
    "=",
]
hostile = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=12).map("".join)


def _no_command(output: str) -> None:
    assert runner_commands(output) == [], output


# -- log lines --------------------------------------------------------------------------------


@given(hostile)
@example("\n::error::pwned")
@example("  ::stop-commands::tok")
@example("\u3000::error::x")
@example("a ##[error]b")
def test_a_logged_value_is_one_line_that_runs_no_command(text: str) -> None:
    """Whatever a value holds, it prints as one line (every line break written out) that
    the runner does not read as a workflow command, in any position of the line."""
    value = log(text)
    assert re.search(r"[\r\n\x85\u2028\u2029\x0b\x0c]", value) is None
    for line in (value, f"  {value}", f"error: {value}"):
        _no_command(line)


@given(hostile)
def test_a_logged_block_keeps_its_lines_and_runs_no_command(text: str) -> None:
    """A block (a diff) keeps one output line per ``\\n``; none of them is a command."""
    block = log_lines(text)
    assert block.count("\n") == text.count("\n")
    _no_command(block)


def test_logged_values_show_what_was_hidden() -> None:
    """Line breaks, escapes and bidi overrides are written out, ordinary text is kept."""
    assert log("apps/x\n::error::pwned") == "apps/x\\n::error::pwned"
    assert log("::stop-commands::tok") == "\\::stop-commands::tok"
    assert log("a\r\x1b[31mb\u202e") == "a\\r\\x1b[31mb\\u202e"
    assert log("x ##[error]y") == "x ##\\[error]y"
    assert log(b"\xff::".decode("utf-8", "surrogateescape")) == "\\xff::"  # not UTF-8
    assert log("apps/api-service/overlays/production") == "apps/api-service/overlays/production"
    assert log_lines("+ a\n  ::error::k: v") == "+ a\n  \\::error::k: v"


@given(st.dictionaries(hostile, hostile, max_size=3))
def test_json_output_keeps_every_value_and_runs_no_command(data: dict[str, str]) -> None:
    """JSON output parses back to the same data and holds no command, ``##[`` included."""
    text = json_output(json.dumps(data, indent=2))
    assert json.loads(text) == data
    _no_command(text)


# -- annotations ------------------------------------------------------------------------------


@given(hostile, hostile, hostile)
@example("x\n::error::pwned", "a,b:c%0A", "line1\nline2")
def test_an_annotation_is_one_command_that_carries_its_values(
    file: str, title: str, message: str
) -> None:
    """An annotation is one line, read by the runner as exactly that annotation: the file,
    title and message it carries are the values given (invisible characters written out),
    whatever ``%0A``, ``,``, ``:`` or newlines they hold; no property can be added."""
    line = actions.annotation("error", message, file=file or None, line=3, title=title or None)
    assert not re.search(r"[\r\n]", line)
    commands = runner_commands(line)
    assert len(commands) == 1, line
    command = commands[0]
    assert command.name == "error"
    assert command.data == visible(message, keep="\n\r\t")
    # the runner trims the (escaped) properties' text: the last one, title, loses its
    # trailing whitespace (a newline there is %0A, so it stays)
    if file:
        assert command.properties["file"] == visible(file, keep="\n\r\t")
    if title:
        expected = re.sub(r"[^\S\r\n]+$", "", visible(title, keep="\n\r\t"))
        assert command.properties.get("title", "") == expected
    assert command.properties["line"] == "3"


# -- markdown ---------------------------------------------------------------------------------


@given(hostile)
@example("docs/c`|</details><!--")
@example("`")
@example(" a ")
@example("``` x")
def test_a_code_span_holds_exactly_the_value(text: str) -> None:
    """md_code is one code span whose content is the value, backticks and all."""
    span = md_code(text)
    if not visible(text):
        assert span == "_(empty)_"
        return
    assert code_span(span) == visible(text)


@given(hostile, hostile)
@example("a|b", "c\\|d")
def test_a_table_row_keeps_each_value_in_its_own_cell(first: str, second: str) -> None:
    """In a table row, a value in a code span or as text stays in its cell: ``|`` and
    newlines in it end nothing, and the cell's code span is the value."""
    row = f"| {md_code(first, cell=True)} | {md_text(second)} | ok |"
    cells = table_cells(row)
    assert len(cells) == 3, row
    if visible(first):
        assert code_span(cells[0]) == visible(first)
    assert cells[2] == "ok"


@given(hostile)
@example("</details>\n### ✅ Promotion check passed")
@example("<!-- x")
@example("- item")
@example("12. item")
@example("    indented")
def test_markdown_text_opens_nothing(text: str) -> None:
    """md_text stays on one line and no character of it opens a code span, emphasis, a
    link, raw HTML, a heading or a list: every opener is backslash-escaped (or an entity),
    and no @mention can form."""
    value = md_text(text)
    assert not re.search(r"[\r\n]", value)
    doc = read_markdown(f"> {value}")
    assert (doc.spans, doc.blocks) == ([], [])
    plain = re.sub(r"\\.", "", value).replace("&#8203;", "").replace("&#32;", "")
    assert not set(plain) & set("`*_[]<>&|~!#\\"), value
    assert re.match(r"[-+=]|\d+[.)]|[ \t]", value) is None  # markdown indents with these only
    assert re.search(r"@(?!&#8203;)", value) is None


def test_markdown_text_reads_as_the_value() -> None:
    """Escaped text is still the text: backslashes before punctuation, nothing else."""
    assert md_text("rendered production differs (drift.severity: warn)") == (
        "rendered production differs (drift.severity: warn)"
    )
    assert md_text("a|b <!-- c") == "a\\|b \\<\\!-- c"
    assert md_text("- x") == "\\- x"
    assert md_text("@org/team") == "@&#8203;org/team"


@given(hostile)
@example("k\n```\n### ✅ Promotion check passed\n::error::key")
@example("``````")
@example("~~~")
def test_a_fenced_block_holds_every_line_and_cannot_be_closed(text: str) -> None:
    """md_fence keeps the value's lines (invisible characters written out) in one block
    that none of them can close: what follows the block is read as the tool wrote it."""
    block = md_fence(text, "diff")
    doc = read_markdown("\n".join([*block, "", "after"]))
    assert not doc.unclosed
    assert doc.blocks == [[visible(line, keep="\t") for line in text.split("\n")]]
    assert doc.prose == ["", "after"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("</summary></details><h3>x</h3>", "&lt;/summary&gt;&lt;/details&gt;&lt;h3&gt;x"),
        ('a"b&c', "a&quot;b&amp;c"),
    ],
)
def test_html_code_escapes_markup(value: str, expected: str) -> None:
    """Inside raw HTML (a <summary>), a value is HTML-escaped in <code>."""
    assert html_code(value).startswith(f"<code>{expected}")
    assert "<" not in html_code(value).removeprefix("<code>").removesuffix("</code>")
