"""Files the editors refuse: one line naming the file (and line), with a hint to fix it."""

from __future__ import annotations

import pytest

from gitops_promote.apply import overlays
from gitops_promote.errors import OverlayError
from gitops_promote.images import SetImage

A = "ghcr.io/myorg/api"
D = "sha256:" + "a" * 64
K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
KUSTOMIZE = overlays.Target(image=A, match=A, kind="auto")
PIN = SetImage(A, None, "v2", D)


def refusal(filename: str, text: str, target: overlays.Target, arg: SetImage = PIN) -> str:
    with pytest.raises(OverlayError) as err:
        overlays.set_pin(filename, text, target, arg)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(filename)
    assert err.value.hint
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (K + "images:\n- name: [unclosed\n", "kustomization.yaml:5:1: invalid YAML"),
        (K + "images:\n\t- name: x\n", "invalid YAML"),
        (K + "images: {name: " + A + "}\n", "images: is not a list"),
        (K + "images: " + A + "\n", "images: is not a list"),
        (K + f"images:\n- name: {A}\n  newTag: v1\n- name: {A}\n  newTag: v2\n", "two entries"),
        (K + "images:\n- newTag: v1\n", "has no name"),
        (K + "images:\n- just-a-string\n", "not a mapping"),
        (K + f"images:\n- name: {A}\n  newTag: v1\n  newTag: v2\n", "twice"),
        (K + f"images:\n- name: {A}\n  newTag: |\n    v1\n", "several lines"),
        (K + f"t: &t v1\nimages:\n- name: {A}\n  newTag: *t\n", ":6: newTag is a YAML alias"),
        (K + f"images:\n- name: {A}\n  newTag: !!str v1\n", "tag or anchor"),
        ("- not\n- a\n- kustomization\n", "not a kustomization"),
        ("{resources: [../base]}\n", "flow style"),
    ],
)
def test_kustomization_refusals(text: str, expected: str) -> None:
    """Broken YAML, an images: that is not a list, duplicate entries, entries without a
    name, multi-line or aliased values are refused in one line."""
    assert expected in refusal("kustomization.yaml", text, KUSTOMIZE)


def test_alias_bomb_is_refused() -> None:
    """A billion-laughs file is refused before anything expands it."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = K + "\n".join(lines) + "\n"
    assert "alias" in refusal("kustomization.yaml", text, KUSTOMIZE)
    with pytest.raises(OverlayError, match="alias"):
        overlays.read_pin("kustomization.yaml", text, KUSTOMIZE)


def test_refusal_leaves_no_partial_result() -> None:
    """A refused edit raises instead of returning: nothing half-edited can be written."""
    text = K + f"images:\n- name: {A}\n  newTag: v1\n- name: {A}\n"
    with pytest.raises(OverlayError):
        overlays.set_pin("kustomization.yaml", text, KUSTOMIZE, PIN)


HELM = overlays.Target(image=A, match=A, kind="helm")


@pytest.mark.parametrize(
    ("text", "arg", "expected"),
    [
        ("replicaCount: 1\n", PIN, "has no 'image' key"),
        (f"image:\n  repository: {A}\n  tag: v1\n", SetImage(A, None, None, D), "no digest key"),
        (f"image: {A}:v1\n---\nimage: {A}:v2\n", PIN, "more than one YAML document"),
        ("image: [a, b]\n", PIN, "neither an image reference nor a mapping"),
        (f"image:\n  repository: {A}\n  tag:\n    - v1\n", PIN, "not a single value"),
        ("image: Not/A/Reference\n", SetImage(A, "*", "v2", D), "values.yaml:1"),
    ],
)
def test_helm_refusals(text: str, arg: SetImage, expected: str) -> None:
    """A values file without the key, a digest with nowhere to go, ambiguous documents,
    values of the wrong shape and an invalid name the edit keeps are refused with a hint."""
    assert expected in refusal("values.yaml", text, HELM, arg)


SETTER = overlays.Target(image=A, match=A, kind="setter", setter="api")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("image: x:v1\n", "has no setter marker for api"),
        ('image: x:v1 # {"$promote": api}\n', "not valid JSON"),
        ('image: x:v1 # {"$promote": ""}\n', "one non-empty string"),
        ('image: # {"$promote": "api"}\n', "does not follow a value"),
        ('image: x:v1 # {"$imagepolicy": "api"}\n', "<namespace>:<policy>"),
        (f'image: {A}:v1 # {{"$imagepolicy": "ns:api:bogus"}}\n', "<namespace>"),
        ('tag: v1 # {"$promote": "api:tag"}\n', "carry no digest"),
        ('digest: "" # {"$promote": "api:digest"}\n', "carry no tag"),
    ],
)
def test_setter_refusals(text: str, expected: str) -> None:
    """Missing, malformed or misplaced markers, and pins the markers cannot hold, are
    refused rather than skipped."""
    assert expected in refusal("deploy.yaml", text, SETTER)


def test_unknown_file_kind_is_refused_but_reads_as_no_pin() -> None:
    """With kind auto, a file that pins the image nowhere reads as None and refuses edits."""
    text = "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"
    assert overlays.read_pin("cm.yaml", text, KUSTOMIZE) is None
    assert "found no place that pins" in refusal("cm.yaml", text, KUSTOMIZE)
    with pytest.raises(OverlayError, match="cannot tell how this file pins images"):
        overlays.detect_kind("cm.yaml", text)


@pytest.mark.parametrize(
    ("filename", "text", "kind"),
    [
        ("apps/api/kustomization.yaml", "resources: []\n", "kustomize"),
        ("kustomization.yml", "", "kustomize"),
        ("Kustomization", "resources: []\n", "kustomize"),
        ("deploy.yaml", 'image: a:v1 # {"$promote": "api"}\n', "setter"),
        ("values-prod.yaml", "replicaCount: 1\n", "helm"),
        ("chart-values.yml", "image: {repository: a, tag: b}\n", "helm"),
    ],
)
def test_detect_kind(filename: str, text: str, kind: str) -> None:
    """Kustomizations by name, marked files by marker, Helm values by name or image key."""
    assert overlays.detect_kind(filename, text) == kind
