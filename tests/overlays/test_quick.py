"""The quick pin reader gives exactly what the full reader gives, whenever it answers.

:func:`gitops_promote.apply.overlays.quick.read_pin` reads ordinary overlays without a
YAML tree and answers UNSURE for anything else; an answer must be the full reader's
(:func:`gitops_promote.apply.overlays.read_pin`, the one every history reader falls back
to), and where the full reader refuses the file (an error), the quick one must be unsure.
Held over every YAML file of the fixtures and the examples, over the generated overlays
of the editors' property tests (kustomizations, Helm values, setter markers, hostile
text) and the generated and mutated documents of the YAML tests, and for the ordinary
shapes it must answer (not merely be unsure).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_overlay_properties import (
    DIGESTS,
    HELM_SHAPES,
    MARKER_LINES,
    NAMES,
    TAGS,
    YAMLISH,
    kustomizations,
)
from test_yamlfast import TEXTS, generated, mutated

from gitops_promote.apply import overlays
from gitops_promote.apply.overlays import quick
from gitops_promote.apply.overlays.model import Pin, Target
from gitops_promote.config.model import EditorKind
from gitops_promote.errors import OverlayError
from gitops_promote.images import ImageRef

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
KINDS: tuple[EditorKind, ...] = ("auto", "kustomize", "helm", "setter")
FILENAMES = ("kustomization.yaml", "values.yaml", "deploy.yaml", "dir/Kustomization")


def full(filename: str, text: str, target: Target) -> Pin | OverlayError | None:
    try:
        return overlays.read_pin(filename, text, target)
    except OverlayError as err:
        return err


def agree(filename: str, text: str, target: Target) -> bool:
    """The quick answer is the full reader's (or UNSURE); True when it answered."""
    answer = quick.read_pin(filename, text, target)
    if isinstance(answer, quick.Unsure):
        return False
    expected = full(filename, text, target)
    assert not isinstance(expected, OverlayError), (
        f"quick answered {answer} where the full reader says: {expected}"
    )
    assert answer == expected, (filename, text, target)
    return True


def targets_for(text: str, filename: str) -> list[Target]:
    """Targets worth asking about in ``text``: the usual ones, and every name it pins."""
    out = [Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", kind, setter="api") for kind in KINDS]
    out += [Target("nginx", "nginx", "auto", key="app.image", setter="nginx")]
    try:
        found = overlays.read_pins(filename, text)
    except OverlayError:
        found = []
    for name, _ in found:
        for kind in KINDS:
            out.append(Target(name, name, kind, key=name, setter=name))
    return out


def _yaml_files() -> list[Path]:
    found: set[Path] = set()
    for base in (TESTS / "fixtures", TESTS / "config" / "data", ROOT / "examples"):
        for path in base.rglob("*"):
            if path.is_file() and (
                path.suffix in (".yaml", ".yml") or path.name == "Kustomization"
            ):
                found.add(path)
    return sorted(found)


FILES = _yaml_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_fixture_reads_the_same(path: Path) -> None:
    """Every YAML file of the fixtures and examples (kustomizations, Helm values, Flux,
    Argo CD and Kargo files, promotion.yaml, valid and broken), under its own name and
    as each kind of overlay, for every target: the quick answer is the full one."""
    text = path.read_bytes().decode("utf-8")
    for filename in {path.name, *FILENAMES}:
        for target in targets_for(text, filename):
            agree(filename, text, target)


def test_the_ordinary_fixtures_are_answered() -> None:
    """The quick reader is not merely safe: it reads the plain kustomizations and values
    files of the fixtures itself."""
    answered = 0
    for path in FILES:
        text = path.read_bytes().decode("utf-8")
        for target in targets_for(text, path.name):
            answered += agree(path.name, text, target)
    assert answered > 200


BENCH_OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/myorg/app-0001
    digest: sha256:{hex}
"""


def test_the_bench_overlay_is_answered_with_its_pin() -> None:
    text = BENCH_OVERLAY.format(hex="a" * 64)
    target = Target("ghcr.io/myorg/app-0001", "ghcr.io/myorg/app-0001", "auto")
    pin = quick.read_pin("apps/app-0001/overlays/dev/kustomization.yaml", text, target)
    assert pin == Pin(ImageRef("ghcr.io/myorg/app-0001", None, "sha256:" + "a" * 64), 7)
    other = Target("ghcr.io/myorg/other", "ghcr.io/myorg/other", "auto")
    assert quick.read_pin("kustomization.yaml", text, other) is None  # not pinned here


KUSTOMIZE = Target("api", "api", "kustomize")
HELM = Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", "helm")
MARKED = Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", "auto", setter="api")


@pytest.mark.parametrize(
    ("filename", "text", "target", "expected"),
    [
        ("kustomization.yaml", "images:\n- name: api\n  newTag: v1\n", KUSTOMIZE, "v1"),
        ("kustomization.yaml", "images: [{name: api, newTag: 'v1'}]\n", KUSTOMIZE, "v1"),
        ("kustomization.yaml", 'images:\n  - {name: api, newTag: "1.10"}\n', KUSTOMIZE, "1.10"),
        ("kustomization.yaml", "images:\n- name: other\n  newTag: v1\n", KUSTOMIZE, None),
        ("kustomization.yaml", "resources: [a.yaml]\n", KUSTOMIZE, None),
        ("kustomization.yaml", "images:\n", KUSTOMIZE, None),
        ("kustomization.yaml", "images: []\n", KUSTOMIZE, None),
        ("kustomization.yaml", "", KUSTOMIZE, None),
        ("kustomization.yaml", "# just a comment\n---\n", KUSTOMIZE, None),
        ("values.yaml", "image:\n  repository: ghcr.io/myorg/api\n  tag: v2\n", HELM, "v2"),
        ("values.yaml", "image: ghcr.io/myorg/api:v3  # pinned\n", HELM, "v3"),
        ("values.yaml", "image: {repository: ghcr.io/myorg/api, tag: v4}\n", HELM, "v4"),
        ("values.yaml", "replicas: 2\n", HELM, None),
        ("deploy.yaml", "kind: Deployment\n", Target("x", "x", "auto"), None),
    ],
)
def test_common_shapes_are_answered(
    filename: str, text: str, target: Target, expected: str | None
) -> None:
    assert agree(filename, text, target)
    pin = quick.read_pin(filename, text, target)
    assert (pin.ref.tag if isinstance(pin, Pin) else pin) == expected


@pytest.mark.parametrize(
    ("filename", "text", "target"),
    [
        # the full reader refuses these: the quick one must not answer
        ("kustomization.yaml", "images:\n- name: api\n  newTag: v1\n  newTag: v2\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n- name: api\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- newTag: v1\n", KUSTOMIZE),
        ("kustomization.yaml", "images: api\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  digest: sha256:abc\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag: [v1]\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag: v1\n bad: indent\n", KUSTOMIZE),
        ("kustomization.yaml", "images: [{name: api, newTag: v1\n", KUSTOMIZE),
        ("kustomization.yaml", "- a\n- b\n", KUSTOMIZE),
        ("values.yaml", "image:\n", HELM),
        ("values.yaml", "image: [a]\n", HELM),
        ("values.yaml", "image: 'NOT A REF'\n", HELM),
        ("values.yaml", "image:\n  repository: ghcr.io/myorg/api\n  tag: {a: b}\n", HELM),
        # valid, but outside the subset: the full reader decides
        ("kustomization.yaml", "x: &a v1\nimages:\n- name: api\n  newTag: *a\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag: !!str v1\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag: v1\n---\nb: 1\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\r\n- name: api\r\n  newTag: v1\r\n", KUSTOMIZE),
        ("kustomization.yaml", "\ufeffimages:\n- name: api\n  newTag: v1\n", KUSTOMIZE),
        ("kustomization.yaml", 'images:\n- name: api\n  newTag: "v\\x31"\n', KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag: >\n    v1\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag: v1\n    continued\n", KUSTOMIZE),
        ("kustomization.yaml", "labels: {café: x}\nimages: []\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n-\n  name: api\n", KUSTOMIZE),
        ("kustomization.yaml", "images:\n- name: api\n  newTag:\tv1\n", KUSTOMIZE),
        ("deploy.yaml", 'image: ghcr.io/myorg/api:v1 # {"$promote": "api"}\n', MARKED),
        ("deploy.yaml", 'image: a:v1 # {"$promote": "api"}\n', Target("a", "a", "auto")),
    ],
)
def test_unusual_or_refused_files_are_left_to_the_full_reader(
    filename: str, text: str, target: Target
) -> None:
    assert quick.read_pin(filename, text, target) is quick.UNSURE
    agree(filename, text, target)


def test_a_setter_target_without_markers_pins_nothing_whatever_the_text() -> None:
    """The full reader looks for markers before it parses: none, nothing pinned."""
    target = Target("a", "a", "setter", setter="a")
    for text in ("a: [\n", "image: x:v1\n", "\ufeff&&&"):
        assert quick.read_pin("deploy.yaml", text, target) is None
        assert agree("deploy.yaml", text, target)


# -- generated overlays ------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAME_TARGETS = [Target(name, name, kind) for name in [*NAMES, "missing"] for kind in KINDS]


@SETTINGS
@given(kustomizations())
def test_generated_kustomizations_read_the_same(text: str) -> None:
    """The editors' generated kustomizations (indentation, indentless lists, quoting, key
    order, comments, document markers, CRLF, BOM): the same pin for every name; and the
    ones in the subset (LF, no BOM) are all answered."""
    ordinary = "\r" not in text and not text.startswith("\ufeff")
    for target in NAME_TARGETS:
        for filename in ("kustomization.yaml", "base/Kustomization", "values.yaml"):
            answered = agree(filename, text, target)
            if ordinary and filename != "values.yaml" and target.kind in ("auto", "kustomize"):
                assert answered, text


@SETTINGS
@given(
    st.sampled_from(HELM_SHAPES),
    st.sampled_from(["v1", "1.10", "'v1'", '"2"', "~", "", "v1 # c"]),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(["ghcr.io/myorg/api", "nginx", "Bad Name"]),
    st.sampled_from([None, *DIGESTS, "sha256:abc"]),
    st.sampled_from(["", "# values\n", "---\n", "nested:\n  deeper: 1\n", "image: x\n"]),
)
def test_generated_helm_values_read_the_same(
    shape: str, tag: str, nl: str, name: str, digest: str | None, extra: str
) -> None:
    """Helm values in the editors' shapes, with odd tags, digests, names and neighbours."""
    text = extra + shape.format(name=name, tag=tag, raw_tag=tag)
    if digest is not None:
        text = text.replace("tag: ", f"digest: {digest}\n  tag: ", 1)
    text = text.replace("\n", nl)
    for key in ("image", "image.repository", "nested.deeper", "missing"):
        for kind in ("auto", "helm"):
            target = Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", kind, key=key)
            for filename in ("values.yaml", "values-prod.yaml", "release.yaml"):
                agree(filename, text, target)


@SETTINGS
@given(
    st.lists(st.sampled_from(MARKER_LINES), min_size=1, max_size=8),
    st.sampled_from(TAGS),
)
def test_setter_marker_files_read_the_same(lines: list[str], tag: str) -> None:
    """Files with setter markers (the full reader reads those) and without them."""
    body = [line.format(ref=f"ghcr.io/myorg/api:{tag}") for line in lines]
    text = "\n".join(["spec:", "  x:", "    y:", *body]) + "\n"
    for kind in KINDS:
        for setter in ("api", "flux-system:api", "other"):
            target = Target("ghcr.io/myorg/api", "ghcr.io/myorg/api", kind, setter=setter)
            agree("deploy.yaml", text, target)


HOSTILE_TARGETS = [
    Target("images", "images", kind, key=key, setter="a")
    for kind in KINDS
    for key in ("image", "images", "a.b")
]


@settings(max_examples=500, deadline=None)
@given(YAMLISH, st.sampled_from(["kustomization.yaml", "values.yaml", "deploy.yaml"]))
def test_hostile_text_never_gets_a_wrong_answer(text: str, filename: str) -> None:
    """Whatever the text: no exception, and an answer only where it is the full one."""
    for target in HOSTILE_TARGETS:
        agree(filename, text, target)


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="abimgesn :-#[]{},'\"~&*!|>?@01\n", max_size=60),
    st.sampled_from(["kustomization.yaml", "values.yaml"]),
)
def test_punctuation_soup_never_gets_a_wrong_answer(text: str, filename: str) -> None:
    for target in HOSTILE_TARGETS:
        agree(filename, text, target)


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_generated_and_mutated_documents_read_the_same(rng: random.Random) -> None:
    """The YAML tests' generated block documents (maps, lists, anchors, empty values,
    quoting, markers), whole or after random edits, and mutated fixtures."""
    text = generated(rng)
    roll = rng.random()
    if roll < 0.4:
        text = mutated(rng, text)
    elif roll < 0.7:
        text = mutated(rng, rng.choice(TEXTS))
    keys = ("a", "key", "name", "image", "key.name", "a.b")
    for kind in KINDS:
        for key in keys:
            target = Target("image", "name", kind, key=key, setter="a")
            for filename in ("kustomization.yaml", "values.yaml"):
                agree(filename, text, target)
