"""The one result record of each command.

A frozen :class:`PromotionResult` feeds the commit message, the PR title and body, the
``--json`` output, the action outputs and the job summary (see :mod:`report`): none of
them is computed separately. :class:`HistoryReport` does the same for ``history``; a
check's record is :class:`~gitops_promote.plan.gates.evaluate.CheckResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gitops_promote.facts.events import PinEvent
from gitops_promote.facts.live.model import LiveState
from gitops_promote.images import ImageRef

Operation = Literal["pushed", "committed", "pr-created", "pr-updated", "unchanged", "dry-run"]
Source = Literal["digest", "tag", "image", "upstream", "latest", "rollback"]


@dataclass(frozen=True)
class Upstream:
    """Where a promoted reference came from: the upstream env, and since when it ran it."""

    env: str
    commit: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class Change:
    """One pin in one file: ``old`` -> ``new`` (``old`` is None when the pin is new)."""

    app: str
    env: str
    file: str
    old: ImageRef | None
    new: ImageRef
    line: int | None = None
    source: Source = "digest"
    upstream: Upstream | None = None

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class PromotionResult:
    operation: Operation
    env: str
    changes: tuple[Change, ...] = ()
    commit: str | None = None
    branch: str | None = None
    base: str = "main"
    pr_number: int | None = None
    pr_url: str | None = None
    rollback: bool = False
    diff: str | None = None
    repo_url: str | None = None  # web URL of the config repo, for links (None offline)
    notes: tuple[str, ...] = field(default=())

    @property
    def apps(self) -> tuple[str, ...]:
        return tuple(c.app for c in self.changes)

    @property
    def digest(self) -> str | None:
        """The promoted digest, when exactly one is being promoted."""
        digests = {c.new.digest for c in self.changes}
        return next(iter(digests)) if len(digests) == 1 else None

    @property
    def previous_digest(self) -> str | None:
        digests = {c.old.digest if c.old else None for c in self.changes}
        return next(iter(digests)) if len(digests) == 1 else None


@dataclass(frozen=True)
class HistoryReport:
    """What ``history`` found: the pin changes of ``app`` in ``envs``, newest first."""

    app: str
    envs: tuple[str, ...]
    events: tuple[PinEvent, ...]
    repo_url: str | None = None  # web URL of the config repo, for PR links (None offline)


@dataclass(frozen=True)
class StatusRow:
    """One app in one env: the pinned reference and since when (``problem`` says why a
    value is missing; ``broken``: the overlay cannot be read, ``problem`` names the file)."""

    app: str
    env: str
    file: str | None
    ref: ImageRef | None
    since_commit: str | None
    since: datetime | None
    problem: str | None = None
    broken: bool = False


@dataclass(frozen=True)
class StatusReport:
    """What ``status`` found: one row per app x env, and the notes of the gathering."""

    rows: tuple[StatusRow, ...]
    notes: tuple[str, ...] = ()
    # status --live: the live state of each (app, env) with a live: block (None: not asked)
    live: Mapping[tuple[str, str], LiveState] | None = None
