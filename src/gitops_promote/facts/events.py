"""Pin changes over time, pure: the value types (:class:`PinEvent`, :class:`Timeline`,
:data:`Key`) and what they answer (every pin change, since when a pin has held).

The I/O edge (:mod:`gitops_promote.facts.timelines`) gathers, in one pass over the base
branch's first-parent history, each version of each overlay file; these functions turn
those versions into :class:`PinEvent` timelines. Imports no adapter: the plan layer reads
these types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from gitops_promote.images import ImageRef

Key = tuple[str, str]  # (app, env)

_MERGE_RE = re.compile(r"^Merge pull request #(\d+) from ")
_SQUASH_RE = re.compile(r"\(#(\d+)\)\s*$")


@dataclass(frozen=True)
class Version:
    """A commit and what the overlay pinned after it (None: file or pin absent)."""

    commit: str
    date: datetime  # committer date: when it landed on the branch
    author: str
    subject: str
    ref: ImageRef | None
    line: int | None = None


@dataclass(frozen=True)
class PinEvent:
    """One change of a pin: ``old`` -> ``new`` in ``commit``."""

    app: str
    env: str
    file: str
    commit: str
    date: datetime
    author: str
    subject: str
    old: ImageRef | None
    new: ImageRef | None
    pr: int | None


def pr_number(subject: str) -> int | None:
    """The pull request a commit came through: a merge commit's or a squash's subject."""
    match = _MERGE_RE.match(subject) or _SQUASH_RE.search(subject)
    return int(match.group(1)) if match else None


def same_artifact(a: ImageRef | None, b: ImageRef | None) -> bool:
    """Two pins run the same artifact: same digest when both have one, else equal refs."""
    if a is None or b is None:
        return a is b
    if a.digest and b.digest:
        return a.digest == b.digest and a.same_repository(b)
    return a == b


def events(app: str, env: str, file: str, versions: Iterable[Version]) -> list[PinEvent]:
    """Pin changes, oldest first, from file versions ordered oldest first."""
    out: list[PinEvent] = []
    previous: ImageRef | None = None
    for v in versions:
        if v.ref == previous:
            continue
        out.append(
            PinEvent(
                app,
                env,
                file,
                v.commit,
                v.date,
                v.author,
                v.subject,
                previous,
                v.ref,
                pr_number(v.subject),
            )
        )
        previous = v.ref
    return out


def held_since(timeline: Sequence[PinEvent], current: ImageRef | None) -> PinEvent | None:
    """The event since which the env has carried ``current``'s artifact continuously.

    A re-pin of the same digest (a tag added, say) does not restart the clock; a digest
    that left and came back does.
    """
    if current is None:
        return None
    if isinstance(timeline, Anchored) and same_artifact(timeline.since.new, current):
        return timeline.since
    since: PinEvent | None = None
    for event in reversed(timeline):
        if not same_artifact(event.new, current):
            break
        since = event
    return since


def previous_artifact(timeline: Sequence[PinEvent], current: ImageRef | None) -> PinEvent | None:
    """The most recent event that pinned an artifact other than ``current`` (rollback)."""
    for event in reversed(timeline):
        if event.new is not None and not same_artifact(event.new, current):
            return event
    return None


class Anchored(Sequence[PinEvent]):
    """A timeline whose answer to "since when" for its current artifact is known up front
    (``since``, e.g. from the state file): :func:`held_since` of that artifact returns it
    without reading history. Everything else (every event, the newest one, an earlier
    artifact) is ``events``': the history's (a lazy timeline reads it when looked at)."""

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __init__(self, since: PinEvent, events: Sequence[PinEvent]) -> None:
        self.since = since
        self.events = events

    @overload
    def __getitem__(self, index: int) -> PinEvent: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[PinEvent]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self.events[index]

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[PinEvent]:
        return iter(self.events)

    def __reversed__(self) -> Iterator[PinEvent]:
        return reversed(self.events)

    def __bool__(self) -> bool:
        return bool(self.events)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __repr__(self) -> str:
        return (
            f"<pin events since {self.since.commit[:12]} of {self.since.app} in {self.since.env}>"
        )


@dataclass(frozen=True)
class Timeline:
    """The pin events of one (app, env), oldest first (see
    :func:`gitops_promote.facts.timelines.timelines`)."""

    app: str
    env: str
    file: str
    events: Sequence[PinEvent]

    @property
    def current(self) -> ImageRef | None:
        return self.events[-1].new if self.events else None

    def held_since(self, ref: ImageRef | None = None) -> PinEvent | None:
        return held_since(self.events, self.current if ref is None else ref)
