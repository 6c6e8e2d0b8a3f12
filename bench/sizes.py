"""The fleet sizes a benchmark run measures, and what each gets (pure: no I/O).

The full run measures P3 (status, soak) and P6 (metrics) at 2,000 apps x 20,000 commits
and at 10,000 apps x 100,000 commits; ``--sizes 10000`` runs one size only. The first
size is the primary one: P1, P2, P4 and P5 run there (P2 and P4 also on a repo ten times
smaller). Sizes of 10,000 apps and more run at most :data:`BIG_REPS` repetitions with a
timeout grown with the fleet, and P6 there times ``metrics`` alone (P3 times status and
soak), so the full run ends in about 25 minutes on a quiet two-core machine.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMITS_PER_APP = 10  # 2,000 apps x 20,000 commits; 10,000 x 100,000
FULL_SIZES = (2000, 10_000)
QUICK_SIZES = (200,)
BIG_APPS = 10_000  # from this size on, at most BIG_REPS repetitions
BIG_REPS = 3
TIMEOUT_BASE_APPS = 2000  # the --timeout given holds up to this size; grows beyond


class SizeError(ValueError):
    """A --sizes value that is not a list of fleet sizes."""


@dataclass(frozen=True)
class Size:
    """One fleet size of a run."""

    apps: int
    commits: int
    reps: int
    timeout: float

    @property
    def p6_fleet(self) -> bool:
        """Whether P6 also times status and soak from history (as P3 does over HTTP):
        not at 10,000 apps and more, where P3's runs with their floors say it and the
        full run must end in about 25 minutes; P6 there times metrics and its floor."""
        return self.apps < BIG_APPS

    @property
    def label(self) -> str:
        return f"{self.apps:,} apps x {self.commits:,} commits"


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"2000,10000"`` -> (2000, 10000): app counts, in the order given, each once."""
    out: list[int] = []
    for part in text.split(","):
        digits = part.strip().replace("_", "")
        if not digits.isdigit() or int(digits) < 10:
            raise SizeError(f"--sizes takes app counts >= 10 separated by commas, not {text!r}")
        if int(digits) not in out:
            out.append(int(digits))
    return tuple(out)


def plan(
    apps: tuple[int, ...],
    *,
    reps: int,
    timeout: float,
    commits: int | None = None,
) -> list[Size]:
    """The sizes to measure: ``commits`` (given) applies to the first size only; the
    others have :data:`COMMITS_PER_APP` commits per app. A size of :data:`BIG_APPS` or more
    runs at most :data:`BIG_REPS` repetitions, and each run of it may take ``timeout``
    grown in proportion to the apps beyond :data:`TIMEOUT_BASE_APPS`."""
    sizes = []
    for i, n in enumerate(apps):
        size_commits = commits if commits is not None and i == 0 else n * COMMITS_PER_APP
        size_reps = min(reps, BIG_REPS) if n >= BIG_APPS else reps
        size_timeout = timeout * max(1.0, n / TIMEOUT_BASE_APPS)
        sizes.append(Size(n, size_commits, size_reps, size_timeout))
    return sizes
