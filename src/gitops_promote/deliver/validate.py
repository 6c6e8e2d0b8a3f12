"""``validate``'s checks: promotion.yaml is valid, and every app's overlay in every
environment exists and carries the app's image. Every problem is listed, not just the first.

A kustomization with no ``images:`` entry for the app yet is not a problem when what it
renders (kustomize, read-only: see :mod:`gitops_promote.adapters.kustomize`) already runs the app's
image from its base: the first ``promote`` adds the entry, so validate notes it instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.files import KUSTOMIZATION_NAMES
from gitops_promote.deliver.inputs import open_config
from gitops_promote.errors import Problem, UserError
from gitops_promote.facts import pins, statefile, timelines
from gitops_promote.facts.merged import ls_tree
from gitops_promote.facts.renders import renders
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.manifests import pod_specs
from gitops_promote.report.validate import Validation

if TYPE_CHECKING:
    from gitops_promote.adapters.git import Repo
    from gitops_promote.adapters.kustomize import Renderer
    from gitops_promote.adapters.workspace import Credentials, Location, Workspace
    from gitops_promote.config.model import App, Config
    from gitops_promote.facts.events import Key


@dataclass(frozen=True)
class Unpinned:
    """An overlay that does not pin its app's image (yet)."""

    app: App
    file: str  # repo-relative

    @property
    def problem(self) -> Problem:

        return Problem(
            self.file,
            None,
            f"does not pin {self.app.name}'s image {self.app.image} "
            f"(add an images: entry named {self.app.kustomize_name}, or a setter marker)",
        )


def validate(loc: Location, creds: Credentials, *, write_state: bool = False) -> Validation:
    """Check promotion.yaml, every overlay, and the state file; with ``write_state``,
    rewrite the state file and VERSIONS.md from the overlays first."""
    problems: list[Problem] = []
    unpinned: list[Unpinned] = []
    checked = 0
    with open_config(loc, creds, commits=False) as (ws, config):
        targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
        now = pins.current(ws.repo, config, targets)
        for app, env in targets:
            checked += 1
            found = now[(app.name, env.name)]
            if found.error is not None:
                problems.append(Problem(config.overlay_path(app, env), None, str(found.error)))
                continue
            if found.pin is None and found.file is not None:
                unpinned.append(Unpinned(app, found.file))
        notes, not_added = _added_by_promote(ws, unpinned)
        problems += [u.problem for u in not_added]
        written: list[str] = []
        if write_state:
            written = statefile.refresh(ws.repo, config, full=True)
            if not written:
                raise UserError(
                    "--write-state: promotion.yaml sets no settings.state-file",
                    hint="add settings: {state-file: versions.json}",
                )
        problems += _built_into_gated(ws.repo, config)
        json_text, md_text = statefile.read_texts(ws.repo, config)
        pinned = pins.refs(now)
        problems += statefile.check(config, json_text, md_text, pinned)
        problems += _check_since(ws.repo, config, json_text, pinned)
    return Validation(config.file, checked, tuple(notes), tuple(problems), tuple(written))


def _added_by_promote(
    ws: Workspace, unpinned: Sequence[Unpinned]
) -> tuple[list[tuple[str, str]], list[Unpinned]]:
    """Split the unpinned overlays: (file, note) for each kustomization whose rendered
    manifests already run the app's image (from a base: promote adds the ``images:`` entry
    that pins it), and the rest, which are problems. Nothing rendered, nothing noted: with
    neither kustomize nor kubectl installed, or an overlay that does not render, each
    stays a problem."""

    candidates = [
        u
        for u in unpinned
        if PurePosixPath(u.file).name in KUSTOMIZATION_NAMES
        and u.app.editor in ("auto", "kustomize")
    ]
    renderer = render.find_renderer()
    if not candidates or renderer is None:
        return [], list(unpinned)
    dirs = {u.file: str(PurePosixPath(u.file).parent) for u in candidates}
    rendered = _render(ws, renderer, set(dirs.values()))
    notes: list[tuple[str, str]] = []
    rest: list[Unpinned] = []
    for u in unpinned:
        objects = rendered.get(dirs.get(u.file, ""))
        used = sorted(_images_named(objects or (), u.app.kustomize_name))
        if not used:
            rest.append(u)
            continue
        notes.append(
            (
                u.file,
                f"no images: entry for {u.app.kustomize_name} yet; it renders "
                f"{', '.join(used)} (from its base), and `gitops-promote promote` will add "
                "the entry",
            )
        )
    return notes, rest


def _render(
    ws: Workspace, renderer: Renderer, dirs: set[str]
) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """The objects each overlay directory renders to (absent: it does not render). A full
    checkout is rendered as its work tree is; a sparse clone from its HEAD commit's tree."""

    if ws.repo.sparse:
        entries = ls_tree(ws.repo, "HEAD")
        facts = renders(ws.repo, entries, dirs, renderer)
        return {d: f.objects for d, f in facts.items() if f.error is None}
    out: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for directory in sorted(dirs):
        done = render.render(renderer, ws.root, directory)
        if done.ok:
            out[directory] = done.objects
    return out


def _images_named(objects: Sequence[Mapping[str, Any]], name: str) -> Iterator[str]:
    """Each distinct container image of the rendered ``objects`` whose name (without tag
    or digest) is ``name``: the images an ``images:`` entry named ``name`` would pin."""

    seen: set[str] = set()
    for obj in objects:
        for spec in pod_specs(obj):
            for field in ("initContainers", "containers"):
                for container in spec.get(field) or ():
                    image = container.get("image") if isinstance(container, Mapping) else None
                    if not isinstance(image, str) or image in seen:
                        continue
                    seen.add(image)
                    try:
                        if ImageRef.parse(image).name == name:
                            yield image
                    except Exception:  # noqa: BLE001, S112 - not a reference: not this app's image
                        continue


def _check_since(
    repo: Repo,
    config: Config,
    json_text: str | None,
    pinned: Mapping[Key, ImageRef | None],
) -> list[Problem]:
    """The state file's since and commit against a whole-history pass: status, soak and
    check trust them (see gitops_promote.facts.statesince), so a wrong one is a problem."""

    if json_text is None:
        return []
    try:
        entries = statefile.parse(json_text)
    except statefile.StateFileError:
        return []  # check() reported it
    wanted = {(e.app, e.env) for e in entries if e.commit is not None}
    targets = [(a, e) for a in config.apps for e in config.envs_of(a) if (a.name, e.name) in wanted]
    lines = timelines.timelines(repo, config, targets, lazy=True)  # used right here
    return statefile.check_since(config, entries, pinned, lines)


def _built_into_gated(repo: Repo, config: Config) -> list[Problem]:
    """Files of a push environment's overlay that a gated environment's overlay is built
    from (its kustomization references them, directly or through others): a push to the
    one would change what the other deploys."""

    targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
    inputs = pins.gated_inputs(repo, config, [(a, e) for a, e in targets if e.gated])
    if not inputs:
        return []
    pushed = pins.owners(config, [(a, e) for a, e in targets if not e.gated], inputs)
    problems: list[Problem] = []
    for file in sorted(pushed):
        owner, push_env = pushed[file]
        user, gated_env, root = inputs[file]
        problems.append(
            Problem(
                file,
                None,
                f"belongs to the overlay of {owner} in {push_env} (mode: push), and "
                f"{user}'s overlay in {gated_env} ({root}) is built from it: a push to "
                f"{push_env} would change what {gated_env} deploys; give {gated_env} its "
                "own copy or move what both use to a base no push environment owns",
            )
        )
    return problems
