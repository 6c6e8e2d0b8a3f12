"""Golden directories: tests/fixtures/<case>/{original,expected}/ plus case.yaml.

Each case copies original/ to a temporary tree, applies the edits case.yaml lists
(``overlays.set_pin`` on each named file), and compares the whole tree with expected/,
byte for byte. Cases that name a ``render:`` directory are also rendered with kustomize.

To regenerate expected/ after a deliberate change, run
``GITOPS_PROMOTE_REGENERATE_GOLDEN=1 python -m pytest tests/overlays -k golden`` and
review every changed file by eye (``git diff tests/fixtures``) before committing.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from gitops_promote.adapters import yamlsafe
from gitops_promote.apply import overlays
from gitops_promote.images import ImageRef, SetImage
from support.tools import kustomize_argv

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REGENERATE = os.environ.get("GITOPS_PROMOTE_REGENERATE_GOLDEN") == "1"


@dataclass(frozen=True)
class EditSpec:
    file: str
    target: overlays.Target
    arg: SetImage


@dataclass(frozen=True)
class Render:
    dir: str
    image: str
    expect: str


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    about: str
    edits: tuple[EditSpec, ...]
    render: Render | None


def load_case(path: Path) -> Case:
    text = (path / "case.yaml").read_text(encoding="utf-8")
    data: Any = yamlsafe.load(text, str(path / "case.yaml"))
    edits = []
    for item in data["edits"]:
        image = str(item["image"])
        target = overlays.Target(
            image=image,
            match=str(item.get("match", image)),
            kind=item.get("kind", "auto"),
            key=str(item.get("key", "image")),
            setter=str(item.get("setter", "")),
        )
        edits.append(EditSpec(str(item["file"]), target, SetImage.parse(str(item["set"]))))
    render = None
    if "render" in data:
        r = data["render"]
        render = Render(str(r["dir"]), str(r["image"]), str(r["expect"]))
    about = text.splitlines()[0].lstrip("# ").strip()
    return Case(path.name, path, about, tuple(edits), render)


CASES = [load_case(p) for p in sorted(FIXTURES.iterdir()) if (p / "case.yaml").is_file()]


def apply_edits(case: Case, tree: Path) -> None:
    for edit in case.edits:
        path = tree / edit.file
        text = yamlsafe.decode(path.read_bytes(), edit.file)
        path.write_bytes(overlays.set_pin(edit.file, text, edit.target, edit.arg).encode("utf-8"))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def describe_difference(got: dict[str, bytes], want: dict[str, bytes]) -> str:
    lines: list[str] = []
    for name in sorted(set(got) | set(want)):
        if got.get(name) == want.get(name):
            continue
        a = want.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = got.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        diff = difflib.unified_diff(a, b, f"expected/{name}", f"got/{name}")
        lines.extend(repr(line) for line in diff)
    return "\n".join(lines)


def test_there_are_enough_cases() -> None:
    """The golden suite covers at least 25 cases, with the real-world layouts among them."""
    assert len(CASES) >= 25
    names = {c.name for c in CASES}
    assert {"kargo-dev-digest", "argocd-sock-shop", "flux-staging-kustomization"} <= names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_tree(case: Case, tmp_path: Path) -> None:
    """Applying the case's edits to original/ yields expected/, byte for byte."""
    work = tmp_path / "tree"
    shutil.copytree(case.path / "original", work)
    apply_edits(case, work)
    expected = case.path / "expected"
    if REGENERATE:
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(work, expected)
    got, want = tree_bytes(work), tree_bytes(expected)
    assert got == want, f"{case.name}: {case.about}\n{describe_difference(got, want)}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_edit_is_idempotent(case: Case, tmp_path: Path) -> None:
    """Applying the same edits to expected/ changes nothing: editing twice equals once."""
    work = tmp_path / "tree"
    shutil.copytree(case.path / "expected", work)
    before = tree_bytes(work)
    apply_edits(case, work)
    assert tree_bytes(work) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_pin_reads_back(case: Case) -> None:
    """After each edit, read_pin reports exactly the reference the argument describes."""
    texts: dict[str, str] = {}
    for edit in case.edits:
        path = case.path / "original" / edit.file
        text = texts.get(edit.file) or yamlsafe.decode(path.read_bytes(), edit.file)
        before = overlays.read_pin(edit.file, text, edit.target)
        text = overlays.set_pin(edit.file, text, edit.target, edit.arg)
        texts[edit.file] = text
        after = overlays.read_pin(edit.file, text, edit.target)
        assert after is not None
        assert after.ref == overlays.resolve(before.ref if before else None, edit.arg)
        assert text.splitlines()[after.line - 1].strip()


RENDER_CASES = [c for c in CASES if c.render is not None]


def rendered_containers(directory: Path) -> dict[tuple[str, ...], str]:
    """(kind, name, list, container) -> image for every container kustomize renders."""
    out = subprocess.run(
        [*kustomize_argv(), str(directory)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    images: dict[tuple[str, ...], str] = {}
    for doc in YAML(typ="safe", pure=True).load_all(out.stdout):
        if not isinstance(doc, dict):
            continue
        owner = (str(doc.get("kind")), str(doc.get("metadata", {}).get("name")))
        stack: list[Any] = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in ("containers", "initContainers") and isinstance(value, list):
                        for c in value:
                            images[(*owner, key, str(c.get("name")))] = str(c.get("image"))
                    else:
                        stack.append(value)
            elif isinstance(node, list):
                stack.extend(node)
    return images


@pytest.mark.parametrize("case", RENDER_CASES, ids=[c.name for c in RENDER_CASES])
def test_kustomize_renders_exactly_the_pin(case: Case, tmp_path: Path) -> None:
    """kustomize renders the pinned reference on every container and initContainer of the
    image, and leaves every other container as it was."""
    assert case.render is not None
    original, edited = tmp_path / "original", tmp_path / "edited"
    shutil.copytree(case.path / "original", original)
    shutil.copytree(case.path / "original", edited)
    apply_edits(case, edited)
    before = rendered_containers(original / case.render.dir)
    after = rendered_containers(edited / case.render.dir)
    assert before.keys() == after.keys()
    # what each edited kustomization in the rendered directory now pins, by images[].name
    expect = {case.render.image: case.render.expect}
    for edit in case.edits:
        if Path(edit.file).parent == Path(case.render.dir):
            text = (edited / edit.file).read_text(encoding="utf-8")
            pin = overlays.read_pin(edit.file, text, edit.target)
            assert pin is not None
            expect.setdefault(edit.target.match, str(pin.ref))
    assert expect[case.render.image] == case.render.expect
    seen = set()
    for key, image in after.items():
        name = ImageRef.parse(before[key]).name
        assert image == expect.get(name, before[key]), key
        seen.add(name)
    assert set(expect) <= seen, f"no container of {set(expect) - seen} in {case.render.dir}"


def test_init_containers_and_cronjobs_are_pinned_too(tmp_path: Path) -> None:
    """The image runs as an initContainer, a container and a CronJob container: after the
    edit each renders the pinned reference, and other images stay as they were."""
    case = next(c for c in RENDER_CASES if c.name == "init-containers-render")
    assert case.render is not None
    edited = tmp_path / "edited"
    shutil.copytree(case.path / "original", edited)
    apply_edits(case, edited)
    after = rendered_containers(edited / case.render.dir)
    assert after[("Deployment", "api", "initContainers", "migrate")] == case.render.expect
    assert after[("Deployment", "api", "containers", "api")] == case.render.expect
    assert after[("CronJob", "cleanup", "containers", "cleanup")] == case.render.expect
    assert after[("Deployment", "api", "initContainers", "wait")] == "busybox:1.36"
    assert after[("Deployment", "api", "containers", "proxy")] == "ghcr.io/myorg/proxy:v7"
