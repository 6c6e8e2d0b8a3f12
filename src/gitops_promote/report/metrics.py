"""``metrics`` output: text, JSON and markdown of :class:`gitops_promote.plan.metrics.Metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gitops_promote.adapters.escape import md_text
from gitops_promote.facts.deployments import Deployment
from gitops_promote.plan.metrics import Metrics, Spread
from gitops_promote.report import mermaid


def _hours(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 72:
        return f"{value / 24:.1f}d"
    return f"{value:.1f}h"


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _rate(m: Metrics) -> str:
    rate = m.change_failure_rate
    share = f"{rate * 100:.1f}%" if rate is not None else "-"
    return f"{share} ({len(m.failures)} of {m.changes})"


def _spread(s: Spread) -> str:
    return f"median {_hours(s.median)}, p90 {_hours(s.p90)} ({s.count})"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def text(m: Metrics) -> str:
    lines = [f"metrics from {_day(m.since)} to {_day(m.until)}, {m.apps} apps"]
    lines.append("")
    lines.append("deployment frequency")
    lines += [
        "  " + line
        for line in _table(
            ("ENV", "DEPLOYMENTS", "PER DAY", "PER WEEK"),
            [
                (f.env, str(f.deployments), f"{f.per_day:.2f}", f"{f.per_week:.1f}")
                for f in m.frequency
            ],
        )
    ]
    lines.append("")
    lines.append(f"lead time (first to last environment): {_spread(m.lead_time)}")
    if m.stages:
        lines.append("")
        lines.append("time waiting per stage (median / p90)")
        lines += [
            "  " + line
            for line in _table(
                ("STAGE", "ARTIFACTS", "TOTAL", "SOAK", "FREEZE", "REVIEW"),
                [
                    (
                        f"{s.upstream} -> {s.env}",
                        str(s.total.count),
                        f"{_hours(s.total.median)} / {_hours(s.total.p90)}",
                        f"{_hours(s.soak.median)} / {_hours(s.soak.p90)}",
                        f"{_hours(s.freeze.median)} / {_hours(s.freeze.p90)}",
                        f"{_hours(s.review.median)} / {_hours(s.review.p90)}",
                    )
                    for s in m.stages
                ],
            )
        ]
    lines.append("")
    lines.append(f"change failure rate: {_rate(m)}")
    lines.append(f"time to restore: {_spread(m.time_to_restore)}")
    for r in m.restores:
        lines.append(
            f"  {r.restore.app} in {r.restore.env}: {_short(r.failure)} failed "
            f"{_day(r.failure.date)}, restored {_day(r.restore.date)} ({_hours(r.hours)})"
        )
    return "\n".join(lines)


def _short(d: Deployment) -> str:
    return d.new.digest[:19] if d.new.digest else str(d.new)


def _spread_json(s: Spread) -> dict[str, Any]:
    return {"count": s.count, "median-hours": s.median, "p90-hours": s.p90}


def _deployment_json(d: Deployment) -> dict[str, Any]:
    return {
        "app": d.app,
        "env": d.env,
        "commit": d.commit,
        "date": d.date.astimezone(UTC).isoformat(),
        "from": str(d.old) if d.old else None,
        "to": str(d.new),
        "pr-number": d.pr,
    }


def to_json(m: Metrics) -> dict[str, Any]:
    return {
        "since": m.since.astimezone(UTC).isoformat(),
        "until": m.until.astimezone(UTC).isoformat(),
        "apps": m.apps,
        "deployment-frequency": [
            {
                "env": f.env,
                "deployments": f.deployments,
                "per-day": round(f.per_day, 4),
                "per-week": round(f.per_week, 4),
            }
            for f in m.frequency
        ],
        "lead-time": {
            **_spread_json(m.lead_time),
            "artifacts": [
                {
                    "app": t.app,
                    "artifact": t.artifact,
                    "first-env": t.first.env,
                    "first-at": t.first.date.astimezone(UTC).isoformat(),
                    "last-env": t.last.env,
                    "last-at": t.last.date.astimezone(UTC).isoformat(),
                    "hours": round(t.hours, 4),
                }
                for t in m.lead_times
            ],
        },
        "stages": [
            {
                "env": s.env,
                "from": s.upstream,
                "total": _spread_json(s.total),
                "soak": _spread_json(s.soak),
                "freeze": _spread_json(s.freeze),
                "review": _spread_json(s.review),
            }
            for s in m.stages
        ],
        "change-failure-rate": {
            "rate": m.change_failure_rate,
            "failures": len(m.failures),
            "deployments": m.changes,
        },
        "time-to-restore": {
            **_spread_json(m.time_to_restore),
            "restores": [
                {
                    "failure": _deployment_json(r.failure),
                    "restore": _deployment_json(r.restore),
                    "hours": round(r.hours, 4),
                }
                for r in m.restores
            ],
        },
    }


def markdown(m: Metrics, *, charts: bool = True) -> str:
    lines = [
        f"### Delivery metrics, {_day(m.since)} to {_day(m.until)}",
        "",
        f"{m.apps} apps. Definitions: docs/metrics.md.",
        "",
        "| Environment | Deployments | Per day | Per week |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {md_text(f.env)} | {f.deployments} | {f.per_day:.2f} | {f.per_week:.1f} |"
        for f in m.frequency
    ]
    lines += [
        "",
        "| Metric | Value |",
        "| --- | --- |",
        f"| Lead time, first to last environment | {_spread(m.lead_time)} |",
        f"| Change failure rate | {_rate(m)} |",
        f"| Time to restore | {_spread(m.time_to_restore)} |",
    ]
    if m.stages:
        lines += [
            "",
            "| Stage | Artifacts | Waiting | Soak | Freeze | Review |",
            "| --- | ---: | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {md_text(s.upstream)} → {md_text(s.env)} | {s.total.count} | "
            f"{_hours(s.total.median)} / {_hours(s.total.p90)} | "
            f"{_hours(s.soak.median)} / {_hours(s.soak.p90)} | "
            f"{_hours(s.freeze.median)} / {_hours(s.freeze.p90)} | "
            f"{_hours(s.review.median)} / {_hours(s.review.p90)} |"
            for s in m.stages
        ]
        lines.append("")
        lines.append("_Waiting: median / p90._")
    text = "\n".join(lines) + "\n"
    if charts:
        chart = mermaid.metrics_charts(m)
        if chart:
            text += "\n" + chart
    return text
