"""An app's overlay, pure: what its pin is in a text, how to rewrite it, and the value
types the readers return (:class:`OverlayState`, :class:`Current`).

The I/O edge is :mod:`gitops_promote.facts.pins` (the one reader of what is pinned now,
over a work tree or a git tree); the bytes are the editors' in
:mod:`gitops_promote.apply.overlays`. Imports no adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops_promote.apply import overlays
from gitops_promote.apply.overlays import quick
from gitops_promote.apply.overlays.model import BadPinError
from gitops_promote.config.model import App, Environment
from gitops_promote.errors import OverlayError, UserError
from gitops_promote.images import ImageRef, SetImage


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


@dataclass(frozen=True)
class Current:
    """What one target's overlay pins now: ``file`` (repo-relative, None when it cannot be
    located), ``pin`` (None: the file does not pin the app), or ``error``: why the overlay
    cannot be read (a broken pin included: see :meth:`OverlayState.require_pin`)."""

    file: str | None
    pin: overlays.Pin | None
    error: UserError | None = None

    @property
    def ref(self) -> ImageRef | None:
        return self.pin.ref if self.pin else None


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


def read_pin_text(filename: str, text: str, app: App) -> overlays.Pin | None:
    """The pin of ``app`` in a file's text (the work tree's, a commit's, a historical
    version's): the one parse every reader shares. An ordinary overlay is read by the
    quick reader (:mod:`gitops_promote.apply.overlays.quick`: the same answer without a
    YAML tree); whatever it is unsure of, errors included, by the full one."""
    wanted = target(app)
    answer = quick.read_pin(filename, text, wanted)
    if not isinstance(answer, quick.Unsure):
        return answer
    return overlays.read_pin(filename, text, wanted)


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


__all__ = [
    "Current",
    "OverlayState",
    "edit",
    "read_pin_text",
    "set_image_arg",
    "target",
]
