"""The one place the soak plan calls the gates (:func:`gates`): the same composition the
promotion pull request's ``check`` runs, over read-only views of the plan's facts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gitops_promote.config.model import App, Environment
from gitops_promote.facts.events import Key, PinEvent, Timeline
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.freeze import (
    freeze_chain,
)
from gitops_promote.plan.gates.soak import SoakStatus
from gitops_promote.plan.soak_values import Facts
from gitops_promote.plan.verdicts import Target, judge


@dataclass(frozen=True)
class Verdicts:
    """Every gate's verdict on one candidate, plus the structured facts for the reason."""

    results: tuple[GateResult, ...]
    soak_status: SoakStatus | None
    frozen_until: datetime | None
    window: str | None

    def of(self, gate: str) -> GateResult | None:
        return next((r for r in self.results if r.gate == gate), None)

    def blocking(self, gate: str) -> bool:
        found = self.of(gate)
        return found is not None and found.blocking


class _PinsWith(Mapping[Key, ImageRef | None]):
    """``pins`` with one key pinned anew (a read-only view)."""

    def __init__(self, pins: Mapping[Key, ImageRef | None], key: Key, ref: ImageRef) -> None:
        self._pins = pins
        self._key = key
        self._ref = ref

    def __getitem__(self, key: Key) -> ImageRef | None:
        return self._ref if key == self._key else self._pins[key]

    def __iter__(self) -> Iterator[Key]:
        yield from self._pins
        if self._key not in self._pins:
            yield self._key

    def __len__(self) -> int:
        return len(self._pins) + (self._key not in self._pins)


class _EventsOf(Mapping[Key, Sequence[PinEvent]]):
    """The pin events of each timeline (a read-only view of ``Facts.lines``)."""

    def __init__(self, lines: Mapping[Key, Timeline]) -> None:
        self._lines = lines

    def __getitem__(self, key: Key) -> Sequence[PinEvent]:
        return self._lines[key].events

    def __iter__(self) -> Iterator[Key]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


def gates(
    facts: Facts, app: App, env: Environment, candidate: ImageRef, file: str | None
) -> Verdicts:
    """The one place the gates are called: the same ones (and the same functions) the
    ``check`` of the promotion's pull request runs, so the plan never promises a PR that
    the check would refuse: freeze, then pinning, upstream match, soak and dependencies."""
    # views, not copies: thousands of targets each copying every pin and timeline made the
    # plan quadratic in the number of apps
    target = Target(
        facts.config,
        env,
        facts.now,
        app,
        candidate,
        before=facts.pins,
        after=_PinsWith(facts.pins, (app.name, env.name), candidate),
        history=_EventsOf(facts.lines),
        labels=facts.labels,
        file=file,
        live=facts.live,
    )
    results = judge(target)
    freeze = next(r for r in results if r.gate == "freeze")
    chain, until = freeze_chain(env.freeze, facts.now) if env.freeze else ((), None)
    frozen = not freeze.passed
    return Verdicts(
        tuple(results),
        target.soak,
        until if frozen else None,
        chain[0].window.name if chain and frozen else None,
    )


__all__ = ["Verdicts", "gates"]
