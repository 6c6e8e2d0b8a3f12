"""Durations: parse what people write in promotion.yaml, format what people read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.config.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(hours=24)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("64h", timedelta(hours=64)),
        ("1w2d3h4m5s", timedelta(days=9, hours=3, minutes=4, seconds=5)),
        ("3h 12m", timedelta(hours=3, minutes=12)),
        (" 0s ", timedelta(0)),
    ],
)
def test_parse_accepts_unit_forms(text: str, expected: timedelta) -> None:
    """Integers with w/d/h/m/s units, largest first, optionally spaced, parse exactly."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("3600", "no unit"),
        ("1.5h", "whole numbers"),
        ("1H", "lowercase"),
        ("10min", "'m' for minutes"),
        ("2days", "'d' for days"),
        ("5ms", "smallest unit"),
        ("1y", "unknown unit"),
        ("30m1h", "largest first"),
        ("1h1h", "twice"),
        ("-1h", "not valid"),
        ("h", "not valid"),
        ("99999w", "100 years"),
    ],
)
def test_parse_refuses_with_one_line_reason(text: str, fragment: str) -> None:
    """Invalid text raises a one-line DurationError that names the text and the fix."""
    with pytest.raises(DurationError) as err:
        parse_duration(text)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message
    assert repr(text) in message or not text


def test_parse_refuses_non_text() -> None:
    """A bare YAML number is refused: durations always carry a unit."""
    with pytest.raises(DurationError, match="unit"):
        parse_duration(3600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(hours=3, minutes=12, seconds=40), "3h 12m"),
        (timedelta(days=2, hours=4, minutes=5), "2d 4h"),
        (timedelta(hours=1, seconds=30), "1h"),
        (timedelta(days=9), "9d"),
        (timedelta(seconds=59.9), "59s"),
        (-timedelta(minutes=5), "-5m"),
    ],
)
def test_format_shows_two_largest_units(delta: timedelta, expected: str) -> None:
    """Formatting keeps the two largest adjacent non-zero units, fractions dropped."""
    assert format_duration(delta) == expected


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_exact_format_round_trips(seconds: int) -> None:
    """format_duration(exact=True) is read back unchanged by parse_duration."""
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta, exact=True)) == delta
