"""What a Flux Kustomization or HelmRelease says, as a :class:`LiveReading` (pure).

Follows Flux's documented status (kustomize.toolkit.fluxcd.io/v1,
helm.toolkit.fluxcd.io/v2):

- no object (the API said 404): health ``Missing``;
- ``spec.suspend: true``: health ``Suspended`` (the controller does not reconcile it);
- the ``Ready`` condition: ``True`` -> Synced and Healthy (``synced_at``: see
  :func:`_synced_at`); ``False`` -> Degraded, its message the error (``Stalled=True`` too);
  ``Unknown``, reason ``Progressing`` or ``Reconciling=True`` -> Progressing; no Ready
  condition yet -> Progressing;
- sync is ``OutOfSync`` while the last attempted revision is not the last applied one
  (a newer revision failed or is being applied), ``Unknown`` while nothing says;
- ``status.observedGeneration`` behind ``metadata.generation`` (or Ready's own
  ``observedGeneration`` behind it): the reading is stale, the controller has not yet
  reconciled the latest spec.

Revisions: a Kustomization's ``status.lastAppliedRevision`` from a GitRepository is
``<ref>@sha1:<commit>`` (Flux 2.0+; older ``<branch>/<commit>``); ``revision`` is the
commit. From an OCIRepository it is an artifact digest (``<tag>@sha256:<digest>``): then
``lastAppliedOriginRevision`` (the git revision the artifact was built from) gives the
commit when it has one. A HelmRelease's revisions are chart versions (``1.2.3``, or
``1.2.3+<digest prefix>`` from an OCIRepository), never git commits: its ``revision`` is
None, and a ``Revision`` note condition (``reason: ChartVersion``) says which chart version
was released. Any value that is not a commit is said in such a note, never put in
``revision``.

:func:`reading` never raises: an odd object (wrong types, missing fields) gives a reading
with what can be read; strings from the object are kept as data, clipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from gitops_promote.errors import clip
from gitops_promote.facts.live.model import Health, LiveCondition, LiveReading, Sync

MESSAGE_LIMIT: Final = 500  # characters of a condition message kept
FIELD_LIMIT: Final = 200  # characters of any other string kept
CONDITION_LIMIT: Final = 20  # conditions kept
NOTE: Final = "Revision"  # the type of the note condition this module adds

_HASH: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# <ref>@sha1:<hash> / <ref>@sha256:<hash> / sha1:<hash> (Flux 2.0+ revision format).
_MODERN: Final = re.compile(r"(?:(?P<ref>.+)@)?(?P<algo>sha1|sha256):(?P<hash>[0-9a-fA-F]+)")
# <branch>/<hash> (Flux before 2.0).
_LEGACY: Final = re.compile(r"(?P<ref>.+)/(?P<hash>[0-9a-fA-F]{40})")
_GIT_SOURCES: Final = frozenset({"GitRepository", ""})


def reading(obj: Mapping[str, Any] | None, *, kind: str, subject: str) -> LiveReading:
    """The reading of Flux object ``obj`` (a Kustomization or HelmRelease as the API gave
    it; None when the API said it does not exist). ``kind`` is the kind asked for,
    ``subject`` how messages name it (``Kustomization flux-system/web-staging``)."""
    subject = clip(str(subject), FIELD_LIMIT)
    if obj is None:
        return LiveReading(controller="flux", subject=subject, sync="Unknown", health="Missing")
    try:
        return _reading(obj, kind, subject)
    except Exception as err:  # noqa: BLE001 - an odd object is a reading, never a crash
        return LiveReading(
            controller="flux",
            subject=subject,
            sync="Unknown",
            health="Unknown",
            error=clip(f"unreadable {kind} status ({type(err).__name__})", FIELD_LIMIT),
        )


def _reading(obj: Mapping[str, Any], kind: str, subject: str) -> LiveReading:
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    metadata = _map(obj.get("metadata"))
    raw = _conditions(status.get("conditions"))
    conditions = tuple(_condition(c) for c in raw[:CONDITION_LIMIT])
    ready = _find(raw, "Ready")
    stalled = _find(raw, "Stalled")
    reconciling = _find(raw, "Reconciling")

    if kind == "HelmRelease":
        revision, notes, attempted_differs = _helm_revision(status)
    else:
        revision, notes, attempted_differs = _kustomize_revision(spec, status)

    ready_status = _text(ready.get("status")) if ready else ""
    ready_reason = _text(ready.get("reason")) if ready else ""
    ready_message = _text(ready.get("message"), MESSAGE_LIMIT) if ready else ""
    error = ""
    health: Health
    if spec.get("suspend") is True:
        health = "Suspended"  # the last failure, if any, still said
        error = ready_message or ready_reason if ready_status == "False" else ""
    elif stalled and _text(stalled.get("status")) == "True":
        health = "Degraded"
        error = _text(stalled.get("message"), MESSAGE_LIMIT) or ready_message
    elif ready_status == "False":
        health = "Degraded"
        error = ready_message or ready_reason or "Ready=False"
    elif ready_status == "True" and not (
        reconciling and _text(reconciling.get("status")) == "True"
    ):
        health = "Healthy"
    else:
        health = "Progressing"

    sync: Sync
    if attempted_differs:
        sync = "OutOfSync"
    elif ready_status == "True":
        sync = "Synced"
    else:
        sync = "Unknown"

    synced_at = _synced_at(kind, status, ready) if ready_status == "True" else None
    return LiveReading(
        controller="flux",
        subject=subject,
        sync=sync,
        health=health,
        revision=revision,
        revisions=(revision,) if revision else (),
        phase=None,
        synced_at=synced_at,
        reconciled_at=None,
        conditions=conditions + notes,
        images=(),
        stale=_stale(metadata, status, ready),
        error=error,
    )


def _synced_at(kind: str, status: Mapping[str, Any], ready: Mapping[str, Any]) -> datetime | None:
    """When what runs was first applied. Flux marks Ready Unknown at the start of every
    reconciliation (each ``interval``) and True again at its end, so Ready's
    ``lastTransitionTime`` is the last successful reconciliation, not the sync: the
    history says when the applied manifests were first reconciled (a Kustomization's
    snapshot of ``lastAppliedRevision``: ``firstReconciled``; a HelmRelease's deployed
    release: ``lastDeployed``). Without a history, Ready's ``lastTransitionTime``."""
    history = status.get("history")
    entries = [_map(e) for e in history] if isinstance(history, list) else []
    if kind == "HelmRelease":
        latest = _latest_release(status)
        if latest.get("status") == "deployed":
            when = _time(latest.get("lastDeployed"))
            if when is not None:
                return when
    else:
        applied = status.get("lastAppliedRevision")
        for entry in entries:
            if (
                _map(entry.get("metadata")).get("revision") == applied
                and entry.get("lastReconciledStatus") == "ReconciliationSucceeded"
            ):
                when = _time(entry.get("firstReconciled"))
                if when is not None:
                    return when
                break
    return _time(ready.get("lastTransitionTime"))


def git_commit(revision: object) -> str | None:
    """The git commit in a Flux source revision (``main@sha1:<sha>``, ``sha1:<sha>``,
    ``main/<sha>``, ``<sha>``), lowercase; None when it carries none."""
    if not isinstance(revision, str) or len(revision) > 2 * FIELD_LIMIT:
        return None
    found = _MODERN.fullmatch(revision)
    if found:
        digest = found["hash"].lower()
        want = 40 if found["algo"] == "sha1" else 64
        return digest if len(digest) == want else None
    found = _LEGACY.fullmatch(revision)
    if found:
        return found["hash"].lower()
    return revision.lower() if _HASH.fullmatch(revision.lower()) else None


def _kustomize_revision(
    spec: Mapping[str, Any], status: Mapping[str, Any]
) -> tuple[str | None, tuple[LiveCondition, ...], bool]:
    source = _text(_map(spec.get("sourceRef")).get("kind"))
    applied = status.get("lastAppliedRevision")
    attempted = status.get("lastAttemptedRevision")
    differs = (
        isinstance(attempted, str)
        and bool(attempted)
        and isinstance(applied, str)
        and attempted != applied
    ) or (isinstance(attempted, str) and bool(attempted) and not applied)
    if not isinstance(applied, str) or not applied:
        return None, (), differs
    if source in _GIT_SOURCES:
        commit = git_commit(applied)
        if commit:
            return commit, (), differs
    origin = git_commit(status.get("lastAppliedOriginRevision"))
    if origin:
        return origin, (), differs
    what = f"a {clip(source, 40)} revision" if source else "a revision"
    note = LiveCondition(
        type=NOTE,
        status="",
        reason="NotAGitCommit",
        message=f"last applied {_text(applied)!r} is {what}, not a git commit",
    )
    return None, (note,), differs


def _helm_revision(
    status: Mapping[str, Any],
) -> tuple[None, tuple[LiveCondition, ...], bool]:
    latest = _latest_release(status)
    chart = _text(latest.get("chartName"))
    version = _text(latest.get("chartVersion"))
    release = _text(latest.get("status"))
    attempted = _text(status.get("lastAttemptedRevision"))
    # An OCIRepository chart's attempted revision carries ``+<digest prefix>``; the
    # history's chartVersion does not.
    differs = bool(attempted and version and version not in (attempted, attempted.split("+")[0]))
    shown = version or attempted
    if not shown:
        return None, (), differs
    named = f"chart {chart} {shown}" if chart else f"chart version {shown}"
    extra = f", release {release}" if release else ""
    tried = f", last attempted {attempted}" if differs else ""
    note = LiveCondition(
        type=NOTE,
        status="",
        reason="ChartVersion",
        message=clip(f"{named}{extra}{tried} (a chart version, not a git commit)", MESSAGE_LIMIT),
    )
    return None, (note,), differs


def _latest_release(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """A HelmRelease's latest release snapshot: the highest release ``version``, as
    helm-controller's ``Snapshots.Latest`` picks it (the first entry when none has one)."""
    history = status.get("history")
    entries = [_map(e) for e in history] if isinstance(history, list) else []
    numbered = [e for e in entries if _int(e.get("version")) is not None]
    if numbered:
        return max(numbered, key=lambda e: _int(e.get("version")) or 0)
    return entries[0] if entries else {}


def _stale(metadata: Mapping[str, Any], status: Mapping[str, Any], ready: Mapping[str, Any]) -> str:
    generation = _int(metadata.get("generation"))
    if generation is None:
        return ""
    observed = _int(status.get("observedGeneration"))
    if observed is None or observed < generation:
        seen = "not set" if observed is None or observed < 0 else str(observed)
        return (
            f"observedGeneration {seen} is behind metadata.generation {generation}: "
            "the controller has not yet reconciled the latest spec"
        )
    ready_observed = _int(ready.get("observedGeneration")) if ready else None
    if ready_observed is not None and ready_observed < generation:
        return (
            f"the Ready condition's observedGeneration {ready_observed} is behind "
            f"metadata.generation {generation}"
        )
    return ""


def _conditions(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [c for c in value if isinstance(c, Mapping)]


def _find(conditions: Sequence[Mapping[str, Any]], type_: str) -> Mapping[str, Any]:
    for condition in conditions:
        if condition.get("type") == type_:
            return condition
    return {}


def _condition(raw: Mapping[str, Any]) -> LiveCondition:
    return LiveCondition(
        type=_text(raw.get("type")),
        status=_text(raw.get("status")),
        reason=_text(raw.get("reason")),
        message=_text(raw.get("message"), MESSAGE_LIMIT),
    )


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object, limit: int = FIELD_LIMIT) -> str:
    return clip(value, limit) if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: object) -> datetime | None:
    """An RFC 3339 time (``2026-12-03T20:01:02Z``) as an aware datetime; None if not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


__all__ = ["NOTE", "git_commit", "reading"]
