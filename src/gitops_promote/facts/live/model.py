"""The one shape of a live reading, whichever controller it came from (pure values).

A :class:`LiveReading` is what one controller object says about one (app, env): the
revision it synced, its sync and health status, its last operation, its conditions and the
images it reports. A :class:`LiveFailure` is why there is no reading (the controller could
not be asked, or said no). :class:`LiveState` is the verdict over a reading and git: what
the env runs, as ``status --live`` shows it and the ``live`` gate judges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Controller = Literal["argocd", "flux"]

# Argo CD's sync statuses; Flux maps its Ready condition onto them (see .flux).
Sync = Literal["Synced", "OutOfSync", "Unknown"]
# Argo CD's health statuses (Flux: Ready=True -> Healthy, Ready=False -> Degraded,
# Ready=Unknown/reconciling -> Progressing, spec.suspend -> Suspended, 404 -> Missing).
Health = Literal["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]
# The last operation's phase (Argo CD operationState.phase; Flux: None).
Phase = Literal["Running", "Succeeded", "Failed", "Error", "Terminating"]

# What ``status --live`` shows and the ``live`` gate reads, in order of trust.
LiveStatus = Literal["synced", "out-of-sync", "progressing", "degraded", "unknown"]

# Why there is no reading: the controller was not reachable (network, timeout, 5xx after
# retries), refused the credentials (401/403), or has no such object (404 on the object
# itself is a reading with health Missing, not a failure, when the API answered).
FailureKind = Literal["unreachable", "unauthorized", "forbidden", "invalid"]


@dataclass(frozen=True)
class LiveCondition:
    """One condition the controller reports (Argo CD ``status.conditions[]``: type and
    message; Flux ``status.conditions[]``: type, status, reason, message)."""

    type: str
    status: str = ""
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class LiveReading:
    """What one controller object says about one (app, env).

    ``subject``: how messages name the object, e.g. ``Application argocd/web-staging`` or
    ``Kustomization flux-system/web-staging``. ``revision``: the git commit the controller
    last synced (Argo CD ``status.sync.revision``; Flux ``status.lastAppliedRevision``'s
    commit SHA, without the ``main@sha1:`` prefix); ``revisions``: every source's revision
    for a multi-source app (else ``(revision,)`` or ``()``). ``synced_at``: when that sync
    finished (Argo CD ``operationState.finishedAt``; Flux the Ready condition's
    ``lastTransitionTime`` when Ready=True). ``reconciled_at``: when the controller last
    compared (Argo CD ``status.reconciledAt``; Flux: None). ``images``: the images the
    controller reports as running (Argo CD ``status.summary.images``; Flux: ``()``).
    ``stale``: why this reading is not to be trusted yet ("" when fresh): Argo CD's
    ``reconciledAt`` before ``operationState.finishedAt``, Flux's ``observedGeneration``
    behind ``metadata.generation``. ``error``: a comparison or apply error the controller
    reports ("" when none: Argo CD ComparisonError/SyncError conditions, Flux
    Ready=False's message)."""

    controller: Controller
    subject: str
    sync: Sync
    health: Health
    revision: str | None = None
    revisions: tuple[str, ...] = ()
    phase: Phase | None = None
    synced_at: datetime | None = None
    reconciled_at: datetime | None = None
    conditions: tuple[LiveCondition, ...] = ()
    images: tuple[str, ...] = ()
    stale: str = ""
    error: str = ""


@dataclass(frozen=True)
class LiveFailure:
    """Why one (app, env) has no reading: ``kind`` and a one-line ``message`` that names
    the controller endpoint (never a credential) and says what to do."""

    controller: Controller
    subject: str
    kind: FailureKind
    message: str


@dataclass(frozen=True)
class LiveState:
    """The verdict over one reading and git: ``status``; ``digest`` the env runs live
    (the synced revision's overlay pin, when the reading is fresh and Healthy), ``since``
    (the sync's finish time), and ``reason``, one line saying why (shown by
    ``status --live`` and the ``live`` gate)."""

    status: LiveStatus
    reason: str
    reading: LiveReading | None = None
    failure: LiveFailure | None = None
    digest: str | None = None
    since: datetime | None = None

    @property
    def runs(self) -> bool:
        """The env runs ``digest`` live: synced, fresh and Healthy."""
        return self.status == "synced" and self.digest is not None


__all__ = [
    "Controller",
    "FailureKind",
    "Health",
    "LiveCondition",
    "LiveFailure",
    "LiveReading",
    "LiveState",
    "LiveStatus",
    "Phase",
    "Sync",
]
