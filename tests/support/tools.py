"""Find the external tools tests need; under CI=true a missing tool fails the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(what: str, how: str) -> None:
    """Fail under CI (a missing install step must not hide), else skip loudly."""
    message = f"{what} is not available: {how}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


def which(name: str) -> str | None:
    """``name`` on PATH, or beside the running Python (the venv's bin/, when the suite is
    run as ``.venv/bin/python -m pytest`` without activating the venv)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def require_binary(name: str, how: str) -> str:
    path = which(name)
    if path is None:
        missing(name, how)
        raise AssertionError("unreachable")
    return path


def kustomize_argv() -> list[str]:
    """argv prefix that renders an overlay: ``kustomize build`` or ``kubectl kustomize``."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    kubectl = shutil.which("kubectl")
    if kubectl:
        probe = subprocess.run([kubectl, "kustomize", "--help"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [kubectl, "kustomize"]
    missing("kustomize", "tests/run.sh installs kubectl from .ci/kubectl.lock")
    raise AssertionError("unreachable")
