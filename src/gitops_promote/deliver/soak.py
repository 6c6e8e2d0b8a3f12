"""The soak run's orchestration: inputs -> workspace -> config -> facts (the state file's
answers as the commit list confirms them, at most ONE history pass over every target's
overlay for the rest and for the targets' own events, the work tree's pins, the open
promotion pull requests) -> plan (pure: :func:`gitops_promote.plan.soak.plan`; a
state-file answer a promotion would rest on is proven first: :func:`plan`) -> deliver
each target that may go
through its env's normal path (:func:`gitops_promote.deliver.promotion.deliver`: a commit
for ``mode: push``, the same stable branch and pull request ``promote`` uses otherwise).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from gitops_promote.adapters.git import plumbing
from gitops_promote.adapters.workspace import Credentials, Location, Workspace, open_workspace
from gitops_promote.config.load import load_config
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.deliver import promotion
from gitops_promote.deliver.choice import Choice, Job
from gitops_promote.deliver.inputs import (
    check_base_branch,
    pick_apps,
    pick_env,
    require_commits,
    ws_web_url,
)
from gitops_promote.deliver.promotion import change_of, parse_identity
from gitops_promote.deliver.pull_request import branch_for, github_client
from gitops_promote.deliver.requests import Delivery, SoakRequest
from gitops_promote.errors import GateError, PromoteError, UserError
from gitops_promote.facts import pins, since
from gitops_promote.facts import statefile as state
from gitops_promote.facts.events import same_artifact
from gitops_promote.facts.live import read as liveread
from gitops_promote.facts.overlay import Current
from gitops_promote.facts.timelines import Key
from gitops_promote.images import ImageRef
from gitops_promote.plan import shard as sharding
from gitops_promote.plan import soak as soakplan
from gitops_promote.plan.soak import Decision, Proposal
from gitops_promote.report import promotion as report
from gitops_promote.report.records import PromotionResult, Upstream
from gitops_promote.report.soak import Outcome


def _branches(config: Config, targets: Sequence[tuple[App, Environment]]) -> dict[Key, str]:

    return {
        (app.name, env.name): branch_for(config, env, [app.name])
        for app, env in targets
        if env.gated
    }


def proposals(
    ws: Workspace,
    config: Config,  # noqa: ARG001 - kept: every facts reader takes the config
    base: str,
    wanted: Mapping[Key, str],
) -> tuple[dict[Key, Proposal], str | None]:
    """Open promotion PRs of the ``wanted`` targets (key -> stable branch): one
    ``ls-remote`` for every branch, then one API call per branch that exists (and one per
    run to learn who the token is: only the tool's own PRs count). Returns the
    proposals and, when they could not be looked up, why."""
    if not wanted:
        return {}, None
    if not ws.has_remote or not ws.github_repo or not ws.credentials.token:
        return {}, "open pull requests not checked (no GitHub repository or token)"
    refs = sorted({f"refs/heads/{b}" for b in wanted.values()})
    listed = plumbing.ls_remote(ws.repo.git, ws.repo.remote, refs)
    present = {ref.removeprefix("refs/heads/") for ref in listed}
    found: dict[Key, Proposal] = {}
    gh = None
    try:
        for key, branch in sorted(wanted.items()):
            if branch not in present:
                continue
            gh = gh or github_client(ws)
            pull = gh.find_open_pull(branch, base)
            if pull is None or pull.author != gh.viewer():
                continue  # someone else's PR proposes nothing: delivery refuses it by name
            data = report.parse_marker(pull.body) or {}
            apps = data.get("apps") if isinstance(data.get("apps"), dict) else {}
            text = apps.get(key[0]) if isinstance(apps, dict) else None
            ref: ImageRef | None = None
            if isinstance(text, str) and data.get("env") == key[1]:
                try:
                    ref = ImageRef.parse(text)
                except UserError:
                    ref = None
            found[key] = Proposal(pull.number, pull.url, ref, bool(data.get("rollback")))
    finally:
        if gh is not None:
            gh.close()
    return found, None


def deliver(
    ws: Workspace,
    config: Config,
    base: str,
    decision: Decision,
    now: datetime,
    known: soakplan.Facts,
) -> PromotionResult:
    """Promote one target through its env's normal path, exactly as ``promote`` would:
    every gate re-checked first, on the facts the plan read (``known``)."""
    app, env = config.app(decision.app), config.env(decision.env)
    assert decision.candidate is not None  # noqa: S101 - "promote" always has a candidate
    ws.repo.add_sparse([config.overlay_path(app, env)])  # gather read it from git objects
    since = decision.candidate_since
    choice = Choice(
        app,
        decision.candidate,
        "upstream",
        Upstream(decision.source, since.commit if since else None, since.date if since else None),
    )
    change = change_of(choice, pins.read_state(ws.root, config, app, env))
    gates = promotion.preflight(
        config,
        env,
        (change,),
        now,
        before=known.pins,
        after={**known.pins, (app.name, env.name): change.new},
        history={key: line.events for key, line in known.lines.items()},
        live=known.live,
    )
    blocking = [g for g in gates if g.blocking]
    if blocking:
        raise GateError("; ".join(g.message for g in blocking))
    result = PromotionResult("unchanged", env.name, (change,), base=base, repo_url=ws_web_url(ws))
    return promotion.deliver(Job(Delivery(now=now), ws, config, env, [choice]), result)


def gather(
    ws: Workspace,
    config: Config,
    base: str,
    now: datetime,
    chosen: Sequence[tuple[App, Environment]],
    apps: frozenset[str] | None = None,
) -> Gathered:
    """The facts of every target (the state file's answers, unproven, and at most one
    history pass; the work tree's pins) and the open promotion PRs of the ``chosen``
    targets; plus notes on what was not looked at.
    ``apps``: only these apps' facts (a shard's: its dependencies are its own)."""
    targets = soakplan.fact_targets(config)
    if apps is not None:
        targets = [(a, e) for a, e in targets if a.name in apps]
    # the work tree (a fresh clone: its commit's tree), not the last parsable version in
    # history: an overlay broken at HEAD must stop its target, not be read as the pin it
    # had before
    rev = "HEAD" if ws.cloned else None
    # since when: from the state file where the commit list confirms it, else history (as
    # status reads it; plan() proves the entries it would promote on). One walk: the plan
    # reads every event of the targets it may promote (did the env run the candidate
    # before?), whichever source answers "since when"
    reading = pins.current(ws.repo, config, targets, rev=rev)
    if ws.cloned and _behind(chosen, reading):
        # the plan asks whether these envs ran their candidate before: every event of
        # their overlays, the one history walk; its trees download meanwhile
        ws.repo.start_tree_download()
    held = since.read(
        ws.repo, config, targets, rev=rev, current=reading, proof=False, one_walk=True
    )
    now_pinned, lines = held.current, held.lines
    current: dict[Key, ImageRef | None] = {}
    files: dict[Key, str] = {}
    unreadable: dict[Key, str] = {}
    for key, pinned in now_pinned.items():
        if pinned.error is not None:
            current[key], unreadable[key] = None, str(pinned.error)
            continue
        current[key] = pinned.ref
        if pinned.file is not None:
            files[key] = pinned.file
    open_prs, why = proposals(ws, config, base, _branches(config, chosen))
    found = soakplan.Facts(
        config,
        now,
        current,
        lines,
        files=files,
        proposals=open_prs,
        unreadable=unreadable,
        live=liveread.gate_states(ws.repo, config, chosen),
    )
    return Gathered(found, held, [why] if why else [])


def _behind(chosen: Sequence[tuple[App, Environment]], pinned: Mapping[Key, Current]) -> bool:
    """Whether some chosen target pins another artifact than its upstream (its plan reads
    its overlay's whole history: :func:`gitops_promote.plan.soak.decide`)."""
    for app, env in chosen:
        here, there = pinned.get((app.name, env.name)), pinned.get((app.name, env.upstream or ""))
        if there is None or there.ref is None:
            continue
        if here is None or not same_artifact(here.ref, there.ref):
            return True
    return False


@dataclass(frozen=True)
class Gathered:
    """What :func:`gather` read: the plan's facts, since when each target has run its pin
    (``held``: its state-file answers not all proven yet) and notes on what was not read."""

    facts: soakplan.Facts
    held: since.Since
    notes: Sequence[str]


def plan(
    ws: Workspace, config: Config, gathered: Gathered, keep: Collection[Key]
) -> tuple[list[Decision], soakplan.Facts, list[str]]:
    """The decisions of :func:`gitops_promote.plan.soak.plan`, on facts whose state-file
    answers are proven wherever a decision of ``keep`` would promote on one (the entry's
    commit set the upstream's pin: :func:`gitops_promote.facts.since.prove`); an entry that
    fails is refused, history answers for it and the plan is made again. Returns the
    decisions, the facts they were made on and the notes (one per refused entry)."""
    found, held = gathered.facts, gathered.held
    while True:
        decisions = soakplan.plan(found)
        wanted = {
            (d.app, d.source) for d in decisions if d.status == "promote" and (d.app, d.env) in keep
        } & held.unproven
        if not wanted:
            return decisions, found, [*held.notes, *gathered.notes]
        held = since.prove(ws.repo, config, held, wanted)
        found = replace(found, lines=held.lines)


def soak(req: SoakRequest, loc: Location, creds: Credentials) -> tuple[list[Outcome], list[str]]:
    """Plan every eligible target and deliver those that may go; a target that fails
    does not stop the others. Returns the outcomes and the notes on what was not read."""
    identity = parse_identity(req.author)
    outcomes: list[Outcome] = []
    with open_workspace(loc, creds, identity=identity, require_clean=not req.dry_run) as ws:
        require_commits(ws)
        config = load_config(ws.root, loc.config_path)
        if ws.cloned and state.paths(config) is None:
            ws.repo.start_tree_download()  # every auto target's history: it downloads meanwhile
        base = check_base_branch(ws, config, loc)
        only_apps = [a.name for a in pick_apps(config, req.apps, None)]
        only_envs = [pick_env(config, e).name for e in req.envs]
        chosen = [
            (a, e)
            for a, e in soakplan.eligible(config)
            if (not only_apps or a.name in only_apps) and (not only_envs or e.name in only_envs)
        ]
        mine = sharding.owned(config, req.shard) if req.shard is not None else None
        if mine is not None:
            chosen = [(a, e) for a, e in chosen if a.name in mine]
        keep = {(a.name, e.name) for a, e in chosen}
        gathered = gather(ws, config, base, req.now, chosen, mine)
        decisions, facts, notes = plan(ws, config, gathered, keep)
        for decision in decisions:
            if (decision.app, decision.env) not in keep:
                continue
            if decision.status != "promote" or req.dry_run:
                outcomes.append(Outcome(decision))
                continue
            before = ws.repo.head()
            try:
                result = deliver(ws, config, base, decision, req.now, facts)
            except PromoteError as err:
                outcomes.append(Outcome(decision, error=str(err), exit_code=err.exit_code))
                _recover(ws, before)
                continue
            outcomes.append(Outcome(decision, result=result))
    return outcomes, notes


def _recover(ws: Workspace, head: str) -> None:
    """After a failed target, drop whatever it left in the work tree or on the branch."""
    try:
        ws.repo.switch(ws.repo.base_branch, start=head)
    except Exception:  # noqa: BLE001 - best effort: the next target starts from the remote tip
        return
