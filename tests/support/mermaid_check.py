"""A strict checker for the Mermaid gitops-promote writes into job summaries.

Mermaid's own parser runs too (tests/support/mermaid_parse.py, Node and the npm packages in
tests/tools); this stays as the stricter check of the subset we emit, in process and without
Node, against Mermaid's documented grammar for those two diagrams: every line must match,
dates must be real dates in the declared ``dateFormat``, a task must not end before it
starts, an x-axis must have as many labels as the bar has values (Mermaid accepts fewer),
labels must not carry the characters that end a token (``:``, ``,``, ``;``, ``#``, quotes,
newlines).
"""

from __future__ import annotations

import re
from datetime import datetime

FENCE = re.compile(r"^```mermaid\n(.*?)\n```$", re.S | re.M)
_LABEL = r"[A-Za-z0-9 ._/+-]+"
_DATE = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
_GANTT = {
    "title": re.compile(rf"^    title {_LABEL}$"),
    "dateFormat": re.compile(r"^    dateFormat YYYY-MM-DD HH:mm$"),
    "axisFormat": re.compile(r"^    axisFormat (%[a-zA-Z][-/ ]?)+$"),
    "section": re.compile(rf"^    section {_LABEL}$"),
    "task": re.compile(rf"^    ({_LABEL}) : ({_DATE}), ({_DATE})$"),
}
_NUMBER = r"-?\d+(?:\.\d+)?"
_XY = [
    re.compile(rf'^    title "{_LABEL}"$'),
    re.compile(rf'^    x-axis \[("{_LABEL}"(?:, "{_LABEL}")*)\]$'),
    re.compile(rf'^    y-axis "{_LABEL}" ({_NUMBER}) --> ({_NUMBER})$'),
    re.compile(rf"^    bar \[({_NUMBER}(?:, {_NUMBER})*)\]$"),
]


class MermaidError(AssertionError):
    pass


def _gantt(lines: list[str]) -> None:
    if lines[1:3] and not _GANTT["title"].match(lines[1]):
        raise MermaidError(f"gantt: second line is not a title: {lines[1]!r}")
    if len(lines) < 4 or not _GANTT["dateFormat"].match(lines[2]):
        raise MermaidError("gantt: no dateFormat line")
    if not _GANTT["axisFormat"].match(lines[3]):
        raise MermaidError(f"gantt: bad axisFormat {lines[3]!r}")
    in_section = False
    tasks = 0
    for line in lines[4:]:
        if _GANTT["section"].match(line):
            in_section = True
            continue
        m = _GANTT["task"].match(line)
        if not m:
            raise MermaidError(f"gantt: not a section or a task: {line!r}")
        if not in_section:
            raise MermaidError(f"gantt: task before any section: {line!r}")
        start = datetime.strptime(m.group(2), "%Y-%m-%d %H:%M")
        end = datetime.strptime(m.group(3), "%Y-%m-%d %H:%M")
        if end <= start:
            raise MermaidError(f"gantt: task ends before it starts: {line!r}")
        if m.group(1).strip() != m.group(1) or m.group(1).lower() in {"section", "title"}:
            raise MermaidError(f"gantt: bad task name: {line!r}")
        tasks += 1
    if not tasks:
        raise MermaidError("gantt: no tasks")


def _xychart(lines: list[str]) -> None:
    if len(lines) != 1 + len(_XY):
        raise MermaidError(f"xychart-beta: {len(lines)} lines, expected {1 + len(_XY)}")
    found = []
    for pattern, line in zip(_XY, lines[1:], strict=True):
        m = pattern.match(line)
        if not m:
            raise MermaidError(f"xychart-beta: bad line {line!r}")
        found.append(m)
    labels = found[1].group(1).count('"') // 2
    values = [float(v) for v in found[3].group(1).split(", ")]
    if labels != len(values):
        raise MermaidError(f"xychart-beta: {labels} labels for {len(values)} bars")
    low, high = float(found[2].group(1)), float(found[2].group(2))
    if not low < high or max(values) > high or min(values) < low:
        raise MermaidError(f"xychart-beta: values outside the y-axis {low}..{high}")


def check(source: str) -> str:
    """Check one diagram's source; return its kind."""
    lines = source.split("\n")
    kind = lines[0]
    if kind == "gantt":
        _gantt(lines)
    elif kind == "xychart-beta":
        _xychart(lines)
    else:
        raise MermaidError(f"unexpected diagram type {kind!r}")
    return kind


def check_blocks(markdown: str) -> list[str]:
    """Check every ```mermaid block of ``markdown``; their kinds, in order."""
    return [check(m.group(1)) for m in FENCE.finditer(markdown)]
