"""Mermaid charts for job summaries (GitHub renders a ```` ```mermaid ```` block as a chart).

Kept small enough to read at 2,000 apps: each chart shows the top :data:`TOP` items and
says in one line below it how many more there are. Only a small subset of Mermaid is
written (``gantt`` and ``xychart-beta``), and every name in it is reduced to characters
that need no escaping there (tests/support/mermaid_check.py holds the grammar; the tests
also run Mermaid's own parser on every chart, tests/support/mermaid_parse.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from gitops_promote.plan.metrics import nearest_rank

if TYPE_CHECKING:
    from gitops_promote.plan.metrics import Metrics
    from gitops_promote.plan.soak import Decision
    from gitops_promote.report.records import StatusRow as Row

TOP: Final = 10
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9 ._/+-]")
_DATE: Final = "%Y-%m-%d %H:%M"
# What Mermaid's gantt lexer reads as a keyword at the start of a line, before it would
# read a task name (case-insensitive): a task named ``title`` or ``section x`` would become
# the chart's title or a section, ``click``, ``gantt-app`` or ``2026-01-01-x`` a parse error.
_GANTT_KEYWORD: Final = re.compile(
    r"(?:click|call|title|section|dateformat|axisformat|tickinterval|includes|excludes"
    r"|todaymarker|accdescription)\s|(?:gantt|inclusiveenddates|topaxis)\b"
    r"|week(?:day|end)\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day\b"
    r"|\d{4}-\d{2}-\d{2}\b",
    re.I,
)


def name(text: str, limit: int = 40) -> str:
    """A label safe in a gantt task, section or quoted axis label: letters, digits, space
    and ``._/+-`` (anything else becomes ``-``), at most ``limit`` characters."""
    safe = _UNSAFE.sub("-", text).strip() or "-"
    return safe if len(safe) <= limit else safe[: limit - 1] + "-"


def task_name(text: str) -> str:
    """:func:`name` for a gantt task, with a ``-`` before it where Mermaid would read it as
    a keyword (``title``, ``section x``, ``click``, ``gantt-app``, ``2026-01-01-x``...)."""
    safe = name(text)
    return name("-" + safe) if _GANTT_KEYWORD.match(safe + " ") else safe


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_DATE)


def block(lines: Sequence[str], rest: str = "") -> str:
    """A fenced mermaid block, then the line about what it left out (if any)."""
    text = "```mermaid\n" + "\n".join(lines) + "\n```\n"
    return text + (f"\n{rest}\n" if rest else "")


def _more(left_out: int, what: str) -> str:
    return f"_and {left_out} more {what} not charted_" if left_out > 0 else ""


def gantt(
    title: str, sections: Sequence[tuple[str, Sequence[tuple[str, datetime, datetime]]]]
) -> list[str]:
    """``gantt`` lines: one section per (name, tasks), tasks as (label, start, end) in UTC."""
    lines = ["gantt", f"    title {name(title, 80)}", "    dateFormat YYYY-MM-DD HH:mm"]
    lines.append("    axisFormat %m-%d")
    for section, tasks in sections:
        lines.append(f"    section {name(section)}")
        for label, start, stop in tasks:
            end = max(stop, start + timedelta(minutes=1))
            lines.append(f"    {task_name(label)} : {_when(start)}, {_when(end)}")
    return lines


def bars(title: str, axis: str, items: Sequence[tuple[str, float]]) -> list[str]:
    """``xychart-beta`` bar chart lines of (label, value)."""
    labels = ", ".join(f'"{name(label, 24)}"' for label, _ in items)
    values = ", ".join(f"{round(v, 1):g}" for _, v in items)
    top = max((v for _, v in items), default=0.0)
    return [
        "xychart-beta",
        f'    title "{name(title, 80)}"',
        f"    x-axis [{labels}]",
        f'    y-axis "{name(axis)}" 0 --> {max(1, round(top * 1.1 + 0.5))}',
        f"    bar [{values}]",
    ]


def metrics_charts(m: Metrics, top: int = TOP) -> str:
    """Lead-time bars (the slowest apps by median lead time), deployments per environment,
    and a gantt of the most recent artifacts that reached their last environment."""
    parts: list[str] = []
    freq = [(f.env, float(f.deployments)) for f in m.frequency]
    if freq:
        parts.append(block(bars("Deployments per environment", "deployments", freq)))
    by_app: dict[str, list[float]] = {}
    for lead in m.lead_times:
        by_app.setdefault(lead.app, []).append(lead.hours)

    medians = sorted(
        ((app, nearest_rank(hours, 50) or 0.0) for app, hours in by_app.items()),
        key=lambda t: (-t[1], t[0]),
    )
    if medians:
        shown = medians[:top]
        parts.append(
            block(
                bars(f"Median lead time in hours of the slowest {len(shown)}", "hours", shown),
                _more(len(medians) - len(shown), "apps"),
            )
        )
    recent = list(reversed(m.lead_times))[:top]
    if recent:
        sections = []
        for lead in recent:
            label = f"{lead.app} {lead.artifact.removeprefix('sha256:')[:12]}"
            sections.append((label, [("to " + lead.last.env, lead.first.date, lead.last.date)]))
        parts.append(
            block(
                gantt("Recent promotions from first to last environment", sections),
                _more(len(m.lead_times) - len(recent), "promotions"),
            )
        )
    return "\n".join(parts)


def status_chart(rows: Sequence[Row], now: datetime, top: int = TOP) -> str:
    """A gantt of the most recent pins: each env's newest :data:`TOP`, since when they run."""
    dated = [(r, r.since) for r in rows if r.since is not None]
    dated.sort(key=lambda t: t[1], reverse=True)
    if not dated:
        return ""
    sections: dict[str, list[tuple[str, datetime, datetime]]] = {}
    shown = 0
    for row, since in dated:
        tasks = sections.setdefault(row.env, [])
        if len(tasks) < top:
            tasks.append((row.app, since, max(now, since)))
            shown += 1
    return block(
        gantt("Newest pins and how long they have run", list(sections.items())),
        _more(len(dated) - shown, "pins"),
    )


def soak_chart(decisions: Sequence[Decision], now: datetime, top: int = TOP) -> str:
    """A gantt of the targets soaking: from when the candidate ran upstream to when it may
    go (soak end, past any freeze), the :data:`TOP` that open soonest."""
    waiting = sorted(
        (d for d in decisions if d.ready_at is not None and d.candidate_since is not None),
        key=lambda d: (d.frozen_until or d.ready_at or now, d.env, d.app),
    )
    if not waiting:
        return ""
    sections: dict[str, list[tuple[str, datetime, datetime]]] = {}
    for d in waiting[:top]:
        if d.candidate_since is not None and d.ready_at is not None:
            end = max(d.ready_at, d.frozen_until or d.ready_at)
            sections.setdefault(d.env, []).append((d.app, d.candidate_since.date, end))
    return block(
        gantt("Soaking until each may go", list(sections.items())),
        _more(len(waiting) - top, "targets"),
    )
