"""What the check's gates are given: the facts of one pull request, as plain values (pure).

:mod:`gitops_promote.facts.check` gathers them (git, the renderer);
:func:`gitops_promote.plan.gates.evaluate.evaluate` judges them. Nothing here reads
anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitops_promote.config.model import Config
from gitops_promote.errors import Problem
from gitops_promote.facts.changes import ChangeSet, Key
from gitops_promote.facts.events import PinEvent
from gitops_promote.facts.live.model import LiveState
from gitops_promote.facts.policyfacts import PolicyFacts
from gitops_promote.images import ImageRef


@dataclass(frozen=True)
class RenderFact:
    """One overlay directory's render: objects, or why not (``refused``: not attempted
    because it would read outside the repository or run code, or no renderer is
    installed; else a build failure). ``file``/``line``: what asks for the refused thing."""

    overlay: str
    objects: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    refused: bool = False
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Deployed:
    """What one (app, env) renders to on the base branch and once the pull request is
    merged: its images as deployed (:mod:`gitops_promote.facts.rendered`).

    ``before``/``after``: the image strings of the rendered workloads (None: not
    rendered on that side); ``changed``: the rendered output differs (True when either
    side could not be rendered); ``origins``: image -> (file, line) of the text that
    introduced it, where it was found."""

    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    changed: bool = True
    origins: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)

    @property
    def added(self) -> tuple[str, ...]:
        """Images rendered once merged that the base branch does not render."""
        if self.after is None:
            return ()
        old = set(self.before or ())
        return tuple(i for i in self.after if i not in old)


@dataclass(frozen=True)
class Facts:
    """Everything the gates look at, gathered once.

    ``before``/``after``: pins on the base branch / once the PR is merged (for the keys the
    gates need); ``history``: base-branch pin events per key; ``overlays``: the overlay
    directory of each kustomize target in the merged tree; ``renders``: by directory;
    ``deployed``: the rendered images of the touched targets and their upstreams on both
    sides; ``unchanged``: targets the pull request reaches that render exactly as before
    (not a promotion: not judged).
    """

    config: Config
    changes: ChangeSet
    now: datetime
    before: Mapping[Key, ImageRef | None] = field(default_factory=dict)
    after: Mapping[Key, ImageRef | None] = field(default_factory=dict)
    history: Mapping[Key, Sequence[PinEvent]] = field(default_factory=dict)
    overlays: Mapping[Key, str] = field(default_factory=dict)
    renders: Mapping[str, RenderFact] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    codeowners_file: str = ".github/CODEOWNERS"
    codeowners: str | None = None
    base_codeowners: str | None = None  # the base branch's: GitHub asks its code owners
    files: tuple[str, ...] = ()  # the merged tree's files, for the ownership gate
    head_config: Config | None = None  # the PR's promotion.yaml, when it changes and is valid
    head_config_problems: tuple[Problem, ...] = ()
    base: str = ""
    head: str = ""
    base_ref: str = ""
    notes: tuple[str, ...] = ()
    deployed: Mapping[Key, Deployed] = field(default_factory=dict)
    unchanged: frozenset[Key] = frozenset()  # reached, but renders exactly as before
    # the pull request's state file, where it is not what gitops-promote writes for it
    state_problems: tuple[Problem, ...] = ()
    # The break-glass label's provenance (check, from the PR's label events): who added it
    # (named in the override), or why it does not count (then it is ignored, and said so).
    break_glass_by: str = ""
    break_glass_refused: str = ""
    # The live state of the upstream keys with a live: block (None: not gathered).
    live: Mapping[Key, LiveState] | None = None
    # The base branch's Rego policies on the touched targets' renders (None: none apply).
    policies: PolicyFacts | None = None


__all__ = ["Deployed", "Facts", "RenderFact"]
