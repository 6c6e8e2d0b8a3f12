"""``status`` when an overlay is broken, through the CLI: the table (or JSON, or markdown)
still shows every other target, the broken one is marked broken (never a blank pin),
then one short ``error:`` line per broken overlay names its file and says why, and the
exit code is 2. No traceback. The same from a checkout and from a fresh clone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE

STAGING = "apps/api-service/overlays/staging/kustomization.yaml"
OLD_DIGEST = "sha256:f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a"

BROKEN: dict[str, tuple[Callable[[str], str], str]] = {
    # name: (how the staging overlay is broken, what the error line says)
    "unparseable-yaml": (lambda text: text + "images: [\n  - name: x\n", "invalid YAML"),
    "bad-digest": (
        lambda text: text.replace(OLD_DIGEST, "sha256:" + "z" * 64),
        "is not a valid sha256 digest",
    ),
    "bad-tag": (
        lambda text: text.replace("newTag: v1.4.0", 'newTag: "bad tag!"'),
        "image tag 'bad tag!' is not a valid tag",
    ),
    "bad-name": (
        lambda text: text.replace(
            "- name: ghcr.io/myorg/api-service",
            "- name: ghcr.io/myorg/api-service\n    newName: 'Bad Name'",
        ),
        "Bad Name",
    ),
}


def config_with(root: Path, breakage: str) -> Path:
    """examples/config-repo committed at ``root`` with api-service's staging overlay broken."""
    shutil.copytree(EXAMPLE, root)
    path = root / STAGING
    edit, _ = BROKEN[breakage]
    text = path.read_text(encoding="utf-8")
    broken = edit(text)
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    gitutil.init_repo(root)
    gitutil.commit_files(root, {}, message="a broken staging overlay")
    return root


@pytest.mark.parametrize("where", ["checkout", "clone"])
@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_status_names_the_broken_overlay_and_exits_2(
    tmp_path: Path, breakage: str, where: str
) -> None:
    """Every format prints the other five targets as usual and marks staging broken; the
    reason is one ``error:`` line naming the staging overlay's file; exit 2."""
    repo = config_with(tmp_path / "config", breakage)
    location = ["--repo", str(repo)] if where == "checkout" else ["--remote", f"file://{repo}"]
    _, reason = BROKEN[breakage]

    table = cli("status", *location, cwd=tmp_path, check=2)
    errors = table.stderr.splitlines()
    assert len(errors) == 1, table.stderr
    assert errors[0].startswith(f"error: {STAGING}"), errors[0]
    assert reason in errors[0]
    assert "Traceback" not in table.output
    rows = table.stdout.splitlines()[1:]
    assert len(rows) == 6
    (staging,) = [r for r in rows if r.split()[:2] == ["api-service", "staging"]]
    assert "(broken: see the error)" in staging
    assert sum("sha256:" in r for r in rows) == 5

    markdown = cli("status", *location, "--format", "markdown", cwd=tmp_path, check=2)
    assert "| api-service | staging | - | (broken: see the error) |" in markdown.stdout
    assert markdown.stderr == table.stderr

    data = json.loads(cli("status", *location, "--json", cwd=tmp_path, check=2).stdout)
    (row,) = [r for r in data if (r["app"], r["env"]) == ("api-service", "staging")]
    assert row["image"] is None
    assert STAGING in row["problem"]
    assert reason in row["problem"]


def test_status_of_other_apps_is_not_held_back(tmp_path: Path) -> None:
    """``status --app worker`` does not read api-service's broken overlay: exit 0."""
    repo = config_with(tmp_path / "config", "unparseable-yaml")
    run = cli("status", "--app", "worker", cwd=repo)
    assert run.stderr == ""
    assert len(run.stdout.splitlines()) == 4
