"""Render a :class:`~gitops_promote.plan.gates.evaluate.CheckResult`: terminal text, JSON,
annotations, the job summary and the PR comment. Pure functions of the one record.

Every path, name, tag, message and diff line comes from the pull request: each is
escaped for where it lands (:mod:`gitops_promote.adapters.escape`), so nothing in a PR can print a
workflow command, close a code span, a table cell or the diff fence, or open raw HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from gitops_promote.adapters.actions import SUMMARY_BUDGET, Level
from gitops_promote.adapters.escape import html_code, log, log_lines, md_code, md_fence, md_text
from gitops_promote.adapters.mdfit import Section, fit, utf8_bytes
from gitops_promote.config.durations import format_duration
from gitops_promote.config.model import Config
from gitops_promote.images import ImageRef, short_digest
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.plan.gates.freeze import FOREVER, display_zone, format_instant
from gitops_promote.plan.schedule import cron_lines
from gitops_promote.report.promotion import gate_json

COMMENT_MARKER: Final = "<!-- gitops-promote check -->"
GATE_ORDER: Final = (
    "freeze",
    "pinning",
    "upstream",
    "soak",
    "dependencies",
    "drift",
    "references",
    "limits",
    "render",
    "overlay",
)
MAX_COMMENT: Final = 60_000  # characters; GitHub refuses a comment over 65,536
DIFF_INLINE_LINES: Final = 25
DIFF_MAX_LINES: Final = 400


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    file: str | None
    line: int | None
    title: str


def _ref(ref: ImageRef | None) -> str:
    if ref is None:
        return "(not pinned)"
    if ref.digest:
        tag = f"{ref.tag}@" if ref.tag else ""
        return f"{tag}{short_digest(ref.digest)}…"
    return f"{ref.tag} (tag only)" if ref.tag else f"{ref.name} (no tag)"


def _status(result: GateResult) -> str:
    if result.blocking:
        return "FAIL"
    if result.overridden:
        return "OVERRIDE"
    if not result.passed:
        return "WARN"
    return "ok"


def _where(file: str | None, line: int | None) -> str:
    if not file:
        return ""
    return f"{file}:{line}" if line else file


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment == FOREVER:
        return "not within a year"
    return format_instant(moment)


def _short(sha: str) -> str:
    return sha[:7] if sha else "?"


def headline(result: CheckResult) -> str:
    verdict = "passed" if result.passed else "FAILED"
    failed = len(result.blocking)
    warned = len(result.warnings)
    parts = []
    if failed:
        parts.append(f"{failed} gate(s) failed")
    if warned:
        parts.append(f"{warned} warning(s)")
    if not result.targets and not result.results:
        parts.append("nothing to check: no environment changes")
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"check {verdict}{detail}"


def _soak_text(target: TargetPlan) -> str:
    soak = target.soak
    if soak is None:
        return "—"
    if soak.since is None:
        return "not started (not on the base branch upstream yet)"
    if soak.met:
        return f"met ({format_duration(soak.elapsed)})"
    left = format_duration(soak.remaining) if soak.remaining is not None else "?"
    return f"{left} left (met {_when(soak.ready_at)})"


def _freeze_text(target: TargetPlan) -> str:
    if target.frozen_until is not None:
        return f"frozen until {_when(target.frozen_until)}"
    if target.next_freeze is not None:
        upcoming = target.next_freeze
        starts = format_instant(upcoming.started, display_zone(upcoming.window))
        return f"open; next '{upcoming.window.name}' {starts}"
    return "—"


def _ready_text(target: TargetPlan) -> str:
    if target.blocking and not all(r.gate in ("soak", "freeze") for r in target.blocking):
        return "blocked (see failures)"
    if target.ready_at is not None:
        return _when(target.ready_at)
    if target.soak is not None and target.soak.since is None:
        return "after the upstream promotion soaks"
    return "now" if not target.blocking else "—"


# -- terminal ----------------------------------------------------------------------------------


def text(result: CheckResult) -> str:
    lines = [
        f"gitops-promote check: {log(result.base_ref or 'base')} {_short(result.base)} <- "
        f"{_short(result.head)}, {len(result.changed_files)} file(s) changed"
    ]
    lines += [f"note: {log(n)}" for n in result.notes]
    seen: set[int] = set()
    for target in result.targets:
        change = (
            f"{log(_ref(target.old))} -> {log(_ref(target.new))}"
            if target.pin_changed
            else "overlay edited"
        )
        where = log(_where(target.file, target.line))
        lines.append("")
        lines.append(
            f"{log(target.app)} in {log(target.env)}: {change}" + (f"  [{where}]" if where else "")
        )
        for r in target.results:
            seen.add(id(r))
            lines.append(f"  {_status(r):<8} {log(r.gate):<13} {log(r.message)}")
    rest = [r for r in result.results if id(r) not in seen]
    if rest:
        lines += ["", "repository:"]
        for r in rest:
            where = log(_where(r.file, r.line))
            lines.append(
                f"  {_status(r):<8} {log(r.gate):<13} {log(r.message)}"
                + (f"  [{where}]" if where else "")
            )
    if result.unmapped:
        unmapped = ", ".join(log(p) for p in result.unmapped)
        lines += ["", f"changed files outside every environment: {unmapped}"]
    for target in result.targets:
        if target.drift:
            lines += [
                "",
                f"rendered differences, {log(target.app)}: {log(target.env)} vs its upstream:",
            ]
            lines += [f"  {line}" for line in log_lines(target.drift.rstrip("\n")).split("\n")]
    lines += ["", headline(result)]
    return "\n".join(lines)


# -- JSON --------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None or moment == FOREVER:
        return None
    return moment.astimezone(UTC).isoformat()


def target_json(target: TargetPlan) -> dict[str, Any]:
    soak = target.soak
    upcoming = target.next_freeze
    return {
        "app": target.app,
        "env": target.env,
        "file": target.file,
        "line": target.line,
        "from": str(target.old) if target.old else None,
        "to": str(target.new) if target.new else None,
        "pin-changed": target.pin_changed,
        "passed": not target.blocking,
        "edits": [
            {"file": e.file, "line": e.line, "kind": e.kind, "via": e.via} for e in target.edits
        ],
        "soak": None
        if soak is None
        else {
            "required": format_duration(soak.required, exact=True),
            "elapsed": format_duration(soak.elapsed, exact=True),
            "met": soak.met,
            "since": _iso(soak.since.date) if soak.since else None,
            "since-commit": soak.since.commit if soak.since else None,
            "met-at": _iso(soak.ready_at),
        },
        "frozen-until": _iso(target.frozen_until),
        "next-freeze": None
        if upcoming is None
        else {
            "name": upcoming.window.name,
            "starts": _iso(upcoming.started),
            "ends": _iso(upcoming.ends),
        },
        "ready-at": _iso(target.ready_at),
        "drift": target.drift or None,
    }


def to_json(result: CheckResult) -> dict[str, Any]:
    return {
        "passed": result.passed,
        "base": result.base,
        "head": result.head,
        "base-ref": result.base_ref,
        "now": _iso(result.now),
        "results": [gate_json(r) for r in result.results],
        "targets": [target_json(t) for t in result.targets],
        "unmapped": list(result.unmapped),
        "changed-files": list(result.changed_files),
        "notes": list(result.notes),
    }


def outputs(result: CheckResult) -> dict[str, str]:
    import json  # noqa: PLC0415

    return {
        "passed": "true" if result.passed else "false",
        "failed-gates": json.dumps(
            [gate_json(r) for r in result.blocking], sort_keys=True, separators=(",", ":")
        ),
    }


# -- annotations -----------------------------------------------------------------------------


def annotations_of(result: CheckResult) -> list[Annotation]:
    """One annotation per failed, warned or overridden gate, on the line it is about."""
    out: list[Annotation] = []
    for r in result.results:
        if r.passed and not r.overridden:
            continue
        level: Level = "error" if r.blocking else "warning"
        who = " ".join(x for x in (r.app, f"in {r.env}" if r.env else None) if x)
        title = f"{r.gate}: {who}" if who else r.gate
        out.append(Annotation(level, r.message, r.file, r.line, title))
    return out


# -- markdown ----------------------------------------------------------------------------------


def _icon(results: list[GateResult]) -> str:
    if not results:
        return "—"
    if any(r.blocking for r in results):
        return "❌"
    if any(r.overridden for r in results):
        return "🔓"
    if any(not r.passed for r in results):
        return "⚠️"
    return "✅"


def gate_table(result: CheckResult) -> str:
    """Gates x targets: ✅ passed, ❌ failed, ⚠️ warning, 🔓 break-glass, — not applicable."""
    gates = [g for g in GATE_ORDER if any(r.gate == g for t in result.targets for r in t.results)]
    gates += sorted({r.gate for t in result.targets for r in t.results} - set(gates))
    if not result.targets:
        return ""
    rows = [
        "| Target | " + " | ".join(md_text(g) for g in gates) + " |",
        "| --- | " + " | ".join("---" for _ in gates) + " |",
    ]
    for t in result.targets:
        cells = [_icon([r for r in t.results if r.gate == g]) for g in gates]
        target = f"{md_code(t.app, cell=True)} → {md_code(t.env, cell=True)}"
        rows.append(f"| {target} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plan_table(result: CheckResult) -> str:
    rows = [
        "| App | Environment | From | To | Soak | Freeze | Earliest merge |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in result.targets:
        old = md_text(_ref(t.old)) if t.pin_changed else "(edit)"
        new = md_text(_ref(t.new)) if t.pin_changed else "(edit)"
        rows.append(
            f"| {md_code(t.app, cell=True)} | {md_code(t.env, cell=True)} | {old} | {new} | "
            f"{md_text(_soak_text(t))} | {md_text(_freeze_text(t))} | {md_text(_ready_text(t))} |"
        )
    return "\n".join(rows)


def _gate_line(r: GateResult) -> str:
    icon = "❌" if r.blocking else "🔓" if r.overridden else "⚠️"
    where = _where(r.file, r.line)
    return f"- {icon} **{md_text(r.gate)}**{_who(r)}: {md_text(r.message)}" + (
        f" ({md_code(where)})" if where else ""
    )


def _listing(result: CheckResult) -> list[Section]:
    """What failed (first to be kept) and what warned, one list item per gate result."""
    return [
        Section(
            tuple(_gate_line(r) for r in result.blocking),
            head="**Failed**\n\n",
            unit="failure(s)",
            priority=1,
        ),
        Section(
            tuple(_gate_line(r) for r in result.warnings),
            head="**Warnings**\n\n",
            unit="warning(s)",
            priority=3,
        ),
    ]


def _who(r: GateResult) -> str:
    if r.app and r.env:
        return f" {md_code(r.app)} → {md_code(r.env)}"
    if r.env:
        return f" {md_code(r.env)}"
    return ""


def _notes(result: CheckResult) -> Section:
    return Section(tuple(f"> {md_text(n)}" for n in result.notes), unit="note(s)", priority=1)


def _unmapped(result: CheckResult) -> Section:
    return Section(
        tuple(md_code(p) for p in result.unmapped),
        head="Changed outside every environment: ",
        sep=", ",
        unit="changed file(s) outside every environment",
        priority=3,
    )


def _table(text: str, unit: str, priority: int) -> Section:
    """A markdown table whose rows may be cut (its header stays with the first row)."""
    if not text:
        return Section(())
    header, rule, *rows = text.split("\n")
    return Section(tuple(rows), head=f"{header}\n{rule}\n", unit=unit, priority=priority)


def _diff_block(target: TargetPlan, *, collapse_over: int) -> Section:
    """The rendered diff of one target in a fence (inside ``<details>`` when longer than
    ``collapse_over`` lines): cut between two lines, the fence and details still close."""
    lines = target.drift.rstrip("\n").splitlines()
    cut = len(lines) - DIFF_MAX_LINES
    if cut > 0:
        lines = [*lines[:DIFF_MAX_LINES], f"... {cut} more line(s) (see the job log)"]
    opening, *body, closing = md_fence("\n".join(lines), "diff")
    if len(lines) > collapse_over:
        title = (
            f"Rendered differences: {html_code(target.app)} in {html_code(target.env)} "
            f"vs its upstream ({len(lines)} lines)"
        )
        head = f"<details>\n<summary>{title}</summary>\n\n{opening}\n"
        tail = f"\n{closing}\n\n</details>"
    else:
        title = (
            f"Rendered differences: {md_code(target.app)} in {md_code(target.env)} "
            f"vs its upstream ({len(lines)} lines)"
        )
        head = f"**{title}**\n\n{opening}\n"
        tail = f"\n{closing}"
    return Section(
        tuple(body), head=head, tail=tail, unit="diff line(s)", whole="rendered diff(s)", priority=4
    )


def summary(result: CheckResult, budget: int = SUMMARY_BUDGET) -> str:
    """Markdown for the job summary: verdict, what failed, the gates x targets table, the
    rendered diffs; at most ``budget`` bytes (UTF-8), saying what was left out."""
    icon = "✅" if result.passed else "❌"
    head = (
        f"### {icon} Promotion check {'passed' if result.passed else 'failed'}\n\n"
        f"{md_code(result.base_ref or 'base')} @ `{_short(result.base)}` ← "
        f"`{_short(result.head)}` · {len(result.changed_files)} file(s) changed"
    )
    sections = [
        Section((head,), keep=True),
        _notes(result),
        _table(gate_table(result), "target(s)", 2),
        *_listing(result),
        _unmapped(result),
        *(_diff_block(t, collapse_over=0) for t in result.targets if t.drift),
    ]
    return fit(sections, budget - 1, measure=utf8_bytes) + "\n"


def comment(result: CheckResult, budget: int = MAX_COMMENT) -> str:
    """The PR comment: the promotion plan (soak left, freeze ending and the next one, the
    earliest merge), what failed, rendered diffs (collapsed when long). At most ``budget``
    characters (GitHub refuses a comment over 65,536), saying what was left out; the
    hidden marker lets the next run update it in place."""
    icon = "✅" if result.passed else "❌"
    head = (
        f"{COMMENT_MARKER}\n"
        f"## {icon} Promotion plan: check {'passed' if result.passed else 'failed'}\n\n"
        f"Base {md_code(result.base_ref or 'base')} @ `{_short(result.base)}`, head "
        f"`{_short(result.head)}`, checked {_when(result.now)}."
    )
    plan = (
        _table(plan_table(result), "target(s)", 2)
        if result.targets
        else Section(("No environment changes in this pull request.",), priority=2)
    )
    sections = [
        Section((head,), keep=True),
        _notes(result),
        plan,
        *_listing(result),
        _unmapped(result),
        *(_diff_block(t, collapse_over=DIFF_INLINE_LINES) for t in result.targets if t.drift),
        Section(
            ("<sub>Updated by gitops-promote on every push and label change.</sub>",), keep=True
        ),
    ]
    return fit(sections, budget - 1, see="the job summary and the job log") + "\n"


def cron_text(config: Config, now: datetime) -> str:
    """``recheck --print-cron``: the schedule lines to paste under ``on: schedule:``."""
    out = [
        "# on: schedule: for `gitops-promote recheck` (UTC): every 15 minutes, and right after",
        "# each freeze window opens or closes (boundaries on a quarter hour need no line of",
        "# their own). Print again when the freeze windows change.",
    ]
    for line, names in cron_lines(config, now):
        note = f" # {', '.join(names)}" if names else ""
        out.append(f'- cron: "{line}"{note}')
    return "\n".join(out)


__all__ = [
    "COMMENT_MARKER",
    "Annotation",
    "annotations_of",
    "comment",
    "cron_text",
    "gate_table",
    "headline",
    "outputs",
    "plan_table",
    "summary",
    "target_json",
    "text",
    "to_json",
]
