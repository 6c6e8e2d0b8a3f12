"""Delivery metrics (DORA) from deployments, pure. The definitions (docs/metrics.md):

- *deployment*: see :mod:`gitops_promote.facts.deployments`; counted in the range
  ``[since, until)`` by the date it landed;
- *deployment frequency*: deployments per environment in the range, per day and per week;
- *lead time*: from an artifact's first deployment in the app's first environment to its
  first deployment in the app's last environment, in elapsed hours; counted in the range
  by the last one's date; median and p90 by the nearest-rank method;
- *stage wait*: for each env with ``from:``, from an artifact's first deployment upstream to
  its first deployment in the env, split into soak (up to the env's ``soak:``), freeze (the
  time after the soak that the env's freeze windows held) and review (the rest);
- *restore*: a deployment to the app's last environment of an artifact that environment ran
  before (a rollback, or a ``git revert``); the *failure* is the deployment it replaced
  (unless that was a restore itself); *change failure rate* = failures / deployments to the
  last environment that are not restores, both counted by the deployment's date in the range;
- *time to restore*: from the failure to its restore, counted by the restore's date.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from gitops_promote.config.model import Config
from gitops_promote.facts.deployments import Deployment
from gitops_promote.plan import calendar

Key = tuple[str, str]
HOUR: Final = timedelta(hours=1)


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The ``percent``-th percentile of ``values`` by the nearest-rank method: the value at
    rank ceil(percent/100 x n) of the sorted values (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    """count, median (p50) and p90 of some hours, nearest rank."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(len(values), nearest_rank(values, 50), nearest_rank(values, 90))


@dataclass(frozen=True)
class Frequency:
    env: str
    deployments: int
    per_day: float
    per_week: float


@dataclass(frozen=True)
class LeadTime:
    app: str
    artifact: str
    first: Deployment  # in the app's first environment
    last: Deployment  # in the app's last environment

    @property
    def hours(self) -> float:
        return (self.last.date - self.first.date) / HOUR


@dataclass(frozen=True)
class Wait:
    """How long one artifact waited before reaching ``env`` from ``upstream``, in hours."""

    app: str
    artifact: str
    env: str
    upstream: str
    total: float
    soak: float
    freeze: float
    review: float


@dataclass(frozen=True)
class StageWait:
    env: str
    upstream: str
    total: Spread
    soak: Spread
    freeze: Spread
    review: Spread


@dataclass(frozen=True)
class Restore:
    failure: Deployment
    restore: Deployment

    @property
    def hours(self) -> float:
        return (self.restore.date - self.failure.date) / HOUR


@dataclass(frozen=True)
class Metrics:
    since: datetime
    until: datetime
    frequency: Sequence[Frequency]
    lead_times: Sequence[LeadTime]
    lead_time: Spread
    waits: Sequence[Wait]
    stages: Sequence[StageWait]
    changes: int  # deployments to the last environments that are not restores
    failures: Sequence[Deployment]
    restores: Sequence[Restore]
    time_to_restore: Spread
    apps: int = 0
    notes: Sequence[str] = field(default_factory=tuple)

    @property
    def change_failure_rate(self) -> float | None:
        return len(self.failures) / self.changes if self.changes else None


def compute(
    config: Config,
    deployments: Mapping[Key, Sequence[Deployment]],
    since: datetime,
    until: datetime,
    *,
    apps: Sequence[str] | None = None,
    envs: Sequence[str] | None = None,
) -> Metrics:
    """The metrics of ``apps`` (default: every app of ``deployments``) in ``[since, until)``;
    ``envs`` limits the frequency and stage tables (lead time and restores always run to
    each app's last environment)."""

    def inside(d: Deployment) -> bool:
        return since <= d.date < until

    chosen = [a for a in config.apps if apps is None or a.name in apps]
    days = max((until - since) / timedelta(days=1), 1e-9)
    counts: dict[str, int] = {e.name: 0 for e in config.environments}
    for (app_name, env_name), deps in deployments.items():
        if apps is not None and app_name not in apps:
            continue
        counts[env_name] = counts.get(env_name, 0) + sum(1 for d in deps if inside(d))
    frequency = [
        Frequency(env, n, n / days, n / days * 7)
        for env, n in counts.items()
        if envs is None or env in envs
    ]
    leads: list[LeadTime] = []
    waits: list[Wait] = []
    restores: list[Restore] = []
    failures: list[Deployment] = []
    changes = 0
    freezes = _Freezes(config, deployments)
    for app in chosen:
        app_envs = config.envs_of(app)
        if not app_envs:
            continue
        first_env, last_env = app_envs[0].name, app_envs[-1].name
        firsts = {e.name: _first_of(deployments.get((app.name, e.name), ())) for e in app_envs}
        for artifact, last in firsts[last_env].items():
            first = firsts[first_env].get(artifact)
            if inside(last) and first is not None and first.date <= last.date:
                leads.append(LeadTime(app.name, artifact, first, last))
        for env in app_envs:
            if env.upstream is None or env.upstream not in firsts:
                continue
            if envs is not None and env.name not in envs:
                continue
            soak = env.soak or timedelta(0)
            for artifact, arrived in firsts[env.name].items():
                left = firsts[env.upstream].get(artifact)
                if not inside(arrived) or left is None or left.date > arrived.date:
                    continue
                total = arrived.date - left.date
                soaked = min(total, soak)
                frozen = freezes.overlap(env.name, left.date + soaked, arrived.date)
                waits.append(
                    Wait(
                        app.name,
                        artifact,
                        env.name,
                        env.upstream,
                        total / HOUR,
                        soaked / HOUR,
                        frozen / HOUR,
                        (total - soaked - frozen) / HOUR,
                    )
                )
        found, failed, count = _restores(deployments.get((app.name, last_env), ()), inside)
        restores += found
        failures += failed
        changes += count
    stages = []
    for env in config.environments:
        if env.upstream is None or (envs is not None and env.name not in envs):
            continue
        mine = [w for w in waits if w.env == env.name]
        stages.append(
            StageWait(
                env.name,
                env.upstream,
                Spread.of([w.total for w in mine]),
                Spread.of([w.soak for w in mine]),
                Spread.of([w.freeze for w in mine]),
                Spread.of([w.review for w in mine]),
            )
        )
    leads.sort(key=lambda t: (t.last.date, t.app))
    return Metrics(
        since=since,
        until=until,
        frequency=frequency,
        lead_times=leads,
        lead_time=Spread.of([t.hours for t in leads]),
        waits=waits,
        stages=stages,
        changes=changes,
        failures=failures,
        restores=restores,
        time_to_restore=Spread.of([r.hours for r in restores]),
        apps=len(chosen),
    )


def _first_of(deps: Sequence[Deployment]) -> dict[str, Deployment]:
    """Each artifact's first deployment."""
    out: dict[str, Deployment] = {}
    for d in deps:
        out.setdefault(d.artifact, d)
    return out


def _restores(
    deps: Sequence[Deployment], inside: Callable[[Deployment], bool]
) -> tuple[list[Restore], list[Deployment], int]:
    """(restores counted by their date, failures and non-restore deployments counted by
    theirs) of one app's last environment."""
    ran: set[str] = set()
    restores: list[Restore] = []
    is_restore: set[int] = set()
    failed: set[int] = set()
    for i, d in enumerate(deps):
        if d.artifact in ran:
            is_restore.add(i)
            if i > 0 and (i - 1) not in is_restore:
                failed.add(i - 1)
                if inside(d):
                    restores.append(Restore(deps[i - 1], d))
        ran.add(d.artifact)
    failures = [deps[i] for i in sorted(failed) if inside(deps[i])]
    count = sum(1 for i, d in enumerate(deps) if i not in is_restore and inside(d))
    return restores, failures, count


class _Freezes:
    """Each environment's freeze occurrences over the span of the deployments, merged, for
    the time a freeze held an artifact (computed once per environment)."""

    def __init__(self, config: Config, deployments: Mapping[Key, Sequence[Deployment]]):
        self.config = config
        dates = [d.date for deps in deployments.values() for d in deps]
        self.span = (min(dates), max(dates)) if dates else None
        self.spans: dict[str, tuple[list[datetime], list[datetime]]] = {}

    def overlap(self, env: str, start: datetime, end: datetime) -> timedelta:
        if end <= start or self.span is None or not self.config.env(env).freeze:
            return timedelta(0)
        if env not in self.spans:
            found = calendar.freeze_occurrences(self.config, self.span[0], self.span[1], [env])
            joined = calendar.merged([(o.start, o.end) for o in found])
            self.spans[env] = ([s for s, _ in joined], [e for _, e in joined])
        starts, ends = self.spans[env]
        total = timedelta(0)
        i = max(0, bisect.bisect_right(starts, start) - 1)
        while i < len(starts) and starts[i] < end:
            lo, hi = max(starts[i], start), min(ends[i], end)
            if hi > lo:
                total += hi - lo
            i += 1
        return total
