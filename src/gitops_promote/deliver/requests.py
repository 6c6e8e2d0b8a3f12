"""The typed requests delivery takes: the commands parse their arguments (or the action
its inputs) into one of these, and hand it down; nothing below the commands reads argv."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gitops_promote.plan.shard import Shard

# A writing command stamps its commit with --now (Promoted-At): this far ahead of the clock
# at most (a CI runner's clock a little ahead of the git server's), never a date that
# would make every later promotion look older.
NOW_AHEAD: Final = timedelta(minutes=5)

# The commit status check sets (branch protection requires it by this name)
STATUS_CONTEXT: Final = "gitops-promote/check"


@dataclass(frozen=True)
class Delivery:
    """What delivering a promotion takes beyond the changes: the request time (its
    Promoted-At), whether to push, and the commit and pull-request options."""

    now: datetime
    no_push: bool = False
    message: str | None = None
    title: str | None = None
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    draft: bool | None = None
    auto_merge: str | None = None


@dataclass(frozen=True, kw_only=True)
class PromoteRequest(Delivery):
    """The typed, validated inputs of one promote run: a :class:`Delivery` (its time,
    commit and pull-request options) and what to pin where."""

    env: str
    apps: tuple[str, ...]
    digest: str | None
    tag: str | None
    image: str | None
    latest: bool
    rollback: bool
    dry_run: bool
    as_json: bool
    author: str | None = None
    allow_downgrade: bool = False
    defer_gates: bool = False
    registry_check: bool = True


@dataclass(frozen=True)
class CheckRequest:
    """The typed inputs of one check run."""

    base: str | None  # a revision; None: origin/<base branch>
    head: str | None  # a revision; None: HEAD
    base_branch: str | None  # the PR's base branch name, when known
    labels: tuple[str, ...]
    pr: int | None
    now: datetime
    as_json: bool
    comment: bool
    render: bool
    render_timeout: float
    from_event: bool
    set_status: bool = False
    status_context: str = STATUS_CONTEXT


@dataclass(frozen=True)
class SoakRequest:
    """The typed, validated inputs of one soak run."""

    now: datetime
    dry_run: bool = False
    as_json: bool = False
    apps: tuple[str, ...] = ()
    envs: tuple[str, ...] = ()
    author: str | None = None
    shard: Shard | None = None  # None: every app; else only the apps this shard owns
