"""The one table renderer: aligned text columns for a terminal, pipe tables for markdown.

Cells are passed as they should appear: escaping for where they land
(:mod:`gitops_promote.adapters.escape`) is the caller's, since only it knows which cell
holds a name from a pull request and which holds a code span it built."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart, no trailing blanks."""
    lines = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def md_row(cells: Sequence[str]) -> str:
    """``| a | b |``: one row of a markdown table."""
    return "| " + " | ".join(cells) + " |"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown pipe table: the header row, the ``| --- |`` rule, one line per row."""
    rule = md_row(["---"] * len(header))
    return "\n".join([md_row(header), rule, *(md_row(r) for r in rows)])
