"""The facts ``check`` judges, gathered from git (and kustomize) with few processes.

- the two trees: the base branch's tip, and the tree once the pull request is merged
  (``git merge-tree --write-tree``: what GitHub's merge ref would hold; when the PR
  conflicts, its head against the merge base): the base's whole listing once, the merged
  tree's as that listing patched with one ``git diff-tree`` (only the subtrees that differ);
- the texts the gates need from both trees, in one ``cat-file`` batch (a partial clone
  fetches the missing blobs in one request);
- since when the touched targets' upstreams have run their pins: from the base branch's
  state file where it answers (:mod:`gitops_promote.facts.statesince`), else pin histories on
  the base branch's first-parent history, in one ``git log``;
- renders of the kustomize overlays the PR touches and their upstreams, from the merged
  tree written to a temporary directory that holds only the repository's files (a symlink
  that stays inside the repository is written as a copy of its target, one that leaves it
  is not written and refuses the overlays that use it; no submodules), each overlay's
  kustomization closure checked first (:mod:`gitops_promote.adapters.hermetic`).

Nothing here decides anything; :func:`gitops_promote.plan.gates.evaluate.evaluate` does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.git import Repo
from gitops_promote.config.load import parse_config
from gitops_promote.config.model import Config
from gitops_promote.errors import ConfigError, Problem, UserError
from gitops_promote.facts import changes, policycheck, statesince
from gitops_promote.facts import statefile as state
from gitops_promote.facts import timelines as facts
from gitops_promote.facts.changes import ChangeSet, Key, Tree
from gitops_promote.facts.judged import Deployed, Facts
from gitops_promote.facts.merged import REGULAR, Revisions, both_trees, decode, with_texts
from gitops_promote.facts.renders import (
    base_renders,
    deployed_images,
    render_dirs,
    renders,
    unbuildable_overlays,
)
from gitops_promote.images import ImageRef


def _load_config(text: str | None, path: str) -> Config:
    if text is None:
        raise UserError(
            f"{path} is not in the base branch or the pull request",
            hint="add promotion.yaml at the config repo root (or pass --config PATH)",
        )
    return parse_config(text, path)


def _head_config(text: str | None, path: str) -> tuple[Config | None, tuple[Problem, ...]]:
    if text is None:
        return None, (Problem(path, None, f"this pull request removes {path}"),)
    try:
        return parse_config(text, path), ()
    except ConfigError as err:
        return None, err.problems


def needed_keys(config: Config, change_set: ChangeSet) -> set[Key]:
    """The (app, env) pins the gates read: touched targets, their upstreams, and the
    dependencies of promoted apps in the env and its upstream."""
    keys: set[Key] = set()
    for app_name, env_name in change_set.touched:
        if not (config.has_app(app_name) and config.has_env(env_name)):
            continue
        env = config.env(env_name)
        keys.add((app_name, env_name))
        envs = [env_name] + ([env.upstream] if env.upstream else [])
        keys.update((app_name, e) for e in envs)
        for dep in config.app(app_name).depends_on:
            keys.update((dep, e) for e in envs)
    return {
        k
        for k in keys
        if config.has_app(k[0])
        and config.has_env(k[1])
        and config.env(k[1]) in config.envs_of(config.app(k[0]))
    }


def history_keys(config: Config, change_set: ChangeSet) -> set[Key]:
    """Keys whose base-branch history the gates read: a promoted target (rollbacks) and
    its upstream (soak)."""
    keys: set[Key] = set()
    for change in change_set.pins:
        if not (config.has_app(change.app) and config.has_env(change.env)):
            continue
        keys.add(change.key)
        upstream = config.env(change.env).upstream
        if upstream:
            keys.add((change.app, upstream))
    return keys


def pins_of(tree: Tree, config: Config, keys: Iterable[Key]) -> dict[Key, ImageRef | None]:
    out: dict[Key, ImageRef | None] = {}
    for app_name, env_name in keys:
        pinned = changes.read_pinned(tree, config, config.app(app_name), config.env(env_name))
        out[(app_name, env_name)] = pinned.ref
    return out


def known_since(
    repo: Repo,
    config: Config,
    revs: Revisions,
    base_entries: Mapping[str, tuple[str, str]],
    pins: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
) -> statesince.Verified:
    """Since when each history key has run its base pin, where the state file of the base
    branch answers and git confirms it (:mod:`gitops_promote.facts.statesince`; never the pull
    request's: its head is not trusted). ``base_entries``: the base tip's tree
    (``revs.before`` is the base tip unless the pull request conflicts; then history
    answers)."""
    where = state.paths(config)
    if where is None or not files or revs.before != revs.base or where[0] not in base_entries:
        return statesince.Verified()
    mode, oid = base_entries[where[0]]
    if mode not in REGULAR:
        return statesince.Verified()
    entries = statesince.parse_entries(repo.read_objects({oid}).get(oid))
    return statesince.from_entries(repo, config, revs.base, entries, pins, files)


def state_file_problems(
    repo: Repo,
    config: Config,
    revs: Revisions,
    change_set: ChangeSet,
    sides: tuple[Mapping[str, tuple[str, str]], Mapping[str, tuple[str, str]]],
    before: Tree,
    pins: tuple[Mapping[Key, ImageRef | None], Mapping[Key, ImageRef | None]],
) -> tuple[Problem, ...]:
    """How the pull request's state file differs from what gitops-promote writes for its
    pin changes (:func:`gitops_promote.facts.statefile.pull_request_problems`); () when it does not
    change the state file. ``sides``: the base and merged trees' entries; ``pins``: the
    pins of the gates' keys on both sides. An entry it changes without promoting the
    target must be one git confirms at the base (:mod:`gitops_promote.facts.statesince`)."""
    where = state.paths(config)
    if where is None or not set(where) & set(change_set.files):
        return ()
    before_entries, after_entries = sides
    wanted = {
        (side, rel): entry[1]
        for side, entries in (("base", before_entries), ("head", after_entries))
        for rel in where
        if (entry := entries.get(rel)) is not None and entry[0] in REGULAR
    }
    blobs = repo.read_objects(set(wanted.values()))

    def text(side: str, rel: str) -> str | None:
        data = blobs.get(wanted.get((side, rel), ""))
        return data.decode("utf-8", "surrogateescape") if data is not None else None

    base = statesince.parse_entries(text("base", where[0])) or []
    head_json = text("head", where[0])
    head = statesince.parse_entries(head_json) or []
    pins_before, pins_after = pins
    repinned = {
        key: pins_after.get(key)
        for key in change_set.touched
        if key in pins_after and pins_before.get(key) != pins_after.get(key)
    }
    old = {(e.app, e.env): e for e in base}
    changed = [
        e
        for e in head
        if (e.app, e.env) not in repinned
        and old.get((e.app, e.env)) != e
        and config.has_app(e.app)
        and config.has_env(e.env)
        and e.env in {env.name for env in config.envs_of(config.app(e.app))}
    ]
    confirmed: Collection[Key] = ()
    if changed:
        keys = {(e.app, e.env) for e in changed}
        (tree,) = with_texts(
            repo, (before, before_entries, changes.texts_for_keys(config, before, keys))
        )
        files = {
            key: file
            for key in keys
            if (file := changes.pin_file(tree, config, config.app(key[0]), config.env(key[1])))
        }
        now = pins_of(tree, config, keys)
        confirmed = statesince.from_entries(repo, config, revs.base, changed, now, files).events
    return tuple(
        state.pull_request_problems(
            config, base, head_json, text("head", where[1]), repinned, confirmed
        )
    )


def unchanged_note(key: Key) -> str:
    """The note on a target whose overlay changed but renders exactly as before."""
    return f"{key[0]} in {key[1]} renders exactly as before: not a promotion"


@dataclass(frozen=True)
class Scope:
    """The part of a pull request one shard of a sharded check judges (``check --shard``):
    the targets of the apps in ``apps``; with ``whole_pr``, also everything not of one app
    (promotion.yaml, CODEOWNERS, the state file, unreadable overlays, edits of unknown
    apps, the notes about the whole pull request). Every gate is judged by exactly one
    shard when the shards' ``apps`` partition the config's apps and one has ``whole_pr``."""

    apps: Callable[[Config], Collection[str]]  # the shard's apps, of the base's config
    whole_pr: bool


def scoped(change_set: ChangeSet, apps: Collection[str], whole_pr: bool) -> ChangeSet:
    """``change_set`` as one shard judges it: the pins and edits of ``apps``; the rest
    (unknown apps' edits, unreadable files, promotion.yaml) with ``whole_pr``."""
    return replace(
        change_set,
        pins=tuple(c for c in change_set.pins if c.app in apps),
        edits=tuple(e for e in change_set.edits if e.app in apps or (e.app is None and whole_pr)),
        problems=change_set.problems if whole_pr else (),
        config_changed=change_set.config_changed and whole_pr,
    )


def gather(
    repo: Repo,
    revs: Revisions,
    *,
    config_path: str,
    now: datetime,
    labels: Iterable[str] = (),
    base_ref: str = "",
    renderer: render.Renderer | None = None,
    render_overlays: bool = True,
    scope: Scope | None = None,
) -> tuple[Facts, tuple[Key, ...]]:
    """Every fact :func:`~gitops_promote.plan.gates.evaluate.evaluate` needs for ``revs``,
    for one shard's ``scope`` only (every target when None), and every (app, env) the
    whole pull request touches, in the order an unsharded check lists them."""
    before_entries, after_entries, changed = both_trees(repo, revs.before, revs.after)
    before = Tree.of(revs.before, (p for p, (m, _) in before_entries.items() if m in REGULAR))
    after = before.patched(
        revs.after, {p: p in after_entries and after_entries[p][0] in REGULAR for p in changed}
    )

    # promotion.yaml: the base branch's governs; the PR's is only validated.
    first = repo.read_objects(
        {e[1] for e in (before_entries.get(config_path), after_entries.get(config_path)) if e}
    )
    base_text = (
        decode(first, before_entries[config_path][1], config_path)
        if config_path in before_entries
        else None
    )
    head_text = (
        decode(first, after_entries[config_path][1], config_path)
        if config_path in after_entries
        else None
    )
    config = _load_config(base_text if base_text is not None else head_text, config_path)

    # The texts the change set is made of, from both trees, in one batch; then the pins
    # the gates read of the targets it touches (upstreams, dependencies), in one more.
    before, after = with_texts(
        repo,
        (before, before_entries, changes.texts_for_changes(config, before, changed)),
        (after, after_entries, changes.texts_for_changes(config, after, changed)),
    )
    whole = changes.compute(config, before, after, changed)
    whole_pr = scope is None or scope.whole_pr
    change_set = whole if scope is None else scoped(whole, scope.apps(config), whole_pr)

    head_config: Config | None = None
    head_problems: tuple[Problem, ...] = ()
    if change_set.config_changed:
        head_config, head_problems = _head_config(head_text, config_path)

    keys = needed_keys(config, change_set)
    before, after = with_texts(
        repo,
        (before, before_entries, changes.texts_for_keys(config, before, keys)),
        (after, after_entries, changes.texts_for_keys(config, after, keys)),
    )
    pins_before = pins_of(before, config, keys)
    pins_after = pins_of(after, config, keys)

    wanted_history = history_keys(config, change_set)
    history_files = {
        key: file
        for key in wanted_history
        if (file := changes.pin_file(before, config, config.app(key[0]), config.env(key[1])))
    }
    verified = known_since(repo, config, revs, before_entries, pins_before, history_files)
    lines = facts.timelines(
        repo,
        config,
        [(config.app(a), config.env(e)) for a, e in wanted_history],
        revs.base,
        files=history_files,
        lazy=True,  # the gates look at recent history only, unless a rollback needs more
        known=verified.events,
    )

    overlays = render_dirs(config, after, change_set) if render_overlays else {}
    rendered = renders(repo, after_entries, set(overlays.values()), renderer, tree=after)
    if render_overlays:
        unbuildable = unbuildable_overlays(config, change_set, before, after, after_entries)
        overlays |= {key: fact.overlay for key, fact in unbuildable.items()}
        rendered |= {fact.overlay: fact for fact in unbuildable.values()}
    deployed: dict[Key, Deployed] = {}
    if render_overlays:
        base_overlays = render_dirs(config, before, change_set)
        base_rendered = base_renders(
            repo,
            (before_entries, before),
            (after_entries, after),
            base_overlays,
            rendered,
            renderer,
        )
        deployed = deployed_images(
            config,
            change_set,
            (before, base_overlays, base_rendered),
            (after, overlays, rendered),
        )
    unchanged = frozenset(
        key
        for key in change_set.touched
        if (d := deployed.get(key)) is not None and not d.changed and change_set.pin(key) is None
    )

    # the base branch's Rego policies on the renders above (one engine process)
    policy_facts = (
        policycheck.gather(
            repo,
            config,
            change_set,
            [k for k in change_set.touched if k not in unchanged],
            base=(
                revs.base,
                policycheck.base_entries(repo, revs.base, revs.before, before_entries),
            ),
            merged=policycheck.Merged(after_entries, after, overlays, rendered),
        )
        if render_overlays
        else None
    )

    owners_file = next(
        (p for p in changes.CODEOWNERS_PATHS if p in after.files), changes.CODEOWNERS_PATHS[0]
    )
    state_problems: tuple[Problem, ...] = ()
    if whole_pr:
        state_keys = needed_keys(config, whole) if scope is not None else keys
        if state_keys != keys:
            before, after = with_texts(
                repo,
                (before, before_entries, changes.texts_for_keys(config, before, state_keys)),
                (after, after_entries, changes.texts_for_keys(config, after, state_keys)),
            )
        state_problems = state_file_problems(
            repo,
            config,
            revs,
            whole,
            (before_entries, after_entries),
            before,
            (pins_of(before, config, state_keys), pins_of(after, config, state_keys))
            if state_keys != keys
            else (pins_before, pins_after),
        )
    judged = Facts(
        config=config,
        changes=change_set,
        now=now,
        before=pins_before,
        after=pins_after,
        history={key: line.events for key, line in lines.items()},
        overlays=overlays,
        renders=rendered,
        labels=tuple(labels),
        codeowners_file=owners_file,
        codeowners=after.text(owners_file),
        base_codeowners=next(
            (before.text(p) for p in changes.CODEOWNERS_PATHS if p in before.files), None
        ),
        files=tuple(sorted(after.files)),
        head_config=head_config,
        head_config_problems=head_problems,
        base=revs.base,
        head=revs.head,
        base_ref=base_ref,
        notes=(
            ()
            if revs.merged or not whole_pr
            else (
                f"the pull request conflicts with {base_ref or 'the base branch'}: its head "
                "was checked against the commit it branched from; resolve the conflict for an "
                "exact check",
            )
        )
        + tuple(unchanged_note((app, env)) for app, env in sorted(unchanged))
        + tuple(verified.notes)
        + (policycheck.notes(config, whole, rendered=render_overlays) if whole_pr else ()),
        deployed=deployed,
        unchanged=unchanged,
        state_problems=state_problems,
        policies=policy_facts,
    )
    return judged, whole.touched


__all__ = [
    "Scope",
    "gather",
    "history_keys",
    "known_since",
    "needed_keys",
    "scoped",
    "state_file_problems",
    "unchanged_note",
]
