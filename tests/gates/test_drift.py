"""Drift: rendered env vs its upstream, with what should differ normalised away."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitops_promote.config.model import DriftOptions, Environment
from gitops_promote.plan.gates.drift import compare, drift_gate, normalise, parse_ignore

STAGING = Environment(name="staging", path="s", upstream="dev")
PROD = Environment(name="production", path="p", upstream="staging")
PROD_FAIL = Environment(name="production", path="p", upstream="staging", drift=DriftOptions("fail"))


def render(
    *,
    namespace: str = "api-staging",
    image: str = "ghcr.io/o/api@sha256:" + "a" * 64,
    replicas: int = 2,
    env: list[dict[str, str]] | None = None,
    config_name: str = "settings-7f6b4g2c8d",
    config_data: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    container: dict[str, Any] = {
        "name": "api",
        "image": image,
        "envFrom": [{"configMapRef": {"name": config_name}}],
    }
    if env:
        container["env"] = env
    template: dict[str, Any] = {"spec": {"containers": [container]}}
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": config_name, "namespace": namespace},
            "data": config_data or {"LOG": "info"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": namespace},
            "spec": {"replicas": replicas, "template": template},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "api", "namespace": namespace},
            "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": namespace}],
        },
        *(extra or []),
    ]


UPSTREAM = render()
CASES = [
    # (case, production render, ignore, drifted objects)
    (
        "only images, replicas, namespaces and generated-name hashes differ",
        render(
            namespace="api-production",
            image="ghcr.io/o/api:v2@sha256:" + "b" * 64,
            replicas=6,
            config_name="settings-9k2m5t8h4b",
        ),
        (),
        (),
    ),
    (
        "an env var staging lacks",
        render(env=[{"name": "DEBUG", "value": "1"}]),
        (),
        ("Deployment/api",),
    ),
    (
        "generated ConfigMap content",
        render(config_data={"LOG": "debug"}),
        (),
        ("ConfigMap/settings",),
    ),
    (
        "another image repository",
        render(image="docker.io/library/nginx:1"),
        (),
        ("Deployment/api",),
    ),
    (
        "an extra object",
        render(extra=[{"kind": "PodDisruptionBudget", "metadata": {"name": "api"}}]),
        (),
        ("PodDisruptionBudget/api",),
    ),
    (
        "an extra object ignored by kind",
        render(extra=[{"kind": "PodDisruptionBudget", "metadata": {"name": "api"}}]),
        ("PodDisruptionBudget",),
        (),
    ),
    (
        "an annotation ignored by path (JSON pointer escape)",
        render(annotations={"checksum/config": "abc"}),
        ("/spec/template/metadata/annotations/checksum~1config",),
        (),
    ),
    (
        "a path scoped to another kind does not apply",
        render(env=[{"name": "DEBUG", "value": "1"}]),
        ("StatefulSet:/spec/template/spec/containers/*/env",),
        ("Deployment/api",),
    ),
    (
        "a wildcard path scoped to the kind and name",
        render(env=[{"name": "DEBUG", "value": "1"}]),
        ("Deployment/api:/spec/template/spec/containers/*/env",),
        (),
    ),
]


@pytest.mark.parametrize(("case", "prod", "ignore", "drifted"), CASES, ids=[c[0] for c in CASES])
def test_compare(
    case: str, prod: list[dict[str, Any]], ignore: tuple[str, ...], drifted: tuple[str, ...]
) -> None:
    """What is expected to differ is normalised; everything else is drift."""
    found = compare(prod, UPSTREAM, env_label="production", upstream_label="staging", ignore=ignore)
    assert found.changed == drifted
    assert bool(found.diff) is bool(drifted)


def test_diff_is_unified_and_names_both_sides() -> None:
    """The diff reads upstream -> env, with the object headers and the differing line."""
    found = compare(
        render(env=[{"name": "DEBUG", "value": "1"}]),
        UPSTREAM,
        env_label="production: apps/api/overlays/production",
        upstream_label="staging: apps/api/overlays/staging",
    )
    lines = found.diff.splitlines()
    assert lines[0] == "--- staging: apps/api/overlays/staging Deployment/api"
    assert lines[1] == "+++ production: apps/api/overlays/production Deployment/api"
    assert "+        - env:" in lines
    assert "+            - name: DEBUG" in lines
    assert '+              value: "1"' in lines


def test_normalise_does_not_touch_its_input() -> None:
    """Normalising works on copies: the rendered objects stay as they were."""
    objects = render()
    before = copy.deepcopy(objects)
    normalise(objects, ["/spec"])
    assert objects == before


def test_gate_severity_follows_the_config() -> None:
    """Drift warns by default and fails with drift.severity: fail; no drift passes."""
    prod = render(env=[{"name": "DEBUG", "value": "1"}])
    warn, diff = drift_gate("api", PROD, STAGING, prod, UPSTREAM)
    assert (warn.passed, warn.severity, warn.blocking) == (False, "warning", False)
    assert "(drift.severity: warn)" in warn.message
    assert diff
    fail, _ = drift_gate("api", PROD_FAIL, STAGING, prod, UPSTREAM)
    assert (fail.passed, fail.severity, fail.blocking) == (False, "error", True)
    same, diff = drift_gate("api", PROD, STAGING, render(namespace="x"), UPSTREAM)
    assert same.passed
    assert diff == ""
    assert "matches staging apart from images, replicas and namespace" in same.message


@pytest.mark.parametrize(
    ("entry", "kind", "name", "path"),
    [
        ("/spec/replicas", None, None, ("spec", "replicas")),
        ("Deployment:/spec/x", "Deployment", None, ("spec", "x")),
        ("Deployment/api:/a/*/b", "Deployment", "api", ("a", "*", "b")),
        ("HorizontalPodAutoscaler", "HorizontalPodAutoscaler", None, None),
        ("Service/api", "Service", "api", None),
        ("/metadata/annotations/a~1b~0c", None, None, ("metadata", "annotations", "a/b~c")),
    ],
)
def test_parse_ignore(
    entry: str, kind: str | None, name: str | None, path: tuple[str, ...] | None
) -> None:
    """drift.ignore entries: field paths (JSON pointer escapes), scoped paths, whole objects."""
    rule = parse_ignore(entry)
    assert (rule.kind, rule.name, rule.path) == (kind, name, path)


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_the_one_namespace_object_is_compared_under_no_name() -> None:
    """A render's one Namespace object (kustomize's ``namespace:`` renames it to each
    overlay's namespace) is compared with the upstream's one, whatever the two names; its
    labels still count. A second Namespace object is an object of its own: drift."""
    staging = render(extra=[namespace("api-staging", team="api")])
    same = render(namespace="api-production", extra=[namespace("api-production", team="api")])
    found = compare(same, staging, env_label="production", upstream_label="staging")
    assert (found.changed, found.diff) == ((), "")

    relabelled = render(extra=[namespace("api-production", team="payments")])
    found = compare(relabelled, staging, env_label="production", upstream_label="staging")
    assert found.changed == ("Namespace/(the overlay's namespace)",)
    assert "+    team: payments" in found.diff.splitlines()

    two = render(extra=[namespace("api-production", team="api"), namespace("extra")])
    found = compare(two, staging, env_label="production", upstream_label="staging")
    assert set(found.changed) == {
        "Namespace/api-production",
        "Namespace/extra",
        "Namespace/(the overlay's namespace)",
    }
