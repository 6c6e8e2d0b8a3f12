"""Pin timelines from git: every pin change of each (app, env) on a ref's first-parent
history (what is pinned now is :func:`gitops_promote.facts.pins.current`).

:func:`timelines`: one ``git log`` over every overlay file, then one batch read of the
blob versions: the cost does not grow with one process per app and env. The value types
(:class:`~gitops_promote.facts.events.Timeline`, :class:`~gitops_promote.facts.events.PinEvent`)
are pure, in :mod:`gitops_promote.facts.events`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, cast, overload

from gitops_promote.adapters import files
from gitops_promote.adapters.git import CommitInfo, Repo
from gitops_promote.apply import overlays
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import UserError
from gitops_promote.facts import events as history
from gitops_promote.facts import pins, tree
from gitops_promote.facts.events import Key, Timeline
from gitops_promote.images import ImageRef


def overlay_files(
    repo: Repo, config: Config, targets: Iterable[tuple[App, Environment]]
) -> dict[Key, str]:
    """Repo-relative file of each target that exists in the working tree: the file
    :func:`gitops_promote.facts.pins.locate` finds, for the targets it finds one for.

    The same rule (:func:`gitops_promote.facts.tree.pin_file`) over one view of the work
    tree that looks at each path once (thousands of overlays share their parent
    directories). A link on the way, which ``locate`` refuses, leaves the target out; a
    path without one stays inside the repository, which is all ``locate`` checks more."""
    view = pins.WorkTreeOnce(tree.WorkTree(repo.root))
    out: dict[Key, str] = {}
    for app, env in targets:
        rel, what = config.overlay_path(app, env), f"overlay of {app.name} in {env.name}"
        try:
            files.check_relative(rel, what=what)
            out[(app.name, env.name)] = tree.pin_file(view, rel, what=what)
        except (tree.Blocked, UserError):
            continue
    return out


# Few files (a check, a promotion): read recent history first, in stretches of this many
# commits, so that a question answered there never reads (or downloads) the rest.
WINDOWS: Final = (512, 2048)
FEW_FILES: Final = 16


def timelines(
    repo: Repo,
    config: Config,
    targets: Iterable[tuple[App, Environment]],
    ref: str | None = None,
    *,
    files: Mapping[Key, str] | None = None,
    lazy: bool = False,
    known: Mapping[Key, history.PinEvent] | None = None,
) -> dict[Key, Timeline]:
    """Pin timelines of every target on ``ref``'s first-parent history, oldest first.

    ``files``: the pin-carrying file of each target, when the caller knows it from ``ref``'s
    tree (default: located in the working tree).

    One pass over the history serves every timeline. ``lazy``: the history is read on
    demand, newest first: asking a timeline for its current pin or for since when it has
    held one (:meth:`Timeline.held_since`) reads and parses only the versions back to where
    that pin started, and with few files only the recent commits' trees are downloaded;
    going through all its events reads everything. The events are exactly those of the
    whole history either way, but a lazy timeline reads ``repo`` when looked at: use it
    before the workspace is closed.

    ``known`` (lazy only): the event since which a target has run its current pin, known
    already (from the state file, see :mod:`gitops_promote.facts.statesince`): "since when" for
    that pin reads no history (:class:`gitops_promote.facts.events.Anchored`). These targets'
    files are read in a walk of their own, only if something else is asked of them, so
    the other targets' walk covers just their files (few: recent history first)."""
    targets = list(targets)
    if files is None:
        files = overlay_files(repo, config, targets)
    else:
        wanted = {(a.name, e.name) for a, e in targets}
        files = {key: rel for key, rel in files.items() if key in wanted}
    if not files:
        return {}
    known = known if lazy and known else {}
    apps = {a.name: a for a, _ in targets}
    lines: dict[Key, Timeline] = {}
    for group in (
        {key: rel for key, rel in files.items() if key not in known},
        {key: rel for key, rel in files.items() if key in known},
    ):
        paths = sorted(set(group.values()))
        windows = WINDOWS if lazy and len(paths) <= FEW_FILES else ()
        walk = _Walk(repo, paths, ref, windows)
        for key, rel in group.items():
            events: Sequence[history.PinEvent] = _Events(walk, apps[key[0]], key[1], rel)
            if key in known:
                events = history.Anchored(known[key], events)
            lines[key] = Timeline(key[0], key[1], rel, events)
    if lazy:
        return {key: lines[key] for key in files}
    return {key: replace(line, events=tuple(line.events)) for key, line in lines.items()}


@dataclass(frozen=True)
class _Raw:
    """One version of a file in history: the commit, the blob it has there (None:
    deleted, or not a file any more) and the blob it had before (the previous version's)."""

    commit: CommitInfo
    blob: str | None
    before: str | None


class _Walk:
    """The first-parent history of some files, read newest first as far as asked: each
    step reads the next stretch of commits and the blobs it introduces (one batch)."""

    def __init__(self, repo: Repo, paths: Sequence[str], ref: str | None, windows: Sequence[int]):
        self.repo = repo
        self.paths = paths
        self.ref = ref
        self.windows = windows
        self.versions: dict[str, list[_Raw]] = {p: [] for p in paths}  # newest first
        self.blobs: dict[str, bytes] = {}
        # parsed pins by (blob, file, target): the same bytes recur across versions
        self.pins: dict[tuple[str, str, overlays.Target], overlays.Pin | UserError | None] = {}
        self._steps: Iterator[list[CommitInfo]] | None = None
        self.done = False

    def pin_of(self, oid: str, file: str, data: bytes, app: App) -> overlays.Pin | UserError | None:
        """:func:`gitops_promote.facts.pins.pin_of_blob`, once per blob of this walk."""
        return pins.pin_of_blob(oid, file, data, app, self.pins, limit=False)

    def more(self) -> bool:
        """Read the next stretch of history; False when there is none left."""
        if self.done:
            return False
        if self._steps is None:
            self._steps = self.repo.path_history(self.paths, self.ref, windows=self.windows)
        step = next(self._steps, None)
        if step is None:
            self.done = True
            return False
        wanted: set[str] = set()
        for commit in step:
            for change in commit.changes:
                found = self.versions.get(change.path)
                if found is not None:
                    found.append(_Raw(commit, change.new_blob, change.old_blob))
                    # the blob before too: the oldest version read so far tells what the
                    # previous one pins without reading further back (see _Events)
                    for blob in (change.new_blob, change.old_blob):
                        if blob is not None and blob not in self.blobs:
                            wanted.add(blob)
        self.blobs.update(self.repo.read_objects(wanted))
        return True


_SKIP: Final = object()  # a version whose pin cannot be read: unknown, not gone
_FURTHER: Final = object()  # the answer needs more history read


class _Events(Sequence[history.PinEvent]):
    """A timeline's pin events, oldest first, computed as far as they are looked at.

    ``reversed()`` (and ``[-1]``, truth) reads history newest first only as far as the
    caller goes; anything else reads it all and gives :func:`gitops_promote.facts.events.events`
    of every version, the very events an eager pass would give."""

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __init__(self, walk: _Walk, app: App, env: str, file: str) -> None:
        self._walk = walk
        self._app = app
        self._env = env
        self._file = file
        self._parsed: list[tuple[_Raw, ImageRef | None]] = []  # readable versions, newest first
        self._seen = 0  # raw versions looked at
        self._all: tuple[history.PinEvent, ...] | None = None

    def _version(self, index: int, *, walk: bool = True) -> Any:
        """The ``index``-th readable version, newest first, as (raw, pin); None: history
        has no more. ``walk`` False: :data:`_FURTHER` when that needs more history read."""
        raws = self._walk.versions[self._file]
        while len(self._parsed) <= index:
            if self._seen < len(raws):
                raw = raws[self._seen]
                self._seen += 1
                ref = self._pin(raw)
                if ref is not _SKIP:
                    self._parsed.append((raw, cast("ImageRef | None", ref)))
            elif self._walk.done:
                return None
            elif not walk:
                return _FURTHER
            else:
                self._walk.more()
        return self._parsed[index]

    def _before(self, index: int) -> ImageRef | None:
        """What the version before the ``index``-th one pins, read from the blob that
        version replaced, when that blob is readable and pins something (else None). It
        is exactly the previous readable version's pin: the previous version has that blob."""
        blob = self._parsed[index][0].before
        data = self._walk.blobs.get(blob) if blob is not None else None
        if blob is None or data is None:
            return None
        found = self._walk.pin_of(blob, self._file, data, self._app)
        return None if isinstance(found, UserError) or found is None else found.ref

    def _first_event(self, index: int) -> tuple[history.PinEvent, int]:
        """The newest event at or before the ``index``-th version (which must exist, as
        must that event), and the index of its version."""
        while True:
            current = self._version(index)
            older = self._version(index + 1)
            old = older[1] if older is not None else None
            if current[1] != old:
                return self._event(current[0], old, current[1]), index
            index += 1

    def _pin(self, raw: _Raw) -> object:
        if raw.blob is None:
            return None
        data = self._walk.blobs.get(raw.blob)
        if data is None:
            return _SKIP
        found = self._walk.pin_of(raw.blob, self._file, data, self._app)
        if isinstance(found, UserError):
            return _SKIP  # a broken historical version: the pin is unknown, not gone
        return found.ref if found is not None else None

    def _event(self, raw: _Raw, old: ImageRef | None, new: ImageRef | None) -> history.PinEvent:
        c = raw.commit
        return history.PinEvent(
            self._app.name,
            self._env,
            self._file,
            c.sha,
            c.date,
            c.author,
            c.subject,
            old,
            new,
            history.pr_number(c.subject),
        )

    def __reversed__(self) -> Iterator[history.PinEvent]:
        if self._all is not None:
            yield from reversed(self._all)
            return
        index = 0
        while (current := self._version(index)) is not None:
            older = self._version(index + 1, walk=False)
            if older is _FURTHER and (before := self._before(index)) is not None:
                # The previous version pins ``before`` (its blob is the one this version
                # replaced): this version's event is known, and so is what the next one
                # pins; the rest of the next event is read only if someone looks at it
                # (held_since stops at its pin).
                if current[1] != before:
                    yield self._event(current[0], before, current[1])
                later = _LaterEvent.of(self, index + 1, before)
                yield later
                event, index = self._first_event(index + 1)
                later.settle(event)
                index += 1
                continue
            if older is _FURTHER:
                older = self._version(index + 1)
            old = older[1] if older is not None else None
            if current[1] != old:
                yield self._event(current[0], old, current[1])
            index += 1

    def _everything(self) -> tuple[history.PinEvent, ...]:
        if self._all is None:
            while self._walk.more():
                pass
            raws = self._walk.versions[self._file]
            for raw in raws[self._seen :]:  # what _version would give, without its steps
                ref = self._pin(raw)
                if ref is not _SKIP:
                    self._parsed.append((raw, cast("ImageRef | None", ref)))
            self._seen = len(raws)
            versions = [
                history.Version(
                    raw.commit.sha, raw.commit.date, raw.commit.author, raw.commit.subject, ref
                )
                for raw, ref in reversed(self._parsed)
            ]
            self._all = tuple(history.events(self._app.name, self._env, self._file, versions))
        return self._all

    def __bool__(self) -> bool:
        return next(reversed(self), None) is not None

    @overload
    def __getitem__(self, index: int) -> history.PinEvent: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[history.PinEvent]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if index == -1 and self._all is None:
            newest = next(reversed(self), None)
            if newest is None:
                raise IndexError("no pin events")
            return newest
        return self._everything()[index]

    def __len__(self) -> int:
        return len(self._everything())

    def __iter__(self) -> Iterator[history.PinEvent]:
        return iter(self._everything())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<pin events of {self._app.name} in {self._env}>"


class _LaterEvent(history.PinEvent):
    """A pin event known, so far, only by what it pins (``new``): the rest (commit, date,
    previous pin...) is read from history the first time anything else is looked at.
    Equal to, hashed and printed like the :class:`~gitops_promote.facts.events.PinEvent` it
    stands for."""

    @classmethod
    def of(cls, events: _Events, index: int, new: ImageRef) -> _LaterEvent:
        """The newest event at or before ``events``' ``index``-th version; it pins ``new``."""
        later = object.__new__(cls)
        object.__setattr__(later, "_source", (events, index))
        for name, value in (
            ("app", events._app.name),
            ("env", events._env),
            ("file", events._file),
            ("new", new),
        ):
            object.__setattr__(later, name, value)
        return later

    def settle(self, event: history.PinEvent | None = None) -> None:
        """Read (or take) the whole event."""
        source = self.__dict__.pop("_source", None)
        if source is None:
            return
        if event is None:
            event, _ = source[0]._first_event(source[1])
        for f in dataclasses.fields(history.PinEvent):
            object.__setattr__(self, f.name, getattr(event, f.name))

    def __getattr__(self, name: str) -> Any:  # only for fields not read yet
        if "_source" not in self.__dict__ or name.startswith("__"):
            raise AttributeError(name)
        self.settle()
        return object.__getattribute__(self, name)

    def _values(self) -> tuple[Any, ...]:
        self.settle()
        return _values(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, history.PinEvent):
            return self._values() == _values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return repr(history.PinEvent(*self._values()))


def _values(event: history.PinEvent) -> tuple[Any, ...]:
    if isinstance(event, _LaterEvent):
        event.settle()
    return tuple(getattr(event, f.name) for f in dataclasses.fields(history.PinEvent))


__all__ = ["FEW_FILES", "WINDOWS", "Key", "Timeline", "overlay_files", "timelines"]
