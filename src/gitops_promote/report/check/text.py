"""Render a :class:`~gitops_promote.plan.gates.evaluate.CheckResult` for a terminal, as JSON,
as Actions outputs and as annotations; the phrases the markdown shares (:mod:`.markdown`).

Every path, name, tag and message comes from the pull request: each is escaped for where it
lands (:mod:`gitops_promote.adapters.escape`), so nothing in a PR can print a workflow
command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitops_promote.adapters.actions import Level
from gitops_promote.adapters.escape import log, log_lines
from gitops_promote.config.durations import format_duration, format_instant, format_iso
from gitops_promote.config.model import Config
from gitops_promote.images import ImageRef, describe
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.plan.gates.freeze import FOREVER
from gitops_promote.plan.schedule import cron_lines
from gitops_promote.report.promotion import fields_json, gate_json, pin_json


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    file: str | None
    line: int | None
    title: str


def ref_text(ref: ImageRef | None) -> str:
    return describe(ref, none="(not pinned)")


def _status(result: GateResult) -> str:
    if result.blocking:
        return "FAIL"
    if result.overridden:
        return "OVERRIDE"
    if not result.passed:
        return "WARN"
    return "ok"


def location(file: str | None, line: int | None) -> str:
    if not file:
        return ""
    return f"{file}:{line}" if line else file


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment == FOREVER:
        return "not within a year"
    return format_instant(moment)


def short_sha(sha: str) -> str:
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


# -- terminal ----------------------------------------------------------------------------------


def text(result: CheckResult) -> str:
    lines = [
        f"gitops-promote check: {log(result.base_ref or 'base')} {short_sha(result.base)} <- "
        f"{short_sha(result.head)}, {len(result.changed_files)} file(s) changed"
    ]
    lines += [f"note: {log(n)}" for n in result.notes]
    seen: set[int] = set()
    for target in result.targets:
        change = (
            f"{log(ref_text(target.old))} -> {log(ref_text(target.new))}"
            if target.pin_changed
            else "overlay edited"
        )
        where = log(location(target.file, target.line))
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
            where = log(location(r.file, r.line))
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
    return format_iso(moment)


def target_json(target: TargetPlan) -> dict[str, Any]:
    soak = target.soak
    upcoming = target.next_freeze
    return {
        **pin_json(target.app, target.env, target.file, target.line, target.old, target.new),
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
        **fields_json(result, ("passed", "base", "head", "base_ref")),
        "now": _iso(result.now),
        "results": [gate_json(r) for r in result.results],
        "targets": [target_json(t) for t in result.targets],
        "unmapped": list(result.unmapped),
        "changed-files": list(result.changed_files),
        "notes": list(result.notes),
    }


def outputs(result: CheckResult) -> dict[str, str]:
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
