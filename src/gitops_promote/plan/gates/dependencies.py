"""Dependencies (``depends-on``): an app moves on only with the combination upstream verified.

Promoting app A into env E, with ``from: X``: every app A depends on must run in E (once
the pull request is merged) what it runs in X. Staging verified A together with those
versions; production must not get A next to anything else. A dependency that differs must
be promoted first, or in the same pull request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts.events import same_artifact
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.upstream import show

GATE: Final = "dependencies"

Key = tuple[str, str]


def dependencies_gate(
    app: App,
    env: Environment,
    config: Config,
    pins_after: Mapping[Key, ImageRef | None],
    *,
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Pass when every dependency of ``app`` runs in ``env`` what it runs in the upstream.

    ``pins_after``: what each (app, env) pins once the pull request is merged.
    """

    def result(passed: bool, message: str) -> GateResult:
        return GateResult(GATE, app.name, env.name, passed, message, file=file, line=line)

    if not app.depends_on:
        return result(True, f"{app.name} has no dependencies (depends-on)")
    source = env.upstream
    if source is None:
        return result(True, f"{env.name} has no upstream to compare {app.name}'s dependencies with")
    matched: list[str] = []
    wrong: list[str] = []
    for name in app.depends_on:
        if not config.has_app(name):
            continue
        dep = config.app(name)
        deployed = {e.name for e in config.envs_of(dep)}
        if env.name not in deployed or source not in deployed:
            continue
        here = pins_after.get((name, env.name))
        there = pins_after.get((name, source))
        if same_artifact(here, there):
            matched.append(f"{name} {show(here)}")
            continue
        wrong.append(
            f"{name} runs {show(here)} in {env.name} but {show(there)} in {source}, where "
            f"{app.name} was verified with it"
        )
    if wrong:
        names = [w.split(" ", 1)[0] for w in wrong]
        first = ", ".join(names)
        return result(
            False,
            f"{app.name} depends on {first}: " + "; ".join(wrong) + f". Promote {first} to "
            f"{env.name} first (or in this pull request), then {app.name}",
        )
    if not matched:
        return result(True, f"no dependency of {app.name} is deployed to {env.name} and {source}")
    return result(
        True,
        f"{app.name}'s dependencies run in {env.name} what they run in {source}: "
        + ", ".join(matched),
    )


__all__ = ["GATE", "dependencies_gate"]
