"""The soak plan's values: what it is given (:class:`Facts`) and what it decides for each
target (:class:`Decision`, with its :data:`Status`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from gitops_promote.config.model import Config
from gitops_promote.facts.events import Key, PinEvent, Timeline
from gitops_promote.facts.live.model import LiveState
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult

Status = Literal["promote", "proposed", "up-to-date", "skipped", "waiting", "frozen", "blocked"]
STATUSES: Final[tuple[Status, ...]] = (
    "promote",
    "proposed",
    "up-to-date",
    "skipped",
    "waiting",
    "frozen",
    "blocked",
)


@dataclass(frozen=True)
class Proposal:
    """An open pull request of ours for one (app, env): what it proposes."""

    number: int
    url: str
    ref: ImageRef | None  # None: the PR's marker does not name this app (not comparable)
    rollback: bool = False


@dataclass(frozen=True)
class Facts:
    """Everything the plan looks at, gathered by the caller in one pass."""

    config: Config
    now: datetime
    pins: Mapping[Key, ImageRef | None]  # what each overlay pins on the base branch
    lines: Mapping[Key, Timeline]  # pin timelines on the base branch's first-parent history
    files: Mapping[Key, str] = field(default_factory=dict)  # overlay file of each target
    proposals: Mapping[Key, Proposal] = field(default_factory=dict)
    unreadable: Mapping[Key, str] = field(default_factory=dict)  # overlay -> why (one line)
    labels: Sequence[str] = ()  # no PR yet, so no break-glass label: freeze holds
    live: Mapping[Key, LiveState] | None = None  # upstreams' live state (live: blocks)


@dataclass(frozen=True)
class Decision:
    """The verdict on one target, with the facts behind it."""

    app: str
    env: str
    source: str  # the upstream env
    status: Status
    reason: str
    current: ImageRef | None = None
    candidate: ImageRef | None = None
    candidate_since: PinEvent | None = None
    soak: timedelta | None = None
    ready_at: datetime | None = None
    left: timedelta | None = None
    frozen_until: datetime | None = None
    window: str | None = None
    blocked_by: tuple[str, ...] = ()
    proposal: Proposal | None = None
    file: str | None = None
    gates: tuple[GateResult, ...] = ()


__all__ = ["STATUSES", "Decision", "Facts", "Proposal", "Status"]
