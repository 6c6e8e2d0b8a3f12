"""Render a :class:`PromotionResult`: commit message, PR title and body, JSON, outputs,
job summary and terminal text. Pure functions of the one result record.

Apps, envs, tags, paths and notes come from inputs and the config repo: the PR body, the
job summary and the terminal text escape each for where it lands (:mod:`.escape`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gitops_promote.adapters.escape import log, md_code, md_fence, md_text
from gitops_promote.config import templates
from gitops_promote.config.durations import format_iso, format_utc
from gitops_promote.config.model import Settings
from gitops_promote.images import ImageRef, abbrev_digest, describe
from gitops_promote.plan.gates import GateResult
from gitops_promote.report.records import Change, PromotionResult
from gitops_promote.report.table import md_table

MARKER_PREFIX = "<!-- gitops-promote "
MARKER_RE = re.compile(r"<!-- gitops-promote (\{.*?\}) -->")


def template_values(result: PromotionResult) -> dict[str, str]:
    """The placeholders templates may use, computed once from the result."""
    first = result.changes[0] if result.changes else None
    new = first.new if first else None
    values = templates.template_values(
        env=result.env,
        app=first.app if first and len(result.changes) == 1 else None,
        apps=result.apps,
        from_env=first.upstream.env if first and first.upstream else None,
        digest=new.digest if new else None,
        tag=new.tag if new else None,
        image=str(new) if new else None,
    )
    if new is not None and not values["short"]:
        values["short"] = new.short()  # a tag-only pin: the tag stands in for the digest
    return values


def commit_message(result: PromotionResult, settings: Settings, template: str | None) -> str:
    """Subject from the template; for batches and rollbacks a body that lists every pin."""
    subject = templates.render_message(template or settings.commit_message, template_values(result))
    if result.rollback:
        subject = f"{subject} (rollback)"
    lines = [subject]
    if len(result.changes) > 1 or result.rollback:
        lines.append("")
        lines += [f"- {c.app}: {describe(c.old)} -> {describe(c.new)}" for c in result.changes]
    trailers = [f"Promoted-Image: {c.app}={c.new}" for c in result.changes]
    lines += ["", *trailers]
    return "\n".join(lines) + "\n"


def pr_title(result: PromotionResult, template: str) -> str:
    title = templates.render_message(template, template_values(result))
    return f"Rollback: {title}" if result.rollback else title


def marker(result: PromotionResult) -> str:
    """Hidden machine-readable marker so later runs find the PR and what it proposes."""
    data = {
        "version": 1,
        "env": result.env,
        "rollback": result.rollback,
        "apps": {c.app: str(c.new) for c in result.changes},
    }
    return f"{MARKER_PREFIX}{json.dumps(data, sort_keys=True, separators=(',', ':'))} -->"


def parse_marker(body: str | None) -> dict[str, Any] | None:
    """The marker data in a PR body, or None when the PR was not opened by us."""
    if not body:
        return None
    match = MARKER_RE.search(body)
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _commit_link(result: PromotionResult, sha: str | None) -> str:
    if not sha:
        return ""
    if result.repo_url:
        return f"[`{sha[:7]}`]({result.repo_url}/commit/{sha})"
    return f"`{sha[:7]}`"


def _source_cell(result: PromotionResult, change: Change) -> str:
    if change.upstream is None:
        return md_text(change.source)
    up = change.upstream
    parts = [md_code(up.env, cell=True)]
    if up.since:
        parts.append(f"since {format_utc(up.since)}")
    link = _commit_link(result, up.commit)
    if link:
        parts.append(f"({link})")
    return " ".join(parts)


def _cell(ref: ImageRef | None) -> str:
    if ref is None:
        return "(not pinned)"
    out = []
    if ref.tag:
        out.append(md_code(ref.tag, cell=True))
    if ref.digest:
        out.append(md_code(abbrev_digest(ref.digest), cell=True))
    return " ".join(out) or md_code(ref, cell=True)


def changes_table(result: PromotionResult) -> str:
    header = ("App", "Environment", "From", "To", "Came from")
    rows = [
        (md_text(c.app), md_text(c.env), _cell(c.old), _cell(c.new), _source_cell(result, c))
        for c in result.changes
    ]
    return md_table(header, rows)


def pr_body(result: PromotionResult) -> str:
    kind = "Rollback" if result.rollback else "Promotion"
    files = "\n".join(f"- {md_code(c.file)}" for c in result.changes)
    full = "\n".join(f"{c.app}: {c.old or '(none)'} -> {c.new}" for c in result.changes)
    return "\n".join(
        [
            f"## {kind} to {md_code(result.env)}",
            "",
            changes_table(result),
            "",
            "Files:",
            files,
            "",
            "<details><summary>Full image references</summary>",
            "",
            *md_fence(full),
            "",
            "</details>",
            "",
            "Opened by gitops-promote. Merge to promote; close to skip. A newer promotion "
            "of the same target updates this pull request instead of opening another.",
            "",
            marker(result),
            "",
        ]
    )


def pin_json(
    app: str,
    env: str,
    file: str | None,
    line: int | None,
    old: ImageRef | None,
    new: ImageRef | None,
) -> dict[str, Any]:
    """Where a pin is and what it goes from and to: the first keys of a change's (promote,
    soak) and a target's (check) JSON."""
    return {
        "app": app,
        "env": env,
        "file": file,
        "line": line,
        "from": str(old) if old else None,
        "to": str(new) if new else None,
    }


def change_json(change: Change) -> dict[str, Any]:
    return {
        **pin_json(change.app, change.env, change.file, change.line, change.old, change.new),
        "from-digest": change.old.digest if change.old else None,
        "to-digest": change.new.digest,
        "source": change.source,
        "upstream": change.upstream.env if change.upstream else None,
        "upstream-commit": change.upstream.commit if change.upstream else None,
        "upstream-since": format_iso(change.upstream.since, utc=False)
        if change.upstream and change.upstream.since
        else None,
    }


# the result's own fields, in their JSON order (as "pr-number" for pr_number)
_RESULT_FIELDS = (
    "operation",
    "env",
    "commit",
    "branch",
    "pr_number",
    "pr_url",
    "rollback",
    "digest",
    "previous_digest",
)


def to_json(result: PromotionResult) -> dict[str, Any]:
    return {
        **fields_json(result, _RESULT_FIELDS),
        "changes": [change_json(c) for c in result.changes],
        "notes": list(result.notes),
        **({"diff": result.diff} if result.diff is not None else {}),
    }


def outputs(result: PromotionResult) -> Mapping[str, str]:
    """GitHub Actions outputs (strings), from the same record."""
    return {
        "operation": result.operation,
        "commit": result.commit or "",
        "pr-number": str(result.pr_number) if result.pr_number else "",
        "pr-url": result.pr_url or "",
        "digest": result.digest or "",
        "previous-digest": result.previous_digest or "",
        "changes": json.dumps([change_json(c) for c in result.changes], sort_keys=True),
    }


_HEADLINES = {
    "pushed": "pushed {commit} to {base}",
    "committed": "committed {commit} locally (not pushed)",
    "pr-created": "opened pull request #{pr} {url}",
    "pr-updated": "updated pull request #{pr} {url}",
    "unchanged": "nothing to do: already in place",
    "dry-run": "dry run: nothing written",
}


def headline(result: PromotionResult) -> str:
    text = _HEADLINES[result.operation].format(
        commit=(result.commit or "")[:12],
        base=result.base,
        pr=result.pr_number,
        url=result.pr_url or "",
    )
    return f"{result.env}: {text}".rstrip()


def text(result: PromotionResult) -> str:
    """What a person reads in a terminal."""
    lines = [headline(result)]
    for c in result.changes:
        arrow = "=" if not c.changed else "->"
        lines.append(
            f"  {log(c.app)}: {log(c.old or '(not pinned)')} {arrow} {log(c.new)}  [{log(c.file)}]"
        )
    lines += [f"  note: {log(n)}" for n in result.notes]
    if result.diff:
        lines += ["", result.diff.rstrip("\n")]
    return "\n".join(lines)


def summary(result: PromotionResult, warnings: Sequence[GateResult] = ()) -> str:
    """Markdown for the job summary (with the gate warnings a run passed with)."""
    title = "Rollback" if result.rollback else "Promotion"
    lines = [f"### {title} to {md_code(result.env)}: {result.operation}", ""]
    if result.pr_url:
        lines += [f"Pull request: [#{result.pr_number}]({result.pr_url})", ""]
    if result.commit:
        lines += [f"Commit: {_commit_link(result, result.commit)}", ""]
    if result.changes:
        lines += [changes_table(result), ""]
    lines += [f"> {md_text(n)}" for n in result.notes]
    if warnings:
        lines += ["", "**Warnings**", ""]
        lines += [
            f"- ⚠️ **{md_text(g.gate)}** {md_code(g.app or '*')} → {md_code(g.env or '*')}: "
            f"{md_text(g.message)}"
            for g in warnings
        ]
    return "\n".join(lines) + "\n"


_GATE_FIELDS = ("gate", "app", "env", "passed", "severity", "overridden", "message", "file", "line")


def result_json(result: PromotionResult, gates: Sequence[GateResult]) -> dict[str, Any]:
    """``promote --json``: the result, and every gate judged."""
    return {**to_json(result), "gates": [gate_json(g) for g in gates]}


def gate_lines(gates: Sequence[GateResult]) -> list[str]:
    """One line per gate that failed (refused, or a warning) or was overridden."""
    return [
        f"{'refused' if gate.blocking else 'warning'}: {gate.message}"
        for gate in gates
        if not gate.passed or gate.overridden
    ]


def gate_json(gate: GateResult) -> dict[str, Any]:
    return fields_json(gate, _GATE_FIELDS)


def fields_json(record: object, names: Sequence[str]) -> dict[str, Any]:
    """A record's fields as JSON keys, in the order given (``pr_number`` as ``pr-number``)."""
    return {name.replace("_", "-"): getattr(record, name) for name in names}
