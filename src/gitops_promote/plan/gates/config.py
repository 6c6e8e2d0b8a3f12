"""Control files are changes to what they control: promotion.yaml, judged per environment.

A pull request that changes promotion.yaml changes the rules of every later promotion. The
gates of the pull request itself use the base branch's rules; this gate compares the base's
and the head's parsed config environment by environment and lists what each change does:

- a **loosening** (mode pull-request -> push, soak lowered, a freeze window removed or
  changed, require-digest or require-limits turned off, ``from`` changed or removed, owners
  replaced or removed, pull-request labels or reviewers removed, drift severity lowered or
  more paths ignored, render fail -> warn, rollbacks allowed, external names added, the
  overlay path moved, the environment removed; repository-wide: the break-glass label or
  the state file changed) fails the ``config`` gate of that environment, unless CODEOWNERS
  on the base branch (the one GitHub asks; evaluated by :mod:`gitops_promote.plan.gates.ownership`)
  makes only that environment's owners, or those of a more protected environment after it
  in the pipeline, the code owners of promotion.yaml. Then it is a warning naming them: they
  must approve the pull request.
- a **tightening** passes with a note.

Pure: two Config values and a CODEOWNERS text in, GateResults out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from gitops_promote.config.durations import format_duration
from gitops_promote.config.model import Config, Environment, FreezeWindow
from gitops_promote.plan.gates import GateResult, GateSeverity
from gitops_promote.plan.gates.ownership import owner_rule, parse

GATE: Final = "config"


@dataclass(frozen=True)
class EnvChange:
    """What a new promotion.yaml does to one environment of the base's."""

    env: str
    loosened: tuple[str, ...] = ()
    tightened: tuple[str, ...] = ()
    line: int | None = None


def _soak(value: timedelta | None) -> str:
    return format_duration(value) if value else "none"


def _names(items: Sequence[str]) -> str:
    return ", ".join(items)


def _folded(items: Sequence[str]) -> set[str]:
    return {i.casefold() for i in items}


def _listed(
    what: str, old: Sequence[str], new: Sequence[str], *, adding_loosens: bool = False
) -> tuple[list[str], list[str]]:
    """(loosened, tightened) by a list's change: removing an entry loosens a list whose
    entries each add a requirement (labels, reviewers); adding one loosens a list of
    exceptions (``adding_loosens``: drift ignores, external names)."""
    removed = [o for o in old if o.casefold() not in _folded(new)]
    added = [n for n in new if n.casefold() not in _folded(old)]
    gone = [f"{what} removed: {_names(removed)}"] if removed else []
    more = [f"{what} added: {_names(added)}"] if added else []
    return (more, gone) if adding_loosens else (gone, more)


def _window(window: FreezeWindow) -> FreezeWindow:
    return replace(window, line=None, reason=None)


def _longer(old: FreezeWindow, new: FreezeWindow) -> bool:
    """``new`` freezes at least whenever ``old`` did (only the plain cases are judged)."""
    if old.schedule is not None:
        return (
            (new.schedule, new.timezone) == (old.schedule, old.timezone)
            and new.duration is not None
            and old.duration is not None
            and new.duration >= old.duration
        )
    if old.start is not None and old.end is not None and new.start is not None:
        return new.start <= old.start and new.end is not None and new.end >= old.end
    return False


def _freeze(old: Environment, new: Environment) -> tuple[list[str], list[str]]:
    loose: list[str] = []
    tight: list[str] = []
    now = {w.name: w for w in new.freeze}
    for window in old.freeze:
        other = now.get(window.name)
        if other is None:
            loose.append(f"freeze window '{window.name}' removed")
        elif _window(other) != _window(window):
            if _longer(window, other):
                tight.append(f"freeze window '{window.name}' lengthened")
            else:
                loose.append(f"freeze window '{window.name}' changed (it may freeze less)")
    was = {w.name for w in old.freeze}
    tight += [f"freeze window '{w.name}' added" for w in new.freeze if w.name not in was]
    return loose, tight


def _render_modes(env: Environment) -> tuple[str, str]:
    """How a refused render and a failed render of ``env`` are judged."""
    return env.render_mode(refused=True), env.render_mode(refused=False)


def _owners(old: Environment, new: Environment) -> tuple[list[str], list[str]]:
    was, now = _folded(old.owners), _folded(new.owners)
    if was == now:
        return [], []
    shown = f"owners {_names(old.owners) or 'none'} -> {_names(new.owners) or 'none'}"
    if was and not (now and now <= was):
        return [shown], []
    return [], [shown]


def compare_env(old: Environment, new: Environment) -> EnvChange:
    """Every loosening and tightening of one environment's rules, base -> head."""
    loose: list[str] = []
    tight: list[str] = []

    def flag(what: str, before: bool, after: bool, *, loosens_when_off: bool = True) -> None:
        if before == after:
            return
        text = f"{what} {str(before).lower()} -> {str(after).lower()}"
        (loose if before == loosens_when_off else tight).append(text)

    if old.mode != new.mode:
        (loose if old.gated else tight).append(f"mode {old.mode} -> {new.mode}")
    if (old.soak or timedelta()) != (new.soak or timedelta()):
        more = (new.soak or timedelta()) > (old.soak or timedelta())
        (tight if more else loose).append(f"soak {_soak(old.soak)} -> {_soak(new.soak)}")
    more_loose, more_tight = _freeze(old, new)
    loose += more_loose
    tight += more_tight
    flag("require-digest", old.require_digest, new.require_digest)
    flag("require-limits", old.require_limits, new.require_limits)
    flag("allow-rollback", old.allow_rollback, new.allow_rollback, loosens_when_off=False)
    if old.upstream != new.upstream:
        (tight if old.upstream is None else loose).append(
            f"from {old.upstream or 'none'} -> {new.upstream or 'none'}"
        )
    if old.path != new.path:
        loose.append(f"path {old.path} -> {new.path}")
    more_loose, more_tight = _owners(old, new)
    loose += more_loose
    tight += more_tight
    for what, before, after, exceptions in (
        ("pull-request labels", old.pull_request.labels, new.pull_request.labels, False),
        ("pull-request reviewers", old.pull_request.reviewers, new.pull_request.reviewers, False),
        (
            "pull-request team-reviewers",
            old.pull_request.team_reviewers,
            new.pull_request.team_reviewers,
            False,
        ),
        ("drift ignore", old.drift.ignore, new.drift.ignore, True),
        ("external", old.external, new.external, True),
    ):
        more_loose, more_tight = _listed(what, before, after, adding_loosens=exceptions)
        loose += more_loose
        tight += more_tight
    if old.drift.severity != new.drift.severity:
        text = f"drift severity {old.drift.severity} -> {new.drift.severity}"
        (loose if old.drift.severity == "fail" else tight).append(text)
    if old.render != new.render:
        pairs = zip(_render_modes(old), _render_modes(new), strict=True)
        text = f"render {old.render or 'default'} -> {new.render or 'default'}"
        if any(a == "fail" and b == "warn" for a, b in pairs):
            loose.append(text)
        else:
            tight.append(text)
    return EnvChange(old.name, tuple(loose), tuple(tight), new.line or old.line)


def compare(base: Config, head: Config) -> list[EnvChange]:
    """Per environment of the base, what the head's promotion.yaml does to its rules."""
    out: list[EnvChange] = []
    label_old = base.settings.freeze_exception_label
    label_new = head.settings.freeze_exception_label
    state_old, state_new = base.settings.state_file, head.settings.state_file
    for env in base.environments:
        if not head.has_env(env.name):
            out.append(EnvChange(env.name, ("removed from promotion.yaml",), (), env.line))
            continue
        change = compare_env(env, head.env(env.name))
        extra: list[str] = []
        if env.freeze and label_old != label_new:
            extra.append(f"break-glass label '{label_old}' -> '{label_new}'")
        if env.gated and state_old != state_new:
            extra.append(f"state file {state_old or 'none'} -> {state_new or 'none'}")
        if extra:
            change = replace(change, loosened=(*change.loosened, *extra))
        if change.loosened or change.tightened:
            out.append(change)
    return out


def _approvers(base: Config, env_name: str, owners: Sequence[str]) -> Environment | None:
    """The environment (``env_name`` or a more protected gated one after it) whose owners
    include every code owner of promotion.yaml, if any."""
    if not owners:
        return None
    names = [e.name for e in base.environments]
    at = names.index(env_name)
    candidates = [base.environments[at]] + [e for e in base.environments[at + 1 :] if e.gated]
    wanted = _folded(owners)
    return next((e for e in candidates if e.owners and wanted <= _folded(e.owners)), None)


def config_gates(base: Config, head: Config, base_codeowners: str | None) -> list[GateResult]:
    """One ``config`` result per environment whose rules the head's promotion.yaml
    changes: an error for a loosening promotion.yaml's code owners (on the base branch) do
    not guard, a warning naming them when they do, a pass for a tightening."""
    file = base.file
    rule = owner_rule(parse(base_codeowners), file.strip("/"))
    owners = rule.owners if rule is not None else ()
    out: list[GateResult] = []

    def verdict(
        change: EnvChange, passed: bool, message: str, severity: GateSeverity = "error"
    ) -> None:
        out.append(
            GateResult(
                GATE,
                None,
                change.env,
                passed,
                message,
                file=file,
                line=change.line,
                severity=severity,
            )
        )

    for change in compare(base, head):
        if not change.loosened:
            verdict(change, True, f"{file} tightens {change.env}: {'; '.join(change.tightened)}")
            continue
        what = f"{file} loosens {change.env}: {'; '.join(change.loosened)}"
        guard = _approvers(base, change.env, owners)
        if guard is not None:
            verdict(
                change,
                False,
                f"{what}; CODEOWNERS on the base branch makes {' '.join(owners)} "
                f"({guard.name}'s owners) the required reviewers of {file}: they must "
                "approve this pull request (branch protection: Require review from Code "
                "Owners)",
                "warning",
            )
            continue
        env = base.env(change.env)
        if not owners:
            why = f"no CODEOWNERS rule on the base branch gives {file} an owner"
        else:
            theirs = " ".join(env.owners) or "none"
            why = (
                f"CODEOWNERS on the base branch lets {' '.join(owners)} approve {file}, not "
                f"only {change.env}'s owners ({theirs})"
            )
        verdict(
            change,
            False,
            f"{what}; {why}, so nothing makes {change.env}'s owners approve it before it "
            f"governs every later promotion; set owners: for {change.env} and commit the "
            f"CODEOWNERS block 'gitops-promote codeowners' writes (it covers {file}) first",
        )
    return out


__all__ = ["GATE", "EnvChange", "compare", "compare_env", "config_gates"]
