"""History's pin reads (:func:`gitops_promote.facts.pins.pin_of_blob`) through the quick
reader: one parse per blob for every file that holds it, the very answers
:func:`gitops_promote.facts.overlay.read_pin_text` gives file by file, and errors that
name their own file."""

from __future__ import annotations

from gitops_promote.apply import overlays
from gitops_promote.config.model import App
from gitops_promote.errors import UserError
from gitops_promote.facts import pins
from gitops_promote.facts.overlay import read_pin_text

APP = App(name="api", image="ghcr.io/myorg/api")
DIGEST = "sha256:" + "c" * 64
KUSTOMIZATION = f"images:\n  - name: ghcr.io/myorg/api\n    digest: {DIGEST}\n"
VALUES = "image:\n  repository: ghcr.io/myorg/api\n  tag: v2\n"
BROKEN = "images:\n  - name: ghcr.io/myorg/api\n    newTag: v1\n    newTag: v2\n"

Cache = dict[tuple[str, str, overlays.Target], overlays.Pin | UserError | None]


def expected(file: str, text: str) -> overlays.Pin | str | None:
    try:
        return read_pin_text(file, text, APP)
    except UserError as err:
        return str(err)


def shown(found: overlays.Pin | UserError | None) -> overlays.Pin | str | None:
    return str(found) if isinstance(found, UserError) else found


def test_a_blob_in_every_environment_reads_as_each_file_reads_it() -> None:
    cache: Cache = {}
    files = [f"apps/api/{env}/kustomization.yaml" for env in ("dev", "staging", "production")]
    for file in files:
        found = pins.pin_of_blob("b1", file, KUSTOMIZATION.encode(), APP, cache)
        assert found == expected(file, KUSTOMIZATION)
        assert isinstance(found, overlays.Pin)
        assert found.ref.digest == DIGEST
    # the same blob as a values file, or as any other file: read as that kind of file
    for file in ("apps/api/dev/values.yaml", "apps/api/dev/deploy.yaml"):
        found = pins.pin_of_blob("b1", file, KUSTOMIZATION.encode(), APP, cache)
        assert shown(found) == expected(file, KUSTOMIZATION)
    found = pins.pin_of_blob("b2", "apps/api/dev/values.yaml", VALUES.encode(), APP, cache)
    assert shown(found) == expected("apps/api/dev/values.yaml", VALUES)
    assert isinstance(found, overlays.Pin)
    assert found.ref.tag == "v2"


def test_a_broken_blob_gives_each_file_its_own_error() -> None:
    cache: Cache = {}
    for env in ("dev", "staging"):
        file = f"apps/api/{env}/kustomization.yaml"
        found = pins.pin_of_blob("bad", file, BROKEN.encode(), APP, cache)
        assert isinstance(found, UserError)
        assert str(found) == expected(file, BROKEN)
        assert file in str(found)
