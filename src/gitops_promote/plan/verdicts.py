"""The one composition of the promotion gates: facts in, verdicts out (pure).

``check`` (:func:`gitops_promote.plan.gates.evaluate.evaluate`, per target of the pull
request), ``promote`` (:func:`preflight`, before anything is written) and ``soak`` (the
plan's per-target decision, :func:`gitops_promote.plan.soak.gates`, and the delivery's
re-check through :func:`preflight`) all judge a promotion through :func:`judge`, so a gate
listed in :data:`GATES` applies to all three. Adding a gate is one entry there.

Each :class:`Gate` says, besides how to judge a :class:`Target`:

- ``scope``: ``env`` gates judge the environment (freeze): ``promote`` asks them once per
  env, the check and the soak plan once per target (naming the app); ``target`` gates judge
  one app getting one image in one env;
- ``deferrable``: under ``promote --defer-gates`` (a gated env only) a failure becomes a
  warning, because the pull request's required check holds the PR until it passes
  (:func:`defer`); a gate no check could ever pass (pinning) is not deferrable.

The check adds what only a pull request has (overlay edits beyond pins, renders, the
repository-wide gates) in :mod:`gitops_promote.plan.gates.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts.events import PinEvent
from gitops_promote.facts.live.model import LiveState
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.dependencies import dependencies_gate
from gitops_promote.plan.gates.freeze import freeze_gate
from gitops_promote.plan.gates.live import live_gate
from gitops_promote.plan.gates.pinning import pinning_gate
from gitops_promote.plan.gates.soak import SoakStatus, soak_gate, soak_status, sync_status
from gitops_promote.plan.gates.upstream import is_rollback, upstream_gate

Key = tuple[str, str]  # (app, env)
Scope = Literal["env", "target"]


@dataclass(frozen=True)
class Target:
    """The facts one gate judges: ``app`` getting ``new`` in ``env``.

    ``promoted``: the pin changes (False: the target is touched but keeps its image; only
    the gates that judge what is pinned whatever happens say anything). ``before``/
    ``after``: pins now / once promoted; ``history``: pin events per key; ``known`` False:
    the caller has no pins or history (only the gates that need none judge). ``labels``: the
    labels the pull request carries; ``break_glass_by``/``break_glass_refused``: who added
    the break-glass label, or why it does not count. ``file``/``line``: where to annotate.
    ``app`` None: an env-wide judgement (freeze only). ``live``: the live state of the
    upstream keys that have a ``live:`` block (None: not gathered; the live gate and
    ``soak-from: sync`` then have nothing to judge)."""

    config: Config
    env: Environment
    now: datetime
    app: App | None = None
    new: ImageRef | None = None
    promoted: bool = True
    before: Mapping[Key, ImageRef | None] | None = None
    after: Mapping[Key, ImageRef | None] | None = None
    history: Mapping[Key, Sequence[PinEvent]] | None = None
    labels: Sequence[str] = ()
    break_glass_by: str = ""
    break_glass_refused: str = ""
    file: str | None = None
    line: int | None = None
    live: Mapping[Key, LiveState] | None = None

    @property
    def known(self) -> bool:
        return self.before is not None and self.after is not None and self.history is not None

    @property
    def upstream_key(self) -> Key | None:
        source = self.env.upstream
        return (self.app.name, source) if source and self.app else None

    def pin(self, which: Mapping[Key, ImageRef | None] | None, key: Key | None) -> ImageRef | None:
        return which.get(key) if which is not None and key is not None else None

    def events(self, key: Key | None) -> Sequence[PinEvent]:
        return self.history.get(key, ()) if self.history is not None and key else ()

    @property
    def upstream_live(self) -> LiveState | None:
        up = self.upstream_key
        return self.live.get(up) if self.live is not None and up is not None else None

    @property
    def rollback(self) -> bool:
        """A rollback the env allows: upstream soak does not apply to it."""
        if self.app is None or not self.env.allow_rollback:
            return False
        up = self.upstream_key
        own = self.events((self.app.name, self.env.name))
        return is_rollback(self.new, self.pin(self.before, up), self.pin(self.after, up), own)

    @property
    def soak(self) -> SoakStatus | None:
        """How long the candidate has run upstream, when the env soaks (None: not a soak)."""
        if not self.env.soak or self.new is None or self.rollback or not self.known:
            return None
        if self.env.soak_from == "sync":
            return sync_status(self.env.soak, self.new, self.upstream_live, self.now)
        return soak_status(self.env.soak, self.new, self.events(self.upstream_key), self.now)


Judge = Callable[[Target], GateResult | None]


@dataclass(frozen=True)
class Gate:
    """One gate of the composition: its name, scope, whether ``--defer-gates`` may turn
    its failure into a warning, and how it judges a target (None: nothing to say)."""

    name: str
    scope: Scope
    deferrable: bool
    judge: Judge


def _freeze(t: Target) -> GateResult:
    label = t.config.settings.freeze_exception_label
    labels = tuple(t.labels)
    if t.break_glass_refused:
        labels = tuple(x for x in labels if x.casefold() != label.casefold())
    app = t.app.name if t.app else None
    result = freeze_gate(t.env, t.now, labels, label, app=app)
    if t.break_glass_refused and not result.passed and labels != tuple(t.labels):
        note = f"the label '{label}' does not count: {t.break_glass_refused}"
        result = replace(result, message=f"{result.message}; {note}")
    elif result.overridden and t.break_glass_by:
        result = replace(result, message=f"{result.message}, added by {t.break_glass_by}")
    # The annotation goes on the overlay line that changes, not on promotion.yaml.
    return replace(result, file=t.file, line=t.line) if t.file else result


def _pinning(t: Target) -> GateResult | None:
    if t.app is None or not (t.promoted or t.env.require_digest):
        return None
    return pinning_gate(t.app.name, t.env, t.new, file=t.file, line=t.line)


def _promoted(t: Target, gate: Callable[[str, Key | None], GateResult]) -> GateResult | None:
    """``gate(app, upstream key)`` for a promoted target whose pins and history are known."""
    if t.app is None or not t.promoted or not t.known:
        return None
    return gate(t.app.name, t.upstream_key)


def _upstream(t: Target) -> GateResult | None:
    return _promoted(
        t,
        lambda app, up: upstream_gate(
            app,
            t.env,
            t.new,
            upstream_base=t.pin(t.before, up),
            upstream_after=t.pin(t.after, up),
            history=t.events((app, t.env.name)),
            file=t.file,
            line=t.line,
        ),
    )


def _soak(t: Target) -> GateResult | None:
    return _promoted(
        t,
        lambda app, up: soak_gate(
            app,
            t.env,
            t.new,
            t.events(up),
            t.now,
            upstream_after=t.pin(t.after, up),
            rollback=t.rollback,
            file=t.file,
            line=t.line,
            live=t.upstream_live,
        ),
    )


def _live(t: Target) -> GateResult | None:
    """The upstream runs the candidate live (when it has a ``live:`` block with ``gate``)."""
    if t.app is None or not t.promoted or t.live is None or t.rollback:
        return None
    upstream = t.config.upstream_of(t.env)
    if upstream is None or upstream not in t.config.envs_of(t.app):
        return None
    block = t.config.live_of(t.app, upstream)
    if block is None or not block.gate:
        return None
    return live_gate(
        t.app.name,
        t.env.name,
        upstream.name,
        t.new,
        t.upstream_live,
        on_error=block.on_error,
        file=t.file,
        line=t.line,
    )


def _dependencies(t: Target) -> GateResult | None:
    if t.app is None or not t.promoted or t.after is None or not t.known:
        return None
    return dependencies_gate(t.app, t.env, t.config, t.after, file=t.file, line=t.line)


# The gates, in the order every command reports them. A new gate is one line here.
GATES: tuple[Gate, ...] = (
    Gate("freeze", "env", True, _freeze),
    Gate("pinning", "target", False, _pinning),
    Gate("upstream", "target", True, _upstream),
    Gate("live", "target", True, _live),
    Gate("soak", "target", True, _soak),
    Gate("dependencies", "target", True, _dependencies),
)


def judge(target: Target, *, scope: Scope | None = None) -> list[GateResult]:
    """Every gate's verdict on ``target``, in :data:`GATES` order (``scope``: only those)."""
    out: list[GateResult] = []
    for gate in GATES:
        if scope is not None and gate.scope != scope:
            continue
        if gate.scope == "target" and target.app is None:
            continue
        result = gate.judge(target)
        if result is not None:
            out.append(result)
    return out


def deferrable(name: str) -> bool:
    return any(g.name == name and g.deferrable for g in GATES)


def defer(gate: GateResult) -> GateResult:
    """``--defer-gates``: a failure the pull request's required check will hold the PR for
    becomes a warning here (pinning never does: no check could ever pass it)."""
    if gate.passed or not deferrable(gate.gate):
        return gate
    note = "; deferred to the pull request's check, which refuses it until this passes"
    return replace(gate, severity="warning", message=gate.message + note)


@dataclass(frozen=True)
class Promoted:
    """One app a promotion changes, where: what :func:`preflight` judges."""

    app: str
    new: ImageRef | None
    file: str | None = None
    line: int | None = None


def preflight(
    config: Config,
    env: Environment,
    promoted: Sequence[Promoted],
    now: datetime,
    *,
    labels: Sequence[str] = (),
    before: Mapping[Key, ImageRef | None] | None = None,
    after: Mapping[Key, ImageRef | None] | None = None,
    history: Mapping[Key, Sequence[PinEvent]] | None = None,
    deferred: bool = False,
    live: Mapping[Key, LiveState] | None = None,
) -> list[GateResult]:
    """The gates a promotion of ``env`` must pass before anything is written: the env's
    gates once, then every target gate of each promoted app, exactly as ``check`` judges
    the pull request later (``before``/``after``: pins now and once promoted; ``history``:
    pin events on the base branch; without them, only the gates that need no facts). Every
    failure blocks, in gated envs too: a pull request the check would refuse is not opened,
    unless ``deferred`` (``--defer-gates``, see :func:`defer`). ``labels``: the labels the
    PR will carry (the freeze break-glass label among them); ``live``: the upstreams' live
    state (:class:`Target`)."""
    if not promoted:
        return []
    results = judge(
        Target(config, env, now, labels=labels, before=before, after=after, history=history),
        scope="env",
    )
    for p in promoted:
        target = Target(
            config,
            env,
            now,
            config.app(p.app),
            p.new,
            before=before,
            after=after,
            history=history,
            labels=labels,
            file=p.file,
            line=p.line,
            live=live,
        )
        results += judge(target, scope="target")
    return [defer(g) for g in results] if deferred else results


__all__ = [
    "GATES",
    "Gate",
    "Promoted",
    "Target",
    "defer",
    "deferrable",
    "judge",
    "preflight",
]
