"""Overlay editors: pure, byte-minimal transforms over the text of GitOps files.

Three ways a file pins an image, one editor each:

- ``kustomize``: the ``images:`` list of a kustomization (:mod:`.kustomize`);
- ``helm``: a values file's image at a dotted key path (:mod:`.helm`);
- ``setter``: scalars marked by ``# {"$promote": ...}`` / Flux ``# {"$imagepolicy": ...}``
  comments, in any YAML file (:mod:`.setters`).

Text in, text out; no file I/O. Only the lines that carry the change differ; setting what
is already there returns the identical text. Anything the editors cannot do safely is an
:class:`~gitops_promote.errors.OverlayError` of one line that names the file and the fix.
Pass the repository-relative path as ``filename``: it names the file in messages, and its
last component decides the editor when the target's kind is ``auto``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitops_promote.apply.overlays import kustomize
from gitops_promote.apply.overlays.model import KUSTOMIZATION_NAMES, Pin, Target, resolve
from gitops_promote.errors import OverlayError

if TYPE_CHECKING:
    from gitops_promote.config.model import EditorKind
    from gitops_promote.images import SetImage

# The Helm values and setter editors are imported where a file may need them, not for a
# kustomization (what ``set-image`` edits nearly always): start-up stays lean.


def _basename(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def _is_values_name(filename: str) -> bool:
    base = _basename(filename)
    return base.startswith("values") and base.endswith((".yaml", ".yml"))


def detect_kind(filename: str, text: str, key: str = "image") -> EditorKind:
    """Which editor a file calls for: a kustomization by its name, a file with setter
    markers, a Helm values file (``values*.yaml``, or any file with the ``key`` path).

    Raises OverlayError when none fits."""

    if _basename(filename) in KUSTOMIZATION_NAMES:
        return "kustomize"
    from gitops_promote.apply.overlays import helm, setters  # noqa: PLC0415 - lazy: start-up

    if setters.markers(filename, text):
        return "setter"
    if _is_values_name(filename) or helm.locate(filename, text, key) is not None:
        return "helm"
    raise OverlayError(
        f"{filename}: cannot tell how this file pins images",
        hint="use a kustomization.yaml, a Helm values*.yaml, mark the image with "
        '# {"$promote": "<app>"}, or set editor: in promotion.yaml',
    )


def _kind(filename: str, text: str, target: Target, *, fast: bool = False) -> EditorKind | None:
    """The editor for ``target`` in this file; None when ``auto`` finds nothing."""

    if target.kind != "auto":
        return target.kind
    if _basename(filename) in KUSTOMIZATION_NAMES:
        return "kustomize"
    from gitops_promote.apply.overlays import helm, setters  # noqa: PLC0415 - lazy: start-up

    if setters.matching(target, setters.markers(filename, text, fast=fast)):
        return "setter"
    if helm.locate(filename, text, target.key, fast=fast) is not None:
        return "helm"
    return None


def read_pin(filename: str, text: str, target: Target, *, fast: bool = True) -> Pin | None:
    """What the file pins for ``target`` now; None when the file does not carry it.

    ``fast`` (the default): the YAML is parsed through libyaml when that gives the very
    nodes ruamel.yaml would (:func:`gitops_promote.adapters.yamlsafe.compose`): same pin, same
    errors, a fraction of the time. Editing (:func:`set_pin`) always parses with
    ruamel.yaml."""

    kind = _kind(filename, text, target, fast=fast)
    if kind == "kustomize":
        return kustomize.read(filename, text, target.match, fast=fast)
    from gitops_promote.apply.overlays import helm, setters  # noqa: PLC0415 - lazy: start-up

    if kind == "helm":
        return helm.read(filename, text, target.key, target.image, fast=fast)
    if kind == "setter":
        return setters.read(filename, text, target, fast=fast)
    return None


def read_pins(filename: str, text: str, *, fast: bool = True) -> list[tuple[str, Pin]]:
    """Every pin in the file, in file order: kustomize entries keyed by ``name``, setter
    markers by marker name, Helm values by dotted key path (values*.yaml files only).
    ``fast``: as for :func:`read_pin`."""

    from gitops_promote.apply.overlays import helm, setters  # noqa: PLC0415 - lazy: start-up

    pins: list[tuple[str, Pin]] = []
    if _basename(filename) in KUSTOMIZATION_NAMES:
        pins.extend(kustomize.read_all(filename, text, fast=fast))
    pins.extend(setters.read_all(filename, text, fast=fast))
    if _is_values_name(filename):
        pins.extend(helm.read_all(filename, text, fast=fast))
    return sorted(pins, key=lambda item: item[1].line)


def set_pin(filename: str, text: str, target: Target, new: SetImage) -> str:
    """``text`` with ``target`` pinned as ``new`` says (``kustomize edit set image``
    semantics in every editor); byte-minimal; OverlayError when it cannot be done safely."""

    kind = _kind(filename, text, target)
    if kind == "kustomize":
        return kustomize.set_image(filename, text, target.match, new)
    from gitops_promote.apply.overlays import helm, setters  # noqa: PLC0415 - lazy: start-up

    if kind == "helm":
        return helm.set_image(filename, text, target.key, target.image, new)
    if kind == "setter":
        return setters.set_image(filename, text, target, new)
    raise OverlayError(
        f"{filename}: found no place that pins {target.image}",
        hint=f"expected a kustomization.yaml, a {target.key}: key (Helm values), or a "
        f'# {{"$promote": "{target.setter or "<app>"}"}} marker; or set editor: in '
        "promotion.yaml",
    )


__all__ = [
    "KUSTOMIZATION_NAMES",
    "Pin",
    "Target",
    "detect_kind",
    "read_pin",
    "read_pins",
    "resolve",
    "set_pin",
]
