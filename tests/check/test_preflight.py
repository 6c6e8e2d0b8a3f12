"""``promote`` runs the check's gates before it writes anything.

A ``mode: push`` env has no pull request check after it, so upstream, soak and
dependencies block there; a gated env's promotion opens a PR that the check holds until
they pass (see test_comment.py), so there they are warnings.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from check.scenario import API, NEW_API, T0, ConfigRepo
from support.inprocess import cli

PUSHED = T0 + timedelta(hours=1)  # NEW_API lands in dev


def staging_pushed(tmp_path: Path) -> ConfigRepo:
    """The example with staging as a mode: push env (from: dev, soak 1h)."""
    repo = ConfigRepo(tmp_path / "config")
    text = repo.text("promotion.yaml").replace(
        "    from: dev                  # promote what dev runs\n    mode: pull-request",
        "    from: dev                  # promote what dev runs\n    mode: push",
    )
    assert "mode: push" in text.split("name: staging", 1)[1].split("name: production", 1)[0]
    repo.commit({"promotion.yaml": text}, at=T0, message="staging is pushed to")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=PUSHED)
    return repo


def promote(repo: ConfigRepo, *args: str, now: object, code: int) -> str:
    run = cli(
        "promote",
        "--repo",
        str(repo.root),
        "--env",
        "staging",
        "--app",
        "api-service",
        "--skip-registry-check",
        "--now",
        str(now),
        *args,
        check=code,
    )
    return run.output


def test_push_env_refuses_a_digest_its_upstream_does_not_run(tmp_path: Path) -> None:
    """--digest of something dev never ran: refused (exit 1), nothing committed."""
    repo = staging_pushed(tmp_path)
    before = repo.head()
    out = promote(repo, "--digest", "sha256:" + "c" * 64, now=PUSHED + timedelta(hours=2), code=1)
    assert "staging would run sha256:cccccccccccc…, dev runs sha256:" in out
    assert repo.head() == before


def test_push_env_waits_for_the_soak(tmp_path: Path) -> None:
    """dev's digest 30 minutes after it landed: refused with the time left; after the
    hour it is committed."""
    repo = staging_pushed(tmp_path)
    before = repo.head()
    out = promote(repo, now=(PUSHED + timedelta(minutes=30)).isoformat(), code=1)
    assert "staging needs 1h: 30m left" in out
    assert repo.head() == before
    promote(repo, now=(PUSHED + timedelta(hours=1)).isoformat(), code=0)
    assert repo.head() != before
    assert NEW_API in repo.text("apps/api-service/overlays/staging/kustomization.yaml")
