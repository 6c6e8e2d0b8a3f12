"""Upstream match: an env with ``from: X`` receives only what X runs.

X's pin counts on the base branch, or as the same pull request sets it (promoting dev ->
staging -> production in one PR is allowed; the soak gate still wants time in staging).
A digest the env ran before but X no longer runs is a rollback: allowed only with
``allow-rollback: true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gitops_promote.config import Environment
from gitops_promote.gates import GateResult
from gitops_promote.history import PinEvent, same_artifact
from gitops_promote.images import ImageRef, short_digest

GATE: Final = "upstream"


def show(ref: ImageRef | None) -> str:
    """How a reference reads in one line: ``sha256:abcdef012345…`` or ``tag v1.2``."""
    if ref is None:
        return "nothing (no pin)"
    if ref.digest:
        return f"{short_digest(ref.digest)}…"
    return f"the tag {ref.tag!r}" if ref.tag else f"{ref.name} (no tag or digest)"


def ran_before(history: Sequence[PinEvent], ref: ImageRef) -> PinEvent | None:
    """The latest event of ``history`` that pinned ``ref``'s artifact (None: never)."""
    for event in reversed(history):
        if same_artifact(event.new, ref):
            return event
    return None


def is_rollback(
    new: ImageRef | None,
    upstream_base: ImageRef | None,
    upstream_after: ImageRef | None,
    history: Sequence[PinEvent],
) -> bool:
    """``new`` is not what the upstream runs, but the env ran it before."""
    if new is None or same_artifact(new, upstream_base) or same_artifact(new, upstream_after):
        return False
    return ran_before(history, new) is not None


def upstream_gate(
    app: str,
    env: Environment,
    new: ImageRef | None,
    *,
    upstream_base: ImageRef | None,
    upstream_after: ImageRef | None,
    history: Sequence[PinEvent] = (),
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Pass when ``new`` is what ``env``'s upstream runs (base branch or this PR), or an
    allowed rollback.

    ``upstream_base``: the upstream env's pin on the base branch; ``upstream_after``: its
    pin once this pull request is merged; ``history``: ``env``'s own pin events on the
    base branch (for rollbacks).
    """

    def result(passed: bool, message: str) -> GateResult:
        return GateResult(GATE, app, env.name, passed, message, file=file, line=line)

    source = env.upstream
    if source is None:
        return result(True, f"{env.name} has no upstream (from:), so any digest may come in")
    if new is None:
        return result(True, f"{app} is no longer pinned in {env.name}: nothing to match")
    if same_artifact(new, upstream_base):
        return result(True, f"{env.name} would run {show(new)}, which {source} runs")
    if same_artifact(new, upstream_after):
        return result(
            True,
            f"{env.name} would run {show(new)}, which this pull request also pins in {source}",
        )
    before = ran_before(history, new)
    if before is not None:
        when = before.date.strftime("%Y-%m-%d %H:%M %Z").strip()
        ran = f"{env.name} ran it before (commit {before.commit[:7]}, {when})"
        if env.allow_rollback:
            return result(
                True,
                f"rollback: {env.name} would run {show(new)}, which {source} no longer runs; "
                f"{ran}, and allow-rollback is set",
            )
        return result(
            False,
            f"{env.name} would run {show(new)}, {source} runs {show(upstream_after)}: a "
            f"rollback ({ran}); rollbacks into {env.name} need allow-rollback: true in "
            f"promotion.yaml, else promote what {source} runs",
        )
    return result(
        False,
        f"{env.name} would run {show(new)}, {source} runs {show(upstream_after)}: promote "
        f"{app} to {source} first, or pin the digest {source} runs",
    )


__all__ = ["GATE", "is_rollback", "ran_before", "show", "upstream_gate"]
