"""One Argo CD Application (its API JSON, ``v1alpha1Application``) as a :class:`LiveReading`.

Pure: the adapter (:mod:`gitops_promote.adapters.argocd`) fetched the object; this reads it
the way Argo CD documents its status:

- ``status.sync.status``: ``Synced`` / ``OutOfSync`` (anything else: ``Unknown``);
  ``status.sync.revision`` the commit compared to; a multi-source app (``spec.sources``)
  leaves ``revision`` empty and lists one revision per source in ``status.sync.revisions``
  (:func:`sources` pairs them with their repositories).
- ``status.health.status``: ``Healthy`` / ``Progressing`` / ``Degraded`` / ``Suspended`` /
  ``Missing`` / ``Unknown`` (anything else: ``Unknown``).
- ``status.operationState``: the last sync operation; ``phase`` ``Running`` /
  ``Terminating`` is not finished, ``finishedAt`` of a ``Succeeded`` one is ``synced_at``;
  a ``Failed`` / ``Error`` one is an ``error``.
- ``status.reconciledAt``: when the controller last compared live with git. Before the
  last operation's ``finishedAt`` (or an operation still running or only requested, or no
  reconcile at all) the reading is ``stale``: sync and health may describe the past.
- ``status.conditions``: a type ending in ``Error`` (``ComparisonError``, ``SyncError``,
  ``InvalidSpecError``, ``UnknownError``, ``DeletionError``...) is an ``error``; warnings
  (``...Warning``) are kept as conditions only.
- Also ``stale``: the Application being deleted, a refresh requested
  (``argocd.argoproj.io/refresh``) and not yet done, or sources in the spec that are not
  the ones ``status.sync.comparedTo`` says were compared.
- ``status.summary.images``: the images the Application's resources run.

Nothing here raises on a malformed object: a missing or odd value reads as ``Unknown`` /
absent. Strings are kept as data (callers escape them for where they print) but clipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, cast, get_args

from gitops_promote.facts.live.model import (
    Health,
    LiveCondition,
    LiveReading,
    Phase,
    Sync,
)

MAX_TEXT: Final = 1000  # characters kept of a message
MAX_VALUE: Final = 256  # characters kept of a revision, a type, an image...
MAX_ITEMS: Final = 100  # conditions, images, revisions kept
_SYNC: Final = frozenset(get_args(Sync))
_HEALTH: Final = frozenset(get_args(Health))
_PHASE: Final = frozenset(get_args(Phase))
_UNFINISHED: Final = frozenset({"Running", "Terminating"})
# Set (to "normal" or "hard") to ask the controller for a refresh; removed when it is done.
REFRESH_ANNOTATION: Final = "argocd.argoproj.io/refresh"


@dataclass(frozen=True)
class Source:
    """One source of an Application and the revision Argo CD compared it at."""

    repo_url: str
    path: str
    target_revision: str
    revision: str | None


def subject(name: str, namespace: str | None = None) -> str:
    """How messages name an Application: ``Application argocd/web-staging``."""
    name = clip(name, MAX_VALUE)
    return (
        f"Application {clip(namespace, MAX_VALUE)}/{name}" if namespace else f"Application {name}"
    )


def clip(value: str, limit: int = MAX_TEXT) -> str:
    """``value`` cut to ``limit`` characters (marked with an ellipsis when cut)."""
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int = MAX_VALUE) -> str:
    return clip(value, limit) if isinstance(value, str) else ""


def _pick(value: Any, allowed: frozenset[str]) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def _texts(value: Any, limit: int = MAX_VALUE) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(clip(v, limit) for v in value[:MAX_ITEMS] if isinstance(v, str) and v)


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 time (Kubernetes ``metav1.Time``) as an aware datetime, or None."""
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def missing(subject: str) -> LiveReading:
    """The reading for an Application Argo CD does not have (404): health ``Missing``."""
    return LiveReading(controller="argocd", subject=subject, sync="Unknown", health="Missing")


def sources(app: Mapping[str, Any]) -> tuple[Source, ...]:
    """The Application's sources (``spec.sources``, else ``spec.source``), each with the
    revision Argo CD last compared it at (``status.sync.revisions[i]`` /
    ``status.sync.revision``)."""
    spec = _map(app.get("spec"))
    sync = _map(_map(app.get("status")).get("sync"))
    many = spec.get("sources")
    if isinstance(many, list) and many:
        revisions = sync.get("revisions")
        revisions = revisions if isinstance(revisions, list) else []
        found = []
        for i, item in enumerate(many[:MAX_ITEMS]):
            rev = revisions[i] if i < len(revisions) else None
            found.append(_source(item, rev))
        return tuple(found)
    one = spec.get("source")
    if isinstance(one, Mapping):
        return (_source(one, sync.get("revision")),)
    return ()


def _source(item: Any, revision: Any) -> Source:
    item = _map(item)
    return Source(
        repo_url=_text(item.get("repoURL")),
        path=_text(item.get("path")),
        target_revision=_text(item.get("targetRevision")),
        revision=_text(revision) or None,
    )


def _conditions(value: Any) -> tuple[LiveCondition, ...]:
    if not isinstance(value, list):
        return ()
    found = []
    for item in value[:MAX_ITEMS]:
        if not isinstance(item, Mapping):
            continue
        kind = _text(item.get("type"))
        if kind:
            found.append(LiveCondition(type=kind, message=_text(item.get("message"), MAX_TEXT)))
    return tuple(found)


def reading(app: Mapping[str, Any], *, subject: str) -> LiveReading:
    """What the Application ``app`` says, as Argo CD documents it (see the module)."""
    anything: Any = app  # JSON from the wire: checked, not trusted to match the type
    if not isinstance(anything, Mapping):
        return LiveReading(controller="argocd", subject=subject, sync="Unknown", health="Unknown")
    status = _map(app.get("status"))
    sync_status = _map(status.get("sync"))
    health_status = _map(status.get("health"))
    operation = _map(status.get("operationState"))

    sync = cast("Sync", _pick(sync_status.get("status"), _SYNC) or "Unknown")
    health = cast("Health", _pick(health_status.get("status"), _HEALTH) or "Unknown")
    phase = cast("Phase | None", _pick(operation.get("phase"), _PHASE))

    revision = _text(sync_status.get("revision")) or None
    revisions = _texts(sync_status.get("revisions"))
    if not revisions and revision:
        revisions = (revision,)

    finished_at = None if phase in _UNFINISHED else timestamp(operation.get("finishedAt"))
    synced_at = finished_at if phase == "Succeeded" else None
    reconciled_at = timestamp(status.get("reconciledAt"))
    conditions = _conditions(status.get("conditions"))

    return LiveReading(
        controller="argocd",
        subject=subject,
        sync=sync,
        health=health,
        revision=revision,
        revisions=revisions,
        phase=phase,
        synced_at=synced_at,
        reconciled_at=reconciled_at,
        conditions=conditions,
        images=_texts(_map(status.get("summary")).get("images")),
        stale=_stale(app, status, operation, phase, finished_at, reconciled_at),
        error=_error(conditions, operation, phase),
    )


def _stale(
    app: Mapping[str, Any],
    status: Mapping[str, Any],
    operation: Mapping[str, Any],
    phase: Phase | None,
    finished_at: datetime | None,
    reconciled_at: datetime | None,
) -> str:
    """Why sync and health may describe the past ("" when they do not)."""
    if _map(app.get("metadata")).get("deletionTimestamp"):
        return "the Application is being deleted"
    if phase in _UNFINISHED:
        started = timestamp(operation.get("startedAt"))
        since = f" (started {_iso(started)})" if started else ""
        return f"a sync operation is {phase.lower() if phase else 'running'}{since}"
    if isinstance(app.get("operation"), Mapping) and app.get("operation"):
        return "a sync operation is requested and has not started"
    annotations = _map(_map(app.get("metadata")).get("annotations"))
    if REFRESH_ANNOTATION in annotations:
        return "a refresh is requested and Argo CD has not compared again yet"
    if _spec_moved(app, status):
        return "the Application's sources changed since Argo CD last compared them"
    if reconciled_at is None:
        if status:
            return "Argo CD has not reconciled the Application yet (no reconciledAt)"
        return "the Application has no status yet"
    if finished_at is not None and reconciled_at < finished_at:
        return (
            f"Argo CD last reconciled at {_iso(reconciled_at)}, before the last sync "
            f"finished at {_iso(finished_at)}"
        )
    return ""


def _source_key(item: Any) -> tuple[str, ...]:
    item = _map(item)
    return tuple(_text(item.get(k)) for k in ("repoURL", "path", "chart", "targetRevision"))


def _spec_moved(app: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """The spec's sources are not the ones ``status.sync.comparedTo`` says were compared
    (repository, path, chart and target revision; Argo CD refreshes on such a change)."""
    compared = _map(_map(status.get("sync")).get("comparedTo"))
    if not compared:
        return False
    spec = _map(app.get("spec"))
    now = spec.get("sources") or ([spec["source"]] if "source" in spec else [])
    then = compared.get("sources") or ([compared["source"]] if "source" in compared else [])
    if not isinstance(now, list) or not isinstance(then, list):
        return False
    return [_source_key(x) for x in now] != [_source_key(x) for x in then]


def _error(
    conditions: tuple[LiveCondition, ...], operation: Mapping[str, Any], phase: Phase | None
) -> str:
    """The errors the Application reports, one line each joined by "; " ("" when none)."""
    errors = [
        f"{c.type}: {c.message}" if c.message else c.type
        for c in conditions
        if c.type.endswith("Error")
    ]
    if phase in ("Failed", "Error"):
        message = _text(operation.get("message"), MAX_TEXT)
        errors.append(f"last sync {phase.lower()}: {message}" if message else f"last sync {phase}")
    return clip("; ".join(errors), MAX_TEXT) if errors else ""


__all__ = ["MAX_TEXT", "Source", "clip", "missing", "reading", "sources", "subject", "timestamp"]
