"""``sha512:`` digests end to end through the CLI, as the README's exit-code table says:
a dev push pins one, kustomize renders it, ``status`` and ``history`` show it, the gated
promotion opens a pull request pinning it, and ``check`` passes that pull request. Only a
digest that is neither ``sha256:`` + 64 hex nor ``sha512:`` + 128 hex is bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from support import gitutil
from support.inprocess import cli
from support.repos import Platform
from support.tools import kustomize_argv

DEV = "apps/api-service/overlays/dev"
STAGING = "apps/api-service/overlays/staging"
IMAGE = "ghcr.io/myorg/api-service"
DIGEST = "sha512:" + hashlib.sha512(b"api-service build 2.0.0").hexdigest()


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()  # fails under CI=true when kustomize is missing


def test_sha512_digest_from_dev_push_to_a_checked_staging_pr(
    platform: Platform, tmp_path: Path
) -> None:
    """promote (push to dev, then a PR for staging), status, history and check all take a
    sha512 digest as they take a sha256 one; the rendered dev overlay runs
    ``name@sha512:...`` exactly. (staging's soak is dropped so that the test needs no
    future clock.)"""
    config = gitutil.read_file(platform.bare, "main", "promotion.yaml").decode()
    assert "    soak: 1h" in config
    platform.git.seed(
        platform.repo,
        {"promotion.yaml": config.replace("    soak: 1h", "", 1)},
        message="staging without soak",
        date="2026-11-21T10:00:00+00:00",
    )
    common = ("--config-repo", platform.repo, "--skip-registry-check", "--app", "api-service")
    pushed = cli(
        "promote", *common, "--env", "dev", "--digest", DIGEST, "--json", cwd=tmp_path,
        env=platform.env,
    )  # fmt: skip
    assert json.loads(pushed.stdout)["operation"] == "pushed"
    dev = gitutil.read_file(platform.bare, "main", f"{DEV}/kustomization.yaml").decode()
    assert f"    digest: {DIGEST}\n" in dev

    checkout = tmp_path / "checkout"
    gitutil.git("clone", "-q", str(platform.bare), str(checkout))
    rendered = subprocess.run(
        [*kustomize_argv(), str(checkout / DEV)], capture_output=True, text=True, check=True
    ).stdout
    assert f"image: {IMAGE}@{DIGEST}\n" in rendered

    rows = json.loads(cli("status", "--repo", str(checkout), "--json", cwd=tmp_path).stdout)
    (row,) = [r for r in rows if (r["app"], r["env"]) == ("api-service", "dev")]
    assert row["digest"] == DIGEST
    assert row["image"] == f"{IMAGE}@{DIGEST}"
    history = cli("history", "--repo", str(checkout), "--app", "api-service", "--env", "dev")
    assert DIGEST[:19] in history.stdout

    opened = cli("promote", *common, "--env", "staging", "--json", cwd=tmp_path, env=platform.env)
    assert json.loads(opened.stdout)["operation"] == "pr-created"
    branch = "promote/staging/api-service"
    staged = gitutil.read_file(platform.bare, branch, f"{STAGING}/kustomization.yaml").decode()
    assert f"    digest: {DIGEST}\n" in staged

    gitutil.git("fetch", "-q", "origin", cwd=checkout)
    checked = cli(
        "check", "--repo", str(checkout), "--base", "main", "--head", f"origin/{branch}",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    data = json.loads(checked.stdout)
    assert [r for r in data["results"] if not r["passed"]] == []
    (target,) = data["targets"]
    assert (target["env"], target["to"]) == ("staging", f"{IMAGE}@{DIGEST}")


def test_a_digest_of_neither_algorithm_is_bad_input(platform: Platform, tmp_path: Path) -> None:
    """sha512 with 64 hex (a sha256's length) is refused before anything is cloned:
    exit 2, the fix named, nothing pushed."""
    before = gitutil.rev_parse(platform.bare, "main")
    run = cli(
        "promote", "--config-repo", platform.repo, "--skip-registry-check", "--app",
        "api-service", "--env", "dev", "--digest", "sha512:" + "a" * 64, cwd=tmp_path,
        env=platform.env, check=2,
    )  # fmt: skip
    assert "128 lowercase hex" in run.stderr
    assert "Traceback" not in run.output
    assert gitutil.rev_parse(platform.bare, "main") == before
