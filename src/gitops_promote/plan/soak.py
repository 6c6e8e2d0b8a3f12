"""What a scheduled soak run should do, target by target: a pure function over facts.

For every app and every environment with ``auto: true`` and ``from:`` (the app deployed to
both), the candidate is what the upstream env runs. Then, in this order:

- **up to date**: the env already runs the candidate's artifact;
- **already proposed**: an open pull request proposes exactly the candidate (left alone;
  one that proposes something older is updated: that is a promotion);
- **skipped**: nothing to promote (the upstream does not pin the app), or the env ran the
  candidate before and moved away from it (re-proposing it would undo a rollback: that is
  for a person to decide, with ``promote``);
- **waiting**: the candidate has not run upstream for ``soak`` yet (how long is left);
- **frozen**: the env is inside a freeze window (which one, until when);
- **blocked**: a dependency does not run in the env what it runs upstream (which one to
  promote first), the env requires a digest and the candidate is a bare tag, or the
  overlay of the env or of its upstream cannot be read (the error says why);
- else **promote**.

The reason names the first of these that holds, then every other gate that also says no
(so a waiting target that will then be frozen says both). The verdicts come from the very
gates the promotion pull request's ``check`` runs (freeze, pinning, upstream match, soak,
dependencies: :func:`gitops_promote.plan.verdicts.judge`, the one composition ``check`` and
``promote`` call too); :func:`gates` is the one place the plan calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gitops_promote.config.durations import format_duration, format_instant
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts.events import Key, PinEvent, same_artifact
from gitops_promote.images import ImageRef, describe
from gitops_promote.plan.gates.freeze import (
    FOREVER,
    display_zone,
)
from gitops_promote.plan.soak_gates import Verdicts, gates
from gitops_promote.plan.soak_values import STATUSES, Decision, Facts, Proposal, Status


def eligible(config: Config) -> list[tuple[App, Environment]]:
    """Targets a scheduled run may promote, in pipeline order then app order."""
    out: list[tuple[App, Environment]] = []
    for env in config.environments:
        if not env.auto or not env.upstream:
            continue
        for app in config.apps:
            names = {e.name for e in config.envs_of(app)}
            if env.name in names and env.upstream in names:
                out.append((app, env))
    return out


def fact_targets(config: Config) -> list[tuple[App, Environment]]:
    """Every (app, env) whose pin or history the plan reads: eligible targets, their
    upstreams, and their dependencies in both (for one :func:`gitops_promote.facts.since.read`)."""
    wanted: dict[Key, tuple[App, Environment]] = {}
    for app, env in eligible(config):
        upstream = config.env(env.upstream or "")
        for name in (app.name, *app.depends_on):
            if not config.has_app(name):
                continue
            dep = config.app(name)
            for e in (env, upstream):
                if e in config.envs_of(dep):
                    wanted.setdefault((dep.name, e.name), (dep, e))
    return list(wanted.values())


def plan(facts: Facts) -> list[Decision]:
    """One decision per eligible target. Dependencies see their own decisions, so a
    blocked target can say that the app it waits for is being promoted in this run."""
    decided: dict[Key, Decision] = {}
    for app, env in _dependencies_first(eligible(facts.config)):
        decided[(app.name, env.name)] = decide(facts, app, env, decided)
    return [decided[(a.name, e.name)] for a, e in eligible(facts.config)]


def _dependencies_first(
    targets: Sequence[tuple[App, Environment]],
) -> list[tuple[App, Environment]]:
    order: list[tuple[App, Environment]] = []
    seen: set[Key] = set()
    index = {(a.name, e.name): (a, e) for a, e in targets}

    def visit(key: Key, trail: frozenset[Key]) -> None:
        if key in seen or key in trail or key not in index:
            return
        app, env = index[key]
        for dep in app.depends_on:
            visit((dep, env.name), trail | {key})
        seen.add(key)
        order.append(index[key])

    for app, env in targets:
        visit((app.name, env.name), frozenset())
    return order


# -- one target -----------------------------------------------------------------------------


def show(ref: ImageRef | None) -> str:
    """``v1.4.0 (sha256:f9811b73ac5d…)``, ``sha256:f9811b73ac5d…``, or the tag."""
    if ref is None:
        return "nothing"
    if ref.digest:
        return describe(ref)
    return f"tag {ref.tag}" if ref.tag else ref.name


def _when(moment: datetime) -> str:
    return format_instant(moment)


def _lagging(facts: Facts, app: App, env: Environment) -> list[str]:
    """Dependencies of ``app`` that do not run in ``env`` what they run upstream."""
    config = facts.config
    out: list[str] = []
    for name in app.depends_on:
        if not config.has_app(name):
            continue
        deployed = {e.name for e in config.envs_of(config.app(name))}
        if env.name not in deployed or (env.upstream or "") not in deployed:
            continue
        here = facts.pins.get((name, env.name))
        there = facts.pins.get((name, env.upstream or ""))
        if not same_artifact(here, there):
            out.append(name)
    return out


def decide(
    facts: Facts, app: App, env: Environment, decided: Mapping[Key, Decision] | None = None
) -> Decision:
    """The decision for one eligible target (``decided``: its dependencies', if known)."""
    decided = decided or {}
    key = (app.name, env.name)
    source = env.upstream or ""
    current = facts.pins.get(key)
    candidate = facts.pins.get((app.name, source))
    file = facts.files.get(key)
    proposal = facts.proposals.get(key)
    base = Decision(
        app.name,
        env.name,
        source,
        "skipped",
        "",
        current=current,
        candidate=candidate,
        soak=env.soak,
        proposal=proposal,
        file=file,
    )
    for broken in (key, (app.name, source)):
        if broken in facts.unreadable:
            return _with(base, "blocked", facts.unreadable[broken])
    if candidate is None:
        return _with(base, "skipped", f"nothing to promote: {app.name} is not pinned in {source}")
    upstream_line = facts.lines.get((app.name, source))
    since = upstream_line.held_since(candidate) if upstream_line else None
    base = _with(base, "skipped", "", candidate_since=since)
    if same_artifact(current, candidate):
        return _with(base, "up-to-date", f"runs {show(current)}, as {source} does")
    if proposal is not None and proposal.ref == candidate and not proposal.rollback:
        return _with(base, "proposed", f"in #{proposal.number}")
    degraded = _degraded(facts, app, env)
    if degraded:
        return _with(base, "skipped", degraded)
    own = facts.lines.get(key)
    left_it = _ran_before(own.events if own else (), candidate, current)
    if left_it is not None:
        return _with(
            base,
            "skipped",
            f"{env.name} ran {show(candidate)} before and moved away from it (commit "
            f"{left_it.commit[:7]}): not re-proposed automatically; promote it by hand if "
            f"that is intended",
        )
    verdicts = gates(facts, app, env, candidate, file)
    reasons: list[tuple[Status, str]] = []
    left: timedelta | None = None
    ready: datetime | None = None
    status = verdicts.soak_status
    soak = verdicts.of("soak")
    if soak is not None and soak.blocking:
        if status is not None and status.since is not None and status.ready_at is not None:
            left = status.remaining
            ready = status.ready_at
            need = format_duration(env.soak or timedelta(0))
            reasons.append(
                (
                    "waiting",
                    f"{format_duration(left or timedelta(0))} left ({source} has run "
                    f"{show(candidate)} since {_when(status.since.date)}; {env.name} needs "
                    f"{need}, met at {_when(ready)})",
                )
            )
        else:
            reasons.append(("waiting", soak.message))
    if verdicts.blocking("freeze"):
        until = verdicts.frozen_until
        window = verdicts.window or "?"
        if until is None or until == FOREVER:
            text = f"by window '{window}', with no end in sight"
        else:
            zone = next((w for w in env.freeze if w.name == window), None)
            shown = format_instant(until, display_zone(zone)) if zone else _when(until)
            text = f"until {shown} by window '{window}'"
        reasons.append(("frozen", text))
    if verdicts.blocking("dependencies"):
        lagging = _lagging(facts, app, env) or list(app.depends_on)
        notes = [_dependency_note(decided.get((name, env.name))) for name in lagging]
        extra = "".join(f" ({n})" for n in notes if n)
        reasons.append(
            (
                "blocked",
                f"{app.name} needs {' and '.join(lagging)} promoted to {env.name} first{extra}",
            )
        )
    if verdicts.blocking("pinning"):
        reasons.append(
            (
                "blocked",
                f"{env.name} requires a digest and {source} pins {app.name} by "
                f"{show(candidate)} only",
            )
        )
    handled = {"soak", "freeze", "dependencies", "pinning"}
    reasons += [
        ("blocked", r.message) for r in verdicts.results if r.blocking and r.gate not in handled
    ]
    decision = _with(
        base,
        reasons[0][0] if reasons else "promote",
        _join(reasons),
        ready_at=ready,
        left=left,
        frozen_until=verdicts.frozen_until,
        window=verdicts.window,
        blocked_by=tuple(_lagging(facts, app, env)) if verdicts.blocking("dependencies") else (),
        gates=verdicts.results,
    )
    if reasons:
        return decision
    return _with(decision, "promote", _promote_reason(env, source, candidate, since, proposal))


def _degraded(facts: Facts, app: App, env: Environment) -> str:
    """Why the upstream is skipped as a source: its controller reports it Degraded ("":
    it does not, or has no live block)."""
    live = facts.live.get((app.name, env.upstream or "")) if facts.live is not None else None
    if live is None or live.status != "degraded":
        return ""
    return f"{env.upstream} is degraded live, so it is no source to promote from: {live.reason}"


def _ran_before(
    events: Sequence[PinEvent], candidate: ImageRef, current: ImageRef | None
) -> PinEvent | None:
    """The last event that moved the env away from ``candidate``'s artifact (None: it
    never ran it, or runs it now)."""
    if same_artifact(candidate, current):
        return None
    moved: PinEvent | None = None
    running = False
    for event in events:
        if same_artifact(event.new, candidate):
            running = True
        elif running:
            moved, running = event, False
    return moved


def _dependency_note(dep: Decision | None) -> str:
    """Why a lagging dependency has not caught up, when this run knows."""
    if dep is None:
        return ""
    if dep.status == "promote":
        return f"{dep.app} is being promoted in this run"
    if dep.status == "proposed" and dep.proposal is not None:
        return f"{dep.app} is proposed in #{dep.proposal.number}"
    if dep.status == "waiting" and dep.left is not None:
        return f"{dep.app} is still soaking: {format_duration(dep.left)} left"
    if dep.status == "blocked":
        return f"{dep.app} is blocked too"
    return ""


def _join(reasons: Sequence[tuple[Status, str]]) -> str:
    """The first reason as is (the status says what it is), then the others labelled."""
    if not reasons:
        return ""
    rest = [f"also frozen {t}" if s == "frozen" else f"also {s}: {t}" for s, t in reasons[1:]]
    return "; ".join([reasons[0][1], *rest])


def _promote_reason(
    env: Environment,
    source: str,
    candidate: ImageRef,
    since: PinEvent | None,
    proposal: Proposal | None,
) -> str:
    ran = f"{source} runs {show(candidate)}"
    if since is not None:
        ran += f" since {_when(since.date)}"
    if env.soak:
        ran += f" (soak {format_duration(env.soak)} met)"
    if proposal is not None:
        ran += f"; updates #{proposal.number}, which proposes {show(proposal.ref)}"
    return ran


def _with(base: Decision, status: Status, reason: str, **changes: Any) -> Decision:
    return replace(base, status=status, reason=reason, **changes)


def counts(decisions: Sequence[Decision]) -> dict[Status, int]:
    """How many targets ended in each status (every status present, in a fixed order)."""
    out: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    for d in decisions:
        out[d.status] += 1
    return out


__all__ = [
    "STATUSES",
    "Decision",
    "Facts",
    "Proposal",
    "Status",
    "Verdicts",
    "counts",
    "decide",
    "eligible",
    "fact_targets",
    "gates",
    "plan",
]
