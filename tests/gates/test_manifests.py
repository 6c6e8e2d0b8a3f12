"""Rendered manifests: Secret/ConfigMap references resolve; require-limits keeps limits."""

from __future__ import annotations

from typing import Any

import pytest

from gitops_promote.config.model import Environment
from gitops_promote.plan.gates.manifests import limits_gate, references, references_gate

PROD = Environment(name="production", path="p", external=("registry-creds",))
STRICT = Environment(name="production", path="p", require_limits=True)


def deployment(
    *,
    env: list[Any] | None = None,
    env_from: list[Any] | None = None,
    volumes: list[Any] | None = None,
    limits: dict[str, str] | None = None,
    kind: str = "Deployment",
    init: bool = False,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "api", "image": "ghcr.io/o/api"}
    if env is not None:
        container["env"] = env
    if env_from is not None:
        container["envFrom"] = env_from
    if limits is not None:
        container["resources"] = {"limits": limits}
    spec: dict[str, Any] = {"containers": [container]}
    if init:
        spec["initContainers"] = [{"name": "migrate", "image": "ghcr.io/o/api"}]
    if volumes is not None:
        spec["volumes"] = volumes
    pod = {"spec": spec}
    body: dict[str, Any] = {"template": pod}
    if kind == "CronJob":
        body = {"jobTemplate": {"spec": {"template": pod}}}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "api", "namespace": "prod"},
        "spec": body,
    }


def obj(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": "prod"}, **extra}


SECRET_ENV = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]
CM_ENV = [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "m"}}}]
OPTIONAL = [
    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "maybe", "key": "x", "optional": True}}}
]

REF_CASES = [
    # (case, objects, passes, words)
    ("secret missing", [deployment(env=SECRET_ENV)], False, "without Secret 'db'"),
    (
        "secret rendered",
        [deployment(env=SECRET_ENV), obj("Secret", "db")],
        True,
        "rendered or external",
    ),
    (
        "configmap missing",
        [deployment(env=CM_ENV)],
        False,
        "ConfigMap 'settings' (env MODE of container api)",
    ),
    ("optional reference", [deployment(env=OPTIONAL)], True, "rendered or external"),
    (
        "envFrom",
        [deployment(env_from=[{"secretRef": {"name": "db"}}])],
        False,
        "envFrom of container api",
    ),
    (
        "volume",
        [deployment(volumes=[{"name": "certs", "secret": {"secretName": "tls"}}])],
        False,
        "Secret 'tls' (volume certs)",
    ),
    (
        "projected volume",
        [
            deployment(
                volumes=[{"name": "all", "projected": {"sources": [{"configMap": {"name": "ca"}}]}}]
            )
        ],
        False,
        "ConfigMap 'ca'",
    ),
    (
        "ExternalSecret provides it",
        [
            deployment(env=SECRET_ENV),
            obj("ExternalSecret", "db-es", spec={"target": {"name": "db"}}),
        ],
        True,
        "rendered or external",
    ),
    (
        "SealedSecret provides it",
        [deployment(env=SECRET_ENV), obj("SealedSecret", "db")],
        True,
        "rendered",
    ),
    (
        "declared external",
        [deployment(env_from=[{"secretRef": {"name": "registry-creds"}}])],
        True,
        "external",
    ),
    (
        "other namespace",
        [
            deployment(env=SECRET_ENV),
            {"kind": "Secret", "metadata": {"name": "db", "namespace": "other"}},
        ],
        False,
        "without Secret 'db'",
    ),
    (
        "cronjob",
        [deployment(env=SECRET_ENV, kind="CronJob")],
        False,
        "CronJob/api uses Secret 'db'",
    ),
]


@pytest.mark.parametrize(
    ("case", "objects", "passes", "words"), REF_CASES, ids=[c[0] for c in REF_CASES]
)
def test_references(case: str, objects: list[dict[str, Any]], passes: bool, words: str) -> None:
    """A Secret/ConfigMap a pod needs must be rendered, created by a rendered resource, or
    declared external; optional references do not count."""
    result = references_gate("api", PROD, objects)
    assert result.passed is passes, result.message
    assert words in result.message


def test_missing_reference_message_says_how_to_fix() -> None:
    """The failure names the overlay to add it to and the external: escape hatch."""
    result = references_gate("api", PROD, [deployment(env=SECRET_ENV)])
    assert "add it to the production overlay (or its ExternalSecret/SealedSecret)" in result.message
    assert "external: of production in promotion.yaml" in result.message


def test_references_lists_each_use_once() -> None:
    """Each reference is found with its owner and where it is used."""
    found = references([deployment(env=SECRET_ENV + CM_ENV)])
    assert [(r.kind, r.name, r.owner, r.via) for r in found] == [
        ("Secret", "db", "Deployment/api", "env PW of container api"),
        ("ConfigMap", "settings", "Deployment/api", "env MODE of container api"),
    ]


LIMIT_CASES = [
    ("limits kept", STRICT, [deployment(limits={"memory": "256Mi"})], True, "have resource limits"),
    ("limits removed", STRICT, [deployment()], False, "Deployment/api container api"),
    ("empty limits", STRICT, [deployment(limits={})], False, "container api"),
    (
        "init container without limits",
        STRICT,
        [deployment(limits={"cpu": "1"}, init=True)],
        False,
        "init container migrate",
    ),
    ("not required", PROD, [deployment()], True, "does not require limits"),
]


@pytest.mark.parametrize(
    ("case", "env", "objects", "passes", "words"), LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES]
)
def test_limits(
    case: str, env: Environment, objects: list[dict[str, Any]], passes: bool, words: str
) -> None:
    """In a require-limits env every container and init container keeps resources.limits."""
    result = limits_gate("api", env, objects)
    assert result.passed is passes, result.message
    assert words in result.message
