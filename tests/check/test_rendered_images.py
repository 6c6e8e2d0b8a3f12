"""Images as deployed, read from rendered objects (pure), and the reverse reference walk
that finds which overlays a changed file reaches (pure): unit tests and properties."""

from __future__ import annotations

import json
import posixpath
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_promote.facts import rendered as ri
from gitops_promote.facts.changes import (
    Tree,
    could_reference,
    join_ref,
    reached,
    relative,
    spellings,
)

DIGEST = "sha256:" + "cd" * 32


def workload(kind: str, field: str, image: str) -> dict[str, Any]:
    spec = {field: [{"name": "c", "image": image}]}
    template = {"spec": spec}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w"}, "spec": spec}
    if kind == "CronJob":
        body = {"jobTemplate": {"spec": {"template": template}}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "w"}, "spec": body}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "w"},
        "spec": {"template": template},
    }


KINDS = st.sampled_from(sorted(ri.POD_SPECS.keys() - {"PodTemplate"}))
FIELDS = st.sampled_from(ri.CONTAINER_FIELDS)
IMAGES = st.builds(
    lambda repo, tag, digest: repo + (f":{tag}" if tag else "") + (f"@{DIGEST}" if digest else ""),
    st.from_regex(r"[a-z]{1,8}(\.io)?/[a-z]{1,8}", fullmatch=True),
    st.one_of(st.none(), st.from_regex(r"v[0-9]{1,3}", fullmatch=True)),
    st.booleans(),
)


@given(st.lists(st.tuples(KINDS, FIELDS, IMAGES), max_size=8))
def test_every_container_image_of_every_workload_kind_is_found(
    items: list[tuple[str, str, str]],
) -> None:
    """containers, initContainers and ephemeralContainers of every workload kind (CronJob's
    jobTemplate included) are read; nothing else is invented."""
    objects = [workload(kind, field, image) for kind, field, image in items]
    found = ri.image_strings(ri.images_of(objects))
    assert found == tuple(sorted({image for _, _, image in items}))


def test_other_kinds_and_odd_shapes_name_no_image() -> None:
    """A ConfigMap whose data says image:, a Deployment without a pod spec, or containers
    that are not a list name no image: only what a workload would run counts."""
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"image": "evil.io/x:1"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": None}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": "x"}}},
        },
    ]
    assert ri.images_of(objects) == ()


def test_helm_values_in_a_helmrelease_and_in_a_values_file() -> None:
    """A HelmRelease's values and a plain values document name images as ``image:``
    strings or ``{registry, repository, tag, digest}`` mappings, at any depth."""
    values = {
        "image": {"registry": "ghcr.io", "repository": "o/api", "tag": "1.0", "digest": DIGEST},
        "worker": {"image": "ghcr.io/o/worker:2"},
        "sidecars": [{"repository": "evil.io/s", "tag": 3}],
    }
    release = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "api"},
        "spec": {"values": values},
    }
    want = ("evil.io/s:3", f"ghcr.io/o/api:1.0@{DIGEST}", "ghcr.io/o/worker:2")
    assert ri.image_strings(ri.images_of([release])) == want
    assert ri.image_strings(ri.images_of([values])) == want
    (api,) = [i for i in ri.images_of([release]) if "o/api" in i.image]
    assert api.where == "HelmRelease/api values.image"


@given(
    st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=4), max_size=5),
    st.randoms(),
)
def test_normalised_ignores_document_and_key_order(docs: list[dict[str, int]], rnd: Any) -> None:
    """Two renders with the same documents in another order, keys in another order,
    compare equal; a changed value does not."""
    shuffled = [dict(sorted(d.items(), reverse=True)) for d in docs]
    rnd.shuffle(shuffled)
    assert ri.normalised(docs) == ri.normalised(shuffled)
    if docs:
        changed = [*docs[1:], {**docs[0], "__x": 1}]
        assert ri.normalised(docs) != ri.normalised(changed)


def test_origin_prefers_the_whole_string_then_the_repository() -> None:
    """The line that writes an image: its whole string first, else its repository (an
    ``images:`` newName), else its digest, in the order the files are given."""
    texts = [
        ("patch.yaml", "kind: Deployment\n  image: evil.io/api:1\n"),
        (
            "kustomization.yaml",
            f"images:\n  - name: a\n    newName: evil.io/other\n    digest: {DIGEST}\n",
        ),
    ]
    assert ri.origin("evil.io/api:1", texts) == ("patch.yaml", 2)
    assert ri.origin(f"evil.io/other:v1@{DIGEST}", texts) == ("kustomization.yaml", 3)
    assert ri.origin("nowhere.io/x", texts) is None


# -- the reverse reference walk ----------------------------------------------------------------

SEGMENT = st.from_regex(r"[a-z]{1,3}", fullmatch=True)
PATHS = st.lists(SEGMENT, max_size=4).map("/".join)


@given(PATHS, PATHS)
def test_relative_is_relpath_and_every_spelling_resolves(target: str, directory: str) -> None:
    """relative() is posixpath.relpath for repo-relative paths, without the file system;
    every spelling resolves to the target."""
    assert relative(target, directory) == posixpath.relpath(target or ".", directory or ".")
    for ref in spellings(target, directory):
        assert (join_ref(directory, ref) or "") == target


def _spellings(target: str, directory: str, noise: list[str]) -> list[str]:
    """Ways a kustomization may write a reference: the normal relative path, up past the
    nearest common ancestor and down again, ./-prefixed, with a trailing slash, with
    ``x/..`` and ``/./`` detours, with doubled slashes."""
    rel = posixpath.relpath(target, directory or ".")
    out: list[str] = []
    for up in range(directory.count("/") + 2):
        base = "/".join(directory.split("/")[: max(0, directory.count("/") + 1 - up)])
        if directory and (target == base or target.startswith(f"{base}/") or not base):
            down = posixpath.relpath(target, base or ".")
            out.append("/".join([".."] * up + ([] if down == "." else [down])) or ".")
    out += [rel, f"./{rel}", f"{rel}/"]
    for word in noise:
        out += [f"{word}/../{rel}", rel.replace("/", "/./", 1), rel.replace("/", "//", 1)]
    return out


@settings(max_examples=200)
@given(
    PATHS,
    PATHS,
    st.lists(SEGMENT, min_size=1, max_size=2),
    st.sampled_from(["plain", "quoted", "flow"]),
)
def test_could_reference_has_no_false_negatives(
    target: str, directory: str, noise: list[str], style: str
) -> None:
    """Every spelling of a reference that resolves to the target passes the cheap test, in
    block, quoted and flow YAML: the walk never skips a kustomization that names it."""
    if not target or target == directory:
        return
    tried = 0
    for ref in _spellings(target, directory, noise):
        if join_ref(directory, ref) != target:
            continue
        tried += 1
        text = {
            "plain": f"resources:\n  - {ref}\n",
            "quoted": f'resources:\n  - "{ref}"\n',
            "flow": f"resources: [{ref}]\n",
        }[style]
        assert could_reference(text, directory, target), (text, directory, target)
    assert tried >= 1


def test_yaml_escapes_are_always_parsed() -> None:
    """A double-quoted escape can spell a path without its text: such a kustomization is
    always parsed, and the walk follows it."""
    text = 'resources:\n  - "\\x2e\\x2e/\\x2e\\x2e/base"\n'
    assert could_reference(text, "apps/a/overlays/prod", "apps/a/base")
    files = {
        "apps/a/base/kustomization.yaml": "resources: [d.yaml]\n",
        "apps/a/base/d.yaml": "kind: Deployment\n",
        "apps/a/overlays/prod/kustomization.yaml": text,
    }
    found = reached(Tree.of("t", files, files), ["apps/a/base/d.yaml"])
    assert found["apps/a/overlays/prod"] == {"apps/a/base/d.yaml"}


def test_reached_follows_components_patches_generators_and_other_envs() -> None:
    """A changed file reaches every overlay built from it: through a component's patch, a
    generator input, and a directory inside another env's overlay; nothing else."""
    files = {
        "c/kustomization.yaml": "kind: Component\npatches:\n  - path: p.yaml\n",
        "c/p.yaml": "x\n",
        "staging/shared/kustomization.yaml": "resources: [cm.yaml]\n",
        "staging/shared/cm.yaml": "x\n",
        "staging/kustomization.yaml": "resources: [shared]\ncomponents: [../c]\n",
        "prod/kustomization.yaml": (
            "resources:\n  - ../staging/shared\nconfigMapGenerator:\n"
            "  - name: g\n    files: [k=app.properties]\n"
        ),
        "prod/app.properties": "a=1\n",
        "other/kustomization.yaml": "resources: [../prod/app.properties.bak]\n",
    }
    tree = Tree.of("t", files, files)
    found = reached(tree, ["c/p.yaml", "staging/shared/cm.yaml", "prod/app.properties"])
    assert found["staging"] == {"c/p.yaml", "staging/shared/cm.yaml"}
    assert found["prod"] == {"staging/shared/cm.yaml", "prod/app.properties"}
    assert "other" not in found


def test_reached_survives_cycles() -> None:
    """Two kustomizations that name each other do not loop the walk."""
    files = {
        "a/kustomization.yaml": "resources: [../b]\n",
        "b/kustomization.yaml": "resources: [../a]\n",
    }
    found = reached(Tree.of("t", files, files), ["a/kustomization.yaml"])
    assert found["a"] == found["b"] == {"a/kustomization.yaml"}


def test_deployed_images_are_json_serialisable_strings() -> None:
    """What the walk returns can go into --json as is."""
    images = ri.images_of([workload("Deployment", "containers", f"ghcr.io/o/a@{DIGEST}")])
    assert json.loads(json.dumps([i.image for i in images])) == [f"ghcr.io/o/a@{DIGEST}"]


def test_reached_through_a_reference_that_climbs_past_the_common_ancestor() -> None:
    """``../../../api/base`` from apps/api/overlays/prod names apps/api/base without
    holding its normal relative path (``../../base``): the walk still follows it."""
    files = {
        "apps/api/base/kustomization.yaml": "resources: [d.yaml]\n",
        "apps/api/base/d.yaml": "kind: Deployment\n",
        "apps/api/overlays/prod/kustomization.yaml": "resources:\n  - ../../../api/base\n",
    }
    found = reached(Tree.of("t", files, files), ["apps/api/base/d.yaml"])
    assert found["apps/api/overlays/prod"] == {"apps/api/base/d.yaml"}
