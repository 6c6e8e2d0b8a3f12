"""The pipeline's layers hold: import-linter's contracts in ``.importlinter`` pass.

``commands`` → ``deliver`` → ``report`` → ``plan`` → ``facts`` → ``apply`` → ``config`` →
``adapters`` → ``images`` → ``errors``: nothing imports upward, and ``plan`` and ``apply``
reach no I/O adapter, subprocess or socket, not even through another module.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / ".importlinter"


def _lint_imports() -> str:
    found = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    assert Path(found).exists(), "lint-imports is missing: install requirements-dev.lock"
    return found


def test_contract_names_every_package_as_a_layer() -> None:
    """Every package of gitops_promote is placed in the layers contract: a new package
    cannot slip in beside the pipeline without a place in it."""
    config = configparser.ConfigParser()
    config.read(CONTRACT)
    layers = config["importlinter:contract:layers"]["layers"]
    placed = {name.strip() for line in layers.splitlines() for name in line.split("|")}
    package = REPO / "src" / "gitops_promote"
    for child in sorted(package.iterdir()):
        if child.name.startswith("_") or child.name == "py.typed":
            continue
        if child.is_dir() and not (child / "__init__.py").exists():
            continue
        name = f"gitops_promote.{child.stem}"
        if child.suffix not in ("", ".py"):
            continue
        assert name in placed, f".importlinter does not place {name} in a layer"


def test_layers_hold() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [_lint_imports(), str(CONTRACT), "--no-cache"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout
