"""The promotion orchestrator, shared by ``promote`` and ``soak``.

inputs -> workspace -> config -> what to pin -> gates -> deliver -> result. Pure decisions
live in :mod:`history`, :mod:`gates` and :mod:`report`; this module only sequences them
and calls the edges (:mod:`pins`, :mod:`gitrepo`, :mod:`github`, :mod:`registry`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gitops_promote.adapters.git import DEFAULT_IDENTITY, Identity, Repo, Unpushed
from gitops_promote.adapters.workspace import Credentials, Location, Workspace, open_workspace
from gitops_promote.apply import overlays
from gitops_promote.commands import common
from gitops_promote.config.load import load_config
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import GateError, InputError, UserError, Where, quote
from gitops_promote.facts import pins, statefile
from gitops_promote.facts import since as since_when
from gitops_promote.facts import timelines as facts
from gitops_promote.images import ImageRef, parse_digest
from gitops_promote.plan.gates import GateResult
from gitops_promote.report import promotion as report
from gitops_promote.report.diffs import unified
from gitops_promote.report.records import Change, PromotionResult, Source, Upstream

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from gitops_promote.adapters.github import GitHub, PullInfo
    from gitops_promote.commands.promote import Request
    from gitops_promote.facts.events import PinEvent

PROMOTED_AT = "Promoted-At"


@dataclass(frozen=True)
class Choice:
    """What one app should pin, and where that came from."""

    app: App
    ref: ImageRef
    source: Source
    upstream: Upstream | None = None


def parse_identity(text: str | None) -> Identity:
    if not text:
        return DEFAULT_IDENTITY
    match = re.fullmatch(r"\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*", text)
    if not match:
        raise InputError(
            f"--author {quote(text)} is not 'Name <email>'", hint="e.g. 'CI Bot <ci@example.com>'"
        )
    return Identity(match.group(1), match.group(2))


def promote(
    req: Request, loc: Location, creds: Credentials, *, identity_text: str | None = None
) -> tuple[PromotionResult, list[GateResult]]:
    identity = parse_identity(identity_text)
    with open_workspace(
        loc,
        creds,
        identity=identity,
        noop=False,
        require_clean=not req.dry_run,
        # a dev push reads no history but the superseded check's recent commits; whatever
        # reads more fetches it first
        shallow=True,
        recent=superseded_window(req.now),
    ) as ws:
        common.require_commits(ws)
        align_checkout(ws, req)
        config = load_config(ws.root, loc.config_path)
        base = check_base_branch(ws, config, loc)
        env = common.pick_env(config, req.env)
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
        apps = common.pick_apps(config, names, env)
        upstream_env = config.upstream_of(env)
        envs = [env] + ([upstream_env] if upstream_env else [])
        ws.repo.add_sparse([config.overlay_path(a, e) for a in apps for e in envs])
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
        return deliver(req, ws, config, env, result, choices), gates


def deliver(
    req: Request,
    ws: Workspace,
    config: Config,
    env: Environment,
    result: PromotionResult,
    choices: Sequence[Choice],
) -> PromotionResult:
    """The env's normal path: commit + push for ``mode: push``, a pull request otherwise."""
    if env.mode == "push":
        # the push guard refuses a commit that changes a gated environment's file
        gated = pins.gated_paths(ws.repo, config, [c.app for c in choices])
        ws.repo.protect(gated, statefile.paths(config) or ())
        return deliver_push(req, ws, config, env, result, choices)
    return deliver_pull_request(req, ws, config, env, result, choices)


def refuse_break_glass(config: Config, labels: Sequence[str]) -> None:
    """The break-glass label is a person's decision on the pull request: automation never
    applies it (nor passes its own freeze check with it)."""
    label = config.settings.freeze_exception_label
    if label and label.casefold() in {x.casefold() for x in labels}:
        raise InputError(
            f"--label {quote(label)} is the break-glass label: promote and soak never apply it",
            hint="drop it; a person adds it on the pull request when a freeze must be broken",
        )


def history_targets(
    req: Request, apps: Sequence[App], env: Environment, upstream: Environment | None
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


def ws_web_url(ws: Workspace) -> str | None:
    if not ws.github_repo:
        return None
    import os  # noqa: PLC0415

    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return f"{server}/{ws.github_repo}"


def check_base_branch(ws: Workspace, config: Config, loc: Location) -> str:
    """The base branch: --base-branch, else settings.base-branch; the checkout must be on it."""
    wanted = loc.base_branch or config.settings.base_branch
    if ws.repo.base_branch != wanted:
        raise InputError(
            f"the checkout is on branch {ws.repo.base_branch!r} but the base branch is {wanted!r}",
            hint=f"check out {wanted} (or pass --base-branch {ws.repo.base_branch})",
        )
    return wanted


# -- what to pin ------------------------------------------------------------------------------


def choose(
    req: Request,
    config: Config,
    ws: Workspace,
    app: App,
    env: Environment,
    lines: dict[facts.Key, facts.Timeline],
) -> Choice:
    """The reference ``app`` should pin in ``env``: given, upstream's, latest, or previous."""
    if req.digest:
        ref = ImageRef(app.image, None, parse_digest(req.digest, what="--digest"))
        verify(req, ref)
        return Choice(app, ref, "digest")
    if req.image:
        ref = ImageRef.parse(req.image, what="--image")
        if not ref.same_repository(ImageRef(app.image)):
            raise InputError(
                f"--image {quote(req.image)} is not app {app.name}'s image {app.image}",
                hint="pass a reference of the app's own repository, or fix apps.image",
            )
        if ref.tag and not ref.digest:
            ref = resolve_tag(req, env, ref)
        elif ref.digest:
            verify(req, ref)
        return Choice(app, ref, "image")
    if req.tag:
        refuse_downgrade(req, config, ws, app, env, req.tag, f"--tag {req.tag}")
        ref = resolve_tag(req, env, ImageRef(app.image, req.tag))
        return Choice(app, ref, "tag")
    if req.latest:
        return Choice(app, latest(req, config, ws, app, env), "latest")
    if req.rollback:
        return rollback_choice(app, env, lines)
    upstream = config.upstream_of(env)
    if upstream is None:
        raise InputError(
            f"{env.name} has no upstream (from:) to promote from",
            hint="pass --digest, --tag or --image",
        )
    state = pins.read_state(ws.root, config, app, upstream)
    pin = state.require_pin()
    if pin is None:
        raise UserError(
            f"{app.name} is not pinned in {upstream.name} ({state.file})",
            hint=f"promote it into {upstream.name} first",
        )
    line = lines.get((app.name, upstream.name))
    since = line.held_since(pin.ref) if line else None
    return Choice(
        app,
        pin.ref,
        "upstream",
        Upstream(upstream.name, since.commit if since else None, since.date if since else None),
    )


def rollback_choice(app: App, env: Environment, lines: dict[facts.Key, facts.Timeline]) -> Choice:
    from gitops_promote.facts import events as history  # noqa: PLC0415

    line = lines.get((app.name, env.name))
    previous = history.previous_artifact(line.events, line.current) if line else None
    if previous is None or previous.new is None:
        raise UserError(
            f"{app.name} has no earlier pin in {env.name} to roll back to",
            hint="pass the digest to restore with --digest",
        )
    return Choice(app, previous.new, "rollback", Upstream(env.name, previous.commit, previous.date))


def verify(req: Request, ref: ImageRef) -> None:
    """Refuse a digest the registry does not have, before anything is written."""
    if not req.registry_check:
        return
    from gitops_promote.adapters.registry import ImageNotFoundError, RegistryClient  # noqa: PLC0415

    client = RegistryClient()
    try:
        if not client.exists(ref):
            raise ImageNotFoundError(
                f"{ref} does not exist in the registry",
                hint="check the digest (docker buildx imagetools inspect), or pass "
                "--skip-registry-check when the registry cannot be reached from here",
            )
    finally:
        client.close()


def resolve_tag(req: Request, env: Environment, ref: ImageRef) -> ImageRef:
    """A tag pinned together with the digest it has now (``name:tag@digest``)."""
    if not req.registry_check:
        if env.require_digest:
            raise InputError(
                f"{env.name} requires a digest, and --skip-registry-check leaves the tag "
                f"{ref.tag!r} unresolved",
                hint="pass --digest (or --image name:tag@digest), or let the registry be asked",
            )
        return ref
    from gitops_promote.adapters.registry import RegistryClient  # noqa: PLC0415

    client = RegistryClient()
    try:
        return ref.with_digest(client.resolve(ref))
    finally:
        client.close()


def refuse_downgrade(
    req: Request, config: Config, ws: Workspace, app: App, env: Environment, tag: str, what: str
) -> None:
    """Refuse a semver tag lower than the one the env runs now, unless --allow-downgrade."""
    from gitops_promote.plan import semver as semverpolicy  # noqa: PLC0415

    if req.allow_downgrade:
        return
    state = pins.read_state(ws.root, config, app, env)
    current = state.pin.ref.tag if state.pin else None
    if current and semverpolicy.is_downgrade(current, tag):
        raise UserError(
            f"{app.name} in {env.name} runs {current}; {what} is a downgrade",
            hint="pass --allow-downgrade to pin it anyway, "
            "or --rollback to restore the previous pin",
        )


def latest(req: Request, config: Config, ws: Workspace, app: App, env: Environment) -> ImageRef:
    from gitops_promote.adapters.registry import RegistryClient  # noqa: PLC0415
    from gitops_promote.plan import semver as semverpolicy  # noqa: PLC0415

    text = app.track or env.track
    if not text:
        raise InputError(
            f"--latest needs a `track` semver range on app {app.name} or env {env.name}",
            hint='add e.g. track: ">=1.0.0 <2.0.0" in promotion.yaml',
        )
    rng = semverpolicy.parse_range(text)
    client = RegistryClient()
    try:
        tags = client.list_tags(app.image)
        best = semverpolicy.highest(tags, rng)
        if best is None:
            raise UserError(
                f"no tag of {app.image} matches {text!r} ({len(tags)} tags)",
                hint="push a matching tag, or widen the range",
            )
        state = pins.read_state(ws.root, config, app, env)
        current = state.pin.ref.tag if state.pin else None
        if current and not req.allow_downgrade and semverpolicy.is_downgrade(current, best):
            raise UserError(
                f"{app.name} in {env.name} runs {current}; the highest tag in {text!r} is "
                f"{best}, a downgrade",
                hint="pass --allow-downgrade to pin it anyway",
            )
        ref = ImageRef(app.image, best)
        return ref.with_digest(client.resolve(ref))
    finally:
        client.close()


# -- gates ------------------------------------------------------------------------------------


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
) -> list[GateResult]:
    """The gates a promotion must pass before anything is written: freeze and pinning;
    with the facts (``before``/``after``: pins now and once promoted, ``history``: pin
    events on the base branch) also upstream match, soak and dependencies, exactly as
    ``check`` judges the pull request later. Every failure blocks, in gated envs too: a
    pull request the check would refuse is not opened. ``labels`` are the labels the PR
    will carry (the freeze break-glass label among them)."""
    from gitops_promote.plan.gates.evaluate import promotion_gates  # noqa: PLC0415
    from gitops_promote.plan.gates.freeze import freeze_gate  # noqa: PLC0415
    from gitops_promote.plan.gates.pinning import pinning_gate  # noqa: PLC0415

    results: list[GateResult] = []
    pending = [c for c in changes if c.changed]
    if not pending:
        return results
    results.append(freeze_gate(env, now, labels, config.settings.freeze_exception_label))
    for c in pending:
        if history is None or before is None or after is None:
            results.append(pinning_gate(c.app, env, c.new, file=c.file, line=c.line))
            continue
        gates, _ = promotion_gates(
            config,
            config.app(c.app),
            env,
            c.new,
            before=before,
            after=after,
            history=history,
            now=now,
            file=c.file,
            line=c.line,
        )
        results += gates
    return results


DEFERRABLE = ("freeze", "upstream", "soak", "dependencies")


def defer(gate: GateResult) -> GateResult:
    """``--defer-gates``: a failure the pull request's required check will hold the PR for
    becomes a warning here (pinning never does: no check could ever pass it)."""
    if gate.passed or gate.gate not in DEFERRABLE:
        return gate
    from dataclasses import replace  # noqa: PLC0415

    note = "; deferred to the pull request's check, which refuses it until this passes"
    return replace(gate, severity="warning", message=gate.message + note)


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
    }


# -- delivery ---------------------------------------------------------------------------------


def dry_run(
    result: PromotionResult, states: dict[str, pins.OverlayState], choices: Sequence[Choice]
) -> PromotionResult:
    diffs = []
    for choice in choices:
        state = states[choice.app.name]
        if state.pin is not None and state.pin.ref == choice.ref:
            continue
        diffs.append(unified(state.file, state.text, pins.edit(state, choice.ref)))
    from dataclasses import replace  # noqa: PLC0415

    return replace(result, operation="dry-run", diff="".join(diffs))


RECENT = timedelta(days=1)


def superseded_window(now: datetime) -> datetime:
    """Where the superseded check looks back to: a commit landed more than RECENT before
    this request cannot carry a later stamp (a stamp is taken before its commit is made).
    --now may lie in the future or the past while commit dates are the clock's: look back
    from the earlier of the two."""
    from datetime import UTC  # noqa: PLC0415

    return min(now, datetime.now(UTC)) - RECENT


def _promoted_at(repo: Repo, file: str, window: str) -> str | None:
    """The Promoted-At trailer of the last commit in ``window`` (``--since=…`` or a
    ``A..HEAD`` range) that changed ``file`` (None: none, or a human's). Bounded, so a
    partial clone fetches the trees of a few recent commits, not of the whole history."""
    bound = [window] if window.startswith("--") else []
    rev = "HEAD" if bound else window
    out = repo.git.run(
        "log",
        "-1",
        *bound,
        "--format=%(trailers:key=Promoted-At,valueonly)",
        rev,
        "--",
        file,
        check=False,
    )
    value = out.text.strip() if out.ok else ""
    return value or None


def _superseded(
    repo: Repo, file: str, now: datetime, *, moved: bool, start: str | None = None
) -> bool:
    """Whether the pin in ``file`` must be left alone: the last promotion of it was requested
    at or after ``now`` (its Promoted-At trailer), or it was changed by a human (no trailer)
    while this run was going (``moved``). An older request that starts late never
    overwrites a newer one, whichever process cloned first."""
    if moved and start:
        # the pin moved while this run went on: the commit that moved it lies between the
        # tip this run started from and the new one
        window = f"{start}..HEAD"
    else:
        # a newer promotion that landed before this run started is recent
        since = superseded_window(now)
        repo.deepen_since(since)  # a shallow clone: the commits of the window, no more
        window = f"--since={since.isoformat()}"
    if not moved and not _any_stamp_since(repo, window, now):
        # no commit in the window was requested at or after now: whichever last changed
        # the file, it cannot supersede this run (and reading the commits alone needs no
        # trees: a commits-only clone downloads nothing for it)
        return False
    theirs = _stamp(_promoted_at(repo, file, window))
    if theirs is None:
        return moved
    return theirs >= now


def _stamp(text: str | None) -> datetime | None:
    """A Promoted-At value as an aware time (None: absent, not one of ours, or from the
    future). A request time more than ``common.NOW_AHEAD`` ahead of the clock cannot be a
    real one (promote refuses such a --now): trusted, it would make every promotion of the
    overlay look older than it until then, so it is read as no stamp at all."""
    from datetime import UTC  # noqa: PLC0415

    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None  # not one of ours: treat it as a human's commit
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC) + common.NOW_AHEAD:
        return None
    return moment


def _any_stamp_since(repo: Repo, window: str, now: datetime) -> bool:
    """Whether any commit in ``window`` (``--since=…``) carries a Promoted-At at or after
    ``now``, whatever it changed; True when git cannot say (the caller then asks exactly)."""
    out = repo.git.run(
        "log", window, "--format=%(trailers:key=Promoted-At,valueonly)", "HEAD", check=False
    )
    if not out.ok:
        return True
    return any(
        (moment := _stamp(line.strip())) is not None and moment >= now
        for line in out.text.splitlines()
    )


def align_checkout(ws: Workspace, req: Request) -> None:
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
    from gitops_promote.adapters import yamlsafe  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415

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


def deliver_push(
    req: Request,
    ws: Workspace,
    config: Config,
    env: Environment,
    result: PromotionResult,
    choices: Sequence[Choice],
) -> PromotionResult:
    """``mode: push``: commit to the base branch and push, re-applying on a race."""
    from dataclasses import replace  # noqa: PLC0415

    first_seen = {c.app: c.old for c in result.changes}
    stamp = req.now.isoformat()
    applied: list[Change] = []
    start: list[str] = []  # the tip the first attempt edited

    def apply() -> bool:
        applied.clear()
        if not start:
            start.append(ws.repo.head())
        for choice in choices:
            state = pins.read_state(ws.root, config, choice.app, env)
            now_ref = state.pin.ref if state.pin else None
            if now_ref == choice.ref:
                continue
            moved = now_ref != first_seen[choice.app.name]
            if _superseded(ws.repo, state.file, req.now, moved=moved, start=start[0]):
                continue
            pins.write(state, pins.edit(state, choice.ref))
            applied.append(
                Change(
                    choice.app.name,
                    env.name,
                    state.file,
                    now_ref,
                    choice.ref,
                    state.pin.line if state.pin else None,
                    choice.source,
                    choice.upstream,
                )
            )
        if applied:
            statefile.refresh(ws.repo, config, {(c.app, env.name): req.now for c in applied})
        return bool(applied)

    def message() -> str:
        done = replace(result, changes=tuple(applied))
        text = report.commit_message(done, config.settings, req.message)
        return f"{text}{PROMOTED_AT}: {stamp}\n"

    paths = sorted({c.file for c in result.changes} | set(statefile.paths(config) or ()))
    if not ws.has_remote or req.no_push:
        if not apply():
            return result
        sha = ws.repo.commit(paths, message())
        return replace(result, operation="committed", commit=sha, changes=tuple(applied))
    pushed = ws.repo.push_with_retry(
        apply, message, paths=paths, allow_base_push=env.mode == "push"
    )
    ws.repo.unpushed = None  # the remote has this promotion now: commits it replaced stay gone
    if pushed.status == "unchanged":
        superseded = [c.app for c in result.changes if c.app not in {a.app for a in applied}]
        notes = tuple(f"{app}: superseded by a newer promotion" for app in superseded)
        return replace(result, notes=notes)
    return replace(result, operation="pushed", commit=pushed.commit, changes=tuple(applied))


def github_client(ws: Workspace) -> GitHub:
    from gitops_promote.adapters.github import GitHub  # noqa: PLC0415

    if not ws.github_repo:
        raise InputError(
            "a pull-request environment needs the config repo on GitHub",
            hint="pass --config-repo OWNER/NAME (or --remote with a GitHub URL); "
            "--dry-run previews without GitHub",
        )
    if not ws.credentials.token:
        raise InputError(
            "a pull-request environment needs a GitHub token",
            hint="set GITOPS_PROMOTE_TOKEN or GITHUB_TOKEN (contents: write, "
            "pull-requests: write), or a GitHub App",
        )
    return GitHub(ws.github_repo, token=ws.credentials.token, api_url=ws.credentials.api_url)


def branch_for(config: Config, env: Environment, apps: Sequence[str]) -> str:
    from gitops_promote.config import templates  # noqa: PLC0415

    template = env.pull_request.branch or config.settings.branch
    if len(apps) == 1:
        values = templates.template_values(env=env.name, app=apps[0], apps=apps)
    else:
        import hashlib  # noqa: PLC0415

        batch = "batch-" + hashlib.sha256(",".join(sorted(apps)).encode()).hexdigest()[:8]
        values = templates.template_values(env=env.name, app=batch, apps=[batch])
    values["from_env"] = env.upstream or ""
    return templates.render_branch(template, values)


def deliver_pull_request(
    req: Request,
    ws: Workspace,
    config: Config,
    env: Environment,
    result: PromotionResult,
    choices: Sequence[Choice],
) -> PromotionResult:
    """Gated env: a stable branch per target, force-pushed with lease; one PR, updated."""
    gh = github_client(ws)
    try:
        return open_or_update(gh, req, ws, config, env, result, choices)
    finally:
        gh.close()


def open_or_update(
    gh: GitHub,
    req: Request,
    ws: Workspace,
    config: Config,
    env: Environment,
    result: PromotionResult,
    choices: Sequence[Choice],
) -> PromotionResult:
    """The PR side of :func:`deliver_pull_request`, with its GitHub client."""
    from dataclasses import replace  # noqa: PLC0415

    repo = ws.repo
    opts = env.pull_request
    branch = branch_for(config, env, [c.app.name for c in choices])
    result = replace(result, branch=branch)
    labels = tuple(dict.fromkeys((*opts.labels, *req.labels)))
    refuse_break_glass(config, labels)
    reviewers = tuple(dict.fromkeys((*opts.reviewers, *req.reviewers)))
    teams = tuple(dict.fromkeys((*opts.team_reviewers, *req.team_reviewers)))
    remote_sha = repo.remote_branch_sha(branch)
    existing = gh.find_open_pull(branch, result.base) if remote_sha else None
    wanted = report.parse_marker(report.marker(result))
    same = existing is not None and report.parse_marker(existing.body) == wanted
    if existing is not None and remote_sha is not None:
        require_own(gh, repo, config, result, choices, existing, branch, remote_sha, exact=same)
    if existing is not None and same:
        ensure_decorations(gh, existing.number, existing, labels, reviewers, teams)
        return replace(
            result,
            operation="unchanged",
            pr_number=existing.number,
            pr_url=existing.url,
            notes=("the same promotion is already proposed",),
        )
    base_tip = repo.head()
    repo.switch(branch, start=base_tip)
    try:
        for choice in choices:
            state = pins.read_state(ws.root, config, choice.app, env)
            if state.pin is None or state.pin.ref != choice.ref:
                pins.write(state, pins.edit(state, choice.ref))
        pinned = {(c.app, env.name): req.now for c in result.changes if c.changed}
        extra = statefile.refresh(repo, config, pinned)
        message = report.commit_message(result, config.settings, req.message)
        sha = repo.commit(sorted({c.file for c in result.changes} | set(extra)), message)
        repo.push_branch(branch, expected_remote_sha=remote_sha)
    finally:
        repo.switch(repo.base_branch, start=base_tip)
    title = report.pr_title(result, req.title or opts.title or config.settings.pr_title)
    body = report.pr_body(result)
    if existing is not None:
        gh.update_pull(existing.number, title=title, body=body)
        ensure_decorations(gh, existing.number, existing, labels, reviewers, teams)
        return replace(
            result,
            operation="pr-updated",
            commit=sha,
            pr_number=existing.number,
            pr_url=existing.url,
        )
    draft = opts.draft if req.draft is None else req.draft
    created = gh.create_pull(branch=branch, base=result.base, title=title, body=body, draft=draft)
    ensure_decorations(gh, created.number, created, labels, reviewers, teams)
    method = req.auto_merge or opts.auto_merge
    if method:
        gh.enable_auto_merge(created.node_id, method)
    return replace(
        result, operation="pr-created", commit=sha, pr_number=created.number, pr_url=created.url
    )


def require_own(
    gh: GitHub,
    repo: Repo,
    config: Config,
    result: PromotionResult,
    choices: Sequence[Choice],
    pull: PullInfo,
    branch: str,
    tip: str,
    *,
    exact: bool,
) -> None:
    """Refuse (exit 2, nothing touched) a PR this tool did not open, or whose branch holds
    anything but the tool's own commit: the identity check costs 1 API call per run."""
    from gitops_promote.adapters.github import foreign_pull  # noqa: PLC0415

    me = gh.viewer()
    if pull.author != me:
        raise foreign_pull(pull, me, branch)
    why = branch_problem(repo, config, result, choices, tip, exact=exact)
    if why is not None:
        raise foreign_pull(pull, me, branch, why)


def branch_problem(
    repo: Repo,
    config: Config,
    result: PromotionResult,
    choices: Sequence[Choice],
    tip: str,
    *,
    exact: bool,
) -> str | None:
    """Why commit ``tip`` of a promotion branch is not the tool's change (None: it is).

    The tool's commit has one parent on the base branch, the tool's author, its
    ``Promoted-Image`` trailers, and changes only the pinned files (plus the state file):
    each one exactly the editor's output from the parent's text, the pin included
    (``exact``: the pin is the one this run proposes)."""
    repo.fetch([tip])
    raw = repo.git.run("cat-file", "commit", tip).text
    header, _, message = raw.partition("\n\n")
    fields = [line.split(" ", 1) for line in header.splitlines() if " " in line]
    parents = [v for k, v in fields if k == "parent"]
    author = next((v for k, v in fields if k == "author"), "")
    short = tip[:12]
    if len(parents) != 1 or not repo.is_ancestor(parents[0], repo.base_ref):
        return f"its tip {short} is not one commit on top of the base branch"
    me = repo.git.identity
    if f"<{me.email}>" not in author:
        return f"its tip {short} was not committed by {me.name} <{me.email}>"
    apps = {c.app.name: c.app for c in choices}
    trailers = sorted(line for line in message.splitlines() if line.startswith("Promoted-Image: "))
    if sorted(apps) != sorted({t.split(" ", 1)[1].split("=", 1)[0] for t in trailers}):
        return f"its tip {short} does not carry the tool's Promoted-Image trailers"
    files = {c.file: apps[c.app] for c in result.changes if c.app in apps}
    allowed = set(files) | set(statefile.paths(config) or ())
    changed = repo.git.run("diff-tree", "--no-commit-id", "--name-only", "-r", parents[0], tip)
    extra = sorted(set(changed.text.splitlines()) - allowed)
    if extra:
        return f"its tip {short} changes {quote(extra[0])}, which the promotion does not"
    blobs = repo.read_blobs([(rev, f) for f in files for rev in (parents[0], tip)])
    wanted = {c.app.name: c.ref for c in choices}
    for file, app in files.items():
        before, after = blobs.get((parents[0], file)), blobs.get((tip, file))
        try:  # the branch's text is anyone's: unreadable is simply "not the tool's"
            pin = pins.read_pin_text(file, after.decode("utf-8"), app) if after else None
            if before is None or pin is None or (exact and pin.ref != wanted[app.name]):
                return f"its tip {short} does not pin {app.name} as proposed in {quote(file)}"
            text = overlays.set_pin(
                file, before.decode("utf-8"), pins.target(app), pins.set_image_arg(app, pin.ref)
            )
        except (UnicodeDecodeError, UserError):
            return f"its tip {short} does not pin {app.name} as the tool does in {quote(file)}"
        if text.encode("utf-8") != after:
            return f"its tip {short} changes more of {quote(file)} than the pin of {app.name}"
    return None


def ensure_decorations(
    gh: GitHub,
    number: int,
    pull: PullInfo,
    labels: Sequence[str],
    reviewers: Sequence[str],
    teams: Sequence[str],
) -> None:
    """Add the labels and review requests a PR lacks (a re-run heals a half-made PR)."""
    missing_labels = [label for label in labels if label not in pull.labels]
    gh.add_labels(number, missing_labels)
    missing_users = [r for r in reviewers if r not in pull.reviewers]
    missing_teams = [t for t in teams if t not in pull.team_reviewers]
    gh.request_reviewers(number, missing_users, missing_teams)
