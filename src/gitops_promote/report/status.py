"""Status of every app x env: the pinned reference and since when (from the state file,
else git history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from gitops_promote.adapters.escape import md_code, md_text
from gitops_promote.adapters.git import Repo
from gitops_promote.config.durations import format_iso, format_utc
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts import since as since_when
from gitops_promote.images import ImageRef, short_digest
from gitops_promote.report import live as livecell
from gitops_promote.report import mermaid
from gitops_promote.report.records import StatusReport
from gitops_promote.report.records import StatusRow as Row
from gitops_promote.report.table import md_table, text_table


def gather(
    repo: Repo,
    config: Config,
    targets: Sequence[tuple[App, Environment]],
    *,
    rev: str | None = None,
    notes: list[str] | None = None,
) -> list[Row]:
    """Since when from the state file where the commit list confirms it (its commit is on
    the branch, its since that commit's time: no tree is read; what that trusts is in
    :mod:`gitops_promote.facts.statesince`), else one history pass for the other targets
    (``notes``, when given, gets a line per state-file entry git refused); the working
    tree (or, in a fresh clone, the tree of ``rev``: see
    :func:`gitops_promote.facts.pins.current`) says what is pinned now
    (:func:`gitops_promote.facts.since.read`)."""
    held = since_when.read(repo, config, targets, rev=rev, proof=False)
    if notes is not None:
        notes += held.notes
    rows: list[Row] = []
    for app, env in targets:
        now = held.current[(app.name, env.name)]
        if now.error is not None:
            rows.append(
                Row(app.name, env.name, None, None, None, None, now.error.message, broken=True)
            )
            continue
        ref = now.ref
        since = held.held_since((app.name, env.name)) if ref else None
        rows.append(
            Row(
                app.name,
                env.name,
                now.file,
                ref,
                since.commit if since else None,
                since.date if since else None,
                None if ref else "image not pinned",
            )
        )
    return rows


def _when(moment: datetime | None) -> str:
    return format_utc(moment) if moment else "-"


def _pin(ref: ImageRef | None) -> tuple[str, str]:
    if ref is None:
        return "-", "-"
    return ref.tag or "-", short_digest(ref.digest) if ref.digest else "-"


BROKEN: Final = "(broken: see the error)"


def broken(report: StatusReport) -> list[str]:
    """Why each broken overlay cannot be read, one line each (each names its file)."""
    return [
        r.problem or f"the overlay of {r.app} in {r.env} cannot be read"
        for r in report.rows
        if r.broken
    ]


def _live(report: StatusReport, row: Row) -> tuple[str, ...]:
    """The live cell of ``row`` under ``status --live`` (none without it)."""
    if report.live is None:
        return ()
    return (livecell.cell(report.live.get((row.app, row.env))),)


def table(report: StatusReport) -> str:
    header = ("APP", "ENV", "TAG", "DIGEST", "SINCE", "COMMIT") + (
        ("LIVE",) if report.live is not None else ()
    )
    body: list[tuple[str, ...]] = []
    for r in report.rows:
        tag, digest = _pin(r.ref)
        live = _live(report, r)
        if r.broken:
            body.append((r.app, r.env, "-", BROKEN, "-", "-", *live))
            continue
        if r.problem and r.ref is None:
            body.append((r.app, r.env, "-", f"({r.problem})", "-", "-", *live))
            continue
        body.append(
            (r.app, r.env, tag, digest, _when(r.since), (r.since_commit or "-")[:12], *live)
        )
    return text_table(header, body)


def _cell(text: str) -> str:
    return text if text == "-" else md_text(text)


def markdown(report: StatusReport) -> str:
    """The status table for the job summary: every value escaped for its cell (names and
    tags are validated, but the table is only as safe as its least checked value)."""
    body: list[tuple[str, ...]] = []
    for r in report.rows:
        tag, digest = _pin(r.ref)
        shown = _cell(BROKEN) if r.broken else md_code(digest, cell=True)
        commit = _cell((r.since_commit or "-")[:12])
        live = tuple(_cell(c) for c in _live(report, r))
        body.append((_cell(r.app), _cell(r.env), _cell(tag), shown, _when(r.since), commit, *live))
    header = ("App", "Env", "Tag", "Digest", "Since", "Commit")
    return md_table(header + (("Live",) if report.live is not None else ()), body)


def to_json(report: StatusReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "app": r.app,
            "env": r.env,
            "file": r.file,
            "image": str(r.ref) if r.ref else None,
            "tag": r.ref.tag if r.ref else None,
            "digest": r.ref.digest if r.ref else None,
            "since": format_iso(r.since, utc=False) if r.since else None,
            "since-commit": r.since_commit,
            "problem": r.problem,
        }
        for r in report.rows
    ]
    if report.live is not None:
        live = report.live
        for row, r in zip(rows, report.rows, strict=True):
            row["live"] = livecell.as_json(live.get((r.app, r.env)))
    return rows


def chart(rows: Sequence[Row]) -> str:
    """The job summary's Mermaid chart of the newest pins (see :mod:`.mermaid`)."""

    return mermaid.status_chart(rows, datetime.now(UTC))
