"""The guide's four production failure modes, each caught by ``check`` on a real PR branch.

1. a mutable tag promoted to production;
2. config drift between the staging and production overlays;
3. a race in a multi-service promotion (a dependency not promoted first);
4. an environment-specific Secret forgotten in production.

Every test builds a config repo with a dated history on ``main``, branches a pull request
from it and runs ``gitops-promote check`` in a child process, as CI does. Rendering uses
real kustomize (``kubectl kustomize``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import (
    API,
    NEW_API,
    NEW_WORKER,
    T0,
    WORKER,
    ConfigRepo,
    failed,
    overlay,
    result,
)
from support.tools import kustomize_argv

NOW = T0 + timedelta(hours=28)  # Tuesday 13:00 UTC: staging has run NEW_API for 25h


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()  # fails under CI=true when kustomize is missing


def soaked(repo: ConfigRepo, app: str = "api-service", digest: str = NEW_API) -> None:
    """``digest`` went dev (T0+1h) -> staging (T0+3h) on main."""
    image = API if app == "api-service" else WORKER
    repo.promote(app, "dev", f"{image}@{digest}", at=T0 + timedelta(hours=1))
    repo.promote(app, "staging", f"{image}:v1.5.0@{digest}", at=T0 + timedelta(hours=3))


def test_promotion_of_what_staging_soaked_passes(tmp_path: Path) -> None:
    """Production gets staging's digest (tag + digest) after 25h of soak, on a Tuesday: every
    gate passes and check exits 0."""
    repo = ConfigRepo(tmp_path / "config")
    soaked(repo)
    repo.branch("promote/production/api-service")
    repo.promote("api-service", "production", f"{API}:v1.5.0@{NEW_API}", at=NOW)
    run = repo.check(now=NOW, code=0)
    assert "check passed" in run.stdout
    data = repo.check_json(now=NOW, code=0)
    assert failed(data) == []
    assert [r for r in data["results"] if not r["passed"]] == []  # not even a warning
    assert result(data, "soak", "api-service", "production")["passed"]
    assert "soak met" in result(data, "soak", "api-service", "production")["message"]
    target = data["targets"][0]
    assert (target["app"], target["env"], target["to"]) == (
        "api-service",
        "production",
        f"{API}:v1.5.0@{NEW_API}",
    )


# -- 1. mutable tag ----------------------------------------------------------------------------


def test_mutable_tag_in_production_fails_on_the_pin_line(tmp_path: Path) -> None:
    """Production pinned by ``:latest`` (no digest) fails the pinning gate, annotated on the
    overlay line that carries the tag; staging's digest is named by the upstream gate."""
    repo = ConfigRepo(tmp_path / "config")
    soaked(repo)
    repo.branch("pr")
    repo.promote("api-service", "production", f"{API}:latest", at=NOW)
    data = repo.check_json(now=NOW, code=1)
    pinning = result(data, "pinning", "api-service", "production")
    assert not pinning["passed"]
    assert "mutable tag 'latest'" in pinning["message"]
    file = overlay("api-service", "production")
    line = repo.text(file).splitlines()[pinning["line"] - 1]
    assert pinning["file"] == file
    assert "newTag: latest" in line
    upstream = result(data, "upstream", "api-service", "production")
    assert "staging runs sha256:" in upstream["message"]


# -- 2. config drift ---------------------------------------------------------------------------

STAGING_PATCH = """\
  - patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env
        value: [{name: FEATURE_FLAG, value: "on"}]
    target: {kind: Deployment, name: api-service}
"""


def hand_edit_staging(repo: ConfigRepo) -> None:
    """Someone tests a flag in staging and forgets to remove it (on main, T0+2h)."""
    rel = overlay("api-service", "staging")
    text = repo.text(rel) + "patches:\n" + STAGING_PATCH
    repo.commit({rel: text}, at=T0 + timedelta(hours=2), message="try the flag in staging")


def test_drift_between_staging_and_production_is_reported_as_a_diff(tmp_path: Path) -> None:
    """The staging overlay carries a hand edit production lacks: check warns (default
    severity) with a rendered unified diff naming the difference, and still exits 0."""
    repo = ConfigRepo(tmp_path / "config")
    soaked(repo)
    hand_edit_staging(repo)
    repo.branch("pr")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    data = repo.check_json(now=NOW, code=0)
    drift = result(data, "drift", "api-service", "production")
    assert (drift["passed"], drift["severity"]) == (False, "warning")
    assert "Deployment/api-service" in drift["message"]
    diff = data["targets"][0]["drift"]
    assert any(line.startswith("-") and "FEATURE_FLAG" in line for line in diff.splitlines())
    assert "replicas" not in diff
    assert "namespace" not in diff
    text = repo.check(now=NOW, code=0).stdout
    assert "rendered differences, api-service: production vs its upstream" in text


def test_drift_fails_when_configured_and_passes_when_ignored(tmp_path: Path) -> None:
    """``drift.severity: fail`` makes the same drift fail the check; a ``drift.ignore`` path
    for the env list normalises it away."""
    failing = ConfigRepo(tmp_path / "fail")
    config = failing.text("promotion.yaml").replace(
        "    require-digest: true", "    require-digest: true\n    drift: {severity: fail}"
    )
    failing.commit({"promotion.yaml": config}, at=T0, message="drift fails")
    soaked(failing)
    hand_edit_staging(failing)
    failing.branch("pr")
    failing.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    data = failing.check_json(now=NOW, code=1)
    assert ("drift", "api-service", "production") in failed(data)

    ignoring = ConfigRepo(tmp_path / "ignore")
    config = ignoring.text("promotion.yaml").replace(
        "    require-digest: true",
        "    require-digest: true\n    drift:\n      severity: fail\n"
        "      ignore: ['Deployment:/spec/template/spec/containers/*/env']",
    )
    ignoring.commit({"promotion.yaml": config}, at=T0, message="drift ignores env")
    soaked(ignoring)
    hand_edit_staging(ignoring)
    ignoring.branch("pr")
    ignoring.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    data = ignoring.check_json(now=NOW, code=0)
    assert result(data, "drift", "api-service", "production")["passed"]


# -- 3. race in a multi-service promotion -----------------------------------------------------


def test_dependency_not_promoted_first_fails_and_says_which(tmp_path: Path) -> None:
    """worker depends on api-service: promoting worker to production while production still
    runs the old api-service (staging verified worker with the new one) fails, naming
    api-service as the one to promote first; promoting both in one PR passes."""
    repo = ConfigRepo(tmp_path / "config")
    soaked(repo, "api-service", NEW_API)
    soaked(repo, "worker", NEW_WORKER)
    repo.branch("worker-only")
    repo.promote("worker", "production", f"{WORKER}@{NEW_WORKER}", at=NOW)
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("dependencies", "worker", "production")]
    message = result(data, "dependencies", "worker", "production")["message"]
    assert "Promote api-service to production first" in message
    assert "api-service runs sha256:f9811b73ac5d… in production" in message

    repo.switch("main")
    repo.branch("both")
    repo.commit(
        {
            **repo.pinned("api-service", "production", f"{API}@{NEW_API}"),
            **repo.pinned("worker", "production", f"{WORKER}@{NEW_WORKER}"),
        },
        at=NOW,
        message="promote api-service and worker to production",
    )
    data = repo.check_json(now=NOW, code=0)
    assert result(data, "dependencies", "worker", "production")["passed"]


# -- 4. a forgotten environment-specific Secret ------------------------------------------------

BASE_WITH_SECRET = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-service
  labels:
    app: api-service
spec:
  replicas: 1
  selector:
    matchLabels:
      app: api-service
  template:
    metadata:
      labels:
        app: api-service
    spec:
      containers:
        - name: api-service
          image: ghcr.io/myorg/api-service:placeholder
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: api-db, key: password}
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
"""

EXTERNAL_SECRET = """\
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: api-db
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  data:
    - secretKey: password
      remoteRef: {key: api/db, property: password}
"""


def add_secret(repo: ConfigRepo, env: str) -> dict[str, str]:
    """The env's overlay with the ExternalSecret of api-db added."""
    rel = overlay("api-service", env)
    text = repo.text(rel).replace("  - ../../base\n", "  - ../../base\n  - db-secret.yaml\n")
    return {rel: text, f"apps/api-service/overlays/{env}/db-secret.yaml": EXTERNAL_SECRET}


def test_secret_added_in_dev_and_staging_but_forgotten_in_production(tmp_path: Path) -> None:
    """A new env var reads Secret api-db; dev and staging got its ExternalSecret, production
    did not: promoting to production fails the references gate, naming the Secret and the
    container; adding the ExternalSecret to production in the same PR passes."""
    repo = ConfigRepo(tmp_path / "config")
    files = {"apps/api-service/base/deployment.yaml": BASE_WITH_SECRET}
    for env in ("dev", "staging"):
        files.update(add_secret(repo, env))
    repo.commit(files, at=T0 + timedelta(minutes=30), message="api-service reads the db password")
    soaked(repo)
    repo.branch("pr")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("references", "api-service", "production")]
    message = result(data, "references", "api-service", "production")["message"]
    assert "without Secret 'api-db'" in message
    assert "env DB_PASSWORD of container api-service" in message

    repo.commit(add_secret(repo, "production"), at=NOW, message="production secret")
    data = repo.check_json(now=NOW, code=0)
    assert result(data, "references", "api-service", "production")["passed"]
