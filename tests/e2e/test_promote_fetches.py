"""How many times a dev promotion goes back to the git server: the gated overlays the
push guard reads come with the promoted overlay's fetch, not in a round trip of their
own; and the guard still refuses what it refused (tests/git/test_gitrepo_guard.py)."""

from __future__ import annotations

from pathlib import Path

from support import gitutil
from support.repos import ConfigRepo, cli, digest_of


def _fetches(trace: Path) -> int:
    """git fetch processes (the lazy fetches of a partial clone included)."""
    return sum("trace: built-in: git fetch" in line for line in trace.read_text().splitlines())


def test_dev_push_fetches_the_gated_overlays_with_its_own(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.txt"
    digest = digest_of("build-fetches")
    run = cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest,
        "--skip-registry-check",
        cwd=tmp_path,
        env={**config_repo.env, "GIT_TRACE": str(trace)},
    )
    assert "dev: pushed" in run.stdout
    dev = "apps/api-service/overlays/dev/kustomization.yaml"
    assert digest.encode() in gitutil.read_file(config_repo.bare, "main", dev)
    # promotion.yaml (checkout), the overlays (sparse-checkout add: dev, staging and
    # production), what those are built from (the base the guard reads): three, where
    # the gated overlays once took a fourth
    assert _fetches(trace) == 3
    assert config_repo.server.token not in trace.read_text()
