"""Durations as people write them in promotion.yaml (``soak: 24h``) and read them in messages,
the range of times the program accepts (``--now``, freeze timestamps), and the one place
that formats a time for output (:func:`format_duration` ``2d 4h``, :func:`format_relative`
``in 2d 4h``, :func:`format_instant` ``Mon 2026-11-30 08:00 CET (2026-11-30 07:00 UTC)``,
:func:`format_utc` ``2026-11-25 04:50 UTC``, :func:`format_iso` for JSON).

Grammar: one or more ``<integer><unit>`` parts, units in decreasing order, each at most
once, optionally separated by spaces: ``90s``, ``30m``, ``1h30m``, ``2d``, ``1w``,
``3h 12m``. Units: ``w`` (7 days), ``d`` (24 hours), ``h``, ``m`` (minutes), ``s``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from gitops_promote.errors import quote

UNITS: Final[dict[str, int]] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART: Final = re.compile(r"\s*([0-9]+)\s*([A-Za-z]+)\s*")
_MAX_SECONDS: Final = 100 * 365 * 86400  # a century: anything longer is a typo
_EXAMPLES: Final = "write e.g. 90s, 30m, 1h30m, 24h, 2d or 1w"


# The times the program accepts (--now, a freeze window's start and end): a year of freeze
# windows and a day of superseded look-back around any of them still fit in a datetime
# (year 1 or 9999 at an offset has no UTC equivalent at all), and git has no history before.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(3000, 1, 1, tzinfo=UTC)
TIME_RANGE: Final = f"from {EARLIEST:%Y-%m-%d} up to the year {LATEST.year - 1}"


def in_time_range(moment: datetime) -> bool:
    """Whether ``moment`` lies in [EARLIEST, LATEST); a naive one is read as UTC (its zone
    moves it by a day at most, far from where a datetime overflows)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return EARLIEST <= aware < LATEST


class DurationError(ValueError):
    """A duration text is not valid; ``str()`` is one line that says how to write it."""


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m``-style text into a timedelta; raise :class:`DurationError` otherwise."""
    if not isinstance(text, str):
        raise DurationError(f"duration {quote(text)} must be text with a unit; {_EXAMPLES}")
    value = text.strip()
    if not value:
        raise DurationError(f"duration is empty; {_EXAMPLES}")
    if re.search(r"[0-9][.,][0-9]", value):
        raise DurationError(
            f"duration {quote(text)} must use whole numbers; write e.g. 1h30m instead of 1.5h"
        )
    if value.isdigit():
        raise DurationError(f"duration {quote(text)} has no unit; write e.g. {value}s or {value}m")
    total = 0
    pos = 0
    seen: list[str] = []
    order = list(UNITS)
    while pos < len(value):
        match = _PART.match(value, pos)
        if match is None:
            raise DurationError(
                f"duration {quote(text)} is not valid at {quote(value[pos:])}; {_EXAMPLES}"
            )
        number, unit = match.group(1), match.group(2)
        if unit not in UNITS:
            hint = ""
            if unit.lower() in UNITS:
                hint = f" (units are lowercase: {unit.lower()!r})"
            elif unit.lower() in {"min", "mins", "minute", "minutes"}:
                hint = " (write 'm' for minutes)"
            elif unit.lower() in {"hr", "hrs", "hour", "hours"}:
                hint = " (write 'h' for hours)"
            elif unit.lower() in {"day", "days"}:
                hint = " (write 'd' for days)"
            elif unit.lower() in {"ms", "us", "ns"}:
                hint = " (the smallest unit is 's')"
            raise DurationError(
                f"duration {quote(text)} has unknown unit {unit!r}{hint}; units are w, d, h, m, s; "
                f"{_EXAMPLES}"
            )
        if unit in seen:
            raise DurationError(f"duration {quote(text)} gives unit {unit!r} twice; {_EXAMPLES}")
        if seen and order.index(unit) < order.index(seen[-1]):
            raise DurationError(
                f"duration {quote(text)} lists units out of order; write the largest first, "
                "e.g. 1h30m"
            )
        seen.append(unit)
        total += int(number) * UNITS[unit]
        if total > _MAX_SECONDS:
            raise DurationError(f"duration {quote(text)} is longer than 100 years; check the unit")
        pos = match.end()
    return timedelta(seconds=total)


def format_duration(delta: timedelta, *, exact: bool = False) -> str:
    """Format for people: the two largest non-zero units, ``3h 12m``, ``2d 4h``, ``45s``.

    Fractions of a second are dropped. ``exact=True`` keeps every non-zero unit (days,
    hours, minutes, seconds), so that :func:`parse_duration` reads it back unchanged.
    A negative delta gets a leading ``-``.
    """
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        amount, seconds = divmod(seconds, UNITS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
        elif parts and not exact:
            break  # "1h 0m 30s" reads as "1h": keep the two largest *adjacent* units
        if not exact and len(parts) == 2:
            break
    return sign + " ".join(parts)


def format_relative(delta: timedelta) -> str:
    """``in 2d 4h`` (ahead), ``2d 4h ago`` (behind): a time measured from now."""
    if delta < timedelta(0):
        return f"{format_duration(-delta)} ago"
    return f"in {format_duration(delta)}"


def format_instant(instant: datetime, timezone: str | tzinfo = "UTC") -> str:
    """``Mon 2026-03-30 08:00 CEST (2026-03-30 06:00 UTC)``: local time, then UTC (seconds
    only when there are some); at UTC, just ``Mon 2026-03-30 06:00 UTC``. For messages."""
    local = instant.astimezone(ZoneInfo(timezone) if isinstance(timezone, str) else timezone)
    fmt = "%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M"
    text = f"{local:%a} {local.strftime(fmt)} {local.tzname()}"
    if local.utcoffset() or local.tzname() not in {"UTC", "Etc/UTC"}:
        text += f" ({instant.astimezone(UTC).strftime(fmt)} UTC)"
    return text


def format_utc(moment: datetime) -> str:
    """``2026-11-25 04:50 UTC``: a time in a table column or a heading."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_iso(moment: datetime, *, utc: bool = True) -> str:
    """ISO 8601 for JSON: in UTC (``2026-11-25T04:50:00+00:00``), or with ``utc=False`` at
    the offset it was recorded with (a commit date keeps its committer's offset)."""
    return (moment.astimezone(UTC) if utc else moment).isoformat()
