"""A broken pin (an invalid digest, tag or name) is repaired by pinning over it, as
``kustomize edit set image`` does: only the values an edit keeps (``*``) are validated."""

from __future__ import annotations

import pytest

from gitops_promote.apply import overlays
from gitops_promote.errors import OverlayError
from gitops_promote.images import ImageRef, SetImage

A = "ghcr.io/myorg/api"
D = "sha256:" + "a" * 64
K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
KUSTOMIZE = overlays.Target(image=A, match=A, kind="auto")
HELM = overlays.Target(image=A, match=A, kind="helm")
SETTER = overlays.Target(image=A, match=A, kind="setter", setter="api")
PIN = SetImage(A, None, "v2", D)
WANT = ImageRef(A, "v2", D)

BROKEN = [
    pytest.param(
        "kustomization.yaml",
        K + f"images:\n- name: {A}\n  newTag: v1\n  digest: sha256:abc\n",
        KUSTOMIZE,
        id="kustomize-digest",
    ),
    pytest.param(
        "kustomization.yaml",
        K + f"images:\n- name: {A}\n  newTag: 'not a tag!'\n",
        KUSTOMIZE,
        id="kustomize-tag",
    ),
    pytest.param(
        "kustomization.yaml",
        K + f"images:\n- name: {A}\n  newName: Not/A/Name\n  newTag: v1\n",
        KUSTOMIZE,
        id="kustomize-name",
    ),
    pytest.param(
        "values.yaml",
        f"image:\n  repository: {A}\n  tag: v1\n  digest: sha256:nothex\n",
        HELM,
        id="helm-digest",
    ),
    pytest.param("values.yaml", "image: Not/A/Reference\n", HELM, id="helm-string"),
    pytest.param(
        "deploy.yaml", 'image: "Bad Ref" # {"$promote": "api"}\n', SETTER, id="setter-whole"
    ),
    pytest.param(
        "deploy.yaml",
        'tag: v1 # {"$promote": "api:tag"}\ndigest: "sha256:zz" # {"$promote": "api:digest"}\n',
        SETTER,
        id="setter-field",
    ),
]


@pytest.mark.parametrize(("filename", "text", "target"), BROKEN)
def test_broken_pin_is_repaired_by_a_full_pin(
    filename: str, text: str, target: overlays.Target
) -> None:
    """Reading a broken pin is refused (file:line), but pinning a whole new reference over
    it writes a valid pin: nothing of the broken value is kept."""
    with pytest.raises(OverlayError, match=rf"^{filename}:\d+: "):
        overlays.read_pin(filename, text, target)
    fixed = overlays.set_pin(filename, text, target, PIN)
    pin = overlays.read_pin(filename, fixed, target)
    assert pin is not None
    assert pin.ref == WANT


@pytest.mark.parametrize(
    ("filename", "text", "target", "arg"),
    [
        (
            "kustomization.yaml",
            K + f"images:\n- name: {A}\n  newTag: 'not a tag!'\n",
            KUSTOMIZE,
            SetImage(A, None, "*", D),
        ),
        ("values.yaml", "image: Not/A/Reference\n", HELM, SetImage(A, "*", "v2", D)),
        (
            "deploy.yaml",
            'image: "ghcr.io/myorg/api:v1@sha256:zz" # {"$promote": "api"}\n',
            SETTER,
            SetImage(A, None, "v2", "*"),
        ),
    ],
)
def test_keeping_a_broken_value_is_refused(
    filename: str, text: str, target: overlays.Target, arg: SetImage
) -> None:
    """An edit that keeps (``*``) an invalid value is refused, naming the file and line."""
    with pytest.raises(OverlayError, match=rf"^{filename}:\d+: ") as err:
        overlays.set_pin(filename, text, target, arg)
    assert "\n" not in str(err.value)
