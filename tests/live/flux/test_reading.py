"""``facts.live.flux.reading`` over every documented Flux state, odd objects and hostile
strings: what the Kustomization or HelmRelease says, as a LiveReading, never an exception."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.facts.live.flux import NOTE, git_commit, reading
from gitops_promote.facts.live.model import LiveReading
from support.kube_fake import states
from support.kube_fake.states import SHA_NEW, SHA_OLD

SUBJECT = "Kustomization flux-system/web-staging"


@dataclass(frozen=True)
class Expected:
    sync: str
    health: str
    revision: str | None
    stale: bool = False
    error: str = ""  # a word the error holds ("" : no error)
    synced_at: datetime | None = None
    note: str = ""  # the reason of the Revision note ("" : none)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


EXPECTED: dict[str, Expected] = {
    "ks-ready": Expected("Synced", "Healthy", SHA_NEW, synced_at=at(states.FIRST)),
    "ks-build-failed": Expected("OutOfSync", "Degraded", SHA_OLD, error="kustomize build failed"),
    "ks-health-check-failed": Expected(
        "OutOfSync", "Degraded", SHA_OLD, error="health check failed"
    ),
    "ks-reconciling": Expected("OutOfSync", "Progressing", SHA_OLD),
    "ks-stalled": Expected("Unknown", "Degraded", SHA_OLD, error="terminally"),
    "ks-suspended": Expected("Synced", "Suspended", SHA_NEW, synced_at=at(states.FIRST)),
    "ks-generation-not-observed": Expected(
        "Synced", "Healthy", SHA_OLD, stale=True, synced_at=at(states.FIRST)
    ),
    "ks-wrong-revision": Expected("Synced", "Healthy", SHA_OLD, synced_at=at(states.FIRST)),
    "ks-new": Expected("Unknown", "Progressing", None, stale=True),
    "ks-oci": Expected("Synced", "Healthy", SHA_NEW, synced_at=at(states.AT)),
    "hr-installed": Expected(
        "Synced", "Healthy", None, synced_at=at(states.AT), note="ChartVersion"
    ),
    "hr-install-failed": Expected(
        "Unknown", "Degraded", None, error="Helm install failed", note="ChartVersion"
    ),
    "hr-upgrade-failed": Expected(
        "Unknown", "Degraded", None, error="Helm upgrade failed", note="ChartVersion"
    ),
    "hr-upgrading": Expected("OutOfSync", "Progressing", None, note="ChartVersion"),
    "missing": Expected("Unknown", "Missing", None),
}


def test_the_table_covers_every_state() -> None:
    assert sorted(EXPECTED) == sorted(s.name for s in states.STATES)


@pytest.mark.parametrize("state", states.STATES, ids=lambda s: s.name)
def test_reading_of_each_documented_state(state: states.State) -> None:
    want = EXPECTED[state.name]
    got = reading(state.build(), kind=state.kind, subject=SUBJECT)
    assert (got.controller, got.subject) == ("flux", SUBJECT)
    assert (got.sync, got.health, got.revision) == (want.sync, want.health, want.revision)
    assert got.revisions == ((want.revision,) if want.revision else ())
    assert bool(got.stale) == want.stale, got.stale
    assert (want.error in got.error) if want.error else got.error == "", got.error
    assert got.synced_at == want.synced_at
    assert got.phase is None
    assert got.reconciled_at is None
    assert got.images == ()
    notes = [c.reason for c in got.conditions if c.type == NOTE]
    assert notes == ([want.note] if want.note else [])


def test_a_suspended_failure_still_says_why() -> None:
    obj = states.ks_health_check_failed()
    obj["spec"]["suspend"] = True
    got = reading(obj, kind="Kustomization", subject=SUBJECT)
    assert (got.health, got.sync) == ("Suspended", "OutOfSync")
    assert "health check failed" in got.error


def test_conditions_are_kept_as_flux_wrote_them() -> None:
    got = reading(states.ks_build_failed(), kind="Kustomization", subject=SUBJECT)
    assert [(c.type, c.status, c.reason) for c in got.conditions] == [
        ("Ready", "False", "BuildFailed"),
        ("Reconciling", "True", "ProgressingWithRetry"),
    ]


def test_stale_says_which_generations() -> None:
    got = reading(states.ks_generation_not_observed(), kind="Kustomization", subject=SUBJECT)
    assert "observedGeneration 2" in got.stale
    assert "metadata.generation 3" in got.stale
    ready_behind = states.ks_ready()
    ready_behind["metadata"]["generation"] = 2
    ready_behind["status"]["observedGeneration"] = 2
    got = reading(ready_behind, kind="Kustomization", subject=SUBJECT)
    assert "Ready condition's observedGeneration 1" in got.stale


def test_the_helm_note_names_the_chart_version() -> None:
    got = reading(states.hr_upgrading(), kind="HelmRelease", subject="HelmRelease a/b")
    (note,) = [c for c in got.conditions if c.type == NOTE]
    assert "chart web 1.2.3" in note.message
    assert "last attempted 1.3.0" in note.message
    assert "not a git commit" in note.message


def test_the_latest_release_is_the_highest_version_whatever_the_order() -> None:
    obj = states.hr_upgrade_failed("1.2.3", "1.3.0")
    obj["status"]["history"].reverse()
    got = reading(obj, kind="HelmRelease", subject="HelmRelease a/b")
    (note,) = [c for c in got.conditions if c.type == NOTE]
    assert "chart web 1.3.0, release failed" in note.message


def test_an_oci_chart_digest_suffix_is_not_a_newer_attempt() -> None:
    obj = states.hr_installed("1.2.3")
    obj["status"]["lastAttemptedRevision"] = "1.2.3+0123456789ab"
    got = reading(obj, kind="HelmRelease", subject="HelmRelease a/b")
    assert (got.sync, got.health) == ("Synced", "Healthy")


def test_an_oci_artifact_without_origin_is_noted_not_taken_for_a_commit() -> None:
    obj = states.ks_oci()
    del obj["status"]["lastAppliedOriginRevision"]
    got = reading(obj, kind="Kustomization", subject=SUBJECT)
    assert got.revision is None
    (note,) = [c for c in got.conditions if c.type == NOTE]
    assert note.reason == "NotAGitCommit"
    assert "OCIRepository" in note.message


def test_synced_at_falls_back_to_ready_without_history() -> None:
    obj = states.ks_ready(at=states.LATER)
    del obj["status"]["history"]
    got = reading(obj, kind="Kustomization", subject=SUBJECT)
    assert got.synced_at == datetime(2026, 12, 1, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "commit"),
    [
        (f"main@sha1:{SHA_NEW}", SHA_NEW),
        (f"refs/heads/main@sha1:{SHA_NEW}", SHA_NEW),
        (f"v1.0.0@sha1:{SHA_NEW.upper()}", SHA_NEW),
        (f"sha1:{SHA_NEW}", SHA_NEW),
        (f"main/{SHA_NEW}", SHA_NEW),  # Flux before 2.0
        (SHA_NEW, SHA_NEW),
        ("main@sha256:" + "a" * 64, "a" * 64),
        ("main@sha1:" + "a" * 39, None),
        ("main@sha1:" + "g" * 40, None),
        ("1.2.3", None),
        ("", None),
        (None, None),
        ("x" * 10_000, None),
        (f"main@sha1:{SHA_NEW}\n", None),
    ],
)
def test_git_commit_of_flux_revisions(text: object, commit: str | None) -> None:
    assert git_commit(text) == commit


def test_hostile_strings_are_kept_as_data_but_clipped() -> None:
    obj = states.ks_build_failed()
    hostile = "::error::x\n\r\x1b[31m../../etc/passwd https://evil.example/" + "A" * 100_000
    obj["status"]["conditions"][0]["message"] = hostile
    obj["status"]["conditions"][0]["reason"] = "R" * 5000
    got = reading(obj, kind="Kustomization", subject="S" * 1000)
    assert got.error.startswith("::error::x\n\r\x1b[31m../../etc/passwd")
    assert len(got.error) <= 501
    assert len(got.subject) <= 201
    assert all(len(c.reason) <= 201 and len(c.message) <= 501 for c in got.conditions)


def test_many_conditions_are_capped() -> None:
    obj = states.ks_ready()
    obj["status"]["conditions"] += [
        states.condition(f"Extra{i}", "True", "X", "m") for i in range(1000)
    ]
    got = reading(obj, kind="Kustomization", subject=SUBJECT)
    assert len(got.conditions) <= 21
    assert got.health == "Healthy"


ODD: list[tuple[str, Any]] = [
    ("empty", {}),
    ("status-list", {"status": []}),
    ("conditions-string", {"status": {"conditions": "Ready"}}),
    ("condition-not-map", {"status": {"conditions": [1, None, "x"]}}),
    ("generation-bool", {"metadata": {"generation": True}, "status": {"observedGeneration": 0}}),
    ("suspend-string", {"spec": {"suspend": "true"}}),
    ("revision-int", {"status": {"lastAppliedRevision": 5, "lastAttemptedRevision": 6}}),
    ("history-dict", {"status": {"history": {"a": 1}}}),
    ("time-garbage", {"status": {"conditions": [{"type": "Ready", "status": "True",
                                                 "lastTransitionTime": "yesterday"}]}}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "obj"), ODD, ids=[n for n, _ in ODD])
@pytest.mark.parametrize("kind", ["Kustomization", "HelmRelease"])
def test_odd_objects_give_a_reading(name: str, obj: Any, kind: str) -> None:
    got = reading(obj, kind=kind, subject=SUBJECT)
    assert isinstance(got, LiveReading)
    assert got.revision is None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=30,
)
FIELDS = st.sampled_from(
    ["status", "spec", "metadata", "conditions", "history", "lastAppliedRevision", "type",
     "Ready", "status", "True", "generation", "observedGeneration", "suspend", "chartVersion",
     "lastTransitionTime", "sourceRef", "kind"]
)  # fmt: skip
FLUXISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50) | FIELDS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(FIELDS | st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=40,
)


@given(obj=JSONISH, kind=st.sampled_from(["Kustomization", "HelmRelease", "Other"]))
def test_reading_never_raises_on_arbitrary_json(obj: Any, kind: str) -> None:
    if not isinstance(obj, dict):
        obj = {"status": obj}
    assert isinstance(reading(obj, kind=kind, subject=SUBJECT), LiveReading)


@given(
    status=FLUXISH,
    spec=FLUXISH,
    metadata=FLUXISH,
    kind=st.sampled_from(["Kustomization", "HelmRelease"]),
)
def test_reading_never_raises_on_flux_shaped_json(
    status: Any, spec: Any, metadata: Any, kind: str
) -> None:
    obj = {"status": status, "spec": spec, "metadata": metadata}
    got = reading(obj, kind=kind, subject=SUBJECT)
    assert got.revision is None or len(got.revision) in (40, 64)


@given(mutation=st.dictionaries(FIELDS, JSONISH, max_size=4))
def test_reading_never_raises_on_a_mutated_real_status(mutation: dict[str, Any]) -> None:
    for build, kind in ((states.ks_health_check_failed, "Kustomization"),
                        (states.hr_upgrade_failed, "HelmRelease")):  # fmt: skip
        obj = copy.deepcopy(build())
        obj["status"].update(mutation)
        assert isinstance(reading(obj, kind=kind, subject=SUBJECT), LiveReading)
