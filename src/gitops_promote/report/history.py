"""Render a :class:`~gitops_promote.report.records.HistoryReport`: the terminal table and
the JSON. Pure functions of the one record."""

from __future__ import annotations

from typing import Any

from gitops_promote.config.durations import format_iso, format_utc
from gitops_promote.facts.events import PinEvent
from gitops_promote.images import ref_column
from gitops_promote.report.records import HistoryReport
from gitops_promote.report.table import text_table


def event_json(event: PinEvent, repo_url: str | None) -> dict[str, Any]:
    return {
        "app": event.app,
        "env": event.env,
        "file": event.file,
        "commit": event.commit,
        "date": format_iso(event.date, utc=False),
        "author": event.author,
        "subject": event.subject,
        "from": str(event.old) if event.old else None,
        "to": str(event.new) if event.new else None,
        "from-digest": event.old.digest if event.old else None,
        "to-digest": event.new.digest if event.new else None,
        "pr-number": event.pr,
        "pr-url": f"{repo_url}/pull/{event.pr}" if repo_url and event.pr else None,
    }


def to_json(report: HistoryReport) -> list[dict[str, Any]]:
    return [event_json(e, report.repo_url) for e in report.events]


def table(report: HistoryReport) -> str:
    header = ("DATE", "ENV", "COMMIT", "AUTHOR", "PR", "FROM", "", "TO")
    rows = [
        (
            format_utc(e.date),
            e.env,
            e.commit[:12],
            e.author.split(" <", 1)[0],
            f"#{e.pr}" if e.pr else "-",
            ref_column(e.old),
            "->",
            ref_column(e.new),
        )
        for e in report.events
    ]
    return text_table(header, rows)


def text(report: HistoryReport) -> str:
    """What a person reads: a headline, then the table (newest first)."""
    where = ", ".join(report.envs)
    if not report.events:
        return f"{report.app} in {where}: no pin changes in the history of the base branch"
    n = len(report.events)
    count = f"{n} pin change{'s' if n != 1 else ''}"
    return f"{report.app} in {where}: {count}, newest first\n{table(report)}"
