"""Recurring freeze windows keep their length across both DST changes, in every zone.

A recurring window (``schedule`` + ``duration``, or a ``start``/``end`` cron pair) lasts
its length on the local wall clock from the moment it really opens: a start the clocks
skip opens the window when they jump, and it still lasts its whole length from there
(never swallowed, never stretched to the end cron's next week); a start the clocks repeat
opens at its first occurrence and closes at the end's second, so a freeze is never
shorter than written. Zones: Europe/Berlin, America/New_York, Australia/Sydney (southern
hemisphere: spring forward in October) and Asia/Kolkata (no DST).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_promote.config.model import Environment, FreezeWindow
from gitops_promote.plan.gates.freeze import (
    active_freeze,
    freeze_gate,
    frozen_until,
    next_freeze,
    to_aware,
    zone,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
SYDNEY = "Australia/Sydney"
KOLKATA = "Asia/Kolkata"

# The 2026 clock changes of each zone: (zone, local date of the change, the kind).
TRANSITIONS = [
    (BERLIN, "2026-03-29", "spring"),
    (BERLIN, "2026-10-25", "fall"),
    (NEW_YORK, "2026-03-08", "spring"),
    (NEW_YORK, "2026-11-01", "fall"),
    (SYDNEY, "2026-10-04", "spring"),
    (SYDNEY, "2026-04-05", "fall"),
    (KOLKATA, "2026-03-29", "none"),
    (KOLKATA, "2026-10-25", "none"),
]

# (zone, start hour, end hour, the day before the change at noon (local), expected
# opening and closing instants): one hour on the wall clock, on the night the clocks
# skip or repeat exactly that hour.
ONE_HOUR_CASES = [
    # 02:00 does not exist: opens when the clocks jump to 03:00 CEST, one hour to 04:00
    (BERLIN, 2, 3, "2026-03-28T12:00:00+01:00", "2026-03-29T03:00:00+02:00", "04:00+02:00"),
    # 02:00-03:00 happens twice: from the first 02:00 (CEST) to 03:00 CET, two real hours
    (BERLIN, 2, 3, "2026-10-24T12:00:00+02:00", "2026-10-25T02:00:00+02:00", "03:00+01:00"),
    (NEW_YORK, 2, 3, "2026-03-07T12:00:00-05:00", "2026-03-08T03:00:00-04:00", "04:00-04:00"),
    (NEW_YORK, 1, 2, "2026-10-31T12:00:00-04:00", "2026-11-01T01:00:00-04:00", "02:00-05:00"),
    (SYDNEY, 2, 3, "2026-10-03T12:00:00+10:00", "2026-10-04T03:00:00+11:00", "04:00+11:00"),
    (SYDNEY, 2, 3, "2026-04-04T12:00:00+11:00", "2026-04-05T02:00:00+11:00", "03:00+10:00"),
    (KOLKATA, 2, 3, "2026-03-28T12:00:00+05:30", "2026-03-29T02:00:00+05:30", "03:00+05:30"),
    (KOLKATA, 2, 3, "2026-10-24T12:00:00+05:30", "2026-10-25T02:00:00+05:30", "03:00+05:30"),
]


def pair(start_hour: int, end_hour: int, tz: str) -> FreezeWindow:
    return FreezeWindow(
        name="maintenance",
        start_cron=f"0 {start_hour} * * SUN",
        end_cron=f"0 {end_hour} * * SUN",
        timezone=tz,
    )


def scheduled(start_hour: int, end_hour: int, tz: str) -> FreezeWindow:
    return FreezeWindow(
        name="maintenance",
        schedule=f"0 {start_hour} * * SUN",
        duration=timedelta(hours=end_hour - start_hour),
        timezone=tz,
    )


def _check_one_hour_windows(make: Any) -> None:
    for tz, start_hour, end_hour, before, opens, closes in ONE_HOUR_CASES:
        window = make(start_hour, end_hour, tz)
        opened = datetime.fromisoformat(opens)
        closed = datetime.fromisoformat(f"{opens[:10]}T{closes[:5]}:00{closes[5:]}")
        upcoming = next_freeze([window], datetime.fromisoformat(before))
        assert upcoming is not None, (tz, opens)
        assert (upcoming.started, upcoming.ends) == (opened, closed), (tz, opens)
        inside = active_freeze([window], opened + (closed - opened) / 2)
        assert inside is not None, (tz, opens)
        assert (inside.started, inside.ends) == (opened, closed), (tz, opens)
        assert active_freeze([window], closed) is None, (tz, opens)
        assert active_freeze([window], opened - timedelta(seconds=1)) is None, (tz, opens)


def test_cron_pair_keeps_its_hour_on_both_dst_changes_in_every_zone() -> None:
    """``start: 0 2 * * SUN`` / ``end: 0 3 * * SUN`` is a one-hour freeze on the nights the
    clocks change, in every zone: opened when the clocks jump past 02:00 (spring) it ends
    an hour later, not at 03:00 a week later; over a repeated hour it lasts from the first
    02:00 to the (only) 03:00."""
    _check_one_hour_windows(pair)


def test_schedule_and_duration_keep_their_hour_on_both_dst_changes_in_every_zone() -> None:
    """``schedule: 0 2 * * SUN`` with ``duration: 1h`` is the same one-hour freeze: on the
    night 02:00 is skipped it opens when the clocks jump and lasts its hour (it is not
    swallowed by the gap)."""
    _check_one_hour_windows(scheduled)


def test_berlin_spring_pair_is_not_a_week_long_freeze() -> None:
    """The reported case: on 2026-03-29 in Europe/Berlin the 02:00-03:00 Sunday pair holds
    changes until 04:00 CEST, and the gate says so (it used to say 'until 2026-04-05')."""
    window = pair(2, 3, BERLIN)

    env = Environment(name="production", path="apps/{app}/overlays/production", freeze=(window,))
    now = datetime.fromisoformat("2026-03-29T03:30:00+02:00")
    assert frozen_until([window], now) == datetime.fromisoformat("2026-03-29T04:00:00+02:00")
    result = freeze_gate(env, now, (), "")
    assert not result.passed
    assert "until Sun 2026-03-29 04:00 CEST (2026-03-29 02:00 UTC), 30m from now" in result.message


# -- properties -------------------------------------------------------------------------------

MINUTES = st.sampled_from([0, 15, 30, 45, 59])
HOURS = st.integers(min_value=0, max_value=4)
DAYS = st.sampled_from(["*", "SUN", "SAT", "0,6"])


@st.composite
def windows(draw: st.DrawFn) -> FreezeWindow:
    tz = draw(st.sampled_from([BERLIN, NEW_YORK, SYDNEY, KOLKATA]))
    minute, hour, day = draw(MINUTES), draw(HOURS), draw(DAYS)
    start = f"{minute} {hour} * * {day}"
    if draw(st.booleans()):
        length = draw(st.integers(min_value=1, max_value=30 * 60))
        return FreezeWindow(
            name="w", schedule=start, duration=timedelta(minutes=length), timezone=tz
        )
    end = f"{draw(MINUTES)} {draw(st.integers(min_value=0, max_value=6))} * * {draw(DAYS)}"
    return FreezeWindow(name="w", start_cron=start, end_cron=end, timezone=tz)


@st.composite
def near_a_change(draw: st.DrawFn) -> datetime:
    """An instant within two days of a clock change (of any of the zones)."""
    _, day, _ = draw(st.sampled_from(TRANSITIONS))
    base = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    return base + timedelta(minutes=draw(st.integers(min_value=-2 * 1440, max_value=2 * 1440)))


def _wall(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(zone(tz)).replace(tzinfo=None)


def _exists(naive: datetime, tz: str) -> bool:
    return _wall(to_aware(naive, zone(tz)), tz) == naive


@settings(max_examples=400, deadline=None)
@given(windows(), near_a_change())
def test_recurring_windows_keep_their_wall_clock_length(
    window: FreezeWindow, now: datetime
) -> None:
    """Around any clock change, the next occurrence of a recurring window ends after it
    starts, and lasts exactly its length on the local wall clock from the local time it
    opened at (at least that long when its end falls in a skipped hour: it then closes
    when the clocks jump)."""
    found = next_freeze([window], now)
    assert found is not None
    assert found.ends > found.started
    opened = _wall(found.started, window.timezone)
    length = _length(window, _scheduled(window, opened))
    lasted = _wall(found.ends, window.timezone) - opened
    if _exists(opened + length, window.timezone):
        assert lasted == length
    else:
        assert lasted > length


def _length(window: FreezeWindow, fired: datetime) -> timedelta:
    """The window's length on the wall clock, computed here from what it says."""
    from croniter import croniter

    if window.duration is not None:
        return window.duration
    assert window.end_cron is not None
    end: datetime = croniter(window.end_cron, fired).get_next(datetime)
    return end - fired


def _scheduled(window: FreezeWindow, local: datetime) -> datetime:
    """The local time the opener fired at for an occurrence that opened at local time
    ``local``: that time itself, or (when the clocks skipped it) the fire just before."""
    from croniter import croniter

    opener = window.schedule or window.start_cron
    assert opener is not None
    if croniter.match(opener, local):
        return local
    fire: datetime = croniter(opener, local).get_prev(datetime)
    return fire
