"""Since when each target has run what it pins now: the one source that promote, status,
soak and validate read (``check`` applies the same rule to a pull request's base).

The state file answers where it is configured, agrees with the overlay and git confirms
it (:mod:`gitops_promote.facts.statesince`); one pass over the first-parent history
answers for the rest (:func:`gitops_promote.facts.timelines.timelines`), and each entry
git refuses gets a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitops_promote.adapters.git import Repo
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts import pins, statesince, timelines
from gitops_promote.facts.events import Key, PinEvent, Timeline
from gitops_promote.facts.overlay import Current
from gitops_promote.images import ImageRef


@dataclass(frozen=True)
class Since:
    """What every target pins now (``current``), its pin timeline (``lines``: lazy, read
    from ``repo`` when looked at: use it before the workspace is closed) and one note per
    state-file entry git refused (``notes``)."""

    current: Mapping[Key, Current]
    lines: Mapping[Key, Timeline]
    notes: Sequence[str]

    def held_since(self, key: Key, ref: ImageRef | None = None) -> PinEvent | None:
        """The event since which ``key`` has run ``ref`` (default: what it pins now)."""
        line = self.lines.get(key)
        if ref is None:
            now = self.current.get(key)
            ref = now.ref if now is not None else None
        return line.held_since(ref) if line is not None and ref is not None else None


def read(
    repo: Repo,
    config: Config,
    targets: Sequence[tuple[App, Environment]],
    *,
    rev: str | None = None,
    current: Mapping[Key, Current] | None = None,
) -> Since:
    """Since when, for ``targets`` at ``rev`` (None: HEAD, the work tree's pins).
    ``current``: what each pins now, when the caller has read it
    (:func:`gitops_promote.facts.pins.current`; default: read here)."""
    if current is None:
        current = pins.current(repo, config, targets, rev=rev)
    located = {key: c.file for key, c in current.items() if c.file is not None}
    refs = {key: c.ref for key, c in current.items() if c.error is None}
    found = (  # the state file is read only when some target has a file to ask about
        statesince.read_known(repo, config, rev or "HEAD", refs, located)
        if located
        else statesince.Verified()
    )
    rest = {rel for key, rel in located.items() if key not in found.events}
    if len(rest) > timelines.FEW_FILES:
        repo.start_tree_download()  # history answers for many files: start the download now
    lines = timelines.timelines(
        repo, config, targets, rev, files=located, lazy=True, known=found.events
    )
    return Since(current, lines, found.notes)


__all__ = ["Since", "read"]
