"""The Kubernetes API fake holds every object to Flux's CRDs and answers as the API does."""

from __future__ import annotations

import copy
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.kube_fake import CrdViolationError, KubeFake, states, trim_crds
from support.kube_fake.crds import load

KS_PATH = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/"


def _get(fake: KubeFake, path: str, token: str | None) -> tuple[int, Any]:
    context = ssl.create_default_context(cafile=str(fake.pki.ca))
    request = urllib.request.Request(fake.url + path)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_trimmed_crds_are_the_pinned_ones() -> None:
    """Each committed schema says it came from the commit and sha256 trim_crds.py pins, and
    keeps the served version's schema of the kind the fake serves."""
    for crd in trim_crds.CRDS:
        doc = json.loads((Path(trim_crds.__file__).parent / crd.output).read_text())
        assert doc["x-trimmed-from"]["commit"] == crd.commit
        assert doc["x-trimmed-from"]["sha256"] == crd.sha256
        assert doc["x-trimmed-from"]["repository"] == crd.repo
        assert doc["version"] == crd.version
        assert doc["scope"] == "Namespaced"
        assert set(doc["openAPIV3Schema"]["properties"]) >= {"spec", "status", "metadata"}
    assert {load(k).api_version for k in ("Kustomization", "HelmRelease")} == {
        "kustomize.toolkit.fluxcd.io/v1",
        "helm.toolkit.fluxcd.io/v2",
    }


@pytest.mark.parametrize("state", states.STATES, ids=lambda s: s.name)
def test_every_documented_state_is_valid_against_the_flux_crd(state: states.State) -> None:
    obj = state.build()
    if obj is None:
        return
    assert load(state.kind).errors(obj) == []


def test_an_object_that_breaks_the_crd_is_refused(kube_fake: KubeFake) -> None:
    obj = states.ks_ready()
    bad_status = copy.deepcopy(obj)
    bad_status["status"]["conditions"][0]["status"] = "Maybe"  # enum True/False/Unknown
    misspelt = copy.deepcopy(obj)
    misspelt["status"]["lastAppliedRevison"] = "main@sha1:" + "1" * 40
    no_source = copy.deepcopy(obj)
    del no_source["spec"]["sourceRef"]
    hr_both = states.hr_installed()
    hr_both["spec"]["chartRef"] = {"kind": "OCIRepository", "name": "web"}
    for bad, words in (
        (bad_status, "status/conditions/0/status"),
        (misspelt, "lastAppliedRevison"),
        (no_source, "sourceRef"),
        (hr_both, "either chart or chartRef"),
    ):
        with pytest.raises(CrdViolationError, match=words):
            kube_fake.add(bad)


def test_serving_checks_the_object_again(kube_fake: KubeFake) -> None:
    obj = states.ks_ready()
    obj["status"]["observedGeneration"] = "one"
    kube_fake.put_unchecked(obj)
    with pytest.raises(CrdViolationError):
        load("Kustomization").check(obj)
    # The fake's handler raises: the client sees the connection end, never the object.
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(kube_fake, KS_PATH + "web-staging", kube_fake.token)


def test_it_answers_like_the_api_server(kube_fake: KubeFake) -> None:
    kube_fake.add(states.ks_ready())
    status, body = _get(kube_fake, KS_PATH + "web-staging", kube_fake.token)
    assert status == 200
    assert body["kind"] == "Kustomization"
    status, body = _get(kube_fake, KS_PATH + "other", kube_fake.token)
    assert (status, body["reason"], body["details"]["name"]) == (404, "NotFound", "other")
    status, body = _get(kube_fake, "/apis/example.com/v1/namespaces/a/things/b", kube_fake.token)
    assert (status, body["reason"], body["details"]) == (404, "NotFound", {})
    assert _get(kube_fake, KS_PATH + "web-staging", None)[0] == 401
    assert _get(kube_fake, KS_PATH + "web-staging", "wrong")[0] == 401
    kube_fake.add_user("reader", "reader-token", {"apps"})
    status, body = _get(kube_fake, KS_PATH + "web-staging", "reader-token")
    assert status == 403
    assert 'User "reader" cannot get resource "kustomizations"' in body["message"]
    kube_fake.fail("status", status=503, times=1)
    assert _get(kube_fake, KS_PATH + "web-staging", kube_fake.token)[0] == 503
    assert _get(kube_fake, KS_PATH + "web-staging", kube_fake.token)[0] == 200
    assert [r.user for r in kube_fake.requests][:1] == [kube_fake.user]
