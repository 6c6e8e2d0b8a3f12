"""What a soak run did, target by target: the record (:class:`Outcome`), and the text,
JSON and job-summary markdown of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitops_promote.adapters.escape import md_text
from gitops_promote.config.durations import format_iso, format_utc
from gitops_promote.images import ImageRef
from gitops_promote.plan.soak import Decision, show
from gitops_promote.report import promotion as report
from gitops_promote.report.records import PromotionResult


@dataclass(frozen=True)
class Outcome:
    """One target: the plan's decision and, when it was promoted, what delivery did."""

    decision: Decision
    result: PromotionResult | None = None
    error: str | None = None
    exit_code: int = 0

    @property
    def label(self) -> str:
        """What happened, in a word or two."""
        d = self.decision
        if self.error is not None:
            return "failed"
        if d.status != "promote":
            return {"up-to-date": "up to date", "proposed": "already proposed"}.get(
                d.status, d.status
            )
        if self.result is None:
            return "would promote"
        if self.result.operation == "unchanged":
            return "already proposed" if self.result.pr_number else "up to date"
        return {
            "pushed": "pushed",
            "committed": "committed",
            "pr-created": "opened PR",
            "pr-updated": "updated PR",
            "dry-run": "would promote",
        }[self.result.operation]


def _detail(o: Outcome) -> str:
    d, r = o.decision, o.result
    if o.error is not None:
        return f"{o.error.splitlines()[0]} ({d.source} runs {_show(d.candidate)})"
    if r is None:
        return d.reason
    if r.operation in ("pr-created", "pr-updated"):
        return f"#{r.pr_number} {r.pr_url or ''}; {d.reason}".replace(" ;", ";")
    if r.operation in ("pushed", "committed"):
        return f"{(r.commit or '')[:12]}; {d.reason}"
    if r.operation == "unchanged" and r.pr_number:
        return f"in #{r.pr_number}"
    return "; ".join((d.reason, *r.notes))


def _show(ref: ImageRef | None) -> str:
    return show(ref)


_ORDER = (
    "pushed",
    "committed",
    "opened PR",
    "updated PR",
    "would promote",
    "already proposed",
    "up to date",
    "waiting",
    "frozen",
    "blocked",
    "skipped",
    "failed",
)


def text(outcomes: Sequence[Outcome], now: datetime, dry_run: bool, notes: Sequence[str]) -> str:
    """What a person reads: one line per target, then the tally."""
    head = f"soak at {format_utc(now)}"
    if dry_run:
        head += " (dry run: nothing written)"
    if not outcomes:
        return f"{head}\nno environment has auto: true with from: for any app; nothing to do"
    rows = [(f"{o.decision.env}/{o.decision.app}", o.label, _detail(o)) for o in outcomes]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [head]
    lines += [f"  {a.ljust(w0)}  {b.ljust(w1)}  {c}" for a, b, c in rows]
    tally = dict.fromkeys(_ORDER, 0)
    for o in outcomes:
        tally[o.label] = tally.get(o.label, 0) + 1
    lines.append(", ".join(f"{n} {label}" for label, n in tally.items() if n))
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str | None:
    """An instant in JSON: ISO 8601 in UTC (None stays None)."""
    return format_iso(moment) if moment else None


def outcome_json(o: Outcome) -> dict[str, Any]:
    d, r = o.decision, o.result
    since = d.candidate_since
    return {
        "app": d.app,
        "env": d.env,
        "from": d.source,
        "status": d.status,
        "outcome": o.label,
        "reason": d.reason,
        "current": str(d.current) if d.current else None,
        "candidate": str(d.candidate) if d.candidate else None,
        "candidate-since": _iso(since.date) if since else None,
        "candidate-since-commit": since.commit if since else None,
        "soak-seconds": int(d.soak.total_seconds()) if d.soak else None,
        "ready-at": _iso(d.ready_at),
        "left-seconds": int(d.left.total_seconds()) if d.left is not None else None,
        "frozen-until": _iso(d.frozen_until),
        "window": d.window,
        "blocked-by": list(d.blocked_by),
        "pr-number": r.pr_number if r else (d.proposal.number if d.proposal else None),
        "pr-url": r.pr_url if r else (d.proposal.url if d.proposal else None),
        "operation": r.operation if r else None,
        "commit": r.commit if r else None,
        "error": o.error,
        "gates": [report.gate_json(g) for g in d.gates],
    }


def summary(outcomes: Sequence[Outcome], now: datetime, dry_run: bool) -> str:
    """Markdown for the job summary: one row per target."""
    title = "Soak run" + (" (dry run)" if dry_run else "")
    lines = [
        f"### {title} at {format_utc(now)}",
        "",
        "| Environment | App | Outcome | Details |",
        "| --- | --- | --- | --- |",
    ]
    for o in outcomes:
        lines.append(f"| {o.decision.env} | {o.decision.app} | {o.label} | {md_text(_detail(o))} |")
    return "\n".join(lines) + "\n"
