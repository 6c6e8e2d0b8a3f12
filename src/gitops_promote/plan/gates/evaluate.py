"""Run every gate over the facts of one pull request (or one promotion): pure.

:class:`Facts` is what the I/O edge (:mod:`gitops_promote.facts.check`) gathered; the
result is one frozen :class:`CheckResult` that feeds the terminal text, ``--json``, the
annotations, the job summary and the PR comment (:mod:`gitops_promote.report.check`).

Per (app, env) the pull request touches:

- freeze (any change to the env), pinning (``require-digest`` envs), overlay edits beyond
  pins (gated envs: a warning to reviewers), files that cannot be read (an error);
- for a changed pin: upstream match, soak, dependencies;
- for a kustomize overlay, once rendered: drift against the upstream env, Secret/ConfigMap
  references, resource limits.

Repository-wide: ownership (CODEOWNERS), and promotion.yaml itself when the PR changes it
(the gates always use the base branch's promotion.yaml: a pull request cannot loosen the
rules that judge it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import Problem
from gitops_promote.facts import rendered as rendered_images
from gitops_promote.facts.changes import ChangeSet, Edit, Key
from gitops_promote.facts.events import PinEvent
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult, GateSeverity
from gitops_promote.plan.gates.config import config_gates
from gitops_promote.plan.gates.dependencies import dependencies_gate
from gitops_promote.plan.gates.drift import drift_gate
from gitops_promote.plan.gates.freeze import (
    FOREVER,
    ActiveFreeze,
    freeze_gate,
    frozen_until,
    next_freeze,
)
from gitops_promote.plan.gates.manifests import limits_gate, references_gate
from gitops_promote.plan.gates.ownership import ownership_gate, render_block
from gitops_promote.plan.gates.pinning import pinning_gate, rendered_pinning_gate
from gitops_promote.plan.gates.soak import SoakStatus, soak_gate, soak_status
from gitops_promote.plan.gates.upstream import is_rollback, rendered_upstream_gate, upstream_gate

RENDER = "render"
OVERLAY = "overlay"
CONFIG = "config"
STATE = "state"  # the state file is a fact: a pull request changes it only as a promotion does


@dataclass(frozen=True)
class RenderFact:
    """One overlay directory's render: objects, or why not (``refused``: not attempted
    because it would read outside the repository or run code, or no renderer is
    installed; else a build failure). ``file``/``line``: what asks for the refused thing."""

    overlay: str
    objects: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    refused: bool = False
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Deployed:
    """What one (app, env) renders to on the base branch and once the pull request is
    merged: its images as deployed (:mod:`gitops_promote.facts.rendered`).

    ``before``/``after``: the image strings of the rendered workloads (None: not
    rendered on that side); ``changed``: the rendered output differs (True when either
    side could not be rendered); ``origins``: image -> (file, line) of the text that
    introduced it, where it was found."""

    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    changed: bool = True
    origins: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)

    @property
    def added(self) -> tuple[str, ...]:
        """Images rendered once merged that the base branch does not render."""
        if self.after is None:
            return ()
        old = set(self.before or ())
        return tuple(i for i in self.after if i not in old)


@dataclass(frozen=True)
class Facts:
    """Everything the gates look at, gathered once.

    ``before``/``after``: pins on the base branch / once the PR is merged (for the keys the
    gates need); ``history``: base-branch pin events per key; ``overlays``: the overlay
    directory of each kustomize target in the merged tree; ``renders``: by directory;
    ``deployed``: the rendered images of the touched targets and their upstreams on both
    sides; ``unchanged``: targets the pull request reaches that render exactly as before
    (not a promotion: not judged).
    """

    config: Config
    changes: ChangeSet
    now: datetime
    before: Mapping[Key, ImageRef | None] = field(default_factory=dict)
    after: Mapping[Key, ImageRef | None] = field(default_factory=dict)
    history: Mapping[Key, Sequence[PinEvent]] = field(default_factory=dict)
    overlays: Mapping[Key, str] = field(default_factory=dict)
    renders: Mapping[str, RenderFact] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    codeowners_file: str = ".github/CODEOWNERS"
    codeowners: str | None = None
    base_codeowners: str | None = None  # the base branch's: GitHub asks its code owners
    files: tuple[str, ...] = ()  # the merged tree's files, for the ownership gate
    head_config: Config | None = None  # the PR's promotion.yaml, when it changes and is valid
    head_config_problems: tuple[Problem, ...] = ()
    base: str = ""
    head: str = ""
    base_ref: str = ""
    notes: tuple[str, ...] = ()
    deployed: Mapping[Key, Deployed] = field(default_factory=dict)
    unchanged: frozenset[Key] = frozenset()  # reached, but renders exactly as before
    # the pull request's state file, where it is not what gitops-promote writes for it
    state_problems: tuple[Problem, ...] = ()
    # The break-glass label's provenance (check, from the PR's label events): who added it
    # (named in the override), or why it does not count (then it is ignored, and said so).
    break_glass_by: str = ""
    break_glass_refused: str = ""


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


# -- the gates of one promotion ----------------------------------------------------------------


def promotion_gates(
    config: Config,
    app: App,
    env: Environment,
    new: ImageRef | None,
    *,
    before: Mapping[Key, ImageRef | None],
    after: Mapping[Key, ImageRef | None],
    history: Mapping[Key, Sequence[PinEvent]],
    now: datetime,
    file: str | None = None,
    line: int | None = None,
) -> tuple[list[GateResult], SoakStatus | None]:
    """Pinning, upstream match, soak and dependencies of ``app`` getting ``new`` in ``env``."""
    results = [pinning_gate(app.name, env, new, file=file, line=line)]
    source = env.upstream
    up_key = (app.name, source) if source else None
    up_before = before.get(up_key) if up_key else None
    up_after = after.get(up_key) if up_key else None
    own = history.get((app.name, env.name), ())
    results.append(
        upstream_gate(
            app.name,
            env,
            new,
            upstream_base=up_before,
            upstream_after=up_after,
            history=own,
            file=file,
            line=line,
        )
    )
    rollback = env.allow_rollback and is_rollback(new, up_before, up_after, own)
    up_history = history.get(up_key, ()) if up_key else ()
    results.append(
        soak_gate(
            app.name,
            env,
            new,
            up_history,
            now,
            upstream_after=up_after,
            rollback=rollback,
            file=file,
            line=line,
        )
    )
    soak = None
    if env.soak and new is not None and not rollback:
        soak = soak_status(env.soak, new, up_history, now)
    results.append(dependencies_gate(app, env, config, after, file=file, line=line))
    return results, soak


def _freeze(
    config: Config,
    env: Environment,
    facts: Facts,
    app: str | None,
    file: str | None,
    line: int | None,
) -> GateResult:
    label = config.settings.freeze_exception_label
    labels = facts.labels
    if facts.break_glass_refused:
        labels = tuple(x for x in labels if x.casefold() != label.casefold())
    result = freeze_gate(env, facts.now, labels, label, app=app)
    if facts.break_glass_refused and not result.passed and labels != facts.labels:
        note = f"the label '{label}' does not count: {facts.break_glass_refused}"
        result = replace(result, message=f"{result.message}; {note}")
    elif result.overridden and facts.break_glass_by:
        result = replace(result, message=f"{result.message}, added by {facts.break_glass_by}")
    # The annotation goes on the overlay line the PR changes, not on promotion.yaml.
    return replace(result, file=file, line=line) if file else result


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


def render_severity(env: Environment, *, refused: bool) -> GateSeverity:
    """How an overlay of ``env`` that cannot be rendered is judged: an error (fail closed),
    unless promotion.yaml says ``render: warn`` for the env; a push env's refusal (a URL, a
    symlink out, Helm) warns unless it says ``render: fail``."""
    return "error" if env.render_mode(refused=refused) == "fail" else "warning"


def _render_results(
    facts: Facts, app: App, env: Environment, file: str | None
) -> tuple[list[GateResult], str]:
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
    results = [_freeze(config, env, facts, app.name, file, line)]
    soak: SoakStatus | None = None
    if change is not None or swapped is not None:
        gates, soak = promotion_gates(
            config,
            app,
            env,
            new,
            before=facts.before,
            after=facts.after,
            history=facts.history,
            now=facts.now,
            file=file,
            line=line,
        )
        results += gates
    elif env.require_digest:
        results.append(pinning_gate(app.name, env, new, file=file, line=line))
    if deployed is not None and deployed.after is not None and (env.gated or env.require_digest):
        results = _as_deployed(
            facts, app, env, deployed, results, file, line, pinned=change is not None
        )
    if env.gated:
        results += [_edit_result(env, e) for e in edits]
    rendered, diff = _render_results(facts, app, env, file)
    results += rendered
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
        out.append(_freeze(config, env, facts, None, edit.file, edit.line))
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
            out.append(
                GateResult(
                    CONFIG,
                    None,
                    None,
                    False,
                    f"{first.message}"
                    + (f" (and {more} more problem(s))" if more else "")
                    + "; 'gitops-promote validate' lists them all",
                    file=first.file,
                    line=first.line,
                )
            )
        else:
            out.append(
                GateResult(
                    CONFIG,
                    None,
                    None,
                    False,
                    f"this pull request changes {config.file}; these gates used the base "
                    "branch's version (a pull request cannot change the rules that judge it), "
                    "the new rules apply once it is merged",
                    file=config.file,
                    severity="warning",
                )
            )
            if facts.head_config is not None:
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
    "Deployed",
    "Facts",
    "RenderFact",
    "TargetPlan",
    "evaluate",
    "promotion_gates",
]
