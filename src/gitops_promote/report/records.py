"""The one result record of a promotion.

A frozen :class:`PromotionResult` feeds the commit message, the PR title and body, the
``--json`` output, the action outputs and the job summary (see :mod:`report`): none of
them is computed separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

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
