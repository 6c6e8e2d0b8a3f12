"""The promotion orchestrator, shared by ``promote`` and ``soak``.

inputs -> workspace (opened by :mod:`.opening`: the clone starts before this module
loads) -> config -> what to pin (:mod:`.choice`) -> gates -> deliver
(:mod:`.push` for ``mode: push``, :mod:`.pull_request` otherwise) -> result. Pure
decisions live in :mod:`gitops_promote.plan`; this module only sequences them and calls
the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from gitops_promote.adapters import actions, yamlsafe
from gitops_promote.adapters.git import Repo, Unpushed
from gitops_promote.adapters.workspace import Location, Workspace
from gitops_promote.config.load import load_config
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.deliver import warm
from gitops_promote.deliver.choice import Choice, Job, choose
from gitops_promote.deliver.inputs import (
    check_base_branch,
    pick_apps,
    pick_env,
    require_commits,
    ws_web_url,
)
from gitops_promote.deliver.opening import parse_identity
from gitops_promote.deliver.pull_request import (
    branch_for,
    deliver_pull_request,
    github_client,
    refuse_break_glass,
)
from gitops_promote.deliver.push import deliver_push
from gitops_promote.deliver.requests import PromoteRequest
from gitops_promote.errors import GateError, InputError, PromoteError, UserError, Where
from gitops_promote.facts import pins, statefile
from gitops_promote.facts import since as since_when
from gitops_promote.facts import timelines as facts
from gitops_promote.facts.live import read as liveread
from gitops_promote.images import ImageRef
from gitops_promote.plan import verdicts
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.verdicts import defer
from gitops_promote.report import promotion as report
from gitops_promote.report.diffs import unified
from gitops_promote.report.records import Change, PromotionResult

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from gitops_promote.facts.events import PinEvent
    from gitops_promote.facts.live.model import LiveState

__all__ = [  # the names soak and the commands take from here
    "Choice",
    "branch_for",
    "change_of",
    "check_base_branch",
    "deliver",
    "github_client",
    "live_facts",
    "parse_identity",
    "preflight",
    "preflight_facts",
    "promote_in",
    "ws_web_url",
]


def promote_in(
    ws: Workspace, req: PromoteRequest, loc: Location, warming: warm.Warm
) -> tuple[PromotionResult, list[GateResult]]:
    """The promotion in its open workspace (:func:`gitops_promote.deliver.opening.workspace`);
    ``warming``: what loads meanwhile, waited for before promotion.yaml is read."""
    require_commits(ws)
    align_checkout(ws, req)
    warming.wait()
    config = load_config(ws.root, loc.config_path)
    base = check_base_branch(ws, config, loc)
    env = pick_env(config, req.env)
    refuse_break_glass(config, req.labels)
    if env.gated and req.no_push:
        raise InputError(
            f"{env.name} is mode: pull-request: it changes only through a pull request",
            hint="drop --no-push (a PR is opened), or use --dry-run to preview",
        )
    if req.defer_gates and not env.gated:
        raise InputError(
            f"--defer-gates: {env.name} is mode: push, so no check comes after the push",
            hint="gates of push environments always apply; drop --defer-gates",
        )
    names = req.apps or tuple(a.name for a in config.apps if env in config.envs_of(a))
    apps = pick_apps(config, names, env)
    upstream_env = config.upstream_of(env)
    envs = [env] + ([upstream_env] if upstream_env else [])
    ws.repo.add_sparse(sparse_paths(req, config, apps, envs, env))
    # since when: the one source status and soak read (the state file, else history)
    held = since_when.read(ws.repo, config, history_targets(req, apps, env, upstream_env))
    lines = dict(held.lines)
    choices = [choose(req, config, ws, app, env, lines) for app in apps]
    states = {c.app.name: pins.read_state(ws.root, config, c.app, env) for c in choices}
    changes = tuple(change_of(c, states[c.app.name]) for c in choices)
    check_unpushed(ws, config, env, changes)
    labels = (*env.pull_request.labels, *req.labels) if env.gated else ()
    gates = preflight(
        config,
        env,
        changes,
        req.now,
        labels=labels,
        **preflight_facts(ws, config, env, changes, lines),
    )
    if req.defer_gates:
        gates = [defer(g) for g in gates]
    blocking = [g for g in gates if g.blocking]
    if blocking:
        raise GateError(
            "\n".join(g.message for g in blocking),
            where=[Where(g.message, g.file, g.line, g.gate) for g in blocking],
        )
    result = PromotionResult(
        "unchanged",
        env.name,
        changes,
        base=base,
        rollback=req.rollback,
        repo_url=ws_web_url(ws),
    )
    pending = [c for c in changes if c.changed]
    if not pending:
        return result, gates
    if req.dry_run:
        return dry_run(result, states, choices), gates
    return deliver(Job(req, ws, config, env, choices), result), gates


def deliver(job: Job, result: PromotionResult) -> PromotionResult:
    """The env's normal path: commit + push for ``mode: push``, a pull request otherwise."""
    ws, config, env = job.ws, job.config, job.env
    if env.mode == "push":
        # the push guard refuses a commit that changes a gated environment's file
        gated = pins.gated_paths(ws.repo, config, [c.app for c in job.choices])
        ws.repo.protect(gated, statefile.paths(config) or ())
        return deliver_push(job, result)
    return deliver_pull_request(job, result)


def sparse_paths(
    req: PromoteRequest,
    config: Config,
    apps: Sequence[App],
    envs: Sequence[Environment],
    env: Environment,
) -> list[str]:
    """The overlays a promotion checks out: those of ``envs`` (the env and its upstream);
    for a push, also the apps' gated overlays, whose kustomizations the push guard reads
    (:func:`deliver`): checked out with the others, they come in the same fetch, not in
    one more round trip when the guard reads them."""
    paths = [config.overlay_path(a, e) for a in apps for e in envs]
    if env.mode == "push" and not req.dry_run:
        paths += [config.overlay_path(a, e) for a in apps for e in config.envs_of(a) if e.gated]
    return list(dict.fromkeys(paths))


def publish(result: PromotionResult, gates: Sequence[GateResult]) -> None:
    """In Actions: a warning annotation for each gate that failed or was overridden (at
    its file:line), the step outputs and the job summary."""
    warnings = [g for g in gates if not g.passed or g.overridden]
    for gate in warnings:
        title = f"gitops-promote: {gate.gate}"
        actions.annotate("warning", gate.message, file=gate.file, line=gate.line, title=title)
    actions.publish(report.outputs(result), report.summary(result, warnings))


def history_targets(
    req: PromoteRequest, apps: Sequence[App], env: Environment, upstream: Environment | None
) -> list[tuple[App, Environment]]:
    """The timelines a promotion reads: the upstream's (where the pin comes from, since
    when: upstream choice, soak) and the env's own (rollback). A digest pinned into an env
    without an upstream reads no history at all: nothing in a partial clone is fetched."""
    targets: list[tuple[App, Environment]] = []
    if upstream is not None:
        targets += [(a, upstream) for a in apps]
    if req.rollback or (upstream is not None and env.allow_rollback):
        targets += [(a, env) for a in apps]
    return targets


def change_of(choice: Choice, state: pins.OverlayState) -> Change:
    pin = state.pin
    return Change(
        app=choice.app.name,
        env=state.env.name,
        file=state.file,
        old=pin.ref if pin else None,
        new=choice.ref,
        line=pin.line if pin else None,
        source=choice.source,
        upstream=choice.upstream,
    )


def preflight(
    config: Config,
    env: Environment,
    changes: Sequence[Change],
    now: datetime,
    *,
    labels: Sequence[str] = (),
    before: Mapping[facts.Key, ImageRef | None] | None = None,
    after: Mapping[facts.Key, ImageRef | None] | None = None,
    history: Mapping[facts.Key, Sequence[PinEvent]] | None = None,
    live: Mapping[facts.Key, LiveState] | None = None,
) -> list[GateResult]:
    """The gates a promotion must pass before anything is written (the one composition,
    :func:`gitops_promote.plan.verdicts.preflight`), over the changes that change a pin
    (``live``: the upstreams' live state, :func:`live_facts`)."""
    pending = [verdicts.Promoted(c.app, c.new, c.file, c.line) for c in changes if c.changed]
    return verdicts.preflight(
        config,
        env,
        pending,
        now,
        labels=labels,
        before=before,
        after=after,
        history=history,
        live=live,
    )


def live_facts(
    ws: Workspace, config: Config, env: Environment, changes: Sequence[Change]
) -> Mapping[facts.Key, LiveState] | None:
    """The live state of the upstream of every app a promotion changes, where it has a
    ``live:`` block (None: none has; exit 3 for an unreachable controller under
    ``on-error: fail``)."""
    targets = [(config.app(c.app), env) for c in changes if c.changed and config.has_app(c.app)]
    return liveread.gate_states(ws.repo, config, targets)


def preflight_facts(
    ws: Workspace,
    config: Config,
    env: Environment,
    changes: Sequence[Change],
    lines: Mapping[facts.Key, facts.Timeline],
) -> dict[str, Any]:
    """The pins and history :func:`preflight` needs, from the work tree (the base branch)
    and the timelines already read: the promoted apps and their dependencies, in ``env``
    and its upstream."""
    envs = [env.name] + ([env.upstream] if env.upstream else [])
    names: dict[str, None] = {}
    for c in changes:
        names[c.app] = None
        names.update(dict.fromkeys(config.app(c.app).depends_on))
    targets = [
        (app, config.env(env_name))
        for app in (config.app(n) for n in names if config.has_app(n))
        for env_name in envs
        if config.env(env_name) in config.envs_of(app)
    ]
    before = pins.refs(pins.work_tree(ws.root, config, targets))
    after = dict(before)
    after.update({(c.app, env.name): c.new for c in changes})
    return {
        "before": before,
        "after": after,
        "history": {key: line.events for key, line in lines.items()},
        "live": live_facts(ws, config, env, changes),
    }


def dry_run(
    result: PromotionResult, states: dict[str, pins.OverlayState], choices: Sequence[Choice]
) -> PromotionResult:
    diffs = []
    for choice in choices:
        state = states[choice.app.name]
        if state.pin is not None and state.pin.ref == choice.ref:
            continue
        diffs.append(unified(state.file, state.text, pins.edit(state, choice.ref)))
    return replace(result, operation="dry-run", diff="".join(diffs))


def align_checkout(ws: Workspace, req: PromoteRequest) -> None:
    """A ``--repo`` checkout with a remote is moved to the remote's tip before anything is
    decided (:meth:`Repo.align_with_remote`), so "already in place" means the remote has
    it. Not for ``--no-push`` (it commits locally, on whatever the checkout holds) nor
    ``--dry-run`` (it changes nothing, the checkout included)."""
    if ws.has_remote and not ws.cloned and not req.no_push and not req.dry_run:
        ws.repo.align_with_remote()


def check_unpushed(
    ws: Workspace, config: Config, env: Environment, changes: Sequence[Change]
) -> None:
    """The commits a ``--repo`` checkout had that its remote lacks (:func:`align_checkout`
    moved the branch away from them) are left behind only when they hold exactly this
    promotion: each file they change is this run's state file, or the overlay of one of
    its changes, edited exactly as this promotion edits it. The promotion is then
    re-applied on the remote's tip and pushed (gates, superseded check and all). Anything
    else is refused (exit 2) and the checkout put back where it was (by the workspace)."""
    unpushed = ws.repo.unpushed
    if unpushed is None:
        return
    repo = ws.repo
    where = (
        f"--repo {ws.root}: branch {repo.base_branch!r} has "
        f"{unpushed.count} commit{'s' if unpushed.count != 1 else ''} that "
        f"{'are' if unpushed.count != 1 else 'is'} not on {repo.remote}/{repo.base_branch}"
    )
    drop = f"git reset --hard {repo.remote}/{repo.base_branch}"
    them = "them" if unpushed.count != 1 else "it"
    if env.gated:
        raise UserError(
            where,
            hint=f"{env.name} changes only through a pull request: push or drop {them} "
            f"({drop}) first",
        )
    ours = {c.file: c for c in changes}
    state_files = set(statefile.paths(config) or ())
    foreign = [
        file
        for file in repo.diff_names(unpushed.base, unpushed.head)
        if file not in state_files
        and (file not in ours or not _same_edit(repo, config, env, ours[file], unpushed))
    ]
    if foreign:
        more = len(foreign) - 3
        shown = ", ".join(foreign[:3]) + (f" and {more} more" if more > 0 else "")
        raise UserError(
            f"{where}, and {'they are' if unpushed.count != 1 else 'it is'} not exactly "
            f"this promotion (changed: {shown})",
            hint=f"push {them} (git push) or drop {them} ({drop}), then re-run: promote pushes "
            "only its own change",
        )


def _same_edit(
    repo: Repo, config: Config, env: Environment, change: Change, unpushed: Unpushed
) -> bool:
    """Whether ``unpushed`` changed ``change.file`` exactly as pinning ``change.new`` in it
    does: the text at its head is this promotion's edit of the text it forked from."""
    texts = repo.read_blobs([(unpushed.base, change.file), (unpushed.head, change.file)])
    before, after = texts[(unpushed.base, change.file)], texts[(unpushed.head, change.file)]
    if before is None or after is None:
        return False
    app = config.app(change.app)
    try:
        old = yamlsafe.decode(before, change.file)
        state = pins.OverlayState(
            app,
            env,
            repo.root / change.file,
            change.file,
            old,
            pins.read_pin_text(change.file, old, app),
        )
        return pins.edit(state, change.new) == yamlsafe.decode(after, change.file)
    except PromoteError:
        return False
