"""``calendar`` output: an iCalendar (RFC 5545) file, built with the ``icalendar`` library.

- a recurring freeze window is one event with a recurrence rule (``RRULE``) at its time
  zone (``DTSTART;TZID=``), when its cron is in the subset a rule can say and the rule gives
  exactly the gate's openings; the event's ``DTEND`` gives the first occurrence's length,
  and every occurrence whose elapsed length differs (a 64h wall-clock window is 63 or 65
  hours across a clock change) is overridden (``RECURRENCE-ID``) with its own ``DTEND``;
  otherwise each occurrence is an event of its own. The rule ends with the horizon
  (``UNTIL``), so a subscriber never sees an occurrence the file did not check;
- a one-off window is one event;
- an expected soak promotion is an event at its opening (zero length).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from gitops_promote.config.model import FreezeWindow
from gitops_promote.plan import calendar as plan
from gitops_promote.plan.gates import freeze as gate

PRODID = "-//gitops-promote//calendar//EN"


def _zone(window: FreezeWindow) -> tzinfo:
    return UTC if window.timezone in {"UTC", "Etc/UTC"} else gate.zone(window.timezone)


def _uid(*parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"{digest}@gitops-promote"


def _freeze_event(env: str, window: FreezeWindow, uid: str, stamp: datetime) -> Any:
    from icalendar import Event  # noqa: PLC0415 - lazy: only this command needs it

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("summary", f"Freeze: {env} ({window.name})")
    if window.reason:
        event.add("description", window.reason)
    event.add("categories", ["freeze"])
    event.add("transp", "TRANSPARENT")
    return event


def _rule_starts(
    rule: Mapping[str, Any], first: datetime, until: datetime, tz: tzinfo
) -> list[datetime]:
    """The instants the rule gives from ``first`` (local) up to ``until``, as a calendar
    client reads them (a skipped local time: when the clocks jump, see gate.to_aware)."""
    from dateutil.rrule import rrulestr  # type: ignore[import-untyped]  # noqa: PLC0415
    from icalendar import vRecur  # noqa: PLC0415

    text = vRecur({k: v for k, v in rule.items() if k != "UNTIL"}).to_ical().decode()  # type: ignore[no-untyped-call]
    naive_first = first.astimezone(tz).replace(tzinfo=None)
    naive_until = until.astimezone(tz).replace(tzinfo=None)
    expanded = rrulestr(text, dtstart=naive_first).between(naive_first, naive_until, inc=True)
    return [gate.to_aware(n, tz, opening=True) for n in expanded]


def _recurring(
    env: str, window: FreezeWindow, found: Sequence[plan.Occurrence], stamp: datetime
) -> list[Any]:
    tz = _zone(window)
    opener = window.schedule if window.schedule is not None else window.start_cron
    rule: dict[str, Any] | None = plan.rrule_of(opener) if opener else None
    uid = _uid("freeze", env, window.name)
    if rule is not None and found:
        rule = {**rule, "UNTIL": [found[-1].start.astimezone(UTC)]}
        starts = _rule_starts(rule, found[0].start, found[-1].start, tz)
        if starts == [o.start for o in found]:
            # the rule's length is the most common one; the others are overridden
            lengths = Counter(o.elapsed for o in found)
            usual = max(lengths, key=lambda d: (lengths[d], -d.total_seconds()))
            master = _freeze_event(env, window, uid, stamp)
            master.add("dtstart", found[0].start.astimezone(tz))
            master.add("dtend", (found[0].start + usual).astimezone(tz))
            master.add("rrule", rule)
            events = [master]
            for o in found:
                if o.elapsed == usual:
                    continue
                moved = _freeze_event(env, window, uid, stamp)
                moved.add("recurrence-id", o.start.astimezone(tz))
                moved.add("dtstart", o.start.astimezone(tz))
                moved.add("dtend", o.end.astimezone(tz))
                events.append(moved)
            return events
    events = []
    for o in found:
        uid = _uid("freeze", env, window.name, o.start.isoformat())
        one = _freeze_event(env, window, uid, stamp)
        one.add("dtstart", o.start.astimezone(tz))
        one.add("dtend", o.end.astimezone(tz))
        events.append(one)
    return events


def build(
    occurrences: Sequence[plan.Occurrence],
    openings: Sequence[plan.SoakOpening],
    now: datetime,
) -> bytes:
    """The calendar: every freeze occurrence given, then every soak opening."""
    from icalendar import Calendar, Event  # noqa: PLC0415

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "gitops-promote: freezes and promotions")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    groups: dict[tuple[str, int], tuple[FreezeWindow, list[plan.Occurrence]]] = {}
    for o in occurrences:
        groups.setdefault((o.env, id(o.window)), (o.window, []))[1].append(o)
    for (env, _), (window, found) in groups.items():
        if window.start is not None and window.end is not None:
            for o in found:
                one = _freeze_event(env, window, _uid("freeze", env, window.name), stamp)
                tz = _zone(window)
                one.add("dtstart", o.start.astimezone(tz))
                one.add("dtend", o.end.astimezone(tz))
                cal.add_component(one)
        else:
            for event in _recurring(env, window, found, stamp):
                cal.add_component(event)
    for s in openings:
        event = Event()
        digest = s.candidate.digest or str(s.candidate)
        event.add("uid", _uid("soak", s.app, s.env, digest))
        event.add("dtstamp", stamp)
        event.add("summary", f"Promotion: {s.app} to {s.env}")
        moved = f"; moved past the freeze '{s.frozen_by}'" if s.frozen_by else ""
        event.add(
            "description",
            f"{s.candidate} has run in {s.source} since "
            f"{s.since.astimezone(UTC).isoformat()}; its soak ends "
            f"{s.soaked.astimezone(UTC).isoformat()}{moved}",
        )
        event.add("categories", ["promotion"])
        event.add("dtstart", s.opens.astimezone(UTC).replace(microsecond=0))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
