"""Freeze windows: which is active at an instant, when it ends, when the next opens.

Every case is an explicit ``now`` (as ``--now`` gives it), across DST changes in
Europe/Berlin (2026-03-29 spring forward, 2026-10-25 fall back) and America/New_York
(2026-03-08, 2026-11-01), windows over midnight and weekends, and DESIGN.md's year-end window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_promote.config.durations import format_instant
from gitops_promote.config.model import Environment, FreezeWindow
from gitops_promote.plan.gates.freeze import (
    FOREVER,
    active_freeze,
    active_freezes,
    freeze_gate,
    frozen_until,
    next_freeze,
    to_aware,
    zone,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(text: str) -> datetime:
    """An explicit instant, as --now takes it (ISO 8601 with offset)."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def cron(name: str, schedule: str, duration: str, tz: str = "UTC") -> FreezeWindow:
    hours, _, minutes = duration.partition("h")
    delta = timedelta(hours=int(hours), minutes=int(minutes.rstrip("m") or 0))
    return FreezeWindow(name=name, schedule=schedule, duration=delta, timezone=tz)


def pair(name: str, start: str, end: str, tz: str = "UTC") -> FreezeWindow:
    return FreezeWindow(name=name, start_cron=start, end_cron=end, timezone=tz)


def once(name: str, start: str, end: str, tz: str = "UTC") -> FreezeWindow:
    return FreezeWindow(
        name=name,
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
        timezone=tz,
    )


WEEKEND = cron("weekend", "0 16 * * FRI", "64h", BERLIN)
YEAR_END = once("year-end", "2026-12-20T00:00:00+01:00", "2027-01-04T08:00:00+01:00")
NIGHTLY_NY = cron("nightly", "0 22 * * *", "10h", NEW_YORK)
GAP_BERLIN = cron("gap", "30 2 * * *", "1h", BERLIN)
REPEATED_NY = cron("repeated", "30 1 * * *", "0h30m", NEW_YORK)
ENDS_IN_REPEAT_NY = cron("ends-in-repeat", "0 0 * * *", "1h30m", NEW_YORK)
GITLAB_NY = pair("gitlab", "0 23 * * FRI", "0 7 * * MON", NEW_YORK)
OFFICE_HOURS = pair("office", "0 9 * * *", "0 17 * * *", BERLIN)
NAIVE_NY = FreezeWindow(
    name="holidays",
    start=datetime(2026, 12, 24),
    end=datetime(2026, 12, 27),
    timezone=NEW_YORK,
)

ACTIVE_CASES = [
    # (case, window, now, expected (started, ends) or None)
    ("before weekend", WEEKEND, "2026-03-27T15:59:59+01:00", None),
    (
        "weekend opens at 16:00 CET",
        WEEKEND,
        "2026-03-27T16:00:00+01:00",
        ("2026-03-27T16:00:00+01:00", "2026-03-30T08:00:00+02:00"),
    ),
    (
        "same instant given in UTC",
        WEEKEND,
        "2026-03-27T15:00:00+00:00",
        ("2026-03-27T16:00:00+01:00", "2026-03-30T08:00:00+02:00"),
    ),
    (
        "spring forward inside the weekend: ends Monday 08:00 local (CEST)",
        WEEKEND,
        "2026-03-29T12:00:00+02:00",
        ("2026-03-27T16:00:00+01:00", "2026-03-30T08:00:00+02:00"),
    ),
    (
        "last second of the weekend",
        WEEKEND,
        "2026-03-30T07:59:59+02:00",
        ("2026-03-27T16:00:00+01:00", "2026-03-30T08:00:00+02:00"),
    ),
    ("weekend over at Monday 08:00 CEST", WEEKEND, "2026-03-30T08:00:00+02:00", None),
    (
        "summer weekend opens at 16:00 CEST",
        WEEKEND,
        "2026-04-03T16:00:00+02:00",
        ("2026-04-03T16:00:00+02:00", "2026-04-06T08:00:00+02:00"),
    ),
    ("summer Friday 15:00 CEST is 14:00 CET: open", WEEKEND, "2026-04-03T15:00:00+02:00", None),
    (
        "fall back inside the weekend: ends Monday 08:00 local (CET)",
        WEEKEND,
        "2026-10-25T02:30:00+01:00",
        ("2026-10-23T16:00:00+02:00", "2026-10-26T08:00:00+01:00"),
    ),
    ("Wednesday is open", WEEKEND, "2026-10-28T12:00:00+01:00", None),
    (
        "nightly window spans midnight",
        NIGHTLY_NY,
        "2026-06-10T03:00:00-04:00",
        ("2026-06-09T22:00:00-04:00", "2026-06-10T08:00:00-04:00"),
    ),
    ("nightly window closed at 08:00", NIGHTLY_NY, "2026-06-10T08:00:00-04:00", None),
    ("nightly window not yet open", NIGHTLY_NY, "2026-06-10T21:59:00-04:00", None),
    (
        "nightly over New York spring forward ends 08:00 EDT",
        NIGHTLY_NY,
        "2026-03-08T07:30:00-04:00",
        ("2026-03-07T22:00:00-05:00", "2026-03-08T08:00:00-04:00"),
    ),
    (
        "nightly over New York fall back ends 08:00 EST",
        NIGHTLY_NY,
        "2026-11-01T07:30:00-05:00",
        ("2026-10-31T22:00:00-04:00", "2026-11-01T08:00:00-05:00"),
    ),
    (
        "02:30 skipped by spring forward: opens when clocks jump to 03:00, lasts its hour",
        GAP_BERLIN,
        "2026-03-29T03:10:00+02:00",
        ("2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"),
    ),
    ("the night before the gap is closed again", GAP_BERLIN, "2026-03-29T01:59:00+01:00", None),
    (
        "02:30 on a normal night",
        GAP_BERLIN,
        "2026-03-30T02:45:00+02:00",
        ("2026-03-30T02:30:00+02:00", "2026-03-30T03:30:00+02:00"),
    ),
    (
        "01:30 occurs twice: opens at the first, still open in the second 01:45",
        REPEATED_NY,
        "2026-11-01T01:45:00-05:00",
        ("2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"),
    ),
    (
        "a window ending at a repeated 01:30 closes at its second occurrence",
        ENDS_IN_REPEAT_NY,
        "2026-11-01T01:15:00-05:00",
        ("2026-11-01T00:00:00-04:00", "2026-11-01T01:30:00-05:00"),
    ),
    (
        "GitLab-style pair over a weekend with spring forward",
        GITLAB_NY,
        "2026-03-08T12:00:00-04:00",
        ("2026-03-06T23:00:00-05:00", "2026-03-09T07:00:00-04:00"),
    ),
    ("GitLab-style pair ends Monday 07:00", GITLAB_NY, "2026-03-09T07:00:00-04:00", None),
    ("GitLab-style pair open midweek", GITLAB_NY, "2026-03-11T12:00:00-04:00", None),
    (
        "daily pair, inside",
        OFFICE_HOURS,
        "2026-10-25T12:00:00+01:00",
        ("2026-10-25T09:00:00+01:00", "2026-10-25T17:00:00+01:00"),
    ),
    ("daily pair, after the end", OFFICE_HOURS, "2026-10-25T17:00:00+01:00", None),
    ("daily pair, before the start", OFFICE_HOURS, "2026-10-26T08:59:00+01:00", None),
    ("year-end: the evening before", YEAR_END, "2026-12-19T23:59:59+01:00", None),
    (
        "year-end: first instant",
        YEAR_END,
        "2026-12-20T00:00:00+01:00",
        ("2026-12-20T00:00:00+01:00", "2027-01-04T08:00:00+01:00"),
    ),
    (
        "year-end: new year's eve in UTC",
        YEAR_END,
        "2026-12-31T23:00:00+00:00",
        ("2026-12-20T00:00:00+01:00", "2027-01-04T08:00:00+01:00"),
    ),
    ("year-end: over", YEAR_END, "2027-01-04T08:00:00+01:00", None),
    ("naive one-off read in its zone: before", NAIVE_NY, "2026-12-24T04:59:00+00:00", None),
    (
        "naive one-off read in its zone: inside",
        NAIVE_NY,
        "2026-12-24T05:00:00+00:00",
        ("2026-12-24T00:00:00-05:00", "2026-12-27T00:00:00-05:00"),
    ),
]


@pytest.mark.parametrize(
    ("window", "now", "expected"),
    [case[1:] for case in ACTIVE_CASES],
    ids=[case[0] for case in ACTIVE_CASES],
)
def test_active_window_at_now(
    window: FreezeWindow, now: str, expected: tuple[str, str] | None
) -> None:
    """The active occurrence (start, end) at `now` is exact, in local wall-clock terms."""
    found = active_freeze([window], at(now))
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert found.window is window
    assert (found.started, found.ends) == (at(expected[0]), at(expected[1]))
    # and reported in the window's own zone (offsets as a local reader expects)
    if window.start is None:
        assert found.started.utcoffset() == at(expected[0]).utcoffset()
        assert found.ends.utcoffset() == at(expected[1]).utcoffset()


def test_16_local_on_both_sides_of_dst() -> None:
    """`0 16 * * FRI` in Europe/Berlin opens at 16:00 local before and after a DST change."""
    before = active_freeze([WEEKEND], at("2026-03-28T00:00:00+01:00"))
    after = active_freeze([WEEKEND], at("2026-04-04T00:00:00+02:00"))
    assert before is not None
    assert after is not None
    local = zone(BERLIN)
    assert before.started.astimezone(local).hour == after.started.astimezone(local).hour == 16
    assert before.started.astimezone(UTC).hour == 15
    assert after.started.astimezone(UTC).hour == 14


NEXT_CASES = [
    (
        "after the weekend: next Friday 16:00 CEST",
        [WEEKEND],
        "2026-03-30T08:00:00+02:00",
        ("weekend", "2026-04-03T16:00:00+02:00", "2026-04-06T08:00:00+02:00"),
    ),
    (
        "inside a weekend the one-off opening tomorrow is next",
        [WEEKEND, YEAR_END],
        "2026-12-19T12:00:00+01:00",
        ("year-end", "2026-12-20T00:00:00+01:00", "2027-01-04T08:00:00+01:00"),
    ),
    (
        "the earliest of several windows",
        [YEAR_END, WEEKEND],
        "2026-12-01T12:00:00+01:00",
        ("weekend", "2026-12-04T16:00:00+01:00", "2026-12-07T08:00:00+01:00"),
    ),
    (
        "GitLab-style pair: next Friday 23:00 EDT",
        [GITLAB_NY],
        "2026-03-09T07:00:00-04:00",
        ("gitlab", "2026-03-13T23:00:00-04:00", "2026-03-16T07:00:00-04:00"),
    ),
    ("a one-off in the past never opens again", [YEAR_END], "2027-02-01T00:00:00+00:00", None),
    ("a cron that never fires", [cron("never", "0 0 31 2 *", "1h")], "2026-01-01T00:00Z", None),
]


@pytest.mark.parametrize(
    ("windows", "now", "expected"),
    [case[1:] for case in NEXT_CASES],
    ids=[case[0] for case in NEXT_CASES],
)
def test_next_window_to_open(
    windows: list[FreezeWindow], now: str, expected: tuple[str, str, str] | None
) -> None:
    """next_freeze gives the first window opening strictly after `now`, with its end."""
    found = next_freeze(windows, at(now))
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.window.name, found.started, found.ends) == (
        expected[0],
        at(expected[1]),
        at(expected[2]),
    )


def test_never_firing_cron_is_never_active() -> None:
    """A cron expression with no dates (31 February) opens no window."""
    assert active_freeze([cron("never", "0 0 31 2 *", "1h")], at("2026-06-01T00:00Z")) is None


def test_overlapping_windows_are_all_reported() -> None:
    """Two windows active at once are both listed; active_freeze picks the one ending last."""
    now = at("2026-12-19T12:00:00+01:00")
    assert [f.window.name for f in active_freezes([WEEKEND, YEAR_END], now)] == ["weekend"]
    now = at("2026-12-26T12:00:00+01:00")
    both = active_freezes([WEEKEND, YEAR_END], now)
    assert [f.window.name for f in both] == ["weekend", "year-end"]
    found = active_freeze([WEEKEND, YEAR_END], now)
    assert found is not None
    assert found.window.name == "year-end"


def test_frozen_until_follows_touching_windows() -> None:
    """A weekend that runs into the year-end freeze keeps the env frozen until 4 January."""
    assert frozen_until([WEEKEND, YEAR_END], at("2026-12-19T12:00:00+01:00")) == at(
        "2027-01-04T08:00:00+01:00"
    )
    assert frozen_until([WEEKEND, YEAR_END], at("2026-12-16T12:00:00+01:00")) is None


def test_frozen_until_reports_forever() -> None:
    """Windows that never leave a gap within a year end FOREVER, not in a loop."""
    always = cron("always", "* * * * *", "1h")
    assert frozen_until([always], at("2026-06-01T00:00:00+00:00")) == FOREVER
    env = Environment(name="production", path="p/{app}", freeze=(always,))
    result = freeze_gate(env, at("2026-06-01T00:00:00+00:00"), [], "freeze-exception")
    assert not result.passed
    assert "with no end in sight" in result.message


def test_naive_now_is_refused() -> None:
    """A time without timezone is ambiguous: refused, never guessed."""
    with pytest.raises(ValueError, match="no timezone"):
        active_freeze([WEEKEND], datetime(2026, 3, 28, 12))


@pytest.mark.parametrize(
    ("naive", "tz", "opening", "expected"),
    [
        ("2026-03-29T02:30:00", BERLIN, True, "2026-03-29T03:00:00+02:00"),
        ("2026-03-29T02:30:00", BERLIN, False, "2026-03-29T03:00:00+02:00"),
        ("2026-10-25T02:30:00", BERLIN, True, "2026-10-25T02:30:00+02:00"),
        ("2026-10-25T02:30:00", BERLIN, False, "2026-10-25T02:30:00+01:00"),
        ("2026-03-08T02:15:00", NEW_YORK, True, "2026-03-08T03:00:00-04:00"),
        ("2026-11-01T01:30:00", NEW_YORK, True, "2026-11-01T01:30:00-04:00"),
        ("2026-11-01T01:30:00", NEW_YORK, False, "2026-11-01T01:30:00-05:00"),
        ("2026-07-01T12:00:00", NEW_YORK, True, "2026-07-01T12:00:00-04:00"),
    ],
)
def test_wall_clock_to_instant(naive: str, tz: str, opening: bool, expected: str) -> None:
    """Skipped local times map to the jump; repeated ones to the first (open) or second."""
    result = to_aware(datetime.fromisoformat(naive), zone(tz), opening=opening)
    assert result == at(expected)
    assert result.utcoffset() == at(expected).utcoffset()


def test_format_instant_shows_local_and_utc() -> None:
    """Times are shown in the window's zone with the UTC instant beside them."""
    moment = at("2026-03-30T08:00:00+02:00")
    assert format_instant(moment, BERLIN) == "Mon 2026-03-30 08:00 CEST (2026-03-30 06:00 UTC)"
    assert format_instant(moment) == "Mon 2026-03-30 06:00 UTC"


PRODUCTION = Environment(
    name="production",
    path="apps/{app}/overlays/production",
    mode="pull-request",
    freeze=(
        FreezeWindow(
            name="weekend",
            schedule="0 16 * * FRI",
            duration=timedelta(hours=64),
            timezone=BERLIN,
            reason="no production changes over the weekend",
            line=27,
        ),
        FreezeWindow(
            name="year-end",
            start=datetime.fromisoformat("2026-12-20T00:00:00+01:00"),
            end=datetime.fromisoformat("2027-01-04T08:00:00+01:00"),
            line=32,
        ),
    ),
)


def test_gate_fails_inside_window_and_says_when_it_ends() -> None:
    """Inside a window the gate fails naming the window, its reason, the end and the fix."""
    result = freeze_gate(
        PRODUCTION, at("2026-03-28T10:00:00+01:00"), [], "freeze-exception", app="api"
    )
    assert not result.passed
    assert not result.overridden
    assert (result.gate, result.app, result.env, result.line) == ("freeze", "api", "production", 27)
    assert result.message == (
        "production is frozen by window 'weekend' (no production changes over the weekend) "
        "until Mon 2026-03-30 08:00 CEST (2026-03-30 06:00 UTC), 1d 21h from now; merge after "
        "it ends, or add the label 'freeze-exception' to the pull request to break glass"
    )


def test_gate_break_glass_passes_loudly() -> None:
    """The exception label (any case) passes the gate, marked overridden, as a warning."""
    result = freeze_gate(
        PRODUCTION,
        at("2026-03-28T10:00:00+01:00"),
        ["promotion", "Freeze-Exception"],
        "freeze-exception",
    )
    assert result.passed
    assert result.overridden
    assert result.severity == "warning"
    assert result.message.startswith("BREAK-GLASS: production is frozen by window 'weekend'")
    assert "label 'freeze-exception'" in result.message


def test_gate_without_exception_label_configured() -> None:
    """With no break-glass label configured the message does not offer one."""
    result = freeze_gate(PRODUCTION, at("2026-03-28T10:00:00+01:00"), ["anything"], "")
    assert not result.passed
    assert "no break-glass label is configured" in result.message


def test_gate_names_the_chained_window_and_the_real_end() -> None:
    """A weekend running into the year-end freeze reports both and the final end."""
    result = freeze_gate(PRODUCTION, at("2026-12-19T12:00:00+01:00"), [], "freeze-exception")
    assert not result.passed
    assert "window 'weekend' (no production changes over the weekend), then 'year-end'," in (
        result.message
    )
    assert "until Mon 2027-01-04 08:00 CET (2027-01-04 07:00 UTC)" in result.message


def test_gate_one_off_shown_in_written_offset() -> None:
    """A one-off window without timezone is shown in the offset its timestamps carry."""
    result = freeze_gate(PRODUCTION, at("2027-01-01T12:00:00+01:00"), [], "freeze-exception")
    assert not result.passed
    assert result.line == 32
    assert "until Mon 2027-01-04 08:00 UTC+01:00 (2027-01-04 07:00 UTC), 2d 20h from now" in (
        result.message
    )


def test_gate_passes_outside_and_says_when_next_starts() -> None:
    """Outside every window the gate passes and names the next window and when it opens."""
    result = freeze_gate(
        PRODUCTION, at("2026-03-30T08:00:00+02:00"), ["freeze-exception"], "freeze-exception"
    )
    assert result.passed
    assert not result.overridden
    assert result.message == (
        "production is not in a freeze window; the next, 'weekend', starts "
        "Fri 2026-04-03 16:00 CEST (2026-04-03 14:00 UTC), in 4d 8h"
    )


def test_gate_passes_without_windows() -> None:
    """An env without freeze windows always passes."""
    env = Environment(name="dev", path="apps/{app}/overlays/dev")
    result = freeze_gate(env, at("2026-03-28T10:00:00+01:00"), [], "freeze-exception")
    assert result.passed
    assert result.message == "dev has no freeze windows"


def test_gate_passes_when_no_window_will_open_again() -> None:
    """After the last one-off window the gate passes and says none is scheduled."""
    env = Environment(name="production", path="p/{app}", freeze=(YEAR_END,))
    result = freeze_gate(env, at("2027-06-01T00:00:00+00:00"), [], "freeze-exception")
    assert result.passed
    assert result.message == "production is not in a freeze window, and none is scheduled"


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=2 * 365 * 86400),
    st.sampled_from([WEEKEND, NIGHTLY_NY, GAP_BERLIN, REPEATED_NY, GITLAB_NY, OFFICE_HOURS]),
)
def test_active_and_next_agree(offset: int, window: FreezeWindow) -> None:
    """At any instant: an active occurrence contains it and is over at its end; otherwise
    nothing is active until the next occurrence opens, and that one is active at its start."""
    now = at("2026-01-01T00:00:00+00:00") + timedelta(seconds=offset)
    found = active_freeze([window], now)
    if found is not None:
        assert found.started <= now < found.ends
        after = active_freeze([window], found.ends)
        assert after is None or after.started > found.started
        return
    upcoming = next_freeze([window], now)
    assert upcoming is not None
    assert upcoming.started > now
    assert active_freeze([window], now + (upcoming.started - now) / 2) is None
    opened = active_freeze([window], upcoming.started)
    assert opened is not None
    assert (opened.started, opened.ends) == (upcoming.started, upcoming.ends)
