"""Render a :class:`~gitops_promote.plan.gates.evaluate.CheckResult` as markdown: the job
summary (gates x targets) and the PR comment (the promotion plan), each within its size
budget, saying what was left out.

Every path, name, tag, message and diff line comes from the pull request: each is escaped
for where it lands (:mod:`gitops_promote.adapters.escape`), so nothing in a PR can close a
code span, a table cell or the diff fence, or open raw HTML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gitops_promote.adapters.actions import SUMMARY_BUDGET
from gitops_promote.adapters.escape import html_code, md_code, md_fence, md_text
from gitops_promote.adapters.mdfit import Section, fit, utf8_bytes
from gitops_promote.config.durations import format_duration, format_instant
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.plan.gates.freeze import display_zone
from gitops_promote.report.check.text import location, ref_text, short_sha, when
from gitops_promote.report.table import md_table

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


def _soak_text(target: TargetPlan) -> str:
    soak = target.soak
    if soak is None:
        return "—"
    if soak.since is None:
        return "not started (not on the base branch upstream yet)"
    if soak.met:
        return f"met ({format_duration(soak.elapsed)})"
    left = format_duration(soak.remaining) if soak.remaining is not None else "?"
    return f"{left} left (met {when(soak.ready_at)})"


def _freeze_text(target: TargetPlan) -> str:
    if target.frozen_until is not None:
        return f"frozen until {when(target.frozen_until)}"
    if target.next_freeze is not None:
        upcoming = target.next_freeze
        starts = format_instant(upcoming.started, display_zone(upcoming.window))
        return f"open; next '{upcoming.window.name}' {starts}"
    return "—"


def _ready_text(target: TargetPlan) -> str:
    if target.blocking and not all(r.gate in ("soak", "freeze") for r in target.blocking):
        return "blocked (see failures)"
    if target.ready_at is not None:
        return when(target.ready_at)
    if target.soak is not None and target.soak.since is None:
        return "after the upstream promotion soaks"
    return "now" if not target.blocking else "—"


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
        (
            f"{md_code(t.app, cell=True)} → {md_code(t.env, cell=True)}",
            *(_icon([r for r in t.results if r.gate == g]) for g in gates),
        )
        for t in result.targets
    ]
    return md_table(("Target", *(md_text(g) for g in gates)), rows)


def plan_cells(target: TargetPlan) -> tuple[str, str, str]:
    """The soak, freeze and earliest-merge cells of a target's plan row, as plain text (what
    a sharded check's verdict carries for the fan-in to write the comment with)."""
    return _soak_text(target), _freeze_text(target), _ready_text(target)


def plan_table(result: CheckResult, cells: Sequence[tuple[str, str, str]] | None = None) -> str:
    """The plan, one row per target; ``cells``: each target's :func:`plan_cells` when
    they come from elsewhere (a sharded check's verdicts), else computed."""
    header = ("App", "Environment", "From", "To", "Soak", "Freeze", "Earliest merge")
    plans = cells if cells is not None else [plan_cells(t) for t in result.targets]
    rows = [
        (
            md_code(t.app, cell=True),
            md_code(t.env, cell=True),
            md_text(ref_text(t.old)) if t.pin_changed else "(edit)",
            md_text(ref_text(t.new)) if t.pin_changed else "(edit)",
            *(md_text(cell) for cell in plan),
        )
        for t, plan in zip(result.targets, plans, strict=True)
    ]
    return md_table(header, rows)


def _gate_line(r: GateResult) -> str:
    icon = "❌" if r.blocking else "🔓" if r.overridden else "⚠️"
    where = location(r.file, r.line)
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
        f"{md_code(result.base_ref or 'base')} @ `{short_sha(result.base)}` ← "
        f"`{short_sha(result.head)}` · {len(result.changed_files)} file(s) changed"
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


def comment(
    result: CheckResult,
    budget: int = MAX_COMMENT,
    cells: Sequence[tuple[str, str, str]] | None = None,
) -> str:
    """The PR comment: the promotion plan (soak left, freeze ending and the next one, the
    earliest merge), what failed, rendered diffs (collapsed when long). At most ``budget``
    characters (GitHub refuses a comment over 65,536), saying what was left out; the
    hidden marker lets the next run update it in place."""
    icon = "✅" if result.passed else "❌"
    head = (
        f"{COMMENT_MARKER}\n"
        f"## {icon} Promotion plan: check {'passed' if result.passed else 'failed'}\n\n"
        f"Base {md_code(result.base_ref or 'base')} @ `{short_sha(result.base)}`, head "
        f"`{short_sha(result.head)}`, checked {when(result.now)}."
    )
    plan = (
        _table(plan_table(result, cells), "target(s)", 2)
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
