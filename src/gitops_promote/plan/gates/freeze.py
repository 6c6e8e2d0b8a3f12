"""Change-freeze windows: which one is active at an instant, when it ends, when the next opens.

Pure functions over (windows, now). Three window shapes (see :class:`FreezeWindow`):

- recurring: a 5-field cron ``schedule`` (when the window opens) plus a ``duration``;
- recurring pair (GitLab style): ``start_cron`` opens, the next ``end_cron`` closes;
- one-off: ``start`` and ``end`` timestamps.

Time rules, all in the window's IANA ``timezone``:

- Cron expressions are read on the local wall clock: ``0 16 * * FRI`` in Europe/Berlin opens
  at 16:00 local time in winter and in summer.
- ``duration`` is measured on the same wall clock, so a 64h window opened on Friday 16:00
  closes on Monday 08:00 local time even when the clocks change that weekend.
- A cron pair is a recurring window too: its length is the wall-clock time from the start
  cron's fire to the end cron's next fire (``0 2 * * SUN`` to ``0 3 * * SUN``: one hour).
- A local time skipped by a spring-forward change opens a window at the instant the clocks
  jump, and the window still lasts its whole length on the wall clock from there; an end
  that falls in the skipped hour closes it when the clocks jump. A local time that occurs
  twice (fall back) opens a window at its first occurrence and closes it at its second.
  So a freeze is never shorter than written, and never swallowed by a clock change.
- A window covers ``[start, end)``: active at its start, no longer active at its end.

Every answer depends only on the windows and the instant ``now`` denotes (not on the zone
it is written in), so :func:`occurrence_at`, :func:`next_occurrence`, :func:`freeze_chain`
and :func:`next_freeze` remember their last answers, keyed by the windows (frozen values)
and the instant in UTC: a soak or status over thousands of apps asks the same few windows
about the same moment once per target, and each answer walks cron schedules.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from gitops_promote.config.durations import format_duration, format_instant, format_relative
from gitops_promote.config.freeze import cron_problem, pin, to_aware, zone
from gitops_promote.config.freeze import local_naive as _local_naive
from gitops_promote.config.model import Environment, FreezeWindow
from gitops_promote.plan.gates import GateResult

GATE: Final = "freeze"
# The freeze does not end in sight (within a year, or after 1000 back-to-back windows).
FOREVER: Final = datetime.max.replace(tzinfo=UTC)
_HORIZON: Final = timedelta(days=366)
_MAX_STEPS: Final = 5000  # cron fires examined per search (a '* * * * *' day is 1440)
_MAX_CHAIN: Final = 1000  # windows followed when they overlap back to back
_CACHED: Final = 4096  # answers remembered per function (a few distinct windows x moments)


@dataclass(frozen=True)
class ActiveFreeze:
    """One occurrence of a window: it opened at ``started`` and closes at ``ends``.

    Both are timezone-aware, expressed at the window's local offset (a fixed-offset
    ``timezone`` named like ``CEST``, so that ``==`` is exact even in a repeated hour).
    """

    window: FreezeWindow
    started: datetime
    ends: datetime

    def contains(self, now: datetime) -> bool:
        return self.started <= now < self.ends


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"time {now.isoformat()} has no timezone; give an aware datetime")
    return now


def _instant(now: datetime) -> datetime | None:
    """The cache key for an aware ``now``: the same instant in UTC, where equal keys are
    equal instants (two ``ZoneInfo`` times in a repeated hour that differ only in ``fold``
    compare equal, yet are an hour apart). None for a naive ``now`` (left to the uncached
    evaluation to refuse, as before) or one that cannot be expressed in UTC."""
    if now.tzinfo is None or now.utcoffset() is None:
        return None
    try:
        return now.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _margin(tz: tzinfo, now: datetime) -> timedelta:
    """How far local wall-clock order may disagree with instant order near ``now``."""
    here = now.astimezone(tz).utcoffset() or timedelta(0)
    spread = timedelta(0)
    for delta in (timedelta(hours=-26), timedelta(hours=26)):
        there = (now + delta).astimezone(tz).utcoffset() or timedelta(0)
        spread = max(spread, abs(there - here))
    return spread + timedelta(minutes=1)


def _croniter(expr: str, start: datetime) -> Any:
    from croniter import croniter  # noqa: PLC0415 - lazy: only freeze evaluation needs it

    return croniter(expr, start)


def _fires(expr: str, start: datetime, *, backwards: bool) -> Iterator[datetime]:
    """Naive local fire times strictly before/after naive ``start``, nearest first."""
    from croniter import CroniterBadDateError  # noqa: PLC0415 - lazy, as above

    it = _croniter(expr, start)
    for _ in range(_MAX_STEPS):
        try:
            fire = it.get_prev(datetime) if backwards else it.get_next(datetime)
        except CroniterBadDateError:  # the expression never fires (e.g. 31 February)
            return
        yield fire


def last_fire(expr: str, tz: tzinfo, now: datetime) -> tuple[datetime, datetime] | None:
    """The latest fire of ``expr`` at or before ``now``: (naive local, aware instant)."""
    margin = _margin(tz, now)
    start = _local_naive(now, tz).replace(microsecond=0) + margin + timedelta(seconds=1)
    for naive in _fires(expr, start, backwards=True):
        instant = to_aware(naive, tz, opening=True)
        if instant <= now:
            return naive, instant
    return None


def next_fire(
    expr: str, tz: tzinfo, after: datetime, *, opening: bool = True
) -> tuple[datetime, datetime] | None:
    """The earliest fire of ``expr`` strictly after ``after``: (naive local, aware instant)."""
    margin = _margin(tz, after)
    start = _local_naive(after, tz).replace(microsecond=0) - margin - timedelta(seconds=1)
    for naive in _fires(expr, start, backwards=False):
        instant = to_aware(naive, tz, opening=opening)
        if instant > after:
            return naive, instant
    return None


def _one_off_bounds(window: FreezeWindow, tz: tzinfo) -> tuple[datetime, datetime] | None:
    if window.start is None or window.end is None:
        return None
    start, end = window.start, window.end
    if start.tzinfo is None:
        start = to_aware(start, tz, opening=True)
    if end.tzinfo is None:
        end = to_aware(end, tz, opening=False)
    return pin(start, tz), pin(end, tz)


def local_length(window: FreezeWindow, naive: datetime) -> timedelta | None:
    """How long the occurrence of a recurring ``window`` that opens at local wall-clock time
    ``naive`` lasts on the wall clock: its ``duration``, or for a cron pair the time from
    ``naive`` to the next fire of ``end_cron`` on the wall clock (``0 2 * * SUN`` to
    ``0 3 * * SUN``: one hour, every week, whatever the clocks do that night)."""
    if window.schedule is not None and window.duration is not None:
        return window.duration
    if window.end_cron is not None:
        end = next(_fires(window.end_cron, naive, backwards=False), None)
        return end - naive if end is not None else None
    return None


def _close(window: FreezeWindow, tz: tzinfo, naive: datetime, opened: datetime) -> datetime | None:
    """When the occurrence that opened at ``opened`` (scheduled at local ``naive``) closes:
    its wall-clock length after the local time it really opened at, which is ``naive``
    unless the clocks skipped it (then the window opened when they jumped, and still lasts
    its whole length from there: never a window swallowed by the gap, nor one that runs
    until the end cron's next week)."""
    length = local_length(window, naive)
    if length is None:
        return None
    return to_aware(_local_naive(opened, tz) + length, tz, opening=False)


def occurrence_at(window: FreezeWindow, now: datetime) -> ActiveFreeze | None:
    """The occurrence of ``window`` that contains ``now``, if any."""
    _require_aware(now)
    key = _instant(now)
    if key is None:
        return _occurrence_at(window, now)
    return _rebuilt((window,), _occurrence_at_cached(window, key))


# The caches keep (index of the window among those asked about, started, ends), and the
# answer is rebuilt around the caller's own window objects: an equal window is not always
# the same object, and callers may hold on to theirs.
_Bounds = tuple[int, datetime, datetime]


def _bounds(windows: Sequence[FreezeWindow], found: ActiveFreeze) -> _Bounds:
    index = next(i for i, w in enumerate(windows) if w is found.window)
    return index, found.started, found.ends


def _rebuilt(windows: Sequence[FreezeWindow], kept: _Bounds | None) -> ActiveFreeze | None:
    return None if kept is None else ActiveFreeze(windows[kept[0]], kept[1], kept[2])


@functools.lru_cache(maxsize=_CACHED)
def _occurrence_at_cached(window: FreezeWindow, now: datetime) -> _Bounds | None:
    found = _occurrence_at(window, now)
    return None if found is None else _bounds((window,), found)


def _occurrence_at(window: FreezeWindow, now: datetime) -> ActiveFreeze | None:
    tz = zone(window.timezone)
    bounds = _one_off_bounds(window, tz)
    if bounds is not None:
        found = ActiveFreeze(window, *bounds)
        return found if found.contains(now) else None
    opener = window.schedule if window.schedule is not None else window.start_cron
    if opener is None:
        return None
    last = last_fire(opener, tz, now)
    if last is None:
        return None
    naive, opened = last
    closes = _close(window, tz, naive, opened)
    if closes is None or not opened <= now < closes:
        return None
    return ActiveFreeze(window, opened, closes)


def next_occurrence(window: FreezeWindow, now: datetime) -> ActiveFreeze | None:
    """The first occurrence of ``window`` that opens strictly after ``now``, if any."""
    _require_aware(now)
    key = _instant(now)
    if key is None:
        return _next_occurrence(window, now)
    return _rebuilt((window,), _next_cached(window, key))


@functools.lru_cache(maxsize=_CACHED)
def _next_cached(window: FreezeWindow, now: datetime) -> _Bounds | None:
    found = _next_occurrence(window, now)
    return None if found is None else _bounds((window,), found)


def _next_occurrence(window: FreezeWindow, now: datetime) -> ActiveFreeze | None:
    tz = zone(window.timezone)
    bounds = _one_off_bounds(window, tz)
    if bounds is not None:
        return ActiveFreeze(window, *bounds) if bounds[0] > now and bounds[1] > bounds[0] else None
    opener = window.schedule if window.schedule is not None else window.start_cron
    if opener is None:
        return None
    after = now
    for _ in range(_MAX_CHAIN):
        found = next_fire(opener, tz, after)
        if found is None:
            return None
        naive, opened = found
        closes = _close(window, tz, naive, opened)
        if closes is None:
            return None
        if closes > opened:  # skip an occurrence swallowed whole by a clock change
            return ActiveFreeze(window, opened, closes)
        after = opened
    return None


def active_freezes(windows: Sequence[FreezeWindow], now: datetime) -> list[ActiveFreeze]:
    """Every window active at ``now``, in declaration order."""
    found = (occurrence_at(w, now) for w in windows)
    return [f for f in found if f is not None]


def active_freeze(windows: Sequence[FreezeWindow], now: datetime) -> ActiveFreeze | None:
    """The active window at ``now`` that ends last (the first declared on a tie), or None."""
    best: ActiveFreeze | None = None
    for found in active_freezes(windows, now):
        if best is None or found.ends > best.ends:
            best = found
    return best


def next_freeze(windows: Sequence[FreezeWindow], now: datetime) -> ActiveFreeze | None:
    """The next window to open strictly after ``now`` (the first declared on a tie)."""
    key = _instant(now)
    if key is None:
        return _next_freeze(windows, now)
    return _rebuilt(windows, _next_freeze_cached(tuple(windows), key))


@functools.lru_cache(maxsize=_CACHED)
def _next_freeze_cached(windows: tuple[FreezeWindow, ...], now: datetime) -> _Bounds | None:
    found = _next_freeze(windows, now)
    return None if found is None else _bounds(windows, found)


def _next_freeze(windows: Sequence[FreezeWindow], now: datetime) -> ActiveFreeze | None:
    best: ActiveFreeze | None = None
    for window in windows:
        found = next_occurrence(window, now)
        if found is not None and (best is None or found.started < best.started):
            best = found
    return best


def freeze_chain(
    windows: Sequence[FreezeWindow], now: datetime
) -> tuple[tuple[ActiveFreeze, ...], datetime | None]:
    """The occurrences that keep changes frozen continuously from ``now``, and when the
    freeze really ends (windows that overlap or touch are followed). ``((), None)`` when
    not frozen; the end is :data:`FOREVER` when no end is in sight (not within a year, or
    not after 1000 windows that follow each other back to back)."""
    key = _instant(now)
    if key is None:
        return _freeze_chain(windows, now)
    kept, end = _chain_cached(tuple(windows), key)
    return tuple(ActiveFreeze(windows[i], started, ends) for i, started, ends in kept), end


@functools.lru_cache(maxsize=_CACHED)
def _chain_cached(
    windows: tuple[FreezeWindow, ...], now: datetime
) -> tuple[tuple[_Bounds, ...], datetime | None]:
    chain, end = _freeze_chain(windows, now)
    return tuple(_bounds(windows, found) for found in chain), end


def _freeze_chain(
    windows: Sequence[FreezeWindow], now: datetime
) -> tuple[tuple[ActiveFreeze, ...], datetime | None]:
    chain: list[ActiveFreeze] = []
    at = now
    for _ in range(_MAX_CHAIN):
        found = active_freeze(windows, at)
        if found is None:
            return tuple(chain), (at if chain else None)
        chain.append(found)
        at = found.ends
        if at - now > _HORIZON:
            break
    return tuple(chain), FOREVER


def frozen_until(windows: Sequence[FreezeWindow], now: datetime) -> datetime | None:
    """When changes may go in again (None: not frozen at ``now``; :data:`FOREVER`: no end
    in sight)."""
    return freeze_chain(windows, now)[1]


def display_zone(window: FreezeWindow) -> str | tzinfo:
    """The zone to show a window's times in: its timezone, or for a one-off window left at
    UTC, the offset its timestamps were written with."""
    if window.timezone == "UTC" and window.end is not None and window.end.tzinfo is not None:
        return window.end.tzinfo
    return window.timezone


def _describe(window: FreezeWindow) -> str:
    return f"'{window.name}'" + (f" ({window.reason})" if window.reason else "")


def _until(end: datetime, window: FreezeWindow, now: datetime) -> str:
    if end == FOREVER:
        return (
            "with no end in sight (its windows follow each other back to back; check their "
            "schedules and durations)"
        )
    left = format_duration(end - now)
    return f"until {format_instant(end, display_zone(window))}, {left} from now"


def freeze_gate(
    env: Environment,
    now: datetime,
    labels: Collection[str],
    exception_label: str,
    *,
    app: str | None = None,
    file: str | None = None,
) -> GateResult:
    """Fail while ``env`` is inside a freeze window, saying which, why and when it ends.

    A pull request labelled ``exception_label`` (compared case-insensitively, as GitHub
    does) passes with ``overridden=True`` and a loud warning.
    """
    _require_aware(now)
    if not env.freeze:
        return GateResult(GATE, app, env.name, True, f"{env.name} has no freeze windows")
    chain, end = freeze_chain(env.freeze, now)
    if not chain or end is None:
        upcoming = next_freeze(env.freeze, now)
        if upcoming is None:
            message = f"{env.name} is not in a freeze window, and none is scheduled"
        else:
            opens = format_instant(upcoming.started, display_zone(upcoming.window))
            message = (
                f"{env.name} is not in a freeze window; the next, '{upcoming.window.name}', "
                f"starts {opens}, {format_relative(upcoming.started - now)}"
            )
        return GateResult(GATE, app, env.name, True, message)
    first = chain[0].window
    later = [a.window.name for a in chain[1:] if a.window.name != first.name]
    then = "".join(f", then '{name}'," for name in dict.fromkeys(later))
    what = f"{env.name} is frozen by window {_describe(first)}{then} {_until(end, first, now)}"
    wanted = exception_label.casefold()
    if not exception_label:
        return GateResult(
            GATE,
            app,
            env.name,
            False,
            f"{what}; merge after it ends (no break-glass label is configured: set "
            f"settings.freeze-exception-label to allow one)",
            file=file,
            line=first.line,
        )
    if any(label.casefold() == wanted for label in labels):
        return GateResult(
            GATE,
            app,
            env.name,
            True,
            f"BREAK-GLASS: {what}; passing only because the pull request has the label "
            f"'{exception_label}'",
            file=file,
            line=first.line,
            severity="warning",
            overridden=True,
        )
    return GateResult(
        GATE,
        app,
        env.name,
        False,
        f"{what}; merge after it ends, or add the label '{exception_label}' to the pull "
        f"request to break glass",
        file=file,
        line=first.line,
    )


__all__ = [
    "FOREVER",
    "GATE",
    "ActiveFreeze",
    "active_freeze",
    "active_freezes",
    "cron_problem",
    "display_zone",
    "freeze_chain",
    "freeze_gate",
    "frozen_until",
    "last_fire",
    "local_length",
    "next_fire",
    "next_freeze",
    "next_occurrence",
    "occurrence_at",
    "pin",
    "to_aware",
    "zone",
]
