"""Calendar facts, pure: the freeze occurrences in a span of time and the soak openings.

Every freeze occurrence comes from the freeze gate's own window logic
(:mod:`gitops_promote.plan.gates.freeze`: ``occurrence_at``/``next_occurrence``), so the
calendar and the gate can never disagree on when a window opens or how long it holds.
A recurring window's cron is also written as an iCalendar recurrence rule when it can be
(:func:`rrule_of`); the caller checks the rule against these occurrences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from gitops_promote.config.model import Config, FreezeWindow
from gitops_promote.facts import events as history
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import freeze as gate

Key = tuple[str, str]


class Timeline(Protocol):
    """What the soak openings read of a pin timeline
    (:class:`gitops_promote.facts.timelines.Timeline`)."""

    def held_since(self, ref: ImageRef | None = None) -> history.PinEvent | None: ...


_MAX_OCCURRENCES: Final = 10_000


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a freeze window of ``env``: ``[start, end)`` as the gate holds it."""

    env: str
    window: FreezeWindow
    start: datetime
    end: datetime

    @property
    def elapsed(self) -> timedelta:
        return self.end - self.start


def occurrences(window: FreezeWindow, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence of ``window`` that overlaps ``[start, end)``, oldest first, with
    the bounds :func:`gitops_promote.plan.gates.freeze.occurrence_at` gives."""
    out: list[gate.ActiveFreeze] = []
    found = gate.occurrence_at(window, start)
    if found is not None:
        out.append(found)
    at = start
    for _ in range(_MAX_OCCURRENCES):
        nxt = gate.next_occurrence(window, at)
        if nxt is None or nxt.started >= end:
            break
        out.append(nxt)
        at = nxt.started
    return [Occurrence("", f.window, f.started, f.ends) for f in out]


def freeze_occurrences(
    config: Config, start: datetime, end: datetime, envs: Sequence[str] | None = None
) -> list[Occurrence]:
    """The occurrences of every environment's freeze windows overlapping ``[start, end)``."""
    out: list[Occurrence] = []
    for env in config.environments:
        if envs is not None and env.name not in envs:
            continue
        for window in env.freeze:
            out += [
                Occurrence(env.name, o.window, o.start, o.end)
                for o in occurrences(window, start, end)
            ]
    return out


def merged(spans: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Spans joined where they overlap or touch, oldest first."""
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


# -- soak openings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakOpening:
    """A promotion the soak job is expected to open: ``candidate`` (what ``source`` runs,
    since ``since``) may go to ``env`` at ``opens``: its soak end, moved past any freeze
    (``frozen_by``: the window it was moved past)."""

    app: str
    env: str
    source: str
    candidate: ImageRef
    since: datetime
    soaked: datetime
    opens: datetime
    frozen_by: str | None = None


def soak_openings(
    config: Config,
    pins: Mapping[Key, ImageRef | None],
    lines: Mapping[Key, Timeline],
    now: datetime,
) -> list[SoakOpening]:
    """Each pending digest's expected opening, for every env with ``from:`` and ``soak:``:
    the upstream's current artifact, not yet run in the env, opens at the end of its soak
    (``now`` when already soaked), then when the env's freeze holds no longer
    (:func:`gitops_promote.plan.gates.freeze.freeze_chain`). Soonest first."""
    out: list[SoakOpening] = []
    for env in config.environments:
        if not env.upstream or env.soak is None:
            continue
        for app in config.apps:
            names = {e.name for e in config.envs_of(app)}
            if env.name not in names or env.upstream not in names:
                continue
            candidate = pins.get((app.name, env.upstream))
            running = pins.get((app.name, env.name))
            if candidate is None or history.same_artifact(candidate, running):
                continue
            line = lines.get((app.name, env.upstream))
            held = line.held_since(candidate) if line is not None else None
            if held is None:
                continue
            soaked = held.date + env.soak
            opens = max(soaked, now)
            chain, until = gate.freeze_chain(env.freeze, opens)
            frozen_by = chain[0].window.name if chain else None
            if until is not None:
                if until == gate.FOREVER:
                    continue
                opens = until
            out.append(
                SoakOpening(
                    app.name, env.name, env.upstream, candidate, held.date, soaked, opens, frozen_by
                )
            )
    return sorted(out, key=lambda o: (o.opens, o.env, o.app))


# -- cron -> recurrence rule -------------------------------------------------------------------

_DAYS: Final = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_NAMES: Final = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_MONTHS: Final = {
    n: i + 1
    for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_PART: Final = re.compile(r"^([0-9a-z]+)(?:-([0-9a-z]+))?$")


def _values(field: str, names: Mapping[str, int], low: int, high: int) -> list[int] | None:
    """The numbers a cron field lists (``*``: []), or None when it uses more (steps, L, #)."""
    if field == "*":
        return []
    out: list[int] = []
    for part in field.lower().split(","):
        m = _PART.match(part)
        if not m:
            return None
        ends = []
        for text in (m.group(1), m.group(2) or m.group(1)):
            if text.isdigit():
                ends.append(int(text))
            elif text in names:
                ends.append(names[text])
            else:
                return None
        a, b = ends
        if not low <= a <= b <= high:
            return None
        out += range(a, b + 1)
    return sorted(set(out))


def rrule_of(cron: str) -> dict[str, list[int | str] | str] | None:
    """The RFC 5545 recurrence rule of a 5-field cron expression that opens a window, as
    icalendar's ``vRecur`` mapping (``{"FREQ": "WEEKLY", "BYDAY": ["FR"], ...}``), or None
    when the expression is not in the subset written as a rule (steps, ``L``, ``#``,
    aliases, both day fields restricted): the calendar then lists each occurrence."""
    fields = cron.split()
    if len(fields) != 5:
        return None
    minute = _values(fields[0], {}, 0, 59)
    hour = _values(fields[1], {}, 0, 23)
    dom = _values(fields[2], {}, 1, 31)
    month = _values(fields[3], _MONTHS, 1, 12)
    dow = _values(fields[4], _NAMES, 0, 7)
    if minute is None or hour is None or dom is None or month is None or dow is None:
        return None
    if not minute or not hour:
        return None  # every minute / every hour: not a freeze opener worth a rule
    rule: dict[str, list[int | str] | str] = {}
    if dom and dow:
        return None  # cron ORs the two day fields; a rule ANDs them
    if dow:
        rule["FREQ"] = "WEEKLY"
        rule["BYDAY"] = [_DAYS[d % 7] for d in dict.fromkeys(dow)]
    elif dom:
        rule["FREQ"] = "MONTHLY"
        rule["BYMONTHDAY"] = list(dom)
    else:
        rule["FREQ"] = "DAILY"
    if month:
        if rule["FREQ"] == "MONTHLY":
            rule["FREQ"] = "YEARLY"
        rule["BYMONTH"] = list(month)
    rule["BYHOUR"] = list(hour)
    rule["BYMINUTE"] = list(minute)
    return rule
