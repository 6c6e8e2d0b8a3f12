"""Soak: how long the upstream env has carried a digest on the base branch, across DST.

Soak is measured between instants (commit dates on the base branch and ``now``), so 24h
is 24 real hours even when the clocks change in between (Europe/Berlin springs forward on
2026-03-29 and falls back on 2026-10-25).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gitops_promote.config.model import Environment
from gitops_promote.facts.events import PinEvent, Version, events
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.soak import soak_gate, soak_status

A, B = ("sha256:" + c * 64 for c in "ab")
IMAGE = "ghcr.io/o/api"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def timeline(*pins: tuple[str, str | None, str | None]) -> list[PinEvent]:
    """staging's events from (date, digest, tag) versions, oldest first."""
    versions = [
        Version(f"{i:07d}" + "0" * 33, at(when), "a", "s", ImageRef(IMAGE, tag, digest))
        for i, (when, digest, tag) in enumerate(pins, 1)
    ]
    return events("api", "staging", "f", versions)


PROD = Environment(name="production", path="p", upstream="staging", soak=timedelta(hours=24))

CASES = [
    # (case, staging history, now, passes, words)
    (
        "spring forward: 24 wall-clock hours are 23 real ones",
        timeline(("2026-03-28T12:00:00+01:00", A, None)),
        "2026-03-29T12:00:00+02:00",
        False,
        "for 23h, since Sat 2026-03-28 11:00 UTC (commit 0000001); production needs 1d: "
        "1h left, met at Sun 2026-03-29 11:00 UTC",
    ),
    (
        "fall back: 24 wall-clock hours are 25 real ones",
        timeline(("2026-10-24T12:00:00+02:00", A, None)),
        "2026-10-25T12:00:00+01:00",
        True,
        "for 1d 1h, since Sat 2026-10-24 10:00 UTC",
    ),
    (
        "exactly the soak time",
        timeline(("2026-11-02T10:00:00+00:00", A, None)),
        "2026-11-03T10:00:00+00:00",
        True,
        "soak met",
    ),
    (
        "one second short",
        timeline(("2026-11-02T10:00:00+00:00", A, None)),
        "2026-11-03T09:59:59+00:00",
        False,
        "1s left",
    ),
    (
        "a tag added to the same digest does not restart the clock",
        timeline(("2026-11-01T10:00:00+00:00", A, None), ("2026-11-03T09:00:00+00:00", A, "v1")),
        "2026-11-03T10:00:00+00:00",
        True,
        "for 2d, since Sun 2026-11-01 10:00 UTC",
    ),
    (
        "a digest that left and came back starts again",
        timeline(
            ("2026-11-01T10:00:00+00:00", A, None),
            ("2026-11-02T10:00:00+00:00", B, None),
            ("2026-11-03T04:00:00+00:00", A, None),
        ),
        "2026-11-03T10:00:00+00:00",
        False,
        "for 6h, since Tue 2026-11-03 04:00 UTC (commit 0000003); production needs 1d: 18h left",
    ),
    (
        "staging runs something else",
        timeline(("2026-11-01T10:00:00+00:00", B, None)),
        "2026-11-03T10:00:00+00:00",
        False,
        "does not run in staging yet: its 1d soak starts when it lands in staging",
    ),
    (
        "now before the commit (clock skew) counts as no time",
        timeline(("2026-11-03T10:00:00+00:00", A, None)),
        "2026-11-03T09:00:00+00:00",
        False,
        "for 0s",
    ),
]


@pytest.mark.parametrize(
    ("case", "history", "now", "passes", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_soak(case: str, history: list[PinEvent], now: str, passes: bool, words: str) -> None:
    """The clock starts at the commit since which staging carries the digest continuously."""
    result = soak_gate("api", PROD, ImageRef(IMAGE, None, A), history, at(now))
    assert result.passed is passes, result.message
    assert words in result.message


def test_digest_this_pr_also_pins_upstream_has_not_started() -> None:
    """A digest the same PR pins in staging has not run there: the message says so."""
    history = timeline(("2026-11-01T10:00:00+00:00", B, None))
    result = soak_gate(
        "api",
        PROD,
        ImageRef(IMAGE, None, A),
        history,
        at("2026-11-03T10:00:00+00:00"),
        upstream_after=ImageRef(IMAGE, None, A),
    )
    assert not result.passed
    assert "this pull request pins it in staging too" in result.message
    assert "promote to staging first" in result.message


def test_rollback_and_no_soak_pass() -> None:
    """An allowed rollback needs no soak; an env without soak always passes."""
    now = at("2026-11-03T10:00:00+00:00")
    new = ImageRef(IMAGE, None, A)
    assert soak_gate("api", PROD, new, [], now, rollback=True).passed
    free = Environment(name="staging", path="s", upstream="dev")
    assert soak_gate("api", free, new, [], now).message == "staging has no soak time"


def test_status_gives_the_instant_it_is_met() -> None:
    """soak_status: elapsed, remaining and the instant the soak is met."""
    history = timeline(("2026-03-28T12:00:00+01:00", A, None))
    status = soak_status(
        timedelta(hours=24), ImageRef(IMAGE, None, A), history, at("2026-03-29T12:00:00+02:00")
    )
    assert status.elapsed == timedelta(hours=23)
    assert status.remaining == timedelta(hours=1)
    assert status.ready_at == at("2026-03-29T13:00:00+02:00")
    assert not status.met
