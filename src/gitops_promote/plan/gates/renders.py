"""The gates of a target's rendered overlay: a render that failed or was refused, else drift
against the upstream env's render, references and limits. Pure."""

from __future__ import annotations

from gitops_promote.config.model import App, Environment
from gitops_promote.facts.judged import Facts
from gitops_promote.plan.gates import GateResult, GateSeverity
from gitops_promote.plan.gates.drift import drift_gate
from gitops_promote.plan.gates.manifests import limits_gate, references_gate

RENDER = "render"


def render_severity(env: Environment, *, refused: bool) -> GateSeverity:
    """How an overlay of ``env`` that cannot be rendered is judged: an error (fail closed),
    unless promotion.yaml says ``render: warn`` for the env; a push env's refusal (a URL, a
    symlink out, Helm) warns unless it says ``render: fail``."""
    return "error" if env.render_mode(refused=refused) == "fail" else "warning"


def render_results(
    facts: Facts, app: App, env: Environment, file: str | None
) -> tuple[list[GateResult], str]:
    """The gates of a target's rendered overlay (render refused or failed, else drift
    against its upstream, references, limits), and the drift's diff ("" when none)."""
    key = (app.name, env.name)
    overlay = facts.overlays.get(key)
    if overlay is None:
        return [], ""
    rendered = facts.renders.get(overlay)
    if rendered is None:
        return [], ""
    if rendered.error is not None:
        severity = render_severity(env, refused=rendered.refused)
        skipped = "so drift, references and limits are not checked"
        if rendered.refused:
            message = f"{env.name} is not rendered, {skipped}: {rendered.error}"
        else:
            message = f"{rendered.error} ({skipped})"
        if severity == "error" and env.gated:
            message += (
                f"; the check fails closed (render: warn on {env.name} in "
                f"{facts.config.file} makes this a warning)"
            )
        return [
            GateResult(
                RENDER,
                app.name,
                env.name,
                False,
                message,
                file=rendered.file or file,
                line=rendered.line if rendered.file else None,
                severity=severity,
            )
        ], ""
    results = [
        references_gate(app.name, env, rendered.objects, file=file),
        limits_gate(app.name, env, rendered.objects, file=file),
    ]
    diff = ""
    source = facts.config.upstream_of(env)
    if source is not None:
        up_overlay = facts.overlays.get((app.name, source.name))
        up = facts.renders.get(up_overlay) if up_overlay else None
        if up is not None and up.error is None:
            result, diff = drift_gate(
                app.name,
                env,
                source,
                rendered.objects,
                up.objects,
                env_label=f"{env.name}: {overlay}",
                upstream_label=f"{source.name}: {up_overlay}",
                file=file,
            )
            results.insert(0, result)
        elif up is not None:
            # Drift that cannot be judged counts as drift would: an error where drift
            # fails (and the env renders fail-closed), else a warning.
            fails = env.drift.severity == "fail" and render_severity(env, refused=True) == "error"
            results.insert(
                0,
                GateResult(
                    "drift",
                    app.name,
                    env.name,
                    False,
                    f"{source.name} cannot be rendered, so drift is not checked: {up.error}",
                    file=up.file or file,
                    line=up.line if up.file else None,
                    severity="error" if fails else "warning",
                ),
            )
    return results, diff


__all__ = ["RENDER", "render_results", "render_severity"]
