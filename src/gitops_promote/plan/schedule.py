"""When ``recheck`` should run (pure): every 15 minutes, plus right after each freeze window
of promotion.yaml opens or closes, as UTC cron lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gitops_promote.config.model import Config
from gitops_promote.plan.gates.freeze import next_occurrence, occurrence_at

EVERY = "*/15 * * * *"  # the re-check's own schedule: a verdict is at most 15 minutes old
_HORIZON = timedelta(days=366)
_MAX_OCCURRENCES = 2000  # occurrences of one window followed within the horizon


def freeze_boundaries(config: Config, now: datetime) -> list[tuple[datetime, str]]:
    """Every instant (UTC, rounded up to the minute) within a year from ``now`` at which a
    freeze window of ``config`` opens or closes, with the window's name."""
    found: set[tuple[datetime, str]] = set()
    limit = now + _HORIZON
    for env in config.environments:
        for window in env.freeze:
            active = occurrence_at(window, now)
            moments = [active.ends] if active else []
            at = now
            for _ in range(_MAX_OCCURRENCES):
                nxt = next_occurrence(window, at)
                if nxt is None or nxt.started > limit:
                    break
                moments += [nxt.started, nxt.ends]
                at = nxt.started
            for moment in moments:
                utc = moment.astimezone(UTC)
                if utc.second or utc.microsecond:
                    utc = utc.replace(second=0, microsecond=0) + timedelta(minutes=1)
                if now <= utc <= limit:
                    found.add((utc, window.name))
    return sorted(found)


def cron_lines(config: Config, now: datetime) -> list[tuple[str, tuple[str, ...]]]:
    """The schedule (UTC cron lines, with the windows each serves): every 15 minutes, plus
    one line per freeze boundary that is not on a quarter hour. A boundary that recurs on
    the same weekday and time becomes a weekly line; one that does not, a dated line."""
    weekly: dict[tuple[int, int, int], set[str]] = {}
    dated: dict[tuple[int, int, int, int], set[str]] = {}
    seen: dict[tuple[int, int, int], int] = {}
    boundaries = [(m, n) for m, n in freeze_boundaries(config, now) if m.minute % 15]
    for moment, _ in boundaries:
        key = (moment.minute, moment.hour, (moment.weekday() + 1) % 7)  # cron: 0 is Sunday
        seen[key] = seen.get(key, 0) + 1
    for moment, name in boundaries:
        key = (moment.minute, moment.hour, (moment.weekday() + 1) % 7)
        if seen[key] > 1:
            weekly.setdefault(key, set()).add(name)
        else:
            day = (moment.minute, moment.hour, moment.day, moment.month)
            dated.setdefault(day, set()).add(name)
    by_time: dict[tuple[int, int], tuple[set[int], set[str]]] = {}
    for (minute, hour, weekday), names in weekly.items():
        weekdays, all_names = by_time.setdefault((minute, hour), (set(), set()))
        weekdays.add(weekday)
        all_names.update(names)
    lines: list[tuple[str, tuple[str, ...]]] = [(EVERY, ())]
    for (minute, hour), (weekdays, names) in sorted(by_time.items(), key=lambda i: i[0][::-1]):
        dow = "*" if len(weekdays) == 7 else ",".join(map(str, sorted(weekdays)))
        lines.append((f"{minute} {hour} * * {dow}", tuple(sorted(names))))
    for (minute, hour, mday, month), names in sorted(dated.items(), key=lambda i: i[0][::-1]):
        lines.append((f"{minute} {hour} {mday} {month} *", tuple(sorted(names))))
    return lines


__all__ = ["EVERY", "cron_lines", "freeze_boundaries"]
