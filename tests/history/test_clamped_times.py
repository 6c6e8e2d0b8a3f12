"""A commit's time on the first-parent chain is never earlier than its first parent's:
``time(c) = max(date(c), time(first parent))``; honest chains keep their dates."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.adapters.git import Git
from gitops_promote.adapters.git import log as gitlog
from support import gitutil

BASE = datetime(2026, 1, 1, tzinfo=UTC)
dates = st.lists(
    st.builds(
        lambda minutes, hours: (BASE + timedelta(minutes=minutes)).astimezone(
            timezone(timedelta(hours=hours))
        ),
        st.integers(-100_000, 100_000),
        st.integers(-12, 14),
    ),
    max_size=40,
)


@given(dates)
def test_clamped_times_are_monotonic_along_the_chain(newest_first: list[datetime]) -> None:
    """Oldest to newest the times never go back; each is the latest date of it and every
    commit before it; a commit dated after its parent's time keeps its own date."""
    times = gitlog.clamp_times(newest_first)
    assert len(times) == len(newest_first)
    oldest_first = list(reversed(times))
    assert all(a <= b for a, b in itertools.pairwise(oldest_first))
    for i, (date, time) in enumerate(zip(newest_first, times, strict=True)):
        assert time == max(newest_first[i:])
        assert time >= date
        if all(date >= older for older in newest_first[i + 1 :]):
            assert time == date
            assert time.utcoffset() == date.utcoffset()


def test_first_parent_chain_clamps_a_backdated_commit(tmp_path: Path) -> None:
    """On a real repository, a commit dated three days before its parent gets its parent's
    time, and the next honest commit its own date; diff_links carries the clamped time."""
    root = gitutil.init_repo(tmp_path / "r")
    t = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    first = gitutil.commit_files(root, {"a": "1\n"}, date=t)
    back = gitutil.commit_files(root, {"a": "2\n"}, date=t - timedelta(days=3))
    last = gitutil.commit_files(root, {"a": "3\n"}, date=t + timedelta(hours=1))
    chain = gitlog.first_parent_chain(Git(cwd=root), "HEAD")
    assert [(x.commit, x.time) for x in chain] == [
        (last, t + timedelta(hours=1)),
        (back, t),
        (first, t),
    ]
    commits = gitlog.diff_links(Git(cwd=root), chain, ["a"])
    assert [c.date for c in commits] == [t + timedelta(hours=1), t, t]
