"""The renders ``check`` judges: the kustomize overlays a pull request touches and their
upstreams, on both sides, from a tree written to a temporary directory, each overlay's
kustomization closure checked first (:mod:`gitops_promote.adapters.hermetic`); the images
each target deploys, as rendered (:mod:`gitops_promote.facts.rendered`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from gitops_promote.adapters import hermetic, yamlsafe
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.git import Repo
from gitops_promote.config.model import Config
from gitops_promote.facts import changes
from gitops_promote.facts import rendered as rendered_images
from gitops_promote.facts.changes import ChangeSet, Key, Tree
from gitops_promote.facts.judged import Deployed, RenderFact
from gitops_promote.facts.merged import SYMLINK, materialise, with_texts


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
        broken: tuple[str, str] | None = None  # (file, why no build can use it)
        if odd is not None:
            mode = after_entries[odd][0]
            what = "a symlink" if mode == SYMLINK else f"not a regular file (git mode {mode})"
            broken = (
                odd,
                f"{odd} is {what}: an environment's kustomization must be a regular file "
                f"of its own (Argo CD or Flux would build whatever it points to, and "
                f"promote never writes through it); commit the file itself",
            )
        elif (gone := before.kustomization(root)) and after.is_dir(root):
            broken = (
                gone,
                f"{gone} is removed while {root} stays: Argo CD and "
                f"Flux cannot build {env.name} from it; restore the kustomization, or "
                f"remove the whole directory to retire {app.name} from {env.name}",
            )
        if broken is not None:
            out[(app.name, env.name)] = RenderFact(root, error=broken[1], file=broken[0])
    return out


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
        (tree,) = with_texts(repo, (tree, entries, unread))
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
