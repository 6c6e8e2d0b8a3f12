"""The freeze answers remembered per (windows, instant) are the answers computed afresh:
whatever zone, offset or ``fold`` the instant is written in, in whatever order the moments
are asked, across clock changes and exactly at the edges of windows. Each reference answer
is computed with every cache emptied first, so it cannot come from the cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_promote.config.model import FreezeWindow
from gitops_promote.plan.gates import freeze

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC")
WINDOWS = (
    FreezeWindow("weekend", "Europe/Berlin", schedule="0 16 * * FRI", duration=timedelta(hours=64)),
    FreezeWindow("night", "Europe/Berlin", start_cron="30 2 * * SUN", end_cron="0 3 * * SUN"),
    FreezeWindow("nyc", "America/New_York", schedule="30 1 * * *", duration=timedelta(hours=1)),
    FreezeWindow("howe", "Australia/Lord_Howe", schedule="0 2 * * *", duration=timedelta(hours=2)),
    FreezeWindow("hourly", "UTC", schedule="0 * * * *", duration=timedelta(minutes=59)),
    # opens when the weekend closes (Monday 08:00 in Berlin): the chain follows it
    FreezeWindow("monday", "Europe/Berlin", schedule="0 8 * * MON", duration=timedelta(hours=4)),
    FreezeWindow(
        "year-end",
        "Europe/Berlin",
        start=datetime(2026, 12, 20, 0, 0),
        end=datetime(2027, 1, 4, 0, 0),
    ),
    FreezeWindow(
        "one-off",
        "UTC",
        start=datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        end=datetime(2026, 10, 25, 1, 30, tzinfo=timezone(timedelta(hours=1))),
    ),
)
# Clock changes in 2026: Europe 29 Mar / 25 Oct 01:00 UTC, New York 8 Mar / 1 Nov,
# Lord Howe (half an hour) 5 Apr / 4 Oct.
CHANGES = (
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
)


def clear() -> None:
    for cached in (
        freeze._occurrence_at_cached,
        freeze._next_cached,
        freeze._chain_cached,
        freeze._next_freeze_cached,
    ):
        cached.cache_clear()


def shown(value: Any) -> Any:
    """Everything an answer can show: instants with their offsets and zone names, and which
    window object it names."""
    if isinstance(value, freeze.ActiveFreeze):
        return (id(value.window), shown(value.started), shown(value.ends))
    if isinstance(value, datetime):
        return (value.isoformat(), value.tzname(), value.fold)
    if isinstance(value, tuple):
        return tuple(shown(v) for v in value)
    return value


def questions(windows: Sequence[FreezeWindow]) -> list[Callable[[datetime], Any]]:
    window = windows[0]
    return [
        lambda now: freeze.occurrence_at(window, now),
        lambda now: freeze.next_occurrence(window, now),
        lambda now: freeze.freeze_chain(windows, now),
        lambda now: freeze.next_freeze(windows, now),
        lambda now: freeze.frozen_until(windows, now),
        lambda now: freeze.active_freeze(windows, now),
    ]


def spellings(instant: datetime) -> list[datetime]:
    """The same instant in several zones and offsets (fold set where it matters)."""
    found = [instant.astimezone(UTC), instant.astimezone(timezone(timedelta(hours=-7), "X"))]
    for name in ZONES:
        local = instant.astimezone(ZoneInfo(name))
        found.append(local)
        # (not `local == instant`: PEP 495 makes a time in a repeated hour unequal to any
        # time in another zone, one reason the caches key on UTC)
        assert local.astimezone(UTC) == instant.astimezone(UTC)
    return found


def fresh(ask: Callable[[datetime], Any], now: datetime) -> Any:
    clear()
    return shown(ask(now))


def edges(windows: Sequence[FreezeWindow], around: datetime) -> list[datetime]:
    """Instants at and next to the edges of the windows' occurrences near ``around``."""
    clear()
    found = [around]
    for window in windows:
        for start in (around - timedelta(days=3), around):
            nxt = freeze.next_occurrence(window, start)
            if nxt is None:
                continue
            for edge in (nxt.started, nxt.ends):
                found += [edge, edge - timedelta(microseconds=1), edge + timedelta(seconds=1)]
    return found


def assert_same_answers(windows: Sequence[FreezeWindow], moments: Sequence[datetime]) -> None:
    expected = {(i, m): fresh(ask, m) for i, ask in enumerate(questions(windows)) for m in moments}
    clear()
    for m in moments:  # warm: every spelling of every moment, each question, twice
        for now in spellings(m) * 2:
            for i, ask in enumerate(questions(windows)):
                assert shown(ask(now)) == expected[(i, m)], (windows[0].name, now, i)


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.date().isoformat())
def test_cached_answers_equal_fresh_ones_around_clock_changes(change: datetime) -> None:
    for first in range(len(WINDOWS)):
        windows = WINDOWS[first:] + WINDOWS[:first]
        moments = edges(windows[:1], change)
        moments += [change + timedelta(minutes=m) for m in (-90, -60, -30, -1, 0, 1, 30, 60)]
        assert_same_answers(windows, moments)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=3),
    change=st.sampled_from(CHANGES),
    offsets=st.lists(st.integers(min_value=-3 * 86400, max_value=3 * 86400), max_size=4),
)
def test_cached_answers_equal_fresh_ones_at_any_moment(
    picks: list[FreezeWindow], change: datetime, offsets: list[int]
) -> None:
    moments = [change + timedelta(seconds=s) for s in offsets]
    moments += edges(picks, moments[0] if moments else change)[:7]
    assert_same_answers(picks, moments)


def test_equal_windows_keep_their_own_objects() -> None:
    """An equal window from another config shares the cached answer, not the object."""
    clear()
    now = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # Friday 18:00 in Berlin: weekend on
    one = WINDOWS[0]
    other = FreezeWindow(**{f: getattr(one, f) for f in one.__dataclass_fields__})
    assert other == one
    assert other is not one
    for window in (one, other):
        found = freeze.occurrence_at(window, now)
        assert found is not None
        assert found.window is window
        chain, _ = freeze.freeze_chain((window,), now)
        assert chain[0].window is window


def test_a_naive_time_is_refused_as_before() -> None:
    naive = datetime(2026, 11, 27, 17, 0)
    with pytest.raises(ValueError, match="no timezone"):
        freeze.freeze_chain(WINDOWS[:1], naive)
    with pytest.raises(ValueError, match="no timezone"):
        freeze.occurrence_at(WINDOWS[0], naive)
    # no windows: nothing to evaluate, no error (as before the cache)
    assert freeze.freeze_chain((), naive) == ((), None)
    assert freeze.next_freeze((), naive) is None
