"""``gitops-promote calendar`` end to end: the file parsed back with ``icalendar`` and checked
event by event, across the clock changes of Europe/Berlin, against the freeze gate itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar

from check.scenario import API, NEW_API, ConfigRepo
from gitops_promote.config.load import parse_config
from gitops_promote.plan import calendar as plan
from gitops_promote.plan.gates import freeze as gate
from support.repos import EXAMPLE, cli

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> ConfigRepo:
    config = ConfigRepo(tmp_path_factory.mktemp("calendar") / "config")
    friday = datetime(2026, 11, 6, 9, tzinfo=UTC)
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=friday)
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=friday + HOUR)
    return config


def calendar(repo: ConfigRepo, now: str, days: int, *args: str) -> Calendar:
    run = cli("calendar", "--repo", str(repo.root), "--now", now, "--days", str(days), *args)
    return Calendar.from_ical(run.stdout)


def vevents(cal: Calendar) -> list[Any]:
    """The calendar's VEVENTs, read as icalendar's untyped property values."""
    return list(cal.walk("VEVENT"))


def expand(cal: Calendar, summary_prefix: str) -> list[tuple[datetime, datetime]]:
    """Every occurrence of the events whose summary starts with ``summary_prefix``, as a
    calendar client computes them: the rule's instances, each lasting the master's exact
    length, replaced by the overriding event with its RECURRENCE-ID."""
    events = [e for e in vevents(cal) if str(e["SUMMARY"]).startswith(summary_prefix)]
    out: dict[datetime, tuple[datetime, datetime]] = {}
    overrides: dict[datetime, Any] = {}
    for e in events:
        if "RECURRENCE-ID" in e:
            overrides[e["RECURRENCE-ID"].dt] = e
    for e in events:
        if "RECURRENCE-ID" in e:
            continue
        start, end = e["DTSTART"].dt, e["DTEND"].dt
        if "RRULE" not in e:
            out[start] = (start.astimezone(UTC), end.astimezone(UTC))
            continue
        length = end.astimezone(UTC) - start.astimezone(UTC)  # exact: RFC 5545 3.8.5.3
        tz = start.tzinfo
        rule = rrulestr(e["RRULE"].to_ical().decode(), dtstart=start)
        for instance in rule:
            local = instance.replace(tzinfo=None).replace(tzinfo=tz)
            out[local] = (local.astimezone(UTC), local.astimezone(UTC) + length)
    for rid, e in overrides.items():
        assert rid in out, rid
        out[rid] = (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
    return sorted(out.values())


def test_weekend_freeze_across_spring_forward_is_63_elapsed_hours(repo: ConfigRepo) -> None:
    """Fri 16:00 to Mon 08:00 Berlin (64h on the wall clock) is 64h, then 63h over the night
    the clocks go forward (2027-03-28), then 64h: one recurring event with its time zone,
    its rule, and the short occurrence overridden with its own DTEND. The occurrence still
    running at --now (Monday 00:00) comes first."""
    cal = calendar(repo, "2027-03-15T00:00:00+01:00", 28, "--no-soak")
    assert cal["VERSION"] == "2.0"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    masters = [e for e in vevents(cal) if "RRULE" in e]
    assert len(masters) == 1
    rule = masters[0]["RRULE"]
    assert (rule["FREQ"], rule["BYDAY"], rule["BYHOUR"], rule["BYMINUTE"]) == (
        ["WEEKLY"],
        ["FR"],
        [16],
        [0],
    )
    assert masters[0]["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert "DURATION" not in masters[0]
    found = expand(cal, "Freeze: production (weekend)")
    local = [(s.astimezone(BERLIN), e.astimezone(BERLIN)) for s, e in found]
    assert [(s.strftime("%a %m-%d %H:%M"), e.strftime("%a %m-%d %H:%M")) for s, e in local] == [
        ("Fri 03-12 16:00", "Mon 03-15 08:00"),
        ("Fri 03-19 16:00", "Mon 03-22 08:00"),
        ("Fri 03-26 16:00", "Mon 03-29 08:00"),
        ("Fri 04-02 16:00", "Mon 04-05 08:00"),
        ("Fri 04-09 16:00", "Mon 04-12 08:00"),
    ]
    assert [(e - s) / HOUR for s, e in found] == [64, 64, 63, 64, 64]


def test_each_occurrence_is_exactly_what_the_gate_holds(repo: ConfigRepo) -> None:
    """Across the fall-back weekend (2026-10-25, 65h) and the year-end one-off window: the
    gate is frozen from each event's start until just before its end, and not at its end."""
    cal = calendar(repo, "2026-10-20T00:00:00Z", 80, "--no-soak")
    config = parse_config((EXAMPLE / "promotion.yaml").read_text())
    windows = config.env("production").freeze
    weekend = expand(cal, "Freeze: production (weekend)")
    assert [(e - s) / HOUR for s, e in weekend[:3]] == [65, 64, 64]
    year_end = expand(cal, "Freeze: production (year-end)")
    assert [(s.isoformat(), e.isoformat()) for s, e in year_end] == [
        ("2026-12-19T23:00:00+00:00", "2027-01-04T07:00:00+00:00")
    ]
    for start, end in [*weekend, *year_end]:
        active = gate.active_freezes(windows, start)
        assert any(a.started == start and a.ends == end for a in active), (start, end)
        assert gate.active_freezes(windows, end - timedelta(seconds=1))
        assert not any(a.started == start for a in gate.active_freezes(windows, end))
    weeks = [s for s, _ in weekend]
    assert weeks == [o.start for o in plan.occurrences(windows[0], weeks[0], weeks[-1] + HOUR)]


def test_soak_opening_is_moved_past_the_freeze(repo: ConfigRepo) -> None:
    """NEW_API reached staging Fri 10:00 UTC; production's 24h soak ends Sat 10:00, inside
    the weekend freeze, so the promotion is expected to open Mon 08:00 Berlin (07:00 UTC)."""
    cal = calendar(repo, "2026-11-06T12:00:00Z", 14)
    openings = [e for e in vevents(cal) if "promotion" in str(e.get("CATEGORIES").cats)]
    assert [(str(e["SUMMARY"]), e["DTSTART"].dt) for e in openings] == [
        ("Promotion: api-service to production", datetime(2026, 11, 9, 7, tzinfo=UTC))
    ]
    assert "moved past the freeze 'weekend'" in str(openings[0]["DESCRIPTION"])
    assert NEW_API in str(openings[0]["DESCRIPTION"])


def test_output_file_and_bad_input(repo: ConfigRepo, tmp_path: Path) -> None:
    out = tmp_path / "promotions.ics"
    cli("calendar", "--repo", str(repo.root), "--output", str(out), "--now", "2026-11-06T12:00Z")
    assert Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    run = cli("calendar", "--repo", str(repo.root), "--days", "0", check=2)
    assert run.stderr.strip() == "error: --days 0 is not from 1 to 730 (e.g. --days 90)"


@pytest.mark.parametrize(
    ("cron", "rule"),
    [
        ("0 16 * * FRI", {"FREQ": "WEEKLY", "BYDAY": ["FR"], "BYHOUR": [16], "BYMINUTE": [0]}),
        ("30 18 * * 1-5", {"FREQ": "WEEKLY", "BYDAY": ["MO", "TU", "WE", "TH", "FR"]}),
        ("0 0 24 12 *", {"FREQ": "YEARLY", "BYMONTHDAY": [24], "BYMONTH": [12]}),
        ("0 2 1 * *", {"FREQ": "MONTHLY", "BYMONTHDAY": [1]}),
        ("*/15 * * * *", None),
        ("0 16 1 * FRI", None),  # cron ORs the day fields
        ("0 16 * * 5L", None),
    ],
)
def test_cron_to_rule(cron: str, rule: dict[str, Any] | None) -> None:
    found = plan.rrule_of(cron)
    if rule is None:
        assert found is None
    else:
        assert found is not None
        assert {k: found[k] for k in rule} == rule
