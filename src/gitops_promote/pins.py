"""What the working tree pins now: locate, read and rewrite an app's overlay in an env.

The edge between promotion.yaml (which file) and the pure editors in :mod:`overlays`
(which bytes): reads go through :mod:`files` (safe paths, size limits) and
:mod:`yamlsafe` (encodings), writes are atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitops_promote import files, overlays, yamlsafe
from gitops_promote.config import App, Config, Environment
from gitops_promote.errors import OverlayError
from gitops_promote.images import KEEP, ImageRef, SetImage
from gitops_promote.overlays.model import BadPinError


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


def gated_paths(config: Config) -> dict[str, str]:
    """Every overlay path of a gated environment (normalised) -> that environment: the
    files a push environment's commit must never change."""
    out: dict[str, str] = {}
    for app in config.apps:
        for env in config.envs_of(app):
            if env.gated:
                out[str(PurePosixPath(config.overlay_path(app, env)))] = env.name
    return out


__all__ = [
    "KEEP",
    "OverlayState",
    "edit",
    "gated_paths",
    "locate",
    "read_state",
    "target",
    "write",
]
