"""A config repo whose history has known delivery metrics (worked out by hand below).

api-service, on examples/config-repo (dev -> staging soak 1h -> production soak 24h, weekend
freeze Fri 16:00 Europe/Berlin for 64h on the wall clock), from T0 = Mon 2026-11-02 09:00 UTC:

- A: dev Mon 10:00, staging Mon 12:00, production through pull request #7, branch commit Mon
  13:00, merged Tue 13:00 (the merge commit's date counts): lead time 27h; production waited
  25h = soak 24h + review 1h. Then a tag-only re-pin of A in dev (Tue 14:00): no deployment.
- B: dev Thu 09:00, staging Thu 10:00 (soak ends Fri 10:00 UTC), frozen Fri 15:00 UTC to
  Mon 07:00 UTC, production Mon 11-09 09:00: lead time 96h; production waited 95h = soak 24h
  + freeze 64h + review 7h.
- rollback: production back to A on Mon 11-09 12:00: a restore; B failed, 3h to restore.
- C: dev Tue 11-10 09:00, staging 11:00, production Wed 11-11 12:00 (27h; 25h = 24h + 1h),
  then ``git revert`` of it Wed 15:00: back to A, a restore; C failed, 3h to restore.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from check.scenario import API, NEW_API, T0, ConfigRepo
from support import gitutil
from support.repos import digest_of

A = NEW_API
B = digest_of("api-service 1.6.0")
C = digest_of("api-service 1.7.0")
SINCE = T0 + timedelta(minutes=1)  # after the initial pins
UNTIL = SINCE + timedelta(days=10)


def at(day: int, hour: int) -> datetime:
    """November ``day``, 2026, ``hour``:00 UTC."""
    return datetime(2026, 11, day, hour, tzinfo=T0.tzinfo)


def build(root: Path) -> ConfigRepo:
    repo = ConfigRepo(root)
    repo.promote("api-service", "dev", f"{API}@{A}", at=at(2, 10))
    repo.promote("api-service", "staging", f"{API}@{A}", at=at(2, 12))
    repo.branch("prod-a")
    repo.promote("api-service", "production", f"{API}@{A}", at=at(2, 13))
    repo.switch("main")
    gitutil.git(
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge pull request #7 from org/prod-a",
        "prod-a",
        cwd=repo.root,
        env=gitutil.identity_env(at(3, 13)),
    )
    repo.promote("api-service", "dev", f"{API}:1.5.0@{A}", at=at(3, 14))
    repo.promote("api-service", "dev", f"{API}@{B}", at=at(5, 9))
    repo.promote("api-service", "staging", f"{API}@{B}", at=at(5, 10))
    repo.promote("api-service", "production", f"{API}@{B}", at=at(9, 9))
    repo.promote("api-service", "production", f"{API}@{A}", at=at(9, 12))
    repo.promote("api-service", "dev", f"{API}@{C}", at=at(10, 9))
    repo.promote("api-service", "staging", f"{API}@{C}", at=at(10, 11))
    repo.promote("api-service", "production", f"{API}@{C}", at=at(11, 12))
    gitutil.git("revert", "--no-edit", "HEAD", cwd=repo.root, env=gitutil.identity_env(at(11, 15)))
    return repo
