"""The verdict over one live reading and git (pure): a table of what the controllers
report, drawn from their documented states, and what ``status --live`` and the gate read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gitops_promote.facts.live.model import (
    LiveFailure,
    LiveReading,
    LiveState,
    LiveStatus,
)
from gitops_promote.facts.live.verdict import RevisionPin, judge, one_line, runs
from gitops_promote.images import ImageRef

REV = "1a2b3c4d5e6f" + "0" * 28
OTHER_REV = "9" * 40
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
REF = ImageRef.parse(f"ghcr.io/o/web@{DIGEST}")
SYNCED_AT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
SUBJECT = "Application argocd/web-staging"


def reading(**changes: object) -> LiveReading:
    values: dict[str, object] = {
        "controller": "argocd",
        "subject": SUBJECT,
        "sync": "Synced",
        "health": "Healthy",
        "revision": REV,
        "revisions": (REV,),
        "phase": "Succeeded",
        "synced_at": SYNCED_AT,
    }
    values.update(changes)
    return LiveReading(**values)  # type: ignore[arg-type]


PIN = RevisionPin(REV, REF)

TABLE: list[tuple[str, LiveReading, RevisionPin | None, LiveStatus, str]] = [
    ("synced and healthy", reading(), PIN, "synced", "runs"),
    (
        "out of sync",
        reading(sync="OutOfSync"),
        PIN,
        "out-of-sync",
        "the cluster differs from git; sync the app",
    ),
    (
        "progressing",
        reading(health="Progressing"),
        PIN,
        "progressing",
        "the rollout is not finished yet",
    ),
    ("sync running", reading(phase="Running"), PIN, "progressing", "not finished yet"),
    (
        "degraded",
        reading(health="Degraded", error="Deployment web: CrashLoopBackOff"),
        PIN,
        "degraded",
        "fix the deployment (Deployment web: CrashLoopBackOff), then sync again",
    ),
    ("sync failed", reading(phase="Failed"), PIN, "degraded", "last sync Failed"),
    ("suspended", reading(health="Suspended"), PIN, "unknown", "reconciliation is suspended"),
    ("missing", reading(health="Missing", sync="Unknown"), None, "unknown", "no such object"),
    (
        "stale reconcile",
        reading(stale="reconciledAt 17:00 before the sync finished at 18:00"),
        PIN,
        "progressing",
        "the reading is stale (reconciledAt 17:00",
    ),
    (
        "comparison error",
        reading(sync="Unknown", health="Healthy", error="ComparisonError: repo not found"),
        PIN,
        "unknown",
        "cannot compare it with git (ComparisonError: repo not found)",
    ),
    (
        "wrong revision: pins another digest",
        reading(),
        RevisionPin(REV, ImageRef.parse(f"ghcr.io/o/web@{OTHER}")),
        "synced",
        "runs",
    ),
    (
        "revision not in the config repo",
        reading(),
        RevisionPin(REV, problem="revision 1a2b3c4d5e6f is not a commit of the config repo"),
        "unknown",
        "is not a commit of the config repo",
    ),
    (
        "overlay pins nothing there",
        reading(),
        RevisionPin(REV, None),
        "unknown",
        "the overlay pins no image at 1a2b3c4d5e6f",
    ),
    ("no revision", reading(revision=None, revisions=()), None, "unknown", "no synced revision"),
    (
        "multi-source",
        reading(revisions=(OTHER_REV, REV)),
        PIN,
        "synced",
        "runs",
    ),
    (
        "flux ready=false",
        reading(
            controller="flux",
            subject="Kustomization flux-system/web-dev",
            health="Degraded",
            phase=None,
            error="kustomize build failed",
        ),
        PIN,
        "degraded",
        "kustomize build failed",
    ),
    (
        "flux generation not observed",
        reading(controller="flux", phase=None, stale="generation 4 not observed yet (3)"),
        PIN,
        "progressing",
        "generation 4 not observed yet",
    ),
]


@pytest.mark.parametrize(
    ("name", "read", "pin", "status", "said"), TABLE, ids=[row[0] for row in TABLE]
)
def test_the_verdict_table(
    name: str, read: LiveReading, pin: RevisionPin | None, status: LiveStatus, said: str
) -> None:
    state = judge(read, pin)
    assert state.status == status, state.reason
    assert said in state.reason
    assert state.reading == read
    assert "\n" not in state.reason
    assert state.reason.startswith(read.subject)
    assert state.runs == (status == "synced")


def test_synced_names_the_digest_revision_health_and_since() -> None:
    state = judge(reading(), PIN)
    assert state.digest == DIGEST
    assert state.since == SYNCED_AT
    assert state.reason.startswith(
        f"{SUBJECT} is Synced/Healthy, last sync Succeeded at 1a2b3c4d5e6f since "
        "Thu 2026-12-03 18:00 UTC: runs"
    )
    assert runs(state, REF)
    assert not runs(state, ImageRef.parse(f"ghcr.io/o/web@{OTHER}"))
    assert not runs(None, REF)


API_FAILURES = [
    ("unauthorized", "401 Unauthorized from https://argocd.example.com: check ARGOCD_TOKEN"),
    ("forbidden", "403 Forbidden: the token may not get applications"),
    ("unreachable", "https://argocd.example.com did not answer within 10s"),
    ("invalid", "the answer is not an Application"),
]


@pytest.mark.parametrize(("kind", "message"), API_FAILURES, ids=[k for k, _ in API_FAILURES])
def test_a_failure_is_unknown_with_its_message(kind: str, message: str) -> None:
    failure = LiveFailure("argocd", SUBJECT, kind, message)  # type: ignore[arg-type]
    state = judge(failure)
    assert state == LiveState("unknown", f"{SUBJECT}: {message}", failure=failure)
    assert not state.runs


def test_hostile_controller_text_is_one_short_line() -> None:
    hostile = "bad\n::error file=x::pwned\r\n" + "y" * 5000
    state = judge(reading(health="Degraded", error=hostile, subject="App\nx"), PIN)
    assert "\n" not in state.reason
    assert "\r" not in state.reason
    assert len(state.reason) < 500
    assert one_line("a\x1b[31mb\tc") == "a [31mb c"
