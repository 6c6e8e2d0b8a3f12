"""Freeze window definitions as promotion.yaml writes them: time zones, cron expressions and
local wall-clock times.

The config layer validates windows with these (is the zone known, does the cron expression
fire, which instant does an offset-less timestamp denote); :mod:`gitops_promote.plan.gates.freeze`
evaluates windows with the same functions.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name`` (raises ``ZoneInfoNotFoundError``/``ValueError``)."""
    return ZoneInfo(name)


def local_naive(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def pin(instant: datetime, tz: tzinfo) -> datetime:
    """``instant`` at its local offset in ``tz``, as a fixed-offset ``timezone`` that keeps
    the zone's abbreviation: compares exactly with ``==`` (a ``ZoneInfo`` time in a repeated
    hour never equals a time in another zone, per PEP 495)."""
    local = instant.astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    name = local.tzname()
    fixed = timezone(offset, name) if name else timezone(offset)
    return local.replace(tzinfo=fixed, fold=0)


def to_aware(naive: datetime, tz: tzinfo, *, opening: bool = True) -> datetime:
    """The instant a local wall-clock time denotes in ``tz`` (see :func:`pin`).

    A time that occurs twice (fall back) is its first occurrence when ``opening`` and its
    second otherwise; a time skipped (spring forward) is the instant the clocks jump.
    """
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early == late:
        return pin(early, tz)
    lo, hi = min(early, late), max(early, late)
    if local_naive(lo, tz) == naive and local_naive(hi, tz) == naive:  # occurs twice
        return pin(lo if opening else hi, tz)
    # Skipped: the first instant whose local time is at or after `naive`, found by
    # bisection in whole seconds (transitions happen on whole seconds).
    low, high = 0, int((hi - lo).total_seconds())
    while low < high:
        mid = (low + high) // 2
        if local_naive(lo + timedelta(seconds=mid), tz) >= naive:
            high = mid
        else:
            low = mid + 1
    return pin(lo + timedelta(seconds=low), tz)


_CRON_ALIASES: Final = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_CRON_WORDS: Final = frozenset(
    [
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
        "sun",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "l",
    ]
)
_CRON_FIELD: Final = re.compile(r"^[0-9A-Za-z*/,#?-]+$")
_CRON_NAMES: Final = ("minute", "hour", "day of month", "month", "day of week")


def cron_problem(expr: str) -> str | None:
    """Why ``expr`` is not a usable 5-field cron expression (one line), or None when it is.

    Accepted: ``minute hour day-of-month month day-of-week`` with numbers, ``*``, ranges,
    lists, steps, month/day names (``FRI``), ``L`` and ``#``; or an alias like ``@weekly``.
    Refused: seconds/years fields, Jenkins-style ``H``, random ``R``, and expressions that
    never fire (``0 0 31 2 *``)."""
    from croniter import CroniterBadDateError, croniter  # noqa: PLC0415 - lazy

    text = expr.strip()
    example = "e.g. '0 16 * * FRI' (minute hour day-of-month month day-of-week)"
    if text.startswith("@"):
        if text.lower() not in _CRON_ALIASES:
            return f"cron alias {text!r} is not supported; use {example}"
    else:
        fields = text.split()
        if len(fields) != 5:
            return f"cron expression {expr!r} has {len(fields)} fields, not 5; write {example}"
        for name, field in zip(_CRON_NAMES, fields, strict=True):
            words = {w.lower() for w in re.findall(r"[A-Za-z]+", field)}
            if not _CRON_FIELD.match(field) or not words <= _CRON_WORDS:
                return f"cron expression {expr!r} has an invalid {name} field {field!r}; {example}"
    if not croniter.is_valid(text):
        return f"cron expression {expr!r} is not valid; write {example}"
    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return f"cron expression {expr!r} never fires (no such date); check day and month"
    except (ValueError, KeyError, OverflowError) as err:
        return f"cron expression {expr!r} is not valid ({err}); write {example}"
    return None


__all__ = ["cron_problem", "local_naive", "pin", "to_aware", "zone"]
