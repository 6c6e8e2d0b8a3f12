"""What a pull request changes: every changed file mapped to the (app, env) it touches
(the values: :mod:`gitops_promote.facts.changeset`).

Pure: the caller (:mod:`gitops_promote.facts.check`) lists the files of two trees (the base
branch, and the tree after the merge) and reads the texts asked for by
:func:`texts_needed`; this module turns them into a :class:`ChangeSet`:

- **pin changes**: an app's image pin in an env, old -> new, with the line that carries it;
- **edits**: changes to an env's overlay that are not image pins (someone hand-edited
  production), including changes to files the overlay is built from (a shared ``base/``),
  found by following kustomization references without running anything;
- **unmapped** files, which belong to no environment.

An overlay path of promotion.yaml is a directory (its kustomization carries the pin) or a
file (a Helm values file, a manifest with setter markers).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

from gitops_promote.apply import overlays
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import OverlayError, UserError
from gitops_promote.facts import tree as views
from gitops_promote.facts.changeset import (
    CODEOWNERS_PATHS,
    KUSTOMIZATION_NAMES,
    ChangeSet,
    Edit,
    EditKind,
    FileProblem,
    Key,
    PinChange,
    Pinned,
    Tree,
)
from gitops_promote.facts.overlay import set_image_arg
from gitops_promote.facts.overlay import target as pin_target
from gitops_promote.facts.references import (
    build_inputs,
    could_reference,
    is_kustomization,
    join_ref,
    kustomization_refs,
    reached,
    relative,
    spellings,
)
from gitops_promote.images import ImageRef

# -- locating overlays ------------------------------------------------------------------------


def overlay_root(config: Config, app: App, env: Environment) -> str:
    """The repo-relative overlay path of promotion.yaml (a directory or a file)."""
    return config.overlay_path(app, env).strip("/")


def pin_file(tree: Tree, config: Config, app: App, env: Environment) -> str | None:
    """The file that carries ``app``'s pin in ``env`` in ``tree`` (None: no overlay), as
    :func:`gitops_promote.facts.tree.pin_file` finds it."""
    root = overlay_root(config, app, env)
    try:
        return views.pin_file(tree, root, what=f"overlay of {app.name} in {env.name}")
    except (OverlayError, views.Blocked):
        return None


def read_pinned(tree: Tree, config: Config, app: App, env: Environment) -> Pinned:
    """What ``tree`` pins for ``app`` in ``env`` (its text must have been read):
    :func:`gitops_promote.facts.tree.read_pin` over the texts read."""

    def text(file: str) -> str | UserError:
        found = tree.text(file)
        return OverlayError(f"{file} was not read") if found is None else found

    root = overlay_root(config, app, env)
    now = views.read_pin(tree, root, app, what=f"overlay of {app.name} in {env.name}", text=text)
    if now.file is None:
        return Pinned(None, None)
    if now.error is not None:
        return Pinned(now.file, None, problem=str(now.error))
    return Pinned(now.file, now.ref, now.pin.line if now.pin else None)


def targets(config: Config) -> list[tuple[App, Environment]]:
    return [(app, env) for app in config.apps for env in config.envs_of(app)]


# -- which texts to read ----------------------------------------------------------------------


def texts_for_changes(
    config: Config, tree: Tree, changed: Iterable[str], *, closure: bool = True
) -> set[str]:
    """What :func:`compute` reads of ``tree``: the changed files, promotion.yaml and
    CODEOWNERS, the pin-carrying file of every target with a changed file in its overlay,
    and (``closure``) every kustomization: any of them may reference a changed file
    (:func:`reached`). The pins of other targets are read only when a gate asks for them
    (:func:`texts_for_keys`)."""
    changed = list(changed)
    wanted: set[str] = set(changed)
    wanted.add(config.file)
    wanted.update(CODEOWNERS_PATHS)
    if changed:
        for app, env in targets(config):
            root = overlay_root(config, app, env)
            if any(p == root or p.startswith(f"{root}/") for p in changed):
                file = pin_file(tree, config, app, env)
                if file:
                    wanted.add(file)
    if closure:
        wanted.update(_kustomizations(tree.files))
    return {p for p in wanted if p in tree.files}


@functools.lru_cache(maxsize=2)
def _kustomizations(files: frozenset[str]) -> tuple[str, ...]:
    """The kustomization files among ``files``, listed once for both trees of a check
    (they share their file set unless the pull request adds or removes a file)."""
    return tuple(p for p in files if is_kustomization(p))


def texts_for_keys(config: Config, tree: Tree, keys: Iterable[tuple[str, str]]) -> set[str]:
    """The pin-carrying files of ``keys`` (app, env) in ``tree``."""
    wanted: set[str] = set()
    for app_name, env_name in keys:
        file = pin_file(tree, config, config.app(app_name), config.env(env_name))
        if file:
            wanted.add(file)
    return wanted


def texts_needed(config: Config, tree: Tree, changed: Iterable[str], *, closure: bool) -> set[str]:
    """The files of ``tree`` to read: every pin-carrying overlay file, the changed files,
    promotion.yaml and CODEOWNERS, and (``closure``) every kustomization."""
    wanted: set[str] = set()
    for app, env in targets(config):
        file = pin_file(tree, config, app, env)
        if file:
            wanted.add(file)
    wanted.update(changed)
    wanted.add(config.file)
    wanted.update(CODEOWNERS_PATHS)
    if closure:
        wanted.update(p for p in tree.files if is_kustomization(p))
    return {p for p in wanted if p in tree.files}


# -- the change set ----------------------------------------------------------------------------


def _first_changed_line(before: str | None, after: str | None) -> int | None:
    """The first line of ``after`` that differs from ``before`` (1-based)."""
    if not after:
        return None
    old = (before or "").splitlines()
    new = after.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _i1, _i2, j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            return min(j1 + 1, len(new))
    return None


def _only_pins_changed(
    file: str,
    before: str,
    after: str,
    apps: list[tuple[App, ImageRef]],
) -> tuple[bool, int | None]:
    """Whether ``after`` is ``before`` with just these pins applied; when not, the first
    line of ``after`` that differs from that."""
    text = before
    try:
        for app, ref in apps:
            text = overlays.set_pin(file, text, pin_target(app), set_image_arg(app, ref))
    except OverlayError:
        return False, _first_changed_line(before, after)
    if text == after:
        return True, None
    return False, _first_changed_line(text, after)


def _template_regex(template: str, env: Environment) -> re.Pattern[str]:
    """A regex that matches the overlay paths (and the files under them) of any app name."""
    pattern = ""
    seen_app = False
    for part in re.split(r"(\{app\}|\{env\})", template.strip("/")):
        if part == "{app}":
            pattern += "(?P=app)" if seen_app else "(?P<app>[^/]+)"
            seen_app = True
        elif part == "{env}":
            pattern += re.escape(env.name)
        else:
            pattern += re.escape(part)
    return re.compile(rf"^{pattern}(?:/.*)?$")


def compute(config: Config, before: Tree, after: Tree, changed: Iterable[str]) -> ChangeSet:
    """Map the changed files between two trees onto (app, env) pins and overlay edits."""
    changed_files = tuple(sorted(set(changed)))
    changed_set = set(changed_files)
    all_targets = targets(config)
    pin_changes: list[PinChange] = []
    edits: list[Edit] = []
    problems: list[FileProblem] = []
    mapped: set[str] = set()

    # 1. Files inside an overlay: pins and edits of that (app, env).
    by_file: dict[str, list[tuple[App, Environment]]] = {}
    for app, env in all_targets:
        root = overlay_root(config, app, env)
        inside = sorted(p for p in changed_files if p == root or p.startswith(f"{root}/"))
        if not inside:
            continue
        mapped.update(inside)
        old = read_pinned(before, config, app, env)
        new = read_pinned(after, config, app, env)
        if new.problem and new.file in changed_set:
            problems.append(FileProblem(app.name, env.name, new.file or root, None, new.problem))
            continue
        if old.ref != new.ref and (new.file or old.file):
            pin_changes.append(
                PinChange(
                    app.name, env.name, new.file or old.file or root, old.ref, new.ref, new.line
                )
            )
        for path in inside:
            if path in (new.file, old.file):
                by_file.setdefault(path, []).append((app, env))
                continue
            edits.append(_file_edit(app.name, env.name, path, before, after, "overlay"))

    # 2. Pin-carrying files: did anything but the pins change?
    for path, owners in by_file.items():
        old_text, new_text = before.text(path), after.text(path)
        if old_text is None or new_text is None:
            kind: EditKind = "added" if old_text is None else "removed"
            if path not in before.files or path not in after.files:
                for app, env in owners:
                    edits.append(Edit(app.name, env.name, path, 1 if new_text else None, kind))
            continue
        applied = [
            (app, c.new)
            for app, env in owners
            if (c := _find(pin_changes, app.name, env.name)) is not None and c.new is not None
        ]
        only, line = _only_pins_changed(path, old_text, new_text, applied)
        if not only:
            for app, env in owners:
                edits.append(Edit(app.name, env.name, path, line, "overlay"))

    # 3. Files outside every overlay: new overlays of unknown apps.
    rest = [
        p
        for p in changed_files
        if p not in mapped and p != config.file and p not in CODEOWNERS_PATHS
    ]
    for path in list(rest):
        for env in config.environments:
            match = _template_regex(env.path, env).match(path)
            if match is None:
                continue
            name = match.groupdict().get("app")
            app_name = name if name and config.has_app(name) else None
            edits.append(_file_edit(app_name, env.name, path, before, after, "overlay"))
            mapped.add(path)
            if path in rest:
                rest.remove(path)
    # 4. Build inputs: every changed file (another env's overlay file, a shared base, a
    # component, a patch, promotion.yaml itself) that an overlay's build reaches.
    reach = reached(before, changed_files)
    for node, sources in reached(after, changed_files).items():
        reach.setdefault(node, set()).update(sources)
    for app, env in all_targets:
        root = overlay_root(config, app, env)
        for path in sorted(reach.get(root, ())):
            if path == root or path.startswith(f"{root}/"):
                continue  # its own overlay: step 1
            edits.append(_file_edit(app.name, env.name, path, before, after, "input", root))
            mapped.add(path)
    unmapped = tuple(
        p
        for p in changed_files
        if p not in mapped and p != config.file and p not in CODEOWNERS_PATHS
    )
    return ChangeSet(
        files=changed_files,
        pins=tuple(pin_changes),
        edits=tuple(edits),
        unmapped=unmapped,
        problems=tuple(problems),
        config_changed=config.file in changed_set,
    )


def _find(changes: list[PinChange], app: str, env: str) -> PinChange | None:
    return next((c for c in changes if c.app == app and c.env == env), None)


def _file_edit(
    app: str | None,
    env: str,
    path: str,
    before: Tree,
    after: Tree,
    kind: EditKind,
    via: str | None = None,
) -> Edit:
    if path not in after.files:
        return Edit(app, env, path, None, "removed" if kind == "overlay" else kind, via)
    if path not in before.files and kind == "overlay":
        return Edit(app, env, path, 1, "added", via)
    line = _first_changed_line(before.text(path), after.text(path))
    return Edit(app, env, path, line, kind, via)


__all__ = [
    "CODEOWNERS_PATHS",
    "KUSTOMIZATION_NAMES",
    "ChangeSet",
    "Edit",
    "FileProblem",
    "Key",
    "PinChange",
    "Pinned",
    "Tree",
    "build_inputs",
    "compute",
    "could_reference",
    "is_kustomization",
    "join_ref",
    "kustomization_refs",
    "overlay_root",
    "pin_file",
    "reached",
    "read_pinned",
    "relative",
    "spellings",
    "targets",
    "texts_for_changes",
    "texts_for_keys",
    "texts_needed",
]
