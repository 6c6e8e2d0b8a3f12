"""What git says about pins over time: every pin change, and since when a pin has held.

Pure: the caller (see :mod:`facts`) gathers, in one pass over the base branch's
first-parent history, each version of each overlay file; these functions turn those
versions into :class:`PinEvent` timelines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gitops_promote.images import ImageRef

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
    since: PinEvent | None = None
    for event in reversed(timeline):
        if not same_artifact(event.new, current):
            break
        since = event
    return since


def ever_ran(timeline: Sequence[PinEvent], ref: ImageRef) -> bool:
    """True when the env has run ``ref``'s artifact at some point (rollbacks)."""
    return any(same_artifact(e.new, ref) for e in timeline)


def previous_artifact(timeline: Sequence[PinEvent], current: ImageRef | None) -> PinEvent | None:
    """The most recent event that pinned an artifact other than ``current`` (rollback)."""
    for event in reversed(timeline):
        if event.new is not None and not same_artifact(event.new, current):
            return event
    return None
