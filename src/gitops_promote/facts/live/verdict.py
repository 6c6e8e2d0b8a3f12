"""The verdict over one live reading and git (pure): what the env runs, as a
:class:`~.model.LiveState`.

"The env runs D" holds when the reading is fresh (not stale), Synced, Healthy, its last
operation did not fail, and the overlay at the synced revision pins D (read from git by
:mod:`.read`, handed in as a :class:`RevisionPin`). Everything else is one of
``out-of-sync``, ``progressing``, ``degraded`` or ``unknown``, with one line saying what
the controller reports and how to fix it. Text that came from a controller (conditions,
messages, revisions) is made one line and cut short before it reaches a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gitops_promote.config.durations import format_instant
from gitops_promote.errors import clip
from gitops_promote.facts.live.model import LiveFailure, LiveReading, LiveState, LiveStatus
from gitops_promote.images import ImageRef, describe

_LIMIT = 160


@dataclass(frozen=True)
class RevisionPin:
    """What the overlay of (app, env) pins at the synced revision: ``ref`` (None: nothing),
    or ``problem``, why that could not be read (the revision is not in the config repo, the
    overlay is broken there)."""

    revision: str
    ref: ImageRef | None = None
    problem: str = ""


def one_line(text: str, limit: int = _LIMIT) -> str:
    """Controller text as one short line: control characters and newlines become spaces,
    runs of spaces one, and it is cut at ``limit`` characters."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return clip(" ".join(cleaned.split()), limit)


def short(revision: str | None) -> str:
    return one_line(revision or "?", 40)[:12] if revision else "?"


def _since(moment: datetime | None) -> str:
    return f" since {format_instant(moment)}" if moment else ""


def _health(reading: LiveReading) -> str:
    phase = f", last sync {reading.phase}" if reading.phase else ""
    return f"{reading.sync}/{reading.health}{phase}"


def run_ref(ref: ImageRef) -> str:
    """How a pin is said as "what the env runs": its digest, else the reference."""
    return ref.digest or str(ref)


def judge(result: LiveReading | LiveFailure, pin: RevisionPin | None = None) -> LiveState:
    """The :class:`LiveState` of one reading (``pin``: the overlay at its synced revision,
    None when the reading names no revision or it was not looked up)."""
    if isinstance(result, LiveFailure):
        return LiveState("unknown", f"{result.subject}: {one_line(result.message)}", failure=result)
    r = result
    subject = one_line(r.subject, 120)
    shown = r.revision or (r.revisions[0] if len(r.revisions) == 1 else "")
    at = f" at {short(shown)}" if shown else ""
    if not shown and r.revisions:
        at = f" at {', '.join(short(x) for x in r.revisions[:4])}"
    said = f"{subject} is {_health(r)}{at}{_since(r.synced_at)}"

    def state(status: LiveStatus, why: str) -> LiveState:
        return LiveState(status, f"{said}: {why}", reading=r, since=r.synced_at)

    if r.health == "Missing":
        return state(
            "unknown",
            "the controller has no such object; check the name template and namespace in "
            "live: (docs/live.md)",
        )
    if r.health == "Suspended":
        return state("unknown", "reconciliation is suspended; resume it to get a reading")
    if r.stale:
        return state(
            "progressing",
            f"the reading is stale ({one_line(r.stale)}); wait for the controller to reconcile",
        )
    if r.health == "Degraded" or r.phase in ("Failed", "Error"):
        error = f" ({one_line(r.error)})" if r.error else ""
        return state("degraded", f"fix the deployment{error}, then sync again")
    if r.sync == "OutOfSync":
        return state("out-of-sync", "the cluster differs from git; sync the app")
    if r.sync != "Synced":
        error = f" ({one_line(r.error)})" if r.error else ""
        return state("unknown", f"the controller cannot compare it with git{error}")
    if r.health == "Progressing" or r.phase in ("Running", "Terminating"):
        return state("progressing", "the rollout is not finished yet; wait for it")
    if r.health != "Healthy":
        return state("unknown", f"health {one_line(r.health, 20)} is not Healthy")
    if not (r.revision or r.revisions) or pin is None:
        return state("unknown", "the controller reports no synced revision")
    if pin.problem:
        return state("unknown", one_line(pin.problem))
    if pin.ref is None:
        return state(
            "unknown", f"the overlay pins no image at {short(pin.revision)}; nothing to run"
        )
    return LiveState(
        "synced",
        f"{said}: runs {describe(pin.ref) if pin.ref.digest else str(pin.ref)}",
        reading=r,
        digest=run_ref(pin.ref),
        since=r.synced_at,
    )


def runs(state: LiveState | None, ref: ImageRef | None) -> bool:
    """Whether ``state`` says the env runs ``ref``'s artifact live and Healthy."""
    if state is None or ref is None or not state.runs:
        return False
    return state.digest in {ref.digest, str(ref)} - {None}


__all__ = ["RevisionPin", "judge", "one_line", "run_ref", "runs", "short"]
