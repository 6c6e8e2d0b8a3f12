"""reading(): an Argo CD Application as a LiveReading, over the states Argo CD documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.facts.live.argocd import (
    MAX_TEXT,
    Source,
    missing,
    reading,
    sources,
    subject,
    timestamp,
)
from support.argocd_fake import Spec, states
from support.argocd_fake.states import STATES, State

SUBJECT = "Application argocd/web-staging"


@pytest.mark.parametrize("name", sorted(STATES))
def test_reading_of_every_documented_state(name: str) -> None:
    state: State = STATES[name]
    app = state.build()
    assert Spec().problems(app, status=200) == []  # the table is Argo CD's shape
    got = reading(app, subject=SUBJECT)
    assert (got.controller, got.subject) == ("argocd", SUBJECT)
    assert (got.sync, got.health, got.revision, got.phase) == (
        state.sync,
        state.health,
        state.revision,
        state.phase,
    )
    assert bool(got.stale) is state.stale, got.stale
    if state.error:
        assert state.error in got.error
    else:
        assert got.error == ""


def test_synced_healthy_reads_every_field() -> None:
    got = reading(states.synced_healthy(), subject=SUBJECT)
    assert got.revisions == (states.REVISION,)
    assert got.synced_at == datetime(2026, 12, 1, 10, 0, 30, tzinfo=UTC)
    assert got.reconciled_at == datetime(2026, 12, 1, 10, 1, tzinfo=UTC)
    assert got.images == (states.IMAGE,)
    assert got.conditions == ()


def test_stale_says_when_it_compared_and_when_the_sync_finished() -> None:
    got = reading(states.stale_reconcile(), subject=SUBJECT)
    assert "2026-12-01T09:59:00Z" in got.stale
    assert "2026-12-01T10:00:30Z" in got.stale


def test_a_running_operation_is_not_a_finished_sync() -> None:
    got = reading(states.operation_running(), subject=SUBJECT)
    assert got.phase == "Running"
    assert got.synced_at is None
    assert "running" in got.stale


def test_a_failed_operation_is_an_error_and_no_sync_time() -> None:
    got = reading(states.operation_failed(), subject=SUBJECT)
    assert got.synced_at is None
    assert 'Deployment "web" is invalid' in got.error
    assert [c.type for c in got.conditions] == ["SyncError"]


def test_a_requested_operation_not_yet_started_is_stale() -> None:
    app = states.application(operation={"sync": {"revision": states.OTHER_REVISION}})
    assert Spec().problems(app, status=200) == []
    assert "requested" in reading(app, subject=SUBJECT).stale


def test_an_application_being_deleted_is_stale() -> None:
    app = states.synced_healthy()
    app["metadata"]["deletionTimestamp"] = "2026-12-01T11:00:00Z"
    assert "deleted" in reading(app, subject=SUBJECT).stale


def test_a_requested_refresh_is_stale() -> None:
    app = states.synced_healthy()
    app["metadata"]["annotations"] = {"argocd.argoproj.io/refresh": "normal"}
    assert Spec().problems(app, status=200) == []
    assert "refresh" in reading(app, subject=SUBJECT).stale


@pytest.mark.parametrize("key", ["targetRevision", "path", "repoURL"])
def test_sources_changed_since_the_comparison_is_stale(key: str) -> None:
    app = states.synced_healthy()
    app["spec"]["source"][key] = "changed"
    assert "sources changed" in reading(app, subject=SUBJECT).stale


def test_multi_source_unchanged_is_fresh_and_changed_is_stale() -> None:
    app = states.multi_source()
    assert reading(app, subject=SUBJECT).stale == ""
    app["spec"]["sources"][0]["targetRevision"] = "2.x"
    assert "sources changed" in reading(app, subject=SUBJECT).stale


def test_no_status_yet_reads_unknown_and_stale() -> None:
    app = states.synced_healthy()
    del app["status"]
    got = reading(app, subject=SUBJECT)
    assert (got.sync, got.health, got.revision, got.phase) == ("Unknown", "Unknown", None, None)
    assert got.stale


def test_warnings_are_conditions_not_errors() -> None:
    app = states.application(conditions=(("SharedResourceWarning", "also managed by app x"),))
    got = reading(app, subject=SUBJECT)
    assert got.error == ""
    assert got.conditions[0].type == "SharedResourceWarning"
    assert got.conditions[0].message == "also managed by app x"


def test_multi_source_lists_each_source_with_its_revision() -> None:
    app = states.multi_source()
    got = reading(app, subject=SUBJECT)
    assert got.revision is None
    assert got.revisions == (states.CHART_REVISION, states.REVISION)
    assert sources(app) == (
        Source(states.CHARTS, "", "1.4.x", states.CHART_REVISION),
        Source(states.REPO, "overlays/staging", "main", states.REVISION),
    )


def test_single_source() -> None:
    assert sources(states.synced_healthy()) == (
        Source(states.REPO, "overlays/staging", "main", states.REVISION),
    )


@pytest.mark.parametrize("value", ["Synced ", "synced", "healthy", "", None, 3, ["Synced"], {}])
def test_odd_sync_values_read_unknown(value: Any) -> None:
    app = states.synced_healthy()
    app["status"]["sync"]["status"] = value
    app["status"]["health"]["status"] = value
    app["status"]["operationState"]["phase"] = value
    got = reading(app, subject=SUBJECT)
    assert (got.sync, got.health, got.phase) == ("Unknown", "Unknown", None)


def test_hostile_strings_are_kept_as_data_but_clipped() -> None:
    hostile = "line\n::error::x ../../etc $(rm) " + "A" * 100_000
    app = states.application(
        revision=hostile,
        conditions=(("ComparisonError", hostile),),
        images=(hostile,),
        message=hostile,
        phase="Failed",
    )
    got = reading(app, subject=hostile)
    assert got.error.startswith("ComparisonError: line\n::error::x")
    assert len(got.error) <= MAX_TEXT
    assert got.revision is not None
    assert len(got.revision) <= 256
    assert all(len(i) <= 256 for i in got.images)
    assert all(len(c.message) <= MAX_TEXT for c in got.conditions)


def test_subject_names_the_application() -> None:
    assert subject("web-staging", "argocd") == "Application argocd/web-staging"
    assert subject("web-staging") == "Application web-staging"
    assert len(subject("x" * 10_000, "y" * 10_000)) < 600


def test_missing_is_health_missing() -> None:
    got = missing(SUBJECT)
    assert (got.sync, got.health, got.subject) == ("Unknown", "Missing", SUBJECT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T12:00:00+02:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1733047200, None),
        ("2" * 1000, None),
    ],
)
def test_timestamp(text: Any, expected: datetime | None) -> None:
    assert timestamp(text) == expected


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
_keys = st.sampled_from(
    [
        "status", "sync", "health", "operationState", "phase", "finishedAt", "startedAt",
        "reconciledAt", "conditions", "summary", "images", "revision", "revisions", "type",
        "message", "metadata", "spec", "sources", "source", "operation", "deletionTimestamp",
    ]
)  # fmt: skip
# Objects shaped like Applications at any depth: the keys reading() looks at, odd values.
_app_like = st.recursive(
    _json,
    lambda children: st.dictionaries(_keys, children, max_size=6) | st.lists(children, max_size=3),
    max_leaves=40,
)


@given(app=_app_like)
def test_reading_never_raises(app: Any) -> None:
    got = reading(app, subject=SUBJECT)
    assert got.sync in ("Synced", "OutOfSync", "Unknown")
    assert got.health in ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
    assert len(got.error) <= MAX_TEXT
    sources(app) if isinstance(app, dict) else None


@given(
    sync=st.sampled_from(["Synced", "OutOfSync", "Unknown"]),
    health=st.sampled_from(
        ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]
    ),
    phase=st.sampled_from([None, "Running", "Succeeded", "Failed", "Error", "Terminating"]),
    reconciled=st.sampled_from([None, states.BEFORE_FINISH, states.RECONCILED]),
)
def test_valid_applications_read_back_what_they_say(
    sync: str, health: str, phase: str | None, reconciled: str | None
) -> None:
    app = states.application(sync=sync, health=health, phase=phase, reconciled_at=reconciled)
    assert Spec().problems(app, status=200) == []
    got = reading(app, subject=SUBJECT)
    assert (got.sync, got.health, got.phase) == (sync, health, phase)
    assert (got.synced_at is not None) == (phase == "Succeeded")
    # Fresh: compared at all, no operation running, and not before the last one finished.
    fresh = reconciled is not None and (
        phase is None
        or (reconciled == states.RECONCILED and phase not in ("Running", "Terminating"))
    )
    assert (got.stale == "") == fresh
