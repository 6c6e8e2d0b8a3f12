"""Live state as ``status --live`` shows it: one short cell per (app, env) and the JSON
form of the full :class:`~gitops_promote.facts.live.model.LiveState`."""

from __future__ import annotations

from typing import Any, Final

from gitops_promote.config.durations import format_iso, format_utc
from gitops_promote.facts.live.model import LiveState
from gitops_promote.facts.live.verdict import short

NONE: Final = "-"  # no live: block for the (app, env)
_WORDS: Final = {
    "synced": "synced",
    "out-of-sync": "out of sync",
    "progressing": "progressing",
    "degraded": "degraded",
    "unknown": "unknown",
}


def cell(state: LiveState | None) -> str:
    """``synced 1a2b3c4d5e6f since 2026-12-03 20:10 UTC``; ``-`` without a live block."""
    if state is None:
        return NONE
    text = _WORDS[state.status]
    reading = state.reading
    revision = reading and (reading.revision or next(iter(reading.revisions), None))
    if revision:
        text += f" {short(revision)}"
    if state.since is not None:
        text += f" since {format_utc(state.since)}"
    elif state.failure is not None:
        text += f" ({state.failure.kind})"
    return text


def as_json(state: LiveState | None) -> dict[str, Any] | None:
    """One :class:`LiveState` as JSON data: its verdict, and its reading or failure."""
    if state is None:
        return None
    reading, failure = state.reading, state.failure
    return {
        "status": state.status,
        "reason": state.reason,
        "runs": state.digest,
        "since": format_iso(state.since) if state.since else None,
        "reading": None
        if reading is None
        else {
            "controller": reading.controller,
            "subject": reading.subject,
            "sync": reading.sync,
            "health": reading.health,
            "revision": reading.revision,
            "revisions": list(reading.revisions),
            "phase": reading.phase,
            "synced-at": format_iso(reading.synced_at) if reading.synced_at else None,
            "reconciled-at": format_iso(reading.reconciled_at) if reading.reconciled_at else None,
            "conditions": [
                {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                for c in reading.conditions
            ],
            "images": list(reading.images),
            "stale": reading.stale,
            "error": reading.error,
        },
        "failure": None
        if failure is None
        else {
            "controller": failure.controller,
            "subject": failure.subject,
            "kind": failure.kind,
            "message": failure.message,
        },
    }


__all__ = ["NONE", "as_json", "cell"]
