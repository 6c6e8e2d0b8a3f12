"""The facts ``check`` judges, gathered from git (and kustomize) with few processes.

- the two trees: the base branch's tip, and the tree once the pull request is merged
  (``git merge-tree --write-tree``: what GitHub's merge ref would hold; when the PR
  conflicts, its head against the merge base);
- the texts the gates need from both trees, in one ``cat-file`` batch (a partial clone
  fetches the missing blobs in one request);
- since when the touched targets' upstreams have run their pins: from the base branch's
  state file where it answers (:mod:`gitops_promote.statesince`), else pin histories on
  the base branch's first-parent history, in one ``git log``;
- renders of the kustomize overlays the PR touches and their upstreams, from the merged
  tree written to a temporary directory (regular files only: no symlinks, no submodules).

Nothing here decides anything; :func:`gitops_promote.gates.evaluate.evaluate` does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from gitops_promote import changes, facts, files, history, render, state, statesince, yamlsafe
from gitops_promote.changes import ChangeSet, Key, Tree
from gitops_promote.config import Config
from gitops_promote.configload import parse_config
from gitops_promote.errors import ConfigError, InputError, OverlayError, Problem, UserError
from gitops_promote.gates.evaluate import Facts, RenderFact
from gitops_promote.gitrepo import Repo
from gitops_promote.images import ImageRef

_REGULAR = frozenset({"100644", "100755"})
MAX_TREE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Revisions:
    """What is compared: the base tip, the PR head, their merge base, and the tree that
    merging would give (``merged`` False: it conflicts, so ``after`` is the head's tree and
    ``before`` the merge base)."""

    base: str
    head: str
    merge_base: str
    before: str
    after: str
    merged: bool


def ls_tree(repo: Repo, rev: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of every entry of ``rev``'s tree, recursively (trees are
    always present in a blob-less clone, so nothing is fetched)."""
    out = repo.git.run("ls-tree", "-r", "-z", "--full-tree", rev).stdout
    entries: dict[str, tuple[str, str]] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, _type, oid = meta.decode().split(" ")
        entries[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return entries


def revisions(repo: Repo, base: str, head: str) -> Revisions:
    """Resolve ``base`` and ``head`` and compute the merged tree."""
    from gitops_promote.errors import quote  # noqa: PLC0415

    base_sha = repo.rev_parse(base)
    head_sha = repo.rev_parse(head)
    if base_sha is None:
        raise InputError(f"--base {quote(base)}: no such commit", hint="fetch it: git fetch origin")
    if head_sha is None:
        raise InputError(f"--head {quote(head)}: no such commit", hint="fetch it: git fetch origin")
    fork = repo.merge_base(base_sha, head_sha)
    if fork is None:
        raise InputError(
            f"--base {quote(base)} and --head {quote(head)} have no common history",
            hint="compare the pull request's head with the branch it targets",
        )
    if fork == base_sha:  # up to date with the base: merging is a fast-forward
        tree = repo.rev_parse(head_sha, peel="tree") or head_sha
        return Revisions(base_sha, head_sha, fork, base_sha, tree, True)
    proc = repo.git.run(
        "merge-tree", "--write-tree", "--no-messages", base_sha, head_sha, check=False
    )
    if proc.returncode == 0 and proc.text:
        tree = proc.text.splitlines()[0].strip()
        return Revisions(base_sha, head_sha, fork, base_sha, tree, True)
    return Revisions(base_sha, head_sha, fork, fork, head_sha, False)


def _decode(blobs: Mapping[str, bytes], oid: str, path: str) -> str | None:
    raw = blobs.get(oid)
    if raw is None:
        return None
    try:
        return yamlsafe.decode(raw, path)
    except OverlayError:
        return None


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


def _with_texts(
    repo: Repo, *sides: tuple[Tree, Mapping[str, tuple[str, str]], Iterable[str]]
) -> tuple[Tree, ...]:
    """Each tree with the texts of the given paths read (those it does not have yet),
    every side in one blob batch; a file that is not UTF-8 YAML text stays unread."""
    wanted = [
        (tree, entries, [p for p in paths if p not in tree.texts]) for tree, entries, paths in sides
    ]
    blobs = repo.read_objects({entries[p][1] for _, entries, paths in wanted for p in paths})
    return tuple(
        tree.with_texts(
            {p: t for p in paths if (t := _decode(blobs, entries[p][1], p)) is not None}
        )
        for tree, entries, paths in wanted
    )


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


def render_dirs(config: Config, tree: Tree, change_set: ChangeSet) -> dict[Key, str]:
    """The kustomize overlay directory of each touched target and of its upstream."""
    out: dict[Key, str] = {}
    for app_name, env_name in change_set.touched:
        if not (config.has_app(app_name) and config.has_env(env_name)):
            continue
        app, env = config.app(app_name), config.env(env_name)
        envs = [env] + ([config.env(env.upstream)] if env.upstream else [])
        for e in envs:
            if e not in config.envs_of(app):
                continue
            root = changes.overlay_root(config, app, e)
            if tree.is_dir(root) and tree.kustomization(root):
                out[(app.name, e.name)] = root
    return out


def materialise(repo: Repo, entries: Mapping[str, tuple[str, str]], dest: Path) -> None:
    """Write the regular files of a tree under ``dest`` (one blob batch)."""
    wanted = {p: oid for p, (mode, oid) in entries.items() if mode in _REGULAR}
    blobs = repo.read_objects(set(wanted.values()))
    total = 0
    for path, oid in wanted.items():
        data = blobs.get(oid)
        if data is None:
            continue
        total += len(data)
        if total > MAX_TREE_BYTES:
            raise UserError(
                f"the config repo tree is larger than {MAX_TREE_BYTES // 1048576} MiB",
                hint="render checks need the tree on disk; keep large files out of the config repo",
            )
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            continue
        target = files.resolve_in_repo(dest, path, what="tree path")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def render_inputs(
    repo: Repo, entries: Mapping[str, tuple[str, str]], tree: Tree, dirs: Collection[str]
) -> set[str]:
    """The files kustomize reads to render ``dirs``: each overlay's kustomization and what
    it references, recursively (:func:`gitops_promote.changes.build_inputs`, reading the
    kustomizations met on the way), and every kustomization file beside one of them (two
    in one directory is an error kustomize must still see)."""
    while True:
        found: set[str] = set()
        for directory in dirs:
            found |= changes.build_inputs(tree, directory)
        unread = {
            p for p in found if changes.is_kustomization(p) and p not in tree.texts and p in entries
        }
        if not unread:
            break
        (tree,) = _with_texts(repo, (tree, entries, unread))
        if all(p not in tree.texts for p in unread):
            break  # not text: kustomize reports it
    beside = {
        f"{parent}/{name}" if parent else name
        for p in found
        if changes.is_kustomization(p)
        for parent in [p.rpartition("/")[0]]
        for name in changes.KUSTOMIZATION_NAMES
    }
    return found | {p for p in beside if p in tree.files}


def renders(
    repo: Repo,
    entries: Mapping[str, tuple[str, str]],
    dirs: Collection[str],
    renderer: render.Renderer | None,
    *,
    tree: Tree | None = None,
) -> dict[str, RenderFact]:
    """Render each overlay directory of the merged tree.

    ``tree`` (the merged tree, with the texts read so far): only the files the overlays
    are built from are written out (:func:`render_inputs`), not the whole config repo;
    an overlay that does not render from them is rendered again from the whole tree, so
    every result (and every error message) is the one the whole tree gives."""
    if not dirs:
        return {}
    if renderer is None:
        why = (
            "neither kustomize nor kubectl is installed; install one (the gitops-promote "
            "container image has both)"
        )
        return {d: RenderFact(d, error=why, refused=True) for d in dirs}
    out: dict[str, RenderFact] = {}
    redo: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gitops-promote-tree-") as tmp:
        root = Path(tmp)
        if tree is not None:
            needed = render_inputs(repo, entries, tree, dirs)
            materialise(repo, {p: e for p, e in entries.items() if p in needed}, root)
        else:
            materialise(repo, entries, root)
        for directory in sorted(set(dirs)):
            done = render.render(renderer, root, directory)
            if tree is not None and not done.ok:
                redo.append(directory)
                continue
            out[directory] = RenderFact(directory, done.objects, done.error, done.refused)
    if redo:
        out |= renders(repo, entries, redo, renderer)
    return out


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
) -> dict[Key, history.PinEvent]:
    """Since when each history key has run its base pin, where the state file of the base
    branch answers (:mod:`gitops_promote.statesince`; never the pull request's: its head is
    not trusted). ``base_entries``: the base tip's tree (``revs.before`` is the base tip
    unless the pull request conflicts; then history answers)."""
    where = state.paths(config)
    if where is None or not files or revs.before != revs.base or where[0] not in base_entries:
        return {}
    mode, oid = base_entries[where[0]]
    if mode not in _REGULAR:
        return {}
    entries = statesince.parse_entries(repo.read_objects({oid}).get(oid))
    return statesince.from_entries(repo, revs.base, entries, pins, files)


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
) -> Facts:
    """Every fact :func:`~gitops_promote.gates.evaluate.evaluate` needs for ``revs``."""
    before_entries = ls_tree(repo, revs.before)
    after_entries = ls_tree(repo, revs.after)
    changed = sorted(
        p
        for p in set(before_entries) | set(after_entries)
        if before_entries.get(p) != after_entries.get(p)
    )
    before = Tree.of(revs.before, (p for p, (m, _) in before_entries.items() if m in _REGULAR))
    after = Tree.of(revs.after, (p for p, (m, _) in after_entries.items() if m in _REGULAR))

    # promotion.yaml: the base branch's governs; the PR's is only validated.
    first = repo.read_objects(
        {e[1] for e in (before_entries.get(config_path), after_entries.get(config_path)) if e}
    )
    base_text = (
        _decode(first, before_entries[config_path][1], config_path)
        if config_path in before_entries
        else None
    )
    head_text = (
        _decode(first, after_entries[config_path][1], config_path)
        if config_path in after_entries
        else None
    )
    config = _load_config(base_text if base_text is not None else head_text, config_path)

    # The texts the change set is made of, from both trees, in one batch; then the pins
    # the gates read of the targets it touches (upstreams, dependencies), in one more.
    closure = changes.needs_closure(config, changed)
    before, after = _with_texts(
        repo,
        (
            before,
            before_entries,
            changes.texts_for_changes(config, before, changed, closure=closure),
        ),
        (after, after_entries, changes.texts_for_changes(config, after, changed, closure=closure)),
    )
    change_set = changes.compute(config, before, after, changed)

    head_config: Config | None = None
    head_problems: tuple[Problem, ...] = ()
    if change_set.config_changed:
        head_config, head_problems = _head_config(head_text, config_path)

    keys = needed_keys(config, change_set)
    before, after = _with_texts(
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
    lines = facts.timelines(
        repo,
        config,
        [(config.app(a), config.env(e)) for a, e in wanted_history],
        revs.base,
        files=history_files,
        lazy=True,  # the gates look at recent history only, unless a rollback needs more
        known=known_since(repo, config, revs, before_entries, pins_before, history_files),
    )

    overlays = render_dirs(config, after, change_set) if render_overlays else {}
    rendered = renders(repo, after_entries, set(overlays.values()), renderer, tree=after)

    owners_file = next(
        (p for p in changes.CODEOWNERS_PATHS if p in after.files), changes.CODEOWNERS_PATHS[0]
    )
    return Facts(
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
        head_config=head_config,
        head_config_problems=head_problems,
        base=revs.base,
        head=revs.head,
        base_ref=base_ref,
        notes=()
        if revs.merged
        else (
            f"the pull request conflicts with {base_ref or 'the base branch'}: its head was "
            "checked against the commit it branched from; resolve the conflict for an exact check",
        ),
    )


__all__ = [
    "Revisions",
    "gather",
    "history_keys",
    "known_since",
    "ls_tree",
    "materialise",
    "needed_keys",
    "render_dirs",
    "render_inputs",
    "renders",
    "revisions",
]
