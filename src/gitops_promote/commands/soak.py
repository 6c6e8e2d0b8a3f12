"""``gitops-promote soak``: the scheduled run that promotes whatever has soaked long enough.

Reads top to bottom: inputs -> workspace -> config -> facts (ONE history pass over every
target's overlay, the work tree's pins, the open promotion pull requests) -> plan (pure:
:func:`gitops_promote.plan.soak.plan`) -> deliver each target that may go through its
env's normal path (:func:`gitops_promote.deliver.promotion.deliver`: a commit for ``mode: push``,
the same stable branch and pull request ``promote`` uses otherwise) -> report every
target with its reason. A target that fails does not stop the others; the exit code is 0
unless something failed for real.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gitops_promote.commands import common
from gitops_promote.config.durations import format_iso, format_utc

if TYPE_CHECKING:
    from gitops_promote.adapters.workspace import Workspace
    from gitops_promote.config.model import App, Config, Environment
    from gitops_promote.facts.timelines import Key
    from gitops_promote.images import ImageRef
    from gitops_promote.plan import soak as soakplan
    from gitops_promote.plan.soak import Decision, Proposal
    from gitops_promote.report.records import PromotionResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="plan and report; write nothing, open no PR"
    )
    parser.add_argument("--json", action="store_true", help="print every target as JSON")
    parser.add_argument("--app", action="append", metavar="APP", help="only these apps")
    parser.add_argument("--env", action="append", metavar="ENV", help="only these environments")
    parser.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author and committer")
    common.add_now_argument(parser, "; at most 5m ahead of the clock unless --dry-run")
    common.add_location_arguments(parser)


@dataclass(frozen=True)
class Outcome:
    """One target: the plan's decision and, when it was promoted, what delivery did."""

    decision: Decision
    result: PromotionResult | None = None
    error: str | None = None
    exit_code: int = 0

    @property
    def label(self) -> str:
        """What happened, in a word or two."""
        d = self.decision
        if self.error is not None:
            return "failed"
        if d.status != "promote":
            return {"up-to-date": "up to date", "proposed": "already proposed"}.get(
                d.status, d.status
            )
        if self.result is None:
            return "would promote"
        if self.result.operation == "unchanged":
            return "already proposed" if self.result.pr_number else "up to date"
        return {
            "pushed": "pushed",
            "committed": "committed",
            "pr-created": "opened PR",
            "pr-updated": "updated PR",
            "dry-run": "would promote",
        }[self.result.operation]


# -- facts ------------------------------------------------------------------------------------


def _branches(config: Config, targets: Sequence[tuple[App, Environment]]) -> dict[Key, str]:
    from gitops_promote.deliver.promotion import branch_for  # noqa: PLC0415

    return {
        (app.name, env.name): branch_for(config, env, [app.name])
        for app, env in targets
        if env.gated
    }


def proposals(
    ws: Workspace, config: Config, base: str, wanted: Mapping[Key, str]
) -> tuple[dict[Key, Proposal], str | None]:
    """Open promotion PRs of the ``wanted`` targets (key -> stable branch): one
    ``ls-remote`` for every branch, then one API call per branch that exists (and one per
    run to learn who the token is: only the tool's own PRs count). Returns the
    proposals and, when they could not be looked up, why."""
    from gitops_promote.deliver.promotion import github_client  # noqa: PLC0415
    from gitops_promote.errors import UserError  # noqa: PLC0415
    from gitops_promote.images import ImageRef  # noqa: PLC0415
    from gitops_promote.plan.soak import Proposal  # noqa: PLC0415
    from gitops_promote.report import promotion as report  # noqa: PLC0415

    if not wanted:
        return {}, None
    if not ws.has_remote or not ws.github_repo or not ws.credentials.token:
        return {}, "open pull requests not checked (no GitHub repository or token)"
    refs = sorted({f"refs/heads/{b}" for b in wanted.values()})
    listed = ws.repo.git.run("ls-remote", ws.repo.remote, *refs).text
    present = {line.split("\t", 1)[1].removeprefix("refs/heads/") for line in listed.splitlines()}
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


# -- delivery ---------------------------------------------------------------------------------


def deliver(
    ws: Workspace,
    config: Config,
    base: str,
    decision: Decision,
    now: datetime,
    author: str | None,
) -> PromotionResult:
    """Promote one target through its env's normal path, exactly as ``promote`` would."""
    from gitops_promote.commands.promote import Request  # noqa: PLC0415
    from gitops_promote.deliver import promotion  # noqa: PLC0415
    from gitops_promote.errors import GateError  # noqa: PLC0415
    from gitops_promote.facts import pins  # noqa: PLC0415
    from gitops_promote.report.records import PromotionResult, Upstream  # noqa: PLC0415

    app, env = config.app(decision.app), config.env(decision.env)
    assert decision.candidate is not None  # noqa: S101 - "promote" always has a candidate
    ws.repo.add_sparse([config.overlay_path(app, env)])  # gather read it from git objects
    since = decision.candidate_since
    choice = promotion.Choice(
        app,
        decision.candidate,
        "upstream",
        Upstream(decision.source, since.commit if since else None, since.date if since else None),
    )
    change = promotion.change_of(choice, pins.read_state(ws.root, config, app, env))
    blocking = [g for g in promotion.preflight(config, env, (change,), now) if g.blocking]
    if blocking:
        raise GateError("; ".join(g.message for g in blocking))
    req = Request(
        env=env.name,
        apps=(app.name,),
        all_apps=False,
        digest=None,
        tag=None,
        image=None,
        latest=False,
        rollback=False,
        dry_run=False,
        no_push=False,
        as_json=False,
        now=now,
        message=None,
        title=None,
        author=author,
    )
    result = PromotionResult(
        "unchanged", env.name, (change,), base=base, repo_url=promotion.ws_web_url(ws)
    )
    return promotion.deliver(req, ws, config, env, result, [choice])


# -- the command ------------------------------------------------------------------------------


def gather(
    ws: Workspace,
    config: Config,
    base: str,
    now: datetime,
    chosen: Sequence[tuple[App, Environment]],
) -> tuple[soakplan.Facts, list[str]]:
    """The facts of every target (one history pass, the work tree's pins) and the open
    promotion PRs of the ``chosen`` targets; plus notes on what was not looked at."""
    from gitops_promote.facts import statesince  # noqa: PLC0415
    from gitops_promote.facts import timelines as facts  # noqa: PLC0415
    from gitops_promote.plan import soak as soakplan  # noqa: PLC0415

    targets = soakplan.fact_targets(config)
    # the work tree (a fresh clone: its commit's tree), not the last parsable version in
    # history: an overlay broken at HEAD must stop its target, not be read as the pin it
    # had before
    rev = "HEAD" if ws.cloned else None
    now_pinned = facts.current_pins(ws.repo, config, targets, rev=rev)
    # since when: from the state file where it answers, else history
    lines, notes = statesince.timelines(ws.repo, config, targets, rev, now_pinned)
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
        config, now, current, lines, files=files, proposals=open_prs, unreadable=unreadable
    )
    return found, [*notes, *([why] if why else [])]


def run(args: argparse.Namespace) -> int:
    from gitops_promote.adapters.workspace import open_workspace  # noqa: PLC0415
    from gitops_promote.config.load import load_config  # noqa: PLC0415
    from gitops_promote.deliver.promotion import check_base_branch, parse_identity  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415
    from gitops_promote.facts import statefile as state  # noqa: PLC0415 - lazy: keep start-up fast
    from gitops_promote.plan import soak as soakplan  # noqa: PLC0415 - lazy: keep start-up fast

    now = common.parse_now(args.now)
    if not args.dry_run:
        common.require_not_ahead(now, args.now, "soak")
    identity = parse_identity(args.author)
    loc = common.location(args)
    outcomes: list[Outcome] = []
    with open_workspace(
        loc, common.credentials(args), identity=identity, require_clean=not args.dry_run
    ) as ws:
        common.require_commits(ws)
        config = load_config(ws.root, loc.config_path)
        if ws.cloned and state.paths(config) is None:
            ws.repo.start_tree_download()  # every auto target's history: it downloads meanwhile
        base = check_base_branch(ws, config, loc)
        only_apps = [a.name for a in common.pick_apps(config, common.split_names(args.app), None)]
        only_envs = [common.pick_env(config, e).name for e in common.split_names(args.env)]
        chosen = [
            (a, e)
            for a, e in soakplan.eligible(config)
            if (not only_apps or a.name in only_apps) and (not only_envs or e.name in only_envs)
        ]
        facts, notes = gather(ws, config, base, now, chosen)
        keep = {(a.name, e.name) for a, e in chosen}
        for decision in soakplan.plan(facts):
            if (decision.app, decision.env) not in keep:
                continue
            if decision.status != "promote" or args.dry_run:
                outcomes.append(Outcome(decision))
                continue
            before = ws.repo.head()
            try:
                result = deliver(ws, config, base, decision, now, args.author)
            except PromoteError as err:
                outcomes.append(Outcome(decision, error=str(err), exit_code=err.exit_code))
                _recover(ws, before)
                continue
            outcomes.append(Outcome(decision, result=result))
    _report(outcomes, now, args.dry_run, args.json, notes)
    return max((o.exit_code for o in outcomes), default=0)


def _recover(ws: Workspace, head: str) -> None:
    """After a failed target, drop whatever it left in the work tree or on the branch."""
    try:
        ws.repo.switch(ws.repo.base_branch, start=head)
    except Exception:  # noqa: BLE001 - best effort: the next target starts from the remote tip
        return


# -- reporting --------------------------------------------------------------------------------


def _detail(o: Outcome) -> str:
    d, r = o.decision, o.result
    if o.error is not None:
        return f"{o.error.splitlines()[0]} ({d.source} runs {_show(d.candidate)})"
    if r is None:
        return d.reason
    if r.operation in ("pr-created", "pr-updated"):
        return f"#{r.pr_number} {r.pr_url or ''}; {d.reason}".replace(" ;", ";")
    if r.operation in ("pushed", "committed"):
        return f"{(r.commit or '')[:12]}; {d.reason}"
    if r.operation == "unchanged" and r.pr_number:
        return f"in #{r.pr_number}"
    return "; ".join((d.reason, *r.notes))


def _show(ref: ImageRef | None) -> str:
    from gitops_promote.plan.soak import show  # noqa: PLC0415

    return show(ref)


_ORDER = (
    "pushed",
    "committed",
    "opened PR",
    "updated PR",
    "would promote",
    "already proposed",
    "up to date",
    "waiting",
    "frozen",
    "blocked",
    "skipped",
    "failed",
)


def text(outcomes: Sequence[Outcome], now: datetime, dry_run: bool, notes: Sequence[str]) -> str:
    """What a person reads: one line per target, then the tally."""
    head = f"soak at {format_utc(now)}"
    if dry_run:
        head += " (dry run: nothing written)"
    if not outcomes:
        return f"{head}\nno environment has auto: true with from: for any app; nothing to do"
    rows = [(f"{o.decision.env}/{o.decision.app}", o.label, _detail(o)) for o in outcomes]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [head]
    lines += [f"  {a.ljust(w0)}  {b.ljust(w1)}  {c}" for a, b, c in rows]
    tally = dict.fromkeys(_ORDER, 0)
    for o in outcomes:
        tally[o.label] = tally.get(o.label, 0) + 1
    lines.append(", ".join(f"{n} {label}" for label, n in tally.items() if n))
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str | None:
    """An instant in JSON: ISO 8601 in UTC (None stays None)."""
    return format_iso(moment) if moment else None


def outcome_json(o: Outcome) -> dict[str, Any]:
    from gitops_promote.report import promotion as report  # noqa: PLC0415

    d, r = o.decision, o.result
    since = d.candidate_since
    return {
        "app": d.app,
        "env": d.env,
        "from": d.source,
        "status": d.status,
        "outcome": o.label,
        "reason": d.reason,
        "current": str(d.current) if d.current else None,
        "candidate": str(d.candidate) if d.candidate else None,
        "candidate-since": _iso(since.date) if since else None,
        "candidate-since-commit": since.commit if since else None,
        "soak-seconds": int(d.soak.total_seconds()) if d.soak else None,
        "ready-at": _iso(d.ready_at),
        "left-seconds": int(d.left.total_seconds()) if d.left is not None else None,
        "frozen-until": _iso(d.frozen_until),
        "window": d.window,
        "blocked-by": list(d.blocked_by),
        "pr-number": r.pr_number if r else (d.proposal.number if d.proposal else None),
        "pr-url": r.pr_url if r else (d.proposal.url if d.proposal else None),
        "operation": r.operation if r else None,
        "commit": r.commit if r else None,
        "error": o.error,
        "gates": [report.gate_json(g) for g in d.gates],
    }


def summary(outcomes: Sequence[Outcome], now: datetime, dry_run: bool) -> str:
    """Markdown for the job summary: one row per target."""
    title = "Soak run" + (" (dry run)" if dry_run else "")
    lines = [
        f"### {title} at {format_utc(now)}",
        "",
        "| Environment | App | Outcome | Details |",
        "| --- | --- | --- | --- |",
    ]
    from gitops_promote.adapters.escape import md_text  # noqa: PLC0415

    for o in outcomes:
        lines.append(f"| {o.decision.env} | {o.decision.app} | {o.label} | {md_text(_detail(o))} |")
    return "\n".join(lines) + "\n"


def _report(
    outcomes: Sequence[Outcome], now: datetime, dry_run: bool, as_json: bool, notes: Sequence[str]
) -> None:
    import json  # noqa: PLC0415

    from gitops_promote.adapters import actions  # noqa: PLC0415
    from gitops_promote.adapters.escape import log  # noqa: PLC0415

    promoted = [o for o in outcomes if o.result is not None and o.result.operation != "unchanged"]
    if as_json:
        common.emit_json(
            {
                "now": format_iso(now, utc=False),
                "dry-run": dry_run,
                "targets": [outcome_json(o) for o in outcomes],
                "promoted": len(promoted),
                "failed": sum(1 for o in outcomes if o.error is not None),
                "notes": list(notes),
            }
        )
    else:
        common.emit(text(outcomes, now, dry_run, notes))
    for o in outcomes:
        if o.error is not None:
            common.warn(f"error: {o.decision.env}/{o.decision.app}: {log(o.error)}")
    actions.publish(
        {
            "promoted": str(len(promoted)),
            "results": json.dumps([outcome_json(o) for o in outcomes], sort_keys=True),
        },
        summary(outcomes, now, dry_run),
    )
