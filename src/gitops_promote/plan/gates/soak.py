"""Soak: a digest must have run in the upstream env for ``soak`` before it moves on.

Measured from the base branch's first-parent history only (what a pull request branch
says about itself does not count): the clock starts at the commit since which the upstream
env has carried the digest continuously (a re-pin of the same digest, say with a tag
added, does not restart it; a digest that left and came back does). Times are instants, so
a soak of 24h is 24 real hours across a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gitops_promote.config.durations import format_duration, format_instant
from gitops_promote.config.model import Environment
from gitops_promote.facts.events import PinEvent, held_since, same_artifact
from gitops_promote.facts.live.model import LiveState
from gitops_promote.facts.live.verdict import runs, short
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.upstream import show

GATE: Final = "soak"


@dataclass(frozen=True)
class SoakStatus:
    """How long ``ref`` has run upstream, and when the soak is met.

    ``since`` is None when the upstream env does not run the digest on the base branch (the
    soak has not started); then ``ready_at`` is None too.
    """

    required: timedelta
    since: PinEvent | None
    elapsed: timedelta
    ready_at: datetime | None

    @property
    def met(self) -> bool:
        return self.since is not None and self.elapsed >= self.required

    @property
    def remaining(self) -> timedelta | None:
        if self.since is None:
            return None
        return max(timedelta(0), self.required - self.elapsed)


def soak_status(
    required: timedelta,
    ref: ImageRef,
    upstream_history: Sequence[PinEvent],
    now: datetime,
) -> SoakStatus:
    """Where the soak of ``ref`` stands at ``now`` given the upstream's base-branch events."""
    # None unless the upstream's newest pin is ``ref``'s artifact (history's, or the state
    # file's answer for it: see history.Anchored)
    since = held_since(upstream_history, ref)
    if since is None:
        return SoakStatus(required, None, timedelta(0), None)
    elapsed = max(timedelta(0), now - since.date)
    return SoakStatus(required, since, elapsed, since.date + required)


def sync_status(
    required: timedelta, ref: ImageRef, live: LiveState | None, now: datetime
) -> SoakStatus:
    """Where the soak of ``ref`` stands at ``now`` counted from the upstream's live sync
    (``soak-from: sync``): from when its controller finished syncing the revision that runs
    ``ref``, Synced and Healthy (not started while it does not run it live)."""
    if live is None or live.since is None or not runs(live, ref):
        return SoakStatus(required, None, timedelta(0), None)
    revision = live.reading.revision if live.reading else None
    since = PinEvent(
        app="",
        env="",
        file="",
        commit=revision or "",
        date=live.since,
        author="",
        subject="live sync",
        old=None,
        new=ref,
        pr=None,
    )
    elapsed = max(timedelta(0), now - live.since)
    return SoakStatus(required, since, elapsed, live.since + required)


def _sync_soak(
    env: Environment, new: ImageRef, live: LiveState | None, now: datetime, source: str
) -> tuple[bool, str]:
    need = format_duration(env.soak or timedelta(0))
    status = sync_status(env.soak or timedelta(0), new, live, now)
    if status.since is None:
        said = live.reason if live is not None else "no live reading"
        return False, (
            f"{show(new)} does not run live in {source} yet ({said}); its {need} soak counts "
            f"from the sync's finish (soak-from: sync)"
        )
    ran = (
        f"{show(new)} has run live in {source} for {format_duration(status.elapsed)}, since "
        f"the sync of {short(status.since.commit)} finished at {format_instant(status.since.date)}"
    )
    if status.met:
        return True, f"{ran}; {env.name} needs {need}: soak met"
    left = format_duration(status.remaining or timedelta(0))
    return False, f"{ran}; {env.name} needs {need}: {left} left, met at " + format_instant(
        status.ready_at or now
    )


def soak_gate(
    app: str,
    env: Environment,
    new: ImageRef | None,
    upstream_history: Sequence[PinEvent],
    now: datetime,
    *,
    upstream_after: ImageRef | None = None,
    rollback: bool = False,
    file: str | None = None,
    line: int | None = None,
    live: LiveState | None = None,
) -> GateResult:
    """Pass when ``new`` has run in ``env``'s upstream for at least ``env.soak``.

    ``upstream_history``: the upstream env's pin events on the base branch, oldest first.
    ``upstream_after``: the upstream's pin once this pull request is merged (to explain a
    digest that the same PR pins upstream). ``rollback``: an allowed rollback (soaked
    long ago in this very env) needs no soak. ``live``: the upstream's live state, which
    the soak counts from under ``soak-from: sync``.
    """

    def result(passed: bool, message: str) -> GateResult:
        return GateResult(GATE, app, env.name, passed, message, file=file, line=line)

    if env.soak is None or env.soak <= timedelta(0):
        return result(True, f"{env.name} has no soak time")
    source = env.upstream or "the upstream environment"
    need = format_duration(env.soak)
    if new is None:
        return result(True, f"{app} is no longer pinned in {env.name}: nothing to soak")
    if rollback:
        return result(True, f"rollback to {show(new)}, which {env.name} ran before: no soak")
    if env.soak_from == "sync":
        return result(*_sync_soak(env, new, live, now, source))
    status = soak_status(env.soak, new, upstream_history, now)
    if status.since is None:
        if same_artifact(new, upstream_after):
            why = (
                f"this pull request pins it in {source} too, so its {need} soak there starts "
                f"only when that lands on the base branch; promote to {source} first"
            )
        else:
            why = f"its {need} soak starts when it lands in {source} on the base branch"
        return result(False, f"{show(new)} does not run in {source} yet: {why}")
    since = status.since
    ran = (
        f"{show(new)} has run in {source} for {format_duration(status.elapsed)}, since "
        f"{format_instant(since.date)} (commit {since.commit[:7]})"
    )
    if status.met:
        return result(True, f"{ran}; {env.name} needs {need}: soak met")
    left = format_duration(status.remaining or timedelta(0))
    ready = format_instant(status.ready_at or now)
    return result(False, f"{ran}; {env.name} needs {need}: {left} left, met at {ready}")


__all__ = ["GATE", "SoakStatus", "soak_gate", "soak_status", "sync_status"]
