"""The quick reader parses the shape of a text once for every text that differs from it
only in the word of its ``key: word`` lines (the versions of an overlay, the overlays
of a fleet): whatever text filled the shape first, the answer is the one a fresh parse of
this text gives, and the full reader's.

The words are drawn from the slot alphabet and from its edges (nulls, a trailing colon,
spaces, comments, quotes, a placeholder-like ``x``), in every order, so that a shape
parsed from one text is reused for the others.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_quick import agree, full

from gitops_promote.apply.overlays import quick
from gitops_promote.apply.overlays.model import Target

DIGEST = "sha256:" + "ab" * 32
SHAPES = (
    "apiVersion: {a}\nkind: Kustomization\nresources:\n  - ../../base\n"
    "images:\n  - name: {n}\n    digest: {d}\n",
    "images:\n- name: {n}\n  newName: {a}\n  newTag: {d}\n",
    "images:\n  -   name: {n}\n      newTag:   {d}\n  - name: {a}\n    digest: {d}\n",
    "# c\n---\nimages:\n  - name: {n}\n    newTag: {d} # tag\n    digest: {a}\n",
    "image:\n  repository: {n}\n  tag: {d}\n  digest: {a}\n",
    "image: {n}\nother: {a}\nnested:\n  tag: {d}\n",
    "image:\n  name: {n}\n  registry: {a}\n  tag: {d}\n",
)
WORDS = st.one_of(
    st.sampled_from(
        [
            "ghcr.io/myorg/api",
            "nginx",
            "v1",
            "1.10",
            DIGEST,
            "sha256:abc",
            "x",
            "null",
            "Null",
            "NULL",
            "~",
            "true",
            "a:",
            "a:b",
            "a#b",
            "a b",
            "a # c",
            "'v1'",
            '"v1"',
            "[a]",
            "v1@" + DIGEST,
            "ghcr.io/myorg/api:v2",
            "-",
            "a:b:",
            "Bad Name",
        ]
    ),
    st.text(alphabet="abAZ09_.:@/+=-# '", min_size=1, max_size=12),
)
TARGETS = [
    Target(name, name, kind, key=key)
    for name in ("ghcr.io/myorg/api", "nginx", "x")
    for kind in ("auto", "kustomize", "helm")
    for key in ("image", "image.repository", "other")
]


def fresh(filename: str, text: str, target: Target) -> object:
    """The quick answer with no shape parsed before."""
    saved = dict(quick._TEMPLATES)
    quick._TEMPLATES.clear()
    try:
        return quick.read_pin(filename, text, target)
    finally:
        quick._TEMPLATES.clear()
        quick._TEMPLATES.update(saved)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SHAPES),
    st.lists(st.tuples(WORDS, WORDS, WORDS), min_size=2, max_size=4),
    st.sampled_from(["kustomization.yaml", "values.yaml"]),
)
def test_texts_of_one_shape_read_as_if_parsed_alone(
    shape: str, fills: list[tuple[str, str, str]], filename: str
) -> None:
    for a, n, d in fills:
        text = shape.format(a=a, n=n, d=d)
        for target in TARGETS:
            agree(filename, text, target)  # the full reader's answer, or UNSURE
            assert quick.read_pin(filename, text, target) == fresh(filename, text, target)


def test_a_null_word_is_not_read_from_a_shape_filled_by_a_string() -> None:
    """``tag: null`` is a null, not the string a shape parsed from ``tag: v1`` would put
    back; ``tag: x`` is the string x, not the shape's placeholder."""
    target = Target("nginx", "nginx", "helm", key="image")
    first = "image:\n  repository: nginx\n  tag: v1\n"
    assert quick.read_pin("values.yaml", first, target) == full("values.yaml", first, target)
    for word in ("null", "~", "x", "NULL"):
        text = first.replace("v1", word)
        answer = quick.read_pin("values.yaml", text, target)
        assert answer == full("values.yaml", text, target)


def test_a_shape_the_reader_refuses_is_refused_for_every_word() -> None:
    """A duplicate key refuses the shape: every text of it is left to the full reader."""
    target = Target("nginx", "nginx", "helm", key="image")
    for word in ("v1", "v2", "x"):
        text = f"image:\n  tag: {word}\n  tag: {word}\n"
        assert quick.read_pin("values.yaml", text, target) is quick.UNSURE


def test_the_shapes_kept_are_bounded() -> None:
    target = Target("nginx", "nginx", "helm", key="image")
    for i in range(quick._TEMPLATES_MAX + 50):
        quick.read_pin("values.yaml", f"k{i}:\n  tag: v1\nimage: nginx:v{i}\n", target)
    assert len(quick._TEMPLATES) <= quick._TEMPLATES_MAX
