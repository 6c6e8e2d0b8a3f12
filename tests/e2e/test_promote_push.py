"""End to end through the CLI: dev promotions pushed to a config repo over HTTP with auth."""

from __future__ import annotations

from pathlib import Path

from support import gitutil
from support.repos import ConfigRepo, cli, digest_of

DEV = "apps/api-service/overlays/dev/kustomization.yaml"


def _log(repo: ConfigRepo) -> list[str]:
    return gitutil.git("log", "--format=%s", "main", cwd=repo.bare).splitlines()


def test_dev_promotion_lands_one_commit_with_one_line_diff(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A dev promotion pushes exactly one commit whose overlay diff is one line."""
    digest = digest_of("build-42")
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
        env=config_repo.env,
    )
    assert "dev: pushed" in run.stdout
    assert _log(config_repo) == [
        f"chore(dev): promote api-service to {digest[:19]}",
        "Initial config",
    ]
    diff = gitutil.git("diff", "main~1", "main", cwd=config_repo.bare)
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(changed) == 2
    assert changed[0].startswith("-    digest: sha256:")
    assert changed[1] == f"+    digest: {digest}"
    assert config_repo.server.token not in run.output


def test_rerun_is_a_noop(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Promoting what is already in place changes nothing and says so, exit 0."""
    args = (
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("build-7"),
        "--skip-registry-check",
        "--json",
    )
    cli(*args, cwd=tmp_path, env=config_repo.env)
    before = gitutil.rev_parse(config_repo.bare, "main")
    again = cli(*args, cwd=tmp_path, env=config_repo.env)
    assert '"operation": "unchanged"' in again.stdout
    assert gitutil.rev_parse(config_repo.bare, "main") == before


def test_dry_run_prints_diff_and_writes_nothing(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """--dry-run shows the one-line diff and pushes nothing."""
    before = gitutil.rev_parse(config_repo.bare, "main")
    run = cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("x"),
        "--skip-registry-check",
        "--dry-run",
        cwd=tmp_path,
        env=config_repo.env,
    )
    assert f"+    digest: {digest_of('x')}" in run.stdout
    assert gitutil.rev_parse(config_repo.bare, "main") == before


def test_batch_promotes_several_apps_in_one_commit(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """--app a,b pins both apps in a single commit."""
    cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service,worker",
        "--env",
        "dev",
        "--digest",
        digest_of("shared"),
        "--skip-registry-check",
        cwd=tmp_path,
        env=config_repo.env,
    )
    files = gitutil.git("show", "--name-only", "--format=", "main", cwd=config_repo.bare).split()
    assert sorted(files) == [DEV, "apps/worker/overlays/dev/kustomization.yaml"]


def test_missing_token_is_a_clear_error(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Without a token the server says 401: one clear line, exit 2 or 3, no traceback."""
    run = cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("y"),
        "--skip-registry-check",
        cwd=tmp_path,
        check=None,
    )
    assert run.returncode in (2, 3)
    assert "Traceback" not in run.output
    assert run.stderr.startswith("error: ")


def test_status_over_remote_shows_since(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """status lists every app x env with the commit and date since which it is pinned."""
    run = cli("status", "--remote", config_repo.url, "--json", cwd=tmp_path, env=config_repo.env)
    import json

    rows = json.loads(run.stdout)
    assert {(r["app"], r["env"]) for r in rows} == {
        (a, e) for a in ("api-service", "worker") for e in ("dev", "staging", "production")
    }
    assert all(r["since"].startswith("2026-11-20T10:00:00") for r in rows)
