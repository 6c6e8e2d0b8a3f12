"""Since when each target has run what it pins now: the one source that promote, status,
soak and validate read (``check`` applies the same rule to a pull request's base).

The state file answers where it is configured, agrees with the overlay and git confirms
it (:mod:`gitops_promote.facts.statesince`); one pass over the first-parent history
answers for the rest (:func:`gitops_promote.facts.timelines.timelines`), and each entry
git refuses gets a note. By default an entry is used only once proven (its commit set the
pin); ``proof=False`` takes the entries the commit list confirms (status shows them) and
leaves the proof to the caller that acts on one (:func:`prove`: soak, for the candidates
it would promote).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gitops_promote.adapters.git import Repo
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts import pins, statesince, timelines
from gitops_promote.facts.events import Anchored, Key, PinEvent, Timeline
from gitops_promote.facts.overlay import Current
from gitops_promote.images import ImageRef


@dataclass(frozen=True)
class Since:
    """What every target pins now (``current``), its pin timeline (``lines``: lazy, read
    from ``repo`` when looked at: use it before the workspace is closed) and one note per
    state-file entry git refused (``notes``). ``found``: what the state file answered
    (its events not yet proven: ``found.unproven``)."""

    current: Mapping[Key, Current]
    lines: Mapping[Key, Timeline]
    notes: Sequence[str]
    found: statesince.Verified = field(default_factory=statesince.Verified)

    @property
    def unproven(self) -> frozenset[Key]:
        """The targets whose "since when" is a state-file entry not yet proven to be the
        commit that set the pin (:func:`prove` before acting on one)."""
        return self.found.unproven

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
    proof: bool = True,
    one_walk: bool = False,
) -> Since:
    """Since when, for ``targets`` at ``rev`` (None: HEAD, the work tree's pins).
    ``current``: what each pins now, when the caller has read it
    (:func:`gitops_promote.facts.pins.current`; default: read here). ``proof=False``: the
    state file's entries as the commit list confirms them, not yet proven
    (:attr:`Since.unproven`). ``one_walk``: the caller reads every event of many targets
    (soak: whether an env ran a candidate before), so the targets the state file answers
    share the one history walk with the others instead of a second one of their own."""
    if current is None:
        current = pins.current(repo, config, targets, rev=rev)
    located = {key: c.file for key, c in current.items() if c.file is not None}
    refs = {key: c.ref for key, c in current.items() if c.error is None}
    found = (  # the state file is read only when some target has a file to ask about
        statesince.read_known(repo, config, rev or "HEAD", refs, located, proof=proof)
        if located
        else statesince.Verified()
    )
    rest = {rel for key, rel in located.items() if key not in found.events}
    if len(rest) > timelines.FEW_FILES:
        repo.start_tree_download()  # history answers for many files: start the download now
    if one_walk:
        lines = timelines.timelines(repo, config, targets, rev, files=located, lazy=True)
        lines = {
            key: replace(line, events=Anchored(found.events[key], line.events))
            if key in found.events
            else line
            for key, line in lines.items()
        }
    else:
        lines = timelines.timelines(
            repo, config, targets, rev, files=located, lazy=True, known=found.events
        )
    return Since(current, lines, found.notes, found)


def prove(repo: Repo, config: Config, held: Since, keys: Iterable[Key]) -> Since:
    """``held`` with the unproven state-file answers of ``keys`` proven
    (:func:`gitops_promote.facts.statesince.prove`); history answers for each that fails
    (the same lazy timeline, without the entry's anchor), with a note."""
    found = statesince.prove(repo, config, held.found, keys)
    if found is held.found:
        return held
    failed = set(found.refused) - set(held.found.refused)
    lines = dict(held.lines)
    for key in failed:
        line = lines[key]
        if isinstance(line.events, Anchored):
            lines[key] = replace(line, events=line.events.events)
    notes = [*held.notes, *(statesince.refused_note(key) for key in sorted(failed))]
    return Since(held.current, lines, notes, found)


__all__ = ["Since", "prove", "read"]
