"""Run every gate over the facts of one pull request (or one promotion): pure.

:class:`Facts` (:mod:`gitops_promote.facts.judged`) is what the I/O edge
(:mod:`gitops_promote.facts.check`) gathered; the
result is one frozen :class:`CheckResult` that feeds the terminal text, ``--json``, the
annotations, the job summary and the PR comment (:mod:`gitops_promote.report.check`).

Per (app, env) the pull request touches:

- freeze (any change to the env), pinning (``require-digest`` envs), overlay edits beyond
  pins (gated envs: a warning to reviewers), files that cannot be read (an error);
- for a changed pin: upstream match, soak, dependencies;
- for a kustomize overlay, once rendered: drift against the upstream env, Secret/ConfigMap
  references, resource limits;
- the base branch's Rego policies on its rendered documents (``policy``), where
  promotion.yaml names policy directories for it.

Repository-wide: ownership (CODEOWNERS), and promotion.yaml itself when the PR changes it
(the gates always use the base branch's promotion.yaml: a pull request cannot loosen the
rules that judge it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gitops_promote.config.model import App, Environment
from gitops_promote.facts import rendered as rendered_images
from gitops_promote.facts.changes import Edit, Key
from gitops_promote.facts.judged import Deployed, Facts
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult, GateSeverity
from gitops_promote.plan.gates.config import config_gates
from gitops_promote.plan.gates.freeze import FOREVER, ActiveFreeze, frozen_until, next_freeze
from gitops_promote.plan.gates.ownership import ownership_gate, render_block
from gitops_promote.plan.gates.pinning import rendered_pinning_gate
from gitops_promote.plan.gates.policy import policy_results
from gitops_promote.plan.gates.renders import RENDER, render_results
from gitops_promote.plan.gates.soak import SoakStatus
from gitops_promote.plan.gates.upstream import rendered_upstream_gate
from gitops_promote.plan.verdicts import Target, judge

OVERLAY = "overlay"
CONFIG = "config"
STATE = "state"  # the state file is a fact: a pull request changes it only as a promotion does


@dataclass(frozen=True)
class TargetPlan:
    """One (app, env) the pull request touches, with every gate's verdict on it."""

    app: str
    env: str
    file: str | None
    line: int | None
    old: ImageRef | None
    new: ImageRef | None
    pin_changed: bool
    edits: tuple[Edit, ...]
    results: tuple[GateResult, ...]
    soak: SoakStatus | None = None
    frozen_until: datetime | None = None
    next_freeze: ActiveFreeze | None = None
    ready_at: datetime | None = None  # when soak and freeze both allow it (None: now/unknown)
    drift: str = ""

    @property
    def blocking(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if r.blocking)


@dataclass(frozen=True)
class CheckResult:
    """The one record of a check run."""

    base: str
    head: str
    base_ref: str
    now: datetime
    targets: tuple[TargetPlan, ...]
    results: tuple[GateResult, ...]  # every verdict: the targets' and repository-wide ones
    unmapped: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def blocking(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if r.blocking)

    @property
    def warnings(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if not r.blocking and (not r.passed or r.overridden))

    @property
    def passed(self) -> bool:
        return not self.blocking


# -- the gates of one target ----------------------------------------------------------------


def _ready_at(env: Environment, now: datetime, soak: SoakStatus | None) -> datetime | None:
    """When both the soak and the freeze windows allow the promotion (None: now, or
    unknown because the soak has not started)."""
    at = now
    if soak is not None and not soak.met:
        if soak.ready_at is None:
            return None
        at = max(at, soak.ready_at)
    if env.freeze:
        until = frozen_until(env.freeze, at)
        if until is not None:
            at = until
    if at == FOREVER:
        return None
    return at if at > now else None


def _edit_result(env: Environment, edit: Edit) -> GateResult:
    return GateResult(
        OVERLAY,
        edit.app,
        env.name,
        False,
        f"{edit.describe()}: {env.name} is gated, so reviewers should read this change",
        file=edit.file,
        line=edit.line,
        severity="warning",
    )


def _target(facts: Facts, key: Key) -> TargetPlan:
    config = facts.config
    app, env = config.app(key[0]), config.env(key[1])
    change = facts.changes.pin(key)
    edits = facts.changes.edits_of(key)
    new = change.new if change else facts.after.get(key)
    old = change.old if change else new
    file = change.file if change else (edits[0].file if edits else None)
    line = change.line if change else (edits[0].line if edits else None)
    deployed = facts.deployed.get(key)
    swapped = _swapped_image(app, deployed) if change is None and env.gated else None
    if swapped is not None:
        new = swapped  # the pin text did not change, what the env deploys did
    promoted = change is not None or swapped is not None
    target = _judged(facts, env, file, line, app=app, new=new, promoted=promoted)
    results = judge(target)
    soak = target.soak if promoted else None
    if deployed is not None and deployed.after is not None and (env.gated or env.require_digest):
        results = _as_deployed(
            facts, app, env, deployed, results, file, line, pinned=change is not None
        )
    if env.gated:
        results += [_edit_result(env, e) for e in edits]
    rendered, diff = render_results(facts, app, env, file)
    results += rendered
    results += policy_results(
        facts.policies, key, origins=deployed.origins if deployed else None, file=file, line=line
    )
    chain_end = frozen_until(env.freeze, facts.now) if env.freeze else None
    upcoming = next_freeze(env.freeze, facts.now) if env.freeze else None
    return TargetPlan(
        app=app.name,
        env=env.name,
        file=file,
        line=line,
        old=old,
        new=new,
        pin_changed=change is not None,
        edits=edits,
        results=tuple(results),
        soak=soak,
        frozen_until=chain_end,
        next_freeze=upcoming,
        ready_at=_ready_at(env, facts.now, soak),
        drift=diff,
    )


def _judged(
    facts: Facts,
    env: Environment,
    file: str | None,
    line: int | None,
    *,
    app: App | None = None,
    new: ImageRef | None = None,
    promoted: bool = True,
) -> Target:
    """What the composition (:mod:`gitops_promote.plan.verdicts`) judges for one target."""
    return Target(
        facts.config,
        env,
        facts.now,
        app,
        new,
        promoted=promoted,
        before=facts.before,
        after=facts.after,
        history=facts.history,
        labels=facts.labels,
        break_glass_by=facts.break_glass_by,
        break_glass_refused=facts.break_glass_refused,
        file=file,
        line=line,
        live=facts.live,
    )


def _swapped_image(app: App, deployed: Deployed | None) -> ImageRef | None:
    """The app's own image as rendered once merged, when the pull request changes it
    without changing the pin text (a patch, a base edit, a newName swap)."""
    if deployed is None:
        return None
    own = ImageRef(app.image).canonical_name()
    for image in deployed.added:
        ref = rendered_images.parse(image)
        if ref is not None and ref.canonical_name() == own:
            return ref
    return None


def _as_deployed(
    facts: Facts,
    app: App,
    env: Environment,
    deployed: Deployed,
    results: list[GateResult],
    file: str | None,
    line: int | None,
    *,
    pinned: bool,
) -> list[GateResult]:
    """Pinning and upstream judged on the images as rendered, one result per gate: a
    failure replaces the verdict on the pin text when that passed, or when the pin text
    did not change (``pinned`` False: the rendered verdict says what and where); a pass
    keeps the pin text's message."""
    config = facts.config
    after = deployed.after or ()
    judged = [
        rendered_pinning_gate(app.name, env, after, origins=deployed.origins, file=file, line=line)
    ]
    if env.gated:
        source = config.upstream_of(env)
        up = facts.deployed.get((app.name, source.name)) if source else None
        judged.append(
            rendered_upstream_gate(
                app.name,
                env,
                deployed.added,
                known={ImageRef(a.image).canonical_name() for a in config.apps},
                upstream_base=up.before if up else None,
                upstream_after=up.after if up else None,
                history=facts.history.get((app.name, env.name), ()),
                origins=deployed.origins,
                file=file,
                line=line,
            )
        )
    out = list(results)
    for verdict in judged:
        at = next((i for i, r in enumerate(out) if r.gate == verdict.gate), None)
        if at is None:
            out.append(verdict)
        elif not verdict.passed and (out[at].passed or not pinned):
            out[at] = verdict
    return out


def _unknown_app_results(facts: Facts) -> list[GateResult]:
    """Freeze and a warning for changes in an env's path of apps promotion.yaml lacks."""
    out: list[GateResult] = []
    config = facts.config
    for edit in facts.changes.edits:
        if edit.app is not None or not config.has_env(edit.env):
            continue
        env = config.env(edit.env)
        out += judge(_judged(facts, env, edit.file, edit.line), scope="env")
        if env.gated:
            out.append(_edit_result(env, edit))
    return out


def _repository_results(facts: Facts) -> list[GateResult]:
    out: list[GateResult] = []
    config = facts.config
    changes = facts.changes
    if changes.config_changed:
        if facts.head_config_problems:
            first = facts.head_config_problems[0]
            more = len(facts.head_config_problems) - 1
            message = (
                f"{first.message}"
                + (f" (and {more} more problem(s))" if more else "")
                + "; 'gitops-promote validate' lists them all"
            )
            where: tuple[str | None, int | None] = (first.file, first.line)
            severity: GateSeverity = "error"
        else:
            message = (
                f"this pull request changes {config.file}; these gates used the base "
                "branch's version (a pull request cannot change the rules that judge it), "
                "the new rules apply once it is merged"
            )
            where = (config.file, None)
            severity = "warning"
        out.append(GateResult(CONFIG, None, None, False, message, *where, severity=severity))
        if not facts.head_config_problems and facts.head_config is not None:
            out += config_gates(config, facts.head_config, facts.base_codeowners)
    for problem in changes.problems:
        out.append(
            GateResult(
                OVERLAY,
                problem.app,
                problem.env,
                False,
                problem.message,
                problem.file,
                problem.line,
            )
        )
    owners_config = facts.head_config or config
    if (
        render_block(owners_config)
        or render_block(config)
        or (facts.codeowners and "gitops-promote" in facts.codeowners)
    ):
        out.append(
            ownership_gate(owners_config, facts.codeowners, facts.codeowners_file, facts.files)
        )
    return out


def evaluate(facts: Facts) -> CheckResult:
    """Every gate over every target the pull request touches: the one result record."""
    config = facts.config
    keys = [
        k
        for k in facts.changes.touched
        if config.has_app(k[0]) and config.has_env(k[1]) and k not in facts.unchanged
    ]
    targets = tuple(_target(facts, key) for key in keys)
    results = [r for t in targets for r in t.results]
    results += _unknown_app_results(facts)
    results += _repository_results(facts)
    results += [
        GateResult(STATE, None, None, False, p.message, p.file, p.line)
        for p in facts.state_problems
    ]
    return CheckResult(
        base=facts.base,
        head=facts.head,
        base_ref=facts.base_ref,
        now=facts.now,
        targets=targets,
        results=tuple(results),
        unmapped=facts.changes.unmapped,
        changed_files=facts.changes.files,
        notes=facts.notes,
    )


__all__ = [
    "CONFIG",
    "OVERLAY",
    "RENDER",
    "STATE",
    "CheckResult",
    "TargetPlan",
    "evaluate",
]
