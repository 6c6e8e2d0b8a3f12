"""Deployments: the pin changes that put a new artifact into an environment.

Read from the same one pass over the base branch's first-parent history as ``status`` and
``history`` (the caller passes :func:`gitops_promote.facts.timelines.timelines` to
:func:`by_target`; this module reads nothing itself, so the pure plan may import it): it
keeps the pin events that are deployments (see docs/metrics.md):

- a *deployment* is a change of the pinned digest of one app in one environment, dated
  when its commit landed on the base branch's first-parent chain (a merged pull request
  at its merge commit, not its branch commit);
- a re-pin of the same digest (a tag added or changed) is not a deployment, nor is an
  overlay that stops pinning the app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gitops_promote.facts import events as history
from gitops_promote.images import ImageRef

Key = tuple[str, str]  # (app, env)


@dataclass(frozen=True)
class Deployment:
    """One deployment of ``new`` to ``app`` in ``env`` (``old``: what ran before, None at
    the first pin)."""

    app: str
    env: str
    commit: str
    date: datetime
    old: ImageRef | None
    new: ImageRef
    pr: int | None = None

    @property
    def artifact(self) -> str:
        """What identifies the artifact across environments: its digest (else the ref)."""
        return artifact(self.new)


def artifact(ref: ImageRef) -> str:
    return ref.digest or str(ref)


def of_events(events: Iterable[history.PinEvent]) -> list[Deployment]:
    """The deployments among one target's pin events (oldest first): a tag-only re-pin of
    the artifact that runs, or an overlay that stops pinning the app, is none."""
    out: list[Deployment] = []
    running: ImageRef | None = None
    for event in events:
        if event.new is None:
            continue  # the pin was removed: nothing new runs
        if running is None or not history.same_artifact(running, event.new):
            out.append(
                Deployment(
                    event.app, event.env, event.commit, event.date, running, event.new, event.pr
                )
            )
        running = event.new
    return out


class _Timeline(Protocol):
    @property
    def events(self) -> Iterable[history.PinEvent]: ...


def by_target(lines: Mapping[Key, _Timeline]) -> dict[Key, list[Deployment]]:
    """Every target's deployments, oldest first, from its pin timeline."""
    return {key: of_events(line.events) for key, line in lines.items()}
