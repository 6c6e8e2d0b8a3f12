"""A gated environment's kustomization that stops being a regular file of its own.

Argo CD and Flux build whatever a symlinked kustomization points to, and ``promote``
refuses to write through one, so the check never reads such a change as a mere
"removed" pin: it is a render failure on the file, which fails a gated env closed.
A kustomization removed while the overlay directory stays is the same: nothing can
build the env from it any more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import T0, ConfigRepo, failed, overlay, result
from support import gitutil

STAGING = overlay("api-service", "staging")
LATER = T0 + timedelta(days=3)


def _link_to_dev(root: Path) -> None:
    (root / STAGING).symlink_to("../dev/kustomization.yaml")


def _link_outside(root: Path) -> None:
    (root / STAGING).symlink_to("/etc/hostname")


def _removed_beside_a_file(root: Path) -> None:
    (root / STAGING).parent.joinpath("notes.txt").write_text("kept\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_link_to_dev, "is a symlink"),
        (_link_outside, "is a symlink"),
        (_removed_beside_a_file, "is removed while"),
    ],
    ids=["symlink-to-dev", "symlink-outside", "removed-directory-stays"],
)
def test_a_gated_kustomization_that_is_not_a_regular_file_fails_the_check(
    tmp_path: Path, change: Callable[[Path], None], why: str
) -> None:
    """Replacing staging's kustomization.yaml by a symlink (into the repo or out of it), or
    deleting it while its directory stays, fails the render gate of staging on that file:
    exit 1, never "removed" and exit 0."""
    repo = ConfigRepo(tmp_path / "config")
    repo.branch("pr")
    (repo.root / STAGING).unlink()
    change(repo.root)
    gitutil.git("add", "-A", cwd=repo.root)
    gitutil.git("commit", "-q", "-m", "staging overlay", cwd=repo.root)

    data = repo.check_json(now=LATER, code=1)

    assert ("render", "api-service", "staging") in failed(data)
    render = result(data, "render", "api-service", "staging")
    assert why in render["message"]
    assert render["file"] == STAGING
    secret = Path("/etc/hostname").read_text(encoding="utf-8").strip()
    assert not secret or secret not in repo.check(now=LATER, code=1).stdout
