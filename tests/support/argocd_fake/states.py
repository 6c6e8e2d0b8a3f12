"""Argo CD Applications in the states Argo CD documents, as fixture builders.

Each builder returns a fresh ``v1alpha1Application`` dict (valid against the trimmed
swagger: the fake checks it again when serving). :func:`application` is the general
builder; the named ones are the table the tests walk (:data:`STATES`).

Times are RFC 3339 in UTC as Argo CD writes them; revisions are 40-hex commit SHAs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

REVISION = "3f1c5d7e9a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d"
OTHER_REVISION = "0123456789abcdef0123456789abcdef01234567"
CHART_REVISION = "1.4.2"
REPO = "https://git.example.com/org/deploy.git"
CHARTS = "https://charts.example.com"
IMAGE = "registry.example.com/web@sha256:" + "a" * 64
STARTED = "2026-12-01T10:00:00Z"
FINISHED = "2026-12-01T10:00:30Z"
RECONCILED = "2026-12-01T10:01:00Z"
BEFORE_FINISH = "2026-12-01T09:59:00Z"


def application(
    name: str = "web-staging",
    namespace: str = "argocd",
    *,
    sync: str | None = "Synced",
    health: str | None = "Healthy",
    revision: str | None = REVISION,
    revisions: Sequence[str] | None = None,
    phase: str | None = "Succeeded",
    message: str = "successfully synced (all tasks run)",
    started_at: str | None = STARTED,
    finished_at: str | None = FINISHED,
    reconciled_at: str | None = RECONCILED,
    conditions: Sequence[tuple[str, str]] = (),
    images: Sequence[str] = (IMAGE,),
    sources: Sequence[dict[str, Any]] | None = None,
    path: str = "overlays/staging",
    operation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Application; ``None`` leaves a status field out (Argo CD omits empty ones)."""
    spec: dict[str, Any] = {
        "project": "default",
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }
    if sources is None:
        spec["source"] = {"repoURL": REPO, "path": path, "targetRevision": "main"}
    else:
        spec["sources"] = [dict(s) for s in sources]
    status: dict[str, Any] = {"sourceType": "Kustomize", "controllerNamespace": namespace}
    sync_status: dict[str, Any] = {}
    if sync is not None:
        sync_status["status"] = sync
    if revision is not None:
        sync_status["revision"] = revision
    if revisions is not None:
        sync_status["revisions"] = list(revisions)
    if sync_status:  # what was compared: a copy of the spec's destination and sources
        compared = {k: spec[k] for k in ("destination", "source", "sources") if k in spec}
        sync_status["comparedTo"] = copy.deepcopy(compared)
        status["sync"] = sync_status
    if health is not None:
        status["health"] = {"status": health, "lastTransitionTime": STARTED}
    if phase is not None:
        state: dict[str, Any] = {
            "phase": phase,
            "message": message,
            "operation": {"sync": {"revision": revision or ""}, "initiatedBy": {"automated": True}},
        }
        if started_at is not None:
            state["startedAt"] = started_at
        if finished_at is not None and phase not in ("Running", "Terminating"):
            state["finishedAt"] = finished_at
        if phase in ("Succeeded", "Failed") and revision is not None:
            state["syncResult"] = {"revision": revision, "resources": []}
        status["operationState"] = state
    if reconciled_at is not None:
        status["reconciledAt"] = reconciled_at
        status["observedAt"] = reconciled_at
    if conditions:
        status["conditions"] = [
            {"type": kind, "message": text, "lastTransitionTime": RECONCILED}
            for kind, text in conditions
        ]
    if images:
        status["summary"] = {"images": list(images)}
    app: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": "7d9b2c1e-0000-4000-8000-000000000001",
            "resourceVersion": "12345",
            "generation": 7,
            "creationTimestamp": "2026-11-01T00:00:00Z",
        },
        "spec": spec,
        "status": status,
    }
    if operation is not None:
        app["operation"] = operation
    return app


def synced_healthy(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    return application(name, namespace)


def out_of_sync(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """Git moved on (or someone edited the cluster); auto-sync off or not yet run."""
    return application(name, namespace, sync="OutOfSync", revision=OTHER_REVISION)


def progressing(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """Synced, the rollout still going (a Deployment's new ReplicaSet not yet available)."""
    return application(name, namespace, health="Progressing")


def degraded(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    return application(name, namespace, health="Degraded")


def suspended(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """A suspended resource (a paused Rollout, a suspended CronJob)."""
    return application(name, namespace, health="Suspended")


def missing_health(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """The Application exists; its resources do not (never synced): health Missing."""
    return application(name, namespace, sync="OutOfSync", health="Missing", phase=None, images=())


def stale_reconcile(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """The last sync finished after the last comparison: status describes the past."""
    return application(name, namespace, reconciled_at=BEFORE_FINISH)


def comparison_error(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    return application(
        name,
        namespace,
        sync="Unknown",
        health="Healthy",
        conditions=(
            (
                "ComparisonError",
                "Failed to load target state: failed to generate manifest for source 1 of 1: "
                "rpc error: code = Unknown desc = kustomize build failed",
            ),
        ),
    )


def wrong_revision(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """Synced and Healthy, but to a commit that is not the one git's pin is in."""
    return application(name, namespace, revision=OTHER_REVISION)


def multi_source(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    """A chart from a Helm repository plus this repository's values (spec.sources)."""
    return application(
        name,
        namespace,
        revision=None,
        revisions=(CHART_REVISION, REVISION),
        sources=(
            {"repoURL": CHARTS, "chart": "web", "targetRevision": "1.4.x"},
            {
                "repoURL": REPO,
                "path": "overlays/staging",
                "targetRevision": "main",
                "ref": "values",
            },
        ),
    )


def operation_running(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    return application(
        name,
        namespace,
        sync="OutOfSync",
        health="Progressing",
        phase="Running",
        message="waiting for healthy state of apps/Deployment/web",
    )


def operation_failed(name: str = "web-staging", namespace: str = "argocd") -> dict[str, Any]:
    return application(
        name,
        namespace,
        sync="OutOfSync",
        health="Healthy",
        phase="Failed",
        message='one or more objects failed to apply, reason: Deployment "web" is invalid',
        conditions=(("SyncError", "Failed sync attempt: one or more objects failed to apply"),),
    )


@dataclass(frozen=True)
class State:
    """One row of the table: a builder and what a reading of it must say."""

    build: Callable[..., dict[str, Any]]
    sync: str
    health: str
    revision: str | None = REVISION
    phase: str | None = "Succeeded"
    stale: bool = False
    error: str = ""  # a substring of the reading's error ("" : no error)


STATES: dict[str, State] = {
    "synced-healthy": State(synced_healthy, "Synced", "Healthy"),
    "out-of-sync": State(out_of_sync, "OutOfSync", "Healthy", revision=OTHER_REVISION),
    "progressing": State(progressing, "Synced", "Progressing"),
    "degraded": State(degraded, "Synced", "Degraded"),
    "suspended": State(suspended, "Synced", "Suspended"),
    "missing": State(missing_health, "OutOfSync", "Missing", phase=None),
    "stale-reconcile": State(stale_reconcile, "Synced", "Healthy", stale=True),
    "comparison-error": State(comparison_error, "Unknown", "Healthy", error="ComparisonError"),
    "wrong-revision": State(wrong_revision, "Synced", "Healthy", revision=OTHER_REVISION),
    "multi-source": State(multi_source, "Synced", "Healthy", revision=None),
    "operation-running": State(
        operation_running, "OutOfSync", "Progressing", phase="Running", stale=True
    ),
    "operation-failed": State(
        operation_failed, "OutOfSync", "Healthy", phase="Failed", error="SyncError"
    ),
}
