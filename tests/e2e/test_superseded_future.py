"""A request time from the future never silences later promotions.

A ``mode: push`` promotion leaves a pin alone when a newer promotion of it landed in the
last day (its ``Promoted-At`` trailer at or after this request). A trailer from the future
(written by hand, or by a run whose --now was years ahead before that was refused) is not
a newer request: trusted, every promotion of the overlay would say "superseded" until
that date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import gitutil
from support.inprocess import cli
from support.repos import ConfigRepo, digest_of

DEV = "apps/api-service/overlays/dev/kustomization.yaml"


def _pin_dev(config_repo: ConfigRepo, digest: str, trailer: str) -> None:
    """A commit landed an hour ago that pins ``digest`` in dev, with a Promoted-At."""
    text = gitutil.read_file(config_repo.bare, "main", DEV).decode()
    old = next(line for line in text.splitlines() if "digest: sha256:" in line)
    new_text = text.replace(old, old.split("digest:")[0] + f"digest: {digest}")
    config_repo.server.seed(
        config_repo.name,
        {DEV: new_text},
        message=f"chore(dev): promote api-service\n\nPromoted-At: {trailer}\n",
        date=datetime.now(UTC) - timedelta(hours=1),
    )


def _pinned(config_repo: ConfigRepo) -> str:
    return gitutil.read_file(config_repo.bare, "main", DEV).decode()


@pytest.mark.parametrize(
    "trailer", ["2099-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"], ids=["2099", "9999"]
)
def test_a_promoted_at_from_the_future_does_not_supersede_a_promotion(
    config_repo: ConfigRepo, tmp_path: Path, trailer: str
) -> None:
    """After a commit whose Promoted-At lies in the future, a promotion of the same overlay
    requested now is pushed (not "superseded by a newer promotion", exit 0 with the remote
    unchanged)."""
    _pin_dev(config_repo, digest_of("from-the-future"), trailer)
    wanted = digest_of("build-now")
    run = cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        wanted,
        "--skip-registry-check",
        cwd=tmp_path,
        env=config_repo.env,
    )
    assert "dev: pushed" in run.stdout, run.output
    assert "superseded" not in run.output
    assert f"digest: {wanted}" in _pinned(config_repo)
    (message,) = [c.message for c in gitutil.list_commits(config_repo.bare, "main", extra=["-1"])]
    assert "Promoted-At: " in message
    assert trailer not in message
