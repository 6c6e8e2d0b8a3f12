"""What a pull request changes: files mapped to (app, env) pins and overlay edits (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts.changes import ChangeSet, Tree, build_inputs, compute, kustomization_refs
from gitops_promote.images import ImageRef

A, B = ("sha256:" + c * 64 for c in "ab")
CONFIG = Config(
    (
        Environment(name="dev", path="apps/{app}/overlays/dev"),
        Environment(name="production", path="apps/{app}/overlays/production", mode="pull-request"),
    ),
    (
        App(name="api", image="ghcr.io/o/api"),
        App(name="web", image="ghcr.io/o/web", path="web/values-{env}.yaml"),
    ),
)


def kustomization(digest: str, replicas: int = 2, extra: str = "") -> str:
    return (
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        "  - name: ghcr.io/o/api\n"
        f"    digest: {digest}\n"
        "replicas:\n"
        "  - name: api\n"
        f"    count: {replicas}\n" + extra
    )


BASE_KUSTOMIZATION = (
    "resources:\n  - deployment.yaml\n"
    "configMapGenerator:\n  - name: c\n    files: [app.properties]\n"
)
BEFORE: dict[str, str] = {
    "promotion.yaml": "version: 1\n",
    "README.md": "config\n",
    "apps/api/base/kustomization.yaml": BASE_KUSTOMIZATION,
    "apps/api/base/deployment.yaml": "kind: Deployment\n",
    "apps/api/base/app.properties": "a=1\n",
    "apps/api/overlays/dev/kustomization.yaml": kustomization(A, 1),
    "apps/api/overlays/production/kustomization.yaml": kustomization(A, 6),
    "web/values-dev.yaml": f"image:\n  repository: ghcr.io/o/web\n  digest: {A}\n",
    "web/values-production.yaml": f"image:\n  repository: ghcr.io/o/web\n  digest: {A}\n",
}


def changes(edits: Mapping[str, str | None]) -> ChangeSet:
    merged = {**BEFORE, **edits}
    after = {k: v for k, v in merged.items() if v is not None}
    changed = {p for p in set(BEFORE) | set(after) if BEFORE.get(p) != after.get(p)}
    return compute(CONFIG, Tree.of("b", BEFORE, BEFORE), Tree.of("a", after, after), changed)


PROD = "apps/api/overlays/production/kustomization.yaml"


def test_pin_change_old_to_new_with_its_line() -> None:
    """Changing only the digest is one pin change and nothing else."""
    found = changes({PROD: kustomization(B, 6)})
    assert [(c.app, c.env, c.file, c.line) for c in found.pins] == [("api", "production", PROD, 5)]
    assert (found.pins[0].old, found.pins[0].new) == (
        ImageRef("ghcr.io/o/api", None, A),
        ImageRef("ghcr.io/o/api", None, B),
    )
    assert found.edits == ()
    assert found.touched == (("api", "production"),)


def test_pin_and_replicas_in_one_file_is_a_pin_change_and_an_edit() -> None:
    """Lines beyond the pin are an edit, reported at the first such line."""
    found = changes({PROD: kustomization(B, 12)})
    assert len(found.pins) == 1
    assert [(e.kind, e.line) for e in found.edits] == [("overlay", 8)]


def test_other_file_of_the_overlay_is_an_edit() -> None:
    """A new patch file in the production overlay directory is reported as added."""
    found = changes({"apps/api/overlays/production/patch.yaml": "x: 1\n"})
    assert [(e.app, e.env, e.kind, e.line) for e in found.edits] == [
        ("api", "production", "added", 1)
    ]
    assert "is a new overlay file of api in production" in found.edits[0].describe()


def test_shared_base_and_generator_files_touch_every_env() -> None:
    """A file the overlays are built from (through resources and configMapGenerator) is an
    input edit of every env built from it, found without rendering."""
    found = changes({"apps/api/base/app.properties": "a=2\n"})
    assert sorted((e.app, e.env, e.kind, e.via) for e in found.edits) == [
        ("api", "dev", "input", "apps/api/overlays/dev"),
        ("api", "production", "input", "apps/api/overlays/production"),
    ]
    assert found.unmapped == ()


def test_new_overlay_of_an_app_promotion_yaml_lacks() -> None:
    """A production overlay of an unknown app still belongs to production (app None)."""
    found = changes({"apps/new/overlays/production/kustomization.yaml": "resources: []\n"})
    assert [(e.app, e.env, e.kind) for e in found.edits] == [(None, "production", "added")]
    assert found.touched == ()
    assert found.touched_envs == ("production",)


def test_removed_overlay_and_removed_pin() -> None:
    """Removing the overlay file is a pin change to nothing and a removal."""
    found = changes({PROD: None})
    assert [(c.old is not None, c.new) for c in found.pins] == [(True, None)]
    assert [e.kind for e in found.edits] == ["removed"]


def test_helm_values_file_path() -> None:
    """An app whose overlay is a values file: the file is the overlay."""
    found = changes(
        {"web/values-production.yaml": BEFORE["web/values-production.yaml"].replace(A, B)}
    )
    assert [(c.app, c.env, c.file, c.line) for c in found.pins] == [
        ("web", "production", "web/values-production.yaml", 3)
    ]


def test_outside_every_env_and_config() -> None:
    """README is unmapped; promotion.yaml is flagged as the config."""
    found = changes({"README.md": "more\n", "promotion.yaml": "version: 1\n# x\n"})
    assert found.unmapped == ("README.md",)
    assert found.config_changed


def test_unreadable_overlay_is_a_problem() -> None:
    """A pin file the PR breaks is a problem of that app and env, not a crash."""
    found = changes({PROD: "images: [\n"})
    assert [(p.app, p.env, p.file) for p in found.problems] == [("api", "production", PROD)]
    assert "invalid YAML" in found.problems[0].message


def test_kustomization_refs_and_inputs() -> None:
    """References: resources, generators (key=path), patches; remote ones do not resolve."""
    text = (
        "resources: [../../base, https://github.com/o/r//x?ref=v1]\n"
        "components: [../../components/tls]\n"
        "patches:\n  - path: patch.yaml\n  - patch: |-\n      inline: true\n"
        "secretGenerator:\n  - name: s\n    files: [key=secret.txt]\n    envs: [.env]\n"
    )
    assert kustomization_refs(text, "k.yaml") == [
        "../../base",
        "https://github.com/o/r//x?ref=v1",
        "../../components/tls",
        "patch.yaml",
        "secret.txt",
        ".env",
    ]
    tree = Tree.of("t", BEFORE, BEFORE)
    assert build_inputs(tree, "apps/api/overlays/dev") == {
        "apps/api/overlays/dev/kustomization.yaml",
        "apps/api/base/kustomization.yaml",
        "apps/api/base/deployment.yaml",
        "apps/api/base/app.properties",
    }
