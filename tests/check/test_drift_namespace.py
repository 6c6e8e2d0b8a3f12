"""Drift and kustomize's ``namespace:``: a base that contains a Namespace object renders,
in each overlay, a Namespace named after that overlay's ``namespace:`` (kustomize renames
it). Drift treats that rename like every other namespace difference: expected, not drift.
What the Namespace object carries besides its name is still compared.

Rendered by real kustomize (``kubectl kustomize``) through ``gitops-promote check`` on a
pull-request branch, as CI runs it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo, overlay, result
from support.tools import kustomize_argv

NOW = T0 + timedelta(hours=28)  # Tuesday 13:00 UTC: staging has run NEW_API for 25h
BASE = "apps/api-service/base"
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: api
  labels:
    team: platform
"""


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()  # fails under CI=true when kustomize is missing


def repo_with_namespace_in_base(root: Path) -> ConfigRepo:
    """The example config repo with a Namespace object in api-service's base (so staging
    renders Namespace/api-staging and production Namespace/api-production), and
    production promoted to what staging has soaked, on a PR branch."""
    repo = ConfigRepo(root)
    kustomization = repo.text(f"{BASE}/kustomization.yaml").replace(
        "resources:\n", "resources:\n  - namespace.yaml\n"
    )
    assert "namespace.yaml" in kustomization
    repo.commit(
        {f"{BASE}/namespace.yaml": NAMESPACE, f"{BASE}/kustomization.yaml": kustomization},
        at=T0,
        message="api-service gets its own namespace",
    )
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    return repo


def test_renamed_namespace_object_is_not_drift(tmp_path: Path) -> None:
    """staging renders Namespace/api-staging and production Namespace/api-production from
    the same base Namespace: the drift gate passes (no warning), and its diff is empty."""
    repo = repo_with_namespace_in_base(tmp_path / "config")
    staging = repo.root / "apps/api-service/overlays/staging"
    rendered = kustomize_render(staging)
    assert "kind: Namespace" in rendered
    assert "name: api-staging" in rendered  # kustomize did rename it
    repo.branch("promote/production/api-service")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    data = repo.check_json(now=NOW, code=0)
    drift = result(data, "drift", "api-service", "production")
    assert drift["passed"], drift
    assert not data["targets"][0].get("drift")


def test_what_the_namespace_object_carries_is_still_compared(tmp_path: Path) -> None:
    """The Namespace object's labels differ between staging and production: that is
    drift, reported on the Namespace object with the label in the diff."""
    repo = repo_with_namespace_in_base(tmp_path / "config")
    rel = overlay("api-service", "staging")
    patch = (
        "patches:\n"
        "  - patch: |-\n"
        "      - op: add\n"
        "        path: /metadata/labels/istio-injection\n"
        "        value: enabled\n"
        "    target: {kind: Namespace}\n"
    )
    repo.commit({rel: repo.text(rel) + patch}, at=T0 + timedelta(hours=4), message="istio")
    repo.branch("promote/production/api-service")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    data = repo.check_json(now=NOW, code=0)
    drift = result(data, "drift", "api-service", "production")
    assert (drift["passed"], drift["severity"]) == (False, "warning")
    assert "Namespace/" in drift["message"]
    assert "Deployment" not in drift["message"]
    diff = data["targets"][0]["drift"]
    assert any(line.startswith("-") and "istio-injection" in line for line in diff.splitlines())
    assert "api-staging" not in diff
    assert "api-production" not in diff


def kustomize_render(directory: Path) -> str:
    import subprocess

    proc = subprocess.run(
        [*kustomize_argv(), str(directory)], capture_output=True, text=True, check=True
    )
    return proc.stdout
