"""``validate`` on a config repo whose overlays have no ``images:`` entry yet (a newcomer's
repo before its first promotion), through the CLI.

When what the overlay renders (real kustomize) already runs the app's image from its base,
the first ``promote`` adds the entry: validate says so in a note and exits 0. When the
rendered manifests do not run the app's image, nothing would pin it: a problem, exit 2.
Both for a checkout (the work tree is rendered) and a fresh sparse clone (``--remote``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE, digest_of
from support.tools import kustomize_argv

ENVS = ("dev", "staging", "production")
API_OVERLAYS = [f"apps/api-service/overlays/{env}/kustomization.yaml" for env in ENVS]


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()  # fails under CI=true when kustomize is missing


def without_images(root: Path, base_image: str | None = None) -> Path:
    """examples/config-repo committed at ``root`` with api-service's three overlays
    stripped of their ``images:`` entries; ``base_image`` replaces the image its base
    deployment runs."""
    shutil.copytree(EXAMPLE, root)
    for rel in API_OVERLAYS:
        path = root / rel
        text = re.sub(r"images:\n(?:  .*\n)+", "", path.read_text(encoding="utf-8"))
        assert "images:" not in text
        path.write_text(text, encoding="utf-8")
    if base_image is not None:
        deployment = root / "apps/api-service/base/deployment.yaml"
        text = deployment.read_text(encoding="utf-8")
        deployment.write_text(
            text.replace("ghcr.io/myorg/api-service:placeholder", base_image), encoding="utf-8"
        )
    gitutil.init_repo(root)
    gitutil.commit_files(root, {}, message="config before the first promotion")
    return root


def test_overlays_without_images_entry_are_a_note_when_the_base_runs_the_image(
    tmp_path: Path,
) -> None:
    """The base runs ghcr.io/myorg/api-service:placeholder: validate exits 0 and notes,
    per overlay, that promote will add the entry; --json lists the notes and no problem;
    a promote then adds the entry and validate has nothing left to note."""
    repo = without_images(tmp_path / "config")
    run = cli("validate", cwd=repo)
    notes = [line for line in run.stdout.splitlines() if line.startswith("note: ")]
    assert [line.split(":")[1].strip() for line in notes] == API_OVERLAYS
    for line in notes:
        assert "ghcr.io/myorg/api-service:placeholder" in line
        assert "`gitops-promote promote` will add the entry" in line
    assert "valid; 3 overlays carry their app's image, 3 get it from their first promote" in (
        run.stdout
    )
    assert run.stderr == ""

    data = json.loads(cli("validate", "--json", cwd=repo).stdout)
    assert data["valid"] is True
    assert data["problems"] == []
    assert [n["file"] for n in data["notes"]] == API_OVERLAYS

    cli(
        "promote",
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("first build"),
        "--skip-registry-check",
        "--no-push",
        cwd=repo,
    )
    assert "images:" in (repo / API_OVERLAYS[0]).read_text(encoding="utf-8")
    after = cli("validate", cwd=repo).stdout
    assert API_OVERLAYS[0] not in after
    assert "4 overlays carry their app's image, 2 get it" in after


def test_a_sparse_clone_renders_the_base_too(tmp_path: Path) -> None:
    """--remote clones only promotion.yaml and the overlays; the base is still rendered
    (from the commit's tree), so the notes are the same as in a checkout."""
    repo = without_images(tmp_path / "config")
    bare = tmp_path / "config.git"
    gitutil.git("clone", "-q", "--bare", str(repo), str(bare))
    run = cli("validate", "--remote", f"file://{bare}", cwd=tmp_path)
    notes = [line for line in run.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) == 3
    assert "3 get it from their first promote" in run.stdout


def test_overlays_without_images_entry_are_problems_when_nothing_runs_the_image(
    tmp_path: Path,
) -> None:
    """The base runs another image (ghcr.io/myorg/other:1): no promote could pin
    api-service there, so each overlay is a problem (exit 2, file named), as before."""
    repo = without_images(tmp_path / "config", base_image="ghcr.io/myorg/other:1")
    run = cli("validate", cwd=repo, check=2)
    for rel in API_OVERLAYS:
        assert f"{rel}: does not pin api-service's image ghcr.io/myorg/api-service" in run.stderr
    assert "note:" not in run.output
    assert "Traceback" not in run.output
