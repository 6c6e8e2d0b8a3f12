"""Live: a promotion to an env may proceed only when its upstream runs the candidate live.

When the upstream env has a ``live:`` block (with ``gate: true``, the default), the
candidate must be what the upstream's controller reports Synced and Healthy at a revision
whose overlay pins it (:class:`~gitops_promote.facts.live.model.LiveState`, gathered by
:mod:`gitops_promote.facts.live.read`). Out of sync, progressing, degraded, stale or
unknown fails, saying what the controller reports and how to fix it. A controller that
could not be asked fails under ``on-error: fail`` (the gathering already exits 3 there)
and warns under ``on-error: warn``.
"""

from __future__ import annotations

from typing import Final

from gitops_promote.config.live import OnError
from gitops_promote.facts.live.model import LiveState
from gitops_promote.facts.live.verdict import runs
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult, GateSeverity
from gitops_promote.plan.gates.upstream import show

GATE: Final = "live"


def live_gate(
    app: str,
    env: str,
    upstream: str,
    new: ImageRef | None,
    state: LiveState | None,
    *,
    on_error: OnError = "fail",
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Pass when ``upstream`` runs ``new`` live and Healthy (``state``: its live state)."""

    def result(passed: bool, message: str, *, warn: bool = False) -> GateResult:
        severity: GateSeverity = "warning" if warn else "error"
        return GateResult(GATE, app, env, passed, message, file, line, severity)

    if new is None:
        return result(True, f"{app} is no longer pinned in {env}: nothing to check live")
    if state is None:
        return result(
            False,
            f"no live reading of {app} in {upstream}: {env} gets only what {upstream} runs "
            f"live; check live: in promotion.yaml",
        )
    if runs(state, new):
        return result(True, f"{upstream} runs {show(new)} live: {state.reason}")
    if state.failure is not None:
        if on_error == "warn":
            return result(
                False,
                f"live state of {upstream} unknown, not checked (on-error: warn): {state.reason}",
                warn=True,
            )
        return result(
            False,
            f"live state of {upstream} unknown: {state.reason}; fix the access, or set "
            f"on-error: warn on {upstream}'s live: block",
        )
    if state.status == "synced":
        fix = f"promote and sync {show(new)} in {upstream} first"
        return result(False, f"{upstream} does not run {show(new)} live: {state.reason}; {fix}")
    return result(
        False,
        f"{upstream} is {state.status}, so {show(new)} is not proven there: {state.reason}; "
        f"{env} gets it once {upstream} runs it Synced and Healthy",
    )


__all__ = ["GATE", "live_gate"]
