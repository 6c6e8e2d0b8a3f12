"""Unified diffs of file text, for --dry-run and reports."""

from __future__ import annotations

import difflib


def unified(path: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff of one file (empty when nothing changed)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
