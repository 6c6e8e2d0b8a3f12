"""The Argo CD fake holds itself to Argo CD's swagger, and the trimmed copy to its source."""

from __future__ import annotations

import json

import pytest

from gitops_promote.adapters.argocd import ArgoCDEndpoint, get_application
from gitops_promote.errors import LiveError
from support.argocd_fake import (
    TOKEN,
    ArgoCDFake,
    ContractError,
    Spec,
    error_body,
    states,
    trim_swagger,
)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda app: app["status"].update(reconcileAt="2026-12-01T10:00:00Z"), "reconcileAt"),
        (lambda app: app["status"].update(reconciledAt="yesterday"), "date-time"),
        (lambda app: app["status"]["sync"].update(revisions="abc"), "not of type 'array'"),
        (lambda app: app["metadata"].update(generation="7"), "not of type 'integer'"),
        (lambda app: app["status"]["summary"].update(images=[1]), "not of type 'string'"),
        # Argo CD's API describes no kind/apiVersion on the Application it answers with
        (lambda app: app.update(kind="Application"), "'kind' was unexpected"),
    ],
)
def test_the_fake_refuses_an_application_argocd_would_not_serve(
    argocd: ArgoCDFake, change: object, why: str
) -> None:
    app = states.synced_healthy()
    change(app)  # type: ignore[operator]
    with pytest.raises(ContractError, match=why):
        argocd.add(app)
    assert argocd.apps == {}


def test_every_state_and_error_body_is_argocds() -> None:
    spec = Spec()
    for name, state in states.STATES.items():
        assert spec.problems(state.build(), status=200) == [], name
    for status in (401, 403, 404, 500, 503):
        assert spec.problems(error_body(status, "x"), status=status) == []
    assert spec.problems({"error": 1}, status=500) != []


def test_the_trimmed_swagger_is_closed_and_pinned() -> None:
    raw = json.loads(trim_swagger.OUTPUT.read_text(encoding="utf-8"))
    pin = raw["info"]["x-trimmed-from"]
    assert pin["commit"] == trim_swagger.COMMIT
    assert pin["sha256"] == trim_swagger.SPEC_SHA256
    assert set(raw["paths"]) == {"/api/v1/applications/{name}"}
    # every $ref resolves inside the file, and trimming it again changes nothing
    again = trim_swagger.trim(raw, pin["sha256"])
    assert again["definitions"] == raw["definitions"]
    assert "v1alpha1Application" in raw["definitions"]


def test_a_body_the_fake_builds_wrong_is_refused_loudly(argocd: ArgoCDFake) -> None:
    app = argocd.add(states.synced_healthy())
    app["status"]["reconciledAt"] = "not a time"  # corrupt what the fake holds, behind its back
    with pytest.raises(LiveError) as caught:
        get_application(ArgoCDEndpoint(argocd.url, TOKEN), "web-staging", retries=0)
    assert caught.value.kind == "unreachable"  # the fake closed the connection, no body
    assert len(argocd.contract_errors) == 1
    assert "date-time" in argocd.contract_errors[0]
    argocd.contract_errors.clear()  # seen: the fixture would fail the test otherwise
