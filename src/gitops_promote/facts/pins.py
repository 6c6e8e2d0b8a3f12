"""What the working tree pins now: locate, read and rewrite an app's overlay in an env.

The edge between promotion.yaml (which file) and the pure editors in :mod:`overlays`
(which bytes): reads go through :mod:`files` (safe paths, size limits) and
:mod:`yamlsafe` (encodings), writes are atomic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from gitops_promote.adapters import files, yamlsafe
from gitops_promote.adapters.git import plumbing
from gitops_promote.apply import overlays
from gitops_promote.apply.overlays.model import BadPinError
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import OverlayError, UserError
from gitops_promote.images import KEEP, ImageRef, SetImage

if TYPE_CHECKING:
    from gitops_promote.adapters.git import Repo


@dataclass(frozen=True)
class OverlayState:
    """One app's overlay in one env, as the working tree has it."""

    app: App
    env: Environment
    path: Path  # absolute
    file: str  # repo-relative POSIX path
    text: str
    pin: overlays.Pin | None
    broken: BadPinError | None = None  # the pin is there, with an invalid digest/tag/name

    def require_pin(self) -> overlays.Pin | None:
        """The pin, for a reader that needs it valid (the BadPinError when it is broken)."""
        if self.broken is not None:
            raise self.broken
        return self.pin


def target(app: App) -> overlays.Target:
    return overlays.Target(
        image=app.image,
        match=app.kustomize_name,
        kind=app.editor,
        key=app.key,
        setter=app.setter or app.name,
    )


def set_image_arg(app: App, new: ImageRef) -> SetImage:
    """The kustomize-style argument that pins ``new`` for ``app``: the whole entry is
    replaced (a stale tag is dropped); newName is written only when it differs."""
    new_name = new.name if new.name != app.kustomize_name else None
    return SetImage(app.kustomize_name, new_name, new.tag, new.digest)


def locate(root: Path, config: Config, app: App, env: Environment) -> tuple[Path, str]:
    rel = config.overlay_path(app, env)
    return files.overlay_file(root, rel, what=f"overlay of {app.name} in {env.name}")


def read_state(root: Path, config: Config, app: App, env: Environment) -> OverlayState:
    """The overlay as the work tree has it. A broken pin (an invalid digest, tag or name)
    is not an error here: an edit may repair it; ``broken`` says what is wrong, and
    :meth:`OverlayState.require_pin` refuses it for readers that need the pin."""
    path, rel = locate(root, config, app, env)
    text = yamlsafe.decode(files.read_bytes(path, what=rel), rel)
    try:
        pin = overlays.read_pin(rel, text, target(app))
    except BadPinError as err:
        return OverlayState(app, env, path, rel, text, None, err)
    return OverlayState(app, env, path, rel, text, pin)


def read_pin_text(filename: str, text: str, app: App) -> overlays.Pin | None:
    """The pin of ``app`` in a file's text (a historical version, say)."""
    return overlays.read_pin(filename, text, target(app))


def edit(state: OverlayState, new: ImageRef) -> str:
    """The overlay text with ``new`` pinned; raises when the editor cannot do it safely."""
    text = overlays.set_pin(
        state.file, state.text, target(state.app), set_image_arg(state.app, new)
    )
    pin = overlays.read_pin(state.file, text, target(state.app))
    if pin is None or pin.ref != new:
        raise OverlayError(
            f"{state.file}: editing the pin of {state.app.name} did not yield {new}",
            hint="the overlay may set the image in an unexpected way; pin it by hand once",
        )
    return text


def write(state: OverlayState, text: str) -> None:
    files.write_atomic(state.path, text.encode("utf-8"))


def gated_inputs(
    repo: Repo, config: Config, targets: Iterable[tuple[App, Environment]]
) -> dict[str, tuple[str, str, str]]:
    """Every file of HEAD's tree that the overlays of ``targets`` are built from (their
    own files and whatever their kustomizations reference, recursively, without
    rendering) -> the first (app, env, overlay root) built from it."""
    from gitops_promote.facts import changes  # noqa: PLC0415 - changes imports this module

    targets = list(targets)
    if not targets or repo.rev_parse("HEAD") is None:
        return {}
    names = list(plumbing.ls_tree(repo.git, "HEAD"))
    tree = changes.Tree.of("HEAD", names)
    roots = [(a.name, e.name, changes.overlay_root(config, a, e)) for a, e in targets]
    found: dict[tuple[str, str, str], set[str]] = {}
    for _ in range(32):  # each pass reads the kustomizations the last one reached
        found = {key: changes.build_inputs(tree, key[2]) for key in roots}
        wanted = {
            p
            for inputs in found.values()
            for p in inputs
            if changes.is_kustomization(p) and tree.text(p) is None
        }
        if not wanted:
            break
        texts: dict[str, str] = {}
        for (_, path), data in repo.read_blobs([("HEAD", p) for p in sorted(wanted)]).items():
            try:
                texts[path] = yamlsafe.decode(data or b"", path)
            except UserError:
                texts[path] = ""  # unreadable: its readers report it
        tree = tree.with_texts(texts)
    out: dict[str, tuple[str, str, str]] = {}
    for key, inputs in found.items():
        for file in inputs:
            out.setdefault(file, key)
    return out


def owners(
    config: Config, targets: Iterable[tuple[App, Environment]], files: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """Which of ``files`` lie in the overlay of one of ``targets``: file -> (app, env)."""
    roots: dict[str, tuple[str, str]] = {}
    for app, env in targets:
        roots.setdefault(str(PurePosixPath(config.overlay_path(app, env))), (app.name, env.name))
    out: dict[str, tuple[str, str]] = {}
    for name in files:
        for candidate in (name, *(str(p) for p in PurePosixPath(name).parents)):
            if candidate in roots:
                out[name] = roots[candidate]
                break
    return out


def gated_paths(repo: Repo, config: Config, apps: Iterable[App]) -> dict[str, str]:
    """What a push environment's commit must never change -> the gated environment it
    belongs to: every gated overlay path (normalised), and every file the gated overlays
    of ``apps`` are built from (:func:`gated_inputs`, read from HEAD)."""
    out: dict[str, str] = {}
    for app in config.apps:
        for env in config.envs_of(app):
            if env.gated:
                out[str(PurePosixPath(config.overlay_path(app, env)))] = env.name
    targets = [(a, e) for a in apps for e in config.envs_of(a) if e.gated]
    for file, (_, env_name, _) in gated_inputs(repo, config, targets).items():
        out.setdefault(file, env_name)
    return out


__all__ = [
    "KEEP",
    "OverlayState",
    "edit",
    "gated_inputs",
    "gated_paths",
    "locate",
    "owners",
    "read_state",
    "target",
    "write",
]
