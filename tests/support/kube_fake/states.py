"""Flux objects in the states Flux documents, for the Kubernetes API fake and for tests.

Each builder returns a Kustomization (kustomize.toolkit.fluxcd.io/v1) or HelmRelease
(helm.toolkit.fluxcd.io/v2) as the API would serve it, shaped as the controllers write
them (kustomize-controller's ``reconcile``/``finalizeStatus``, helm-controller's release
actions, see https://fluxcd.io/flux/components/kustomize/kustomizations/#kustomization-status
and https://fluxcd.io/flux/components/helm/helmreleases/#helmrelease-status):

- at the start of a reconciliation: ``Ready=Unknown`` reason ``Progressing`` ("Reconciliation
  in progress") and ``Reconciling=True``; ``lastAttemptedRevision`` set to the new revision;
- success: ``Ready=True`` reason ``ReconciliationSucceeded`` ("Applied revision: <rev>"),
  ``lastAppliedRevision`` = the revision, ``Reconciling`` removed, ``observedGeneration`` =
  ``metadata.generation``, a history snapshot upserted;
- failure: ``Ready=False`` with reason ``BuildFailed``, ``HealthCheckFailed``,
  ``ReconciliationFailed``..., ``lastAppliedRevision`` left at the last good revision,
  ``Reconciling`` (if present) reason ``ProgressingWithRetry``, ``observedGeneration`` not
  moved;
- terminal errors: ``Stalled=True`` and ``Ready=False`` (e.g. ``InvalidCELExpression``);
- ``spec.suspend: true``: the controller leaves the status as it was.

Every builder's object is valid against Flux's CRD (``crds.load(kind).check``), which the
fake re-checks when serving. Revisions are ``<branch>@sha1:<commit>`` (Flux 2.0+).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KS_API = "kustomize.toolkit.fluxcd.io/v1"
HR_API = "helm.toolkit.fluxcd.io/v2"
SHA_OLD = "1111111111111111111111111111111111111111"
SHA_NEW = "2222222222222222222222222222222222222222"
AT = "2026-12-01T10:00:00Z"
LATER = "2026-12-01T10:05:00Z"
FIRST = "2026-12-01T09:00:00Z"


def git_revision(sha: str, branch: str = "main") -> str:
    """A GitRepository artifact revision as Flux 2.0+ writes it."""
    return f"{branch}@sha1:{sha}"


def condition(
    type_: str, status: str, reason: str, message: str, *, at: str = AT, generation: int = 1
) -> dict[str, Any]:
    """A ``metav1.Condition`` as the Flux controllers set them."""
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
        "observedGeneration": generation,
    }


def _metadata(name: str, namespace: str, generation: int) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "generation": generation,
        "uid": f"00000000-0000-4000-8000-{abs(hash((name, namespace))) % 10**12:012d}",
        "resourceVersion": "1000",
        "creationTimestamp": FIRST,
        "finalizers": ["finalizers.fluxcd.io"],
    }


def ks_snapshot(
    revision: str, status: str, *, first: str = FIRST, last: str = AT
) -> dict[str, Any]:
    """One ``status.history`` entry of a Kustomization."""
    return {
        "digest": "sha256:" + ("ab" * 32),
        "firstReconciled": first,
        "lastReconciled": last,
        "lastReconciledDuration": "2.5s",
        "lastReconciledStatus": status,
        "metadata": {"revision": revision},
        "totalReconciliations": 3,
    }


def kustomization(
    name: str = "web-staging",
    namespace: str = "flux-system",
    *,
    generation: int = 1,
    observed: int | None = 1,
    applied: str | None = None,
    attempted: str | None = None,
    conditions: list[dict[str, Any]] | None = None,
    suspend: bool = False,
    source_kind: str = "GitRepository",
    history: list[dict[str, Any]] | None = None,
    origin: str | None = None,
) -> dict[str, Any]:
    """A Kustomization with the given status fields (None: the field is absent)."""
    status: dict[str, Any] = {"conditions": conditions or []}
    if observed is not None:
        status["observedGeneration"] = observed
    if applied is not None:
        status["lastAppliedRevision"] = applied
    if origin is not None:
        status["lastAppliedOriginRevision"] = origin
    if attempted is not None:
        status["lastAttemptedRevision"] = attempted
    if history:
        status["history"] = history
    spec: dict[str, Any] = {
        "interval": "10m0s",
        "path": f"./env/{name}",
        "prune": True,
        "sourceRef": {"kind": source_kind, "name": "config"},
        "timeout": "5m0s",
        "wait": True,
    }
    if suspend:
        spec["suspend"] = True
    return {
        "apiVersion": KS_API,
        "kind": "Kustomization",
        "metadata": _metadata(name, namespace, generation),
        "spec": spec,
        "status": status,
    }


def ks_ready(
    sha: str = SHA_NEW,
    name: str = "web-staging",
    namespace: str = "flux-system",
    *,
    at: str = AT,
    first: str = FIRST,
) -> dict[str, Any]:
    """Applied and healthy at ``sha`` (Ready=True, ReconciliationSucceeded)."""
    rev = git_revision(sha)
    return kustomization(
        name,
        namespace,
        applied=rev,
        attempted=rev,
        conditions=[
            condition(
                "Ready", "True", "ReconciliationSucceeded", f"Applied revision: {rev}", at=at
            ),
            condition("Healthy", "True", "Succeeded", "Health check passed in 2.1s", at=at),
        ],
        history=[ks_snapshot(rev, "ReconciliationSucceeded", first=first, last=at)],
    )


def ks_build_failed(
    applied: str = SHA_OLD, attempted: str = SHA_NEW, name: str = "web-staging"
) -> dict[str, Any]:
    """kustomize build failed for ``attempted``; ``applied`` is still the last good one."""
    message = (
        "kustomize build failed: accumulating resources: accumulation err='accumulating "
        "resources from 'deployment.yaml': missing Resource metadata'"
    )
    return kustomization(
        name,
        applied=git_revision(applied),
        attempted=git_revision(attempted),
        conditions=[
            condition("Ready", "False", "BuildFailed", message, at=LATER),
            condition("Reconciling", "True", "ProgressingWithRetry", message, at=LATER),
        ],
        history=[ks_snapshot(git_revision(applied), "ReconciliationSucceeded")],
    )


def ks_health_check_failed(
    applied: str = SHA_OLD, attempted: str = SHA_NEW, name: str = "web-staging"
) -> dict[str, Any]:
    """``attempted`` was applied but its workloads never became ready."""
    message = (
        "health check failed after 5m0s: timeout waiting for: "
        "[Deployment/web/web status: 'InProgress']"
    )
    return kustomization(
        name,
        applied=git_revision(applied),
        attempted=git_revision(attempted),
        conditions=[
            condition("Ready", "False", "HealthCheckFailed", message, at=LATER),
            condition("Healthy", "False", "HealthCheckFailed", message, at=LATER),
        ],
        history=[
            ks_snapshot(git_revision(attempted), "HealthCheckFailed", first=LATER, last=LATER),
            ks_snapshot(git_revision(applied), "ReconciliationSucceeded"),
        ],
    )


def ks_reconciling(
    applied: str = SHA_OLD, attempted: str = SHA_NEW, name: str = "web-staging"
) -> dict[str, Any]:
    """Reconciliation of ``attempted`` in progress (Ready=Unknown, Reconciling=True)."""
    return kustomization(
        name,
        applied=git_revision(applied),
        attempted=git_revision(attempted),
        conditions=[
            condition("Ready", "Unknown", "Progressing", "Reconciliation in progress", at=LATER),
            condition(
                "Reconciling",
                "True",
                "Progressing",
                f"Detecting drift for revision {git_revision(attempted)} with a timeout of 5m0s",
                at=LATER,
            ),
        ],
    )


def ks_stalled(name: str = "web-staging") -> dict[str, Any]:
    """A terminal error: the controller will not retry until the spec changes."""
    message = (
        "Reconciliation failed terminally due to configuration error: failed to parse "
        "CEL expression"
    )
    return kustomization(
        name,
        generation=2,
        observed=2,
        applied=git_revision(SHA_OLD),
        attempted=git_revision(SHA_OLD),
        conditions=[
            condition("Ready", "False", "InvalidCELExpression", message, generation=2),
            condition("Stalled", "True", "InvalidCELExpression", message, generation=2),
        ],
    )


def ks_suspended(sha: str = SHA_NEW, name: str = "web-staging") -> dict[str, Any]:
    """``spec.suspend: true``: the last status stays as the controller left it."""
    obj = ks_ready(sha, name)
    obj["spec"]["suspend"] = True
    return obj


def ks_generation_not_observed(sha: str = SHA_OLD, name: str = "web-staging") -> dict[str, Any]:
    """The spec changed (generation 3) and the controller has not reconciled it yet."""
    obj = ks_ready(sha, name)
    obj["metadata"]["generation"] = 3
    obj["status"]["observedGeneration"] = 2
    for cond in obj["status"]["conditions"]:
        cond["observedGeneration"] = 2
    return obj


def ks_new() -> dict[str, Any]:
    """Just created: the API server defaulted ``observedGeneration: -1``, no conditions."""
    return kustomization(observed=-1)


def ks_oci(sha: str = SHA_NEW) -> dict[str, Any]:
    """Applied from an OCIRepository: the revision is the artifact digest, the origin
    revision (from the artifact's annotations) the git commit."""
    digest = "latest@sha256:" + ("cd" * 32)
    return kustomization(
        applied=digest,
        attempted=digest,
        source_kind="OCIRepository",
        origin=git_revision(sha),
        conditions=[
            condition("Ready", "True", "ReconciliationSucceeded", f"Applied revision: {digest}")
        ],
    )


def helmrelease(
    name: str = "web-staging",
    namespace: str = "flux-system",
    *,
    generation: int = 1,
    observed: int = 1,
    conditions: list[dict[str, Any]] | None = None,
    history: list[dict[str, Any]] | None = None,
    attempted: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A HelmRelease of chart ``web`` from a HelmRepository."""
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "conditions": conditions or [],
        "helmChart": f"{namespace}-{name}",
        "storageNamespace": "web",
    }
    if history:
        status["history"] = history
    if attempted is not None:
        status["lastAttemptedRevision"] = attempted
        status["lastAttemptedGeneration"] = generation
        status["lastAttemptedConfigDigest"] = "sha256:" + ("ef" * 32)
    status.update(extra or {})
    return {
        "apiVersion": HR_API,
        "kind": "HelmRelease",
        "metadata": _metadata(name, namespace, generation),
        "spec": {
            "interval": "10m0s",
            "releaseName": "web",
            "targetNamespace": "web",
            "chart": {
                "spec": {
                    "chart": "web",
                    "version": "1.x",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                }
            },
            "values": {"image": {"tag": "1.4.2"}},
        },
        "status": status,
    }


def hr_snapshot(version: str, status: str, release: int) -> dict[str, Any]:
    """One ``status.history`` entry: a Helm release of chart ``web``."""
    return {
        "name": "web",
        "namespace": "web",
        "version": release,
        "status": status,
        "chartName": "web",
        "chartVersion": version,
        "appVersion": "1.4.2",
        "configDigest": "sha256:" + ("ef" * 32),
        "digest": "sha256:" + ("12" * 32),
        "firstDeployed": FIRST,
        "lastDeployed": LATER if release > 1 else AT,
    }


def hr_installed(version: str = "1.2.3") -> dict[str, Any]:
    """Installed and healthy (Ready=True, Released=True)."""
    message = f"Helm install succeeded for release web/web.v1 with chart web@{version}"
    return helmrelease(
        conditions=[
            condition("Ready", "True", "InstallSucceeded", message),
            condition("Released", "True", "InstallSucceeded", message),
        ],
        history=[hr_snapshot(version, "deployed", 1)],
        attempted=version,
    )


def hr_upgrade_failed(previous: str = "1.2.3", version: str = "1.3.0") -> dict[str, Any]:
    """The upgrade to ``version`` failed; the release is left failed, retries counted."""
    message = (
        f"Helm upgrade failed for release web/web with chart web@{version}: context "
        "deadline exceeded"
    )
    return helmrelease(
        conditions=[
            condition("Ready", "False", "UpgradeFailed", message, at=LATER),
            condition("Released", "False", "UpgradeFailed", message, at=LATER),
        ],
        history=[hr_snapshot(version, "failed", 2), hr_snapshot(previous, "superseded", 1)],
        attempted=version,
        extra={"failures": 1, "upgradeFailures": 1, "lastAttemptedReleaseAction": "upgrade"},
    )


def hr_install_failed(version: str = "1.2.3") -> dict[str, Any]:
    """The first install failed."""
    message = f"Helm install failed for release web/web with chart web@{version}: timed out"
    return helmrelease(
        conditions=[
            condition("Ready", "False", "InstallFailed", message),
            condition("Released", "False", "InstallFailed", message),
        ],
        history=[hr_snapshot(version, "failed", 1)],
        attempted=version,
        extra={"failures": 1, "installFailures": 1, "lastAttemptedReleaseAction": "install"},
    )


def hr_upgrading(previous: str = "1.2.3", version: str = "1.3.0") -> dict[str, Any]:
    """An upgrade to ``version`` is running (Ready=Unknown, Reconciling=True)."""
    return helmrelease(
        conditions=[
            condition("Ready", "Unknown", "Progressing", "Fulfilling prerequisites", at=LATER),
            condition(
                "Reconciling",
                "True",
                "Progressing",
                "Running 'upgrade' action with timeout of 5m0s",
                at=LATER,
            ),
            condition("Released", "True", "InstallSucceeded", "Helm install succeeded"),
        ],
        history=[hr_snapshot(previous, "deployed", 1)],
        attempted=version,
    )


@dataclass(frozen=True)
class State:
    """One documented Flux state: ``build()`` gives the object (None: missing)."""

    name: str
    kind: str
    build: Callable[[], dict[str, Any] | None]
    about: str


STATES: tuple[State, ...] = (
    State("ks-ready", "Kustomization", ks_ready, "Ready=True, applied"),
    State("ks-build-failed", "Kustomization", ks_build_failed, "Ready=False BuildFailed"),
    State(
        "ks-health-check-failed",
        "Kustomization",
        ks_health_check_failed,
        "Ready=False HealthCheckFailed",
    ),
    State("ks-reconciling", "Kustomization", ks_reconciling, "Ready=Unknown, Reconciling"),
    State("ks-stalled", "Kustomization", ks_stalled, "Stalled=True"),
    State("ks-suspended", "Kustomization", ks_suspended, "spec.suspend"),
    State(
        "ks-generation-not-observed",
        "Kustomization",
        ks_generation_not_observed,
        "observedGeneration < generation",
    ),
    State("ks-wrong-revision", "Kustomization", lambda: ks_ready(SHA_OLD), "Ready at SHA_OLD"),
    State("ks-new", "Kustomization", ks_new, "created, never reconciled"),
    State("ks-oci", "Kustomization", ks_oci, "from an OCIRepository"),
    State("hr-installed", "HelmRelease", hr_installed, "Ready=True InstallSucceeded"),
    State("hr-install-failed", "HelmRelease", hr_install_failed, "Ready=False InstallFailed"),
    State("hr-upgrade-failed", "HelmRelease", hr_upgrade_failed, "Ready=False UpgradeFailed"),
    State("hr-upgrading", "HelmRelease", hr_upgrading, "Ready=Unknown, Reconciling"),
    State("missing", "Kustomization", lambda: None, "404"),
)
