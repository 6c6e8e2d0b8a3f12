"""The facts ``check`` judges, gathered from git (and kustomize) with few processes.

- the two trees: the base branch's tip, and the tree once the pull request is merged
  (``git merge-tree --write-tree``: what GitHub's merge ref would hold; when the PR
  conflicts, its head against the merge base);
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

import posixpath
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from gitops_promote.adapters import files, hermetic, yamlsafe
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.git import Repo
from gitops_promote.config.load import parse_config
from gitops_promote.config.model import Config
from gitops_promote.errors import ConfigError, InputError, OverlayError, Problem, UserError
from gitops_promote.facts import changes, statesince
from gitops_promote.facts import rendered as rendered_images
from gitops_promote.facts import statefile as state
from gitops_promote.facts import timelines as facts
from gitops_promote.facts.changes import ChangeSet, Key, Tree
from gitops_promote.facts.judged import Deployed, Facts, RenderFact
from gitops_promote.images import ImageRef

_REGULAR = frozenset({"100644", "100755"})
_SYMLINK = "120000"
MAX_TREE_BYTES = 256 * 1024 * 1024
MAX_LINK_HOPS = 40


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
            f"no common history: --base {quote(base)} and --head {quote(head)}",
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
    decoded: dict[str, str | None] = {}  # by blob: both trees share most of them

    def text(oid: str, path: str) -> str | None:
        if oid not in decoded:
            decoded[oid] = _decode(blobs, oid, path)
        return decoded[oid]

    return tuple(
        tree.with_texts({p: t for p in paths if (t := text(entries[p][1], p)) is not None})
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


def unbuildable_overlays(
    config: Config,
    change_set: ChangeSet,
    before: Tree,
    after: Tree,
    after_entries: Mapping[str, tuple[str, str]],
) -> dict[Key, RenderFact]:
    """The touched kustomize overlays the merged tree no longer builds from a regular
    kustomization file of their own: one that became a symlink (Argo CD or Flux would
    deploy whatever it points to, and ``promote`` never writes through it), or one that is
    gone while the directory stays. Each is a render failure naming the file, so a gated
    env fails closed instead of reading as "removed". Removing the whole overlay directory
    (retiring the app from the env) is not one of them."""
    out: dict[Key, RenderFact] = {}
    for app_name, env_name in change_set.touched:
        if not (config.has_app(app_name) and config.has_env(env_name)):
            continue
        app, env = config.app(app_name), config.env(env_name)
        if env not in config.envs_of(app):
            continue
        root = changes.overlay_root(config, app, env)
        if after.kustomization(root):
            continue
        names = [f"{root}/{name}" for name in changes.KUSTOMIZATION_NAMES]
        odd = next((n for n in names if n in after_entries), None)
        if odd is not None:
            mode = after_entries[odd][0]
            what = "a symlink" if mode == _SYMLINK else f"not a regular file (git mode {mode})"
            out[(app.name, env.name)] = RenderFact(
                root,
                error=(
                    f"{odd} is {what}: an environment's kustomization must be a regular file "
                    f"of its own (Argo CD or Flux would build whatever it points to, and "
                    f"promote never writes through it); commit the file itself"
                ),
                file=odd,
            )
        elif (gone := before.kustomization(root)) and after.is_dir(root):
            out[(app.name, env.name)] = RenderFact(
                root,
                error=(
                    f"{gone} is removed while {root} stays: Argo CD and "
                    f"Flux cannot build {env.name} from it; restore the kustomization, or "
                    f"remove the whole directory to retire {app.name} from {env.name}"
                ),
                file=gone,
            )
    return out


def _resolve_link(
    path: str, modes: Mapping[str, str], targets: Mapping[str, str]
) -> tuple[str | None, str]:
    """The repo path ``path`` names once every symlink on the way is followed (as the
    operating system would, within the tree), or None and why it leaves the repository."""
    pending = path.split("/")
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return None, "leaves the repository"
            done.pop()
            continue
        here = "/".join([*done, part])
        if modes.get(here) != _SYMLINK:
            done.append(part)
            continue
        hops += 1
        target = targets.get(here)
        if hops > MAX_LINK_HOPS or target is None:
            return None, "is a symlink loop" if target is not None else "cannot be read"
        if target.startswith("/"):
            return None, "is an absolute path, outside the repository"
        pending = target.split("/") + pending
    return "/".join(done), ""


def _links(
    entries: Mapping[str, tuple[str, str]], targets: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Each symlink of the tree: the repo path it stands for (a file or directory inside the
    repository), or why it is not followed."""
    if not targets and not any(mode == _SYMLINK for mode, _oid in entries.values()):
        return {}, {}
    modes = {p: mode for p, (mode, _oid) in entries.items()}
    dirs = {parent for p in entries for parent in _parents(p)}
    follow: dict[str, str] = {}
    refused: dict[str, str] = {}
    for path, (mode, _oid) in entries.items():
        if mode != _SYMLINK:
            continue
        raw = targets.get(path)
        shown = f"is a symlink to {raw!r}" if raw is not None else "is a symlink"
        resolved, why = _resolve_link(path, modes, targets)
        if resolved is None:
            refused[path] = f"{shown}, which {why}; symlinks are followed only inside it"
        elif resolved == "" or path.startswith(f"{resolved}/"):
            refused[path] = f"{shown}, a directory that contains it (a loop)"
        elif modes.get(resolved) in _REGULAR or resolved in dirs:
            follow[path] = resolved
        else:
            refused[path] = f"{shown}, which is not in the repository"
    return follow, refused


def _parents(path: str) -> Iterable[str]:
    parent = posixpath.dirname(path)
    while parent:
        yield parent
        parent = posixpath.dirname(parent)


def materialise(
    repo: Repo,
    entries: Mapping[str, tuple[str, str]],
    dest: Path,
    *,
    only: Collection[str] | None = None,
) -> dict[str, str]:
    """Write the files of a tree under ``dest`` (one blob batch; ``only``: just these of
    its regular files). Nothing but the repository's files is written: a symlink that stays
    inside the repository (as Argo CD follows it) is written as a copy of what it points to
    (a file, or the regular files under a directory), never as a link; submodules are left
    out.

    Returns the symlinks not written, and why ("is a symlink to '/etc', which ..."; they
    lead out of the repository, dangle or loop), for
    :func:`gitops_promote.adapters.hermetic.refusal` to name."""
    link_oids = {p: oid for p, (mode, oid) in entries.items() if mode == _SYMLINK}
    raw_links = repo.read_objects(set(link_oids.values())) if link_oids else {}
    targets = {
        p: raw_links[oid].decode("utf-8", "surrogateescape")
        for p, oid in link_oids.items()
        if oid in raw_links
    }
    follow, refused = _links(entries, targets)
    writes: dict[str, str] = {
        p: oid
        for p, (mode, oid) in entries.items()
        if mode in _REGULAR and (only is None or p in only)
    }
    for link, resolved in follow.items():
        if resolved in entries:
            writes[link] = entries[resolved][1]
            continue
        for path, (mode, oid) in entries.items():
            if mode in _REGULAR and path.startswith(f"{resolved}/"):
                writes[f"{link}/{path[len(resolved) + 1 :]}"] = oid
    blobs = repo.read_objects(set(writes.values()))
    total = 0
    for path, oid in sorted(writes.items()):
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
        if target.exists() and not target.is_file():
            continue  # a path under a link that is also a real directory: the real one wins
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return refused


def render_inputs(
    repo: Repo, entries: Mapping[str, tuple[str, str]], tree: Tree, dirs: Collection[str]
) -> set[str]:
    """The files kustomize reads to render ``dirs``: each overlay's kustomization and what
    it references, recursively (:func:`gitops_promote.facts.changes.build_inputs`, reading the
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
        needed = render_inputs(repo, entries, tree, dirs) if tree is not None else None
        links = materialise(repo, entries, root, only=needed)
        for directory in sorted(set(dirs)):
            refused = hermetic.refusal(root, directory, links)
            if refused is not None and not refused.broken:
                out[directory] = RenderFact(
                    directory,
                    error=refused.reason,
                    refused=True,
                    file=refused.file,
                    line=refused.line,
                )
                continue
            done = render.render(renderer, root, directory)
            if tree is not None and not done.ok:
                redo.append(directory)
                continue
            out[directory] = RenderFact(
                directory, done.objects, done.error, done.refused, done.file, done.line
            )
    if redo:
        out |= renders(repo, entries, redo, renderer)
    return out


def _signature(
    repo: Repo, entries: Mapping[str, tuple[str, str]], tree: Tree, directory: str
) -> dict[str, tuple[str, str]]:
    """The files (and their blob ids) kustomize reads to render ``directory``."""
    needed = render_inputs(repo, entries, tree, [directory])
    return {p: entries[p] for p in needed if p in entries}


def base_renders(
    repo: Repo,
    base: tuple[Mapping[str, tuple[str, str]], Tree],
    merged: tuple[Mapping[str, tuple[str, str]], Tree],
    overlays: Mapping[Key, str],
    head_renders: Mapping[str, RenderFact],
    renderer: render.Renderer | None,
) -> dict[str, RenderFact]:
    """Each overlay directory rendered on the base branch; one whose inputs are the same
    blobs as in the merged tree (the upstream a promotion does not touch) is not rendered
    twice."""
    (entries, tree), (merged_entries, merged_tree) = base, merged
    out: dict[str, RenderFact] = {}
    todo: set[str] = set()
    for directory in set(overlays.values()):
        head = head_renders.get(directory)
        if head is not None and _signature(repo, entries, tree, directory) == _signature(
            repo, merged_entries, merged_tree, directory
        ):
            out[directory] = head
        else:
            todo.add(directory)
    return out | renders(repo, entries, todo, renderer, tree=tree)


def _documents(text: str | None, path: str) -> tuple[Mapping[str, Any], ...] | None:
    """The YAML documents of a file overlay (a Helm values file, a manifest with setter
    markers): what the env declares (None: not readable)."""
    if text is None:
        return None
    try:
        nodes = yamlsafe.compose(text, path)
        from ruamel.yaml import YAML  # noqa: PLC0415 - lazy

        construct = YAML(typ="safe", pure=True).constructor.construct_document
        return tuple(d for n in nodes if isinstance(d := construct(n), Mapping))
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the pin readers
        return None


def _images_at(
    config: Config,
    key: Key,
    side: tuple[Tree, Mapping[Key, str], Mapping[str, RenderFact]],
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """(normalised objects, images) of ``key`` on one side (None: not rendered)."""
    tree, overlays, rendered = side
    directory = overlays.get(key)
    objects: tuple[Mapping[str, Any], ...] | None = None
    if directory is not None:
        fact = rendered.get(directory)
        objects = fact.objects if fact is not None and fact.error is None else None
    else:
        root = changes.overlay_root(config, config.app(key[0]), config.env(key[1]))
        if root in tree.files:
            objects = _documents(tree.text(root), root)
        elif not tree.is_dir(root):
            return (), ()  # no overlay on this side: renders nothing
    if objects is None:
        return None, None
    images = rendered_images.image_strings(rendered_images.images_of(objects))
    return rendered_images.normalised(objects), images


def deployed_images(
    config: Config,
    change_set: ChangeSet,
    base: tuple[Tree, Mapping[Key, str], Mapping[str, RenderFact]],
    merged: tuple[Tree, Mapping[Key, str], Mapping[str, RenderFact]],
) -> dict[Key, Deployed]:
    """The images as deployed of each touched target and its upstream, on both sides;
    for a touched target, where each new image was written (the changed files that reach
    it first, then its pin file)."""
    keys: dict[Key, None] = {}
    for app_name, env_name in change_set.touched:
        if not (config.has_app(app_name) and config.has_env(env_name)):
            continue
        app, env = config.app(app_name), config.env(env_name)
        keys[(app_name, env_name)] = None
        source = config.upstream_of(env)
        if source is not None and source in config.envs_of(app):
            keys[(app_name, source.name)] = None
    tree = merged[0]
    out: dict[Key, Deployed] = {}
    for key in keys:
        old_objects, old_images = _images_at(config, key, base)
        new_objects, new_images = _images_at(config, key, merged)
        if old_images is None and new_images is None:
            continue
        changed = old_objects is None or new_objects is None or old_objects != new_objects
        deployed = Deployed(old_images, new_images, changed)
        if key in change_set.touched and deployed.added:
            app, env = config.app(key[0]), config.env(key[1])
            pin = changes.pin_file(tree, config, app, env)
            sources = [e.file for e in change_set.edits_of(key)]
            sources += [c.file for c in change_set.pins if c.key == key]
            texts = [
                (f, t)
                for f in dict.fromkeys([*sources, *([pin] if pin else [])])
                if (t := tree.text(f)) is not None
            ]
            origins: dict[str, tuple[str, int | None]] = {}
            for image in deployed.added:
                found = rendered_images.origin(image, texts)
                if found is not None:
                    origins[image] = found
                elif pin is not None:
                    origins[image] = (pin, None)
            deployed = replace(deployed, origins=origins)
        out[key] = deployed
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
    if mode not in _REGULAR:
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
        if (entry := entries.get(rel)) is not None and entry[0] in _REGULAR
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
        (tree,) = _with_texts(
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
    """Every fact :func:`~gitops_promote.plan.gates.evaluate.evaluate` needs for ``revs``."""
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
    before, after = _with_texts(
        repo,
        (before, before_entries, changes.texts_for_changes(config, before, changed)),
        (after, after_entries, changes.texts_for_changes(config, after, changed)),
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

    owners_file = next(
        (p for p in changes.CODEOWNERS_PATHS if p in after.files), changes.CODEOWNERS_PATHS[0]
    )
    state_problems = state_file_problems(
        repo,
        config,
        revs,
        change_set,
        (before_entries, after_entries),
        before,
        (pins_before, pins_after),
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
            if revs.merged
            else (
                f"the pull request conflicts with {base_ref or 'the base branch'}: its head "
                "was checked against the commit it branched from; resolve the conflict for an "
                "exact check",
            )
        )
        + tuple(
            f"{app} in {env} renders exactly as before: not a promotion"
            for app, env in sorted(unchanged)
        )
        + tuple(verified.notes),
        deployed=deployed,
        unchanged=unchanged,
        state_problems=state_problems,
    )


__all__ = [
    "Revisions",
    "base_renders",
    "deployed_images",
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
    "state_file_problems",
    "unbuildable_overlays",
]
