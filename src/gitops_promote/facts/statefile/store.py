"""The state file's one edge: read the work tree and git history, write the two files."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from gitops_promote.adapters import files
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts import pins, statesince
from gitops_promote.facts import timelines as facts
from gitops_promote.facts.events import Key
from gitops_promote.facts.overlay import Current
from gitops_promote.images import ImageRef

if TYPE_CHECKING:
    from gitops_promote.adapters.git import Repo

from gitops_promote.facts.statefile.model import (
    Entry,
    StateFileError,
    build,
    parse,
    paths,
    render_json,
    render_markdown,
    reusable,
)


def read_pins(repo: Repo, config: Config) -> dict[Key, ImageRef | None]:
    """What every declared overlay pins in the work tree (None: missing, unpinned or
    broken): :func:`gitops_promote.facts.pins.current`."""

    targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
    return pins.refs(pins.current(repo, config, targets))


def read_texts(repo: Repo, config: Config) -> tuple[str | None, str | None]:
    """The work tree's state file and VERSIONS.md (None: absent)."""

    where = paths(config)
    if where is None:
        return None, None
    repo.add_sparse(list(where))
    out: list[str | None] = []
    for rel in where:
        path = files.resolve_in_repo(repo.root, rel, what="settings.state-file")
        out.append(path.read_text(encoding="utf-8") if path.is_file() else None)
    return out[0], out[1]


def refresh(
    repo: Repo,
    config: Config,
    changed: Mapping[Key, datetime] | None = None,
    *,
    full: bool = False,
) -> list[str]:
    """Rewrite the state file and VERSIONS.md in the work tree from the overlays and the
    history of HEAD; return both repo-relative paths ([] when not configured).

    ``changed``: targets the commit about to be made pins anew, with the promotion time.
    Their pins are read from the work tree, the others' from HEAD's tree (no checkout of
    every overlay); the entries of the work tree's state file that still hold are kept
    (:func:`reusable`), and history is read only for the rest: the changed targets and any
    entry that is missing, pending or disagrees. The bytes are those a ``full`` rewrite
    (every pin from the work tree, every since from history: ``validate --write-state``)
    gives, when the old file was right.
    """

    where = paths(config)
    if where is None:
        return []
    targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
    if full:
        repo.add_sparse([*where, *(config.overlay_path(a, e) for a, e in targets)])
        lines = facts.timelines(repo, config, targets, lazy=True)  # used right here
        entries = build(config, read_pins(repo, config), lines, changed)
        return _write(repo, config, entries)
    changed = changed or {}
    now = _pins_now(repo, config, targets, changed)
    pins = {key: c.ref for key, c in now.items()}
    old, _ = read_texts(repo, config)
    try:
        kept = reusable(parse(old) if old is not None else [], pins, changed)
    except StateFileError:
        kept = {}
    kept = _confirmed(repo, config, kept, pins, now)
    redo = [(a, e) for a, e in targets if (a.name, e.name) not in kept]
    files = {
        (a.name, e.name): file
        for a, e in redo
        if (file := now[(a.name, e.name)].file) is not None and pins[(a.name, e.name)]
    }
    lines = facts.timelines(repo, config, redo, files=files, lazy=True)  # used right here
    return _write(repo, config, build(config, pins, lines, changed, kept))


def _confirmed(
    repo: Repo,
    config: Config,
    kept: Mapping[Key, Entry],
    pins: Mapping[Key, ImageRef | None],
    now: Mapping[Key, Current],
) -> dict[Key, Entry]:
    """The ``kept`` entries git confirms at HEAD (:func:`gitops_promote.facts.statesince.known`):
    a rewrite never carries a forged or wrong entry forward; the others are redone from
    history."""

    if not kept:
        return {}
    files = {key: file for key in kept if (file := now[key].file) is not None}
    found = statesince.from_entries(repo, config, "HEAD", kept.values(), pins, files)
    return {key: entry for key, entry in kept.items() if key in found.events}


def _pins_now(
    repo: Repo,
    config: Config,
    targets: Sequence[tuple[App, Environment]],
    changed: Collection[Key],
) -> dict[Key, Current]:
    """What each target pins: the changed ones in the work tree, the others at HEAD."""

    touched = [(a, e) for a, e in targets if (a.name, e.name) in changed]
    rest = [(a, e) for a, e in targets if (a.name, e.name) not in changed]
    now = pins.current(repo, config, touched) if touched else {}
    if rest:
        now |= pins.current(repo, config, rest, rev="HEAD")
    return now


def _write(repo: Repo, config: Config, entries: Sequence[Entry]) -> list[str]:

    where = paths(config)
    assert where is not None  # noqa: S101 - the callers checked
    json_name, md_name = where
    texts = {
        json_name: render_json(entries),
        md_name: render_markdown(entries, json_name, [e.name for e in config.environments]),
    }
    for rel, text in texts.items():
        path = files.resolve_in_repo(repo.root, rel, what="settings.state-file")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            files.write_atomic(path, text.encode("utf-8"))
    return [json_name, md_name]


__all__ = ["read_pins", "read_texts", "refresh"]
