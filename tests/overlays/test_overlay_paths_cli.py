"""Overlays reached through symbolic links are refused, for reads and writes, through the
CLI as a user runs it; a broken pin (invalid digest, tag or name) is repaired by pinning
over it. Each state is a real git checkout (and, for --remote, a real HTTP git server)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from support import gitutil
from support.githttp import GitServer
from support.inprocess import cli
from support.repos import EXAMPLE, digest_of

API = "apps/api-service/overlays"
DEV_K = f"{API}/dev/kustomization.yaml"
STAGING_K = f"{API}/staging/kustomization.yaml"
NEW = digest_of("build-links")

Shape = Callable[[Path, Path], str]  # (checkout, outside dir) -> the link the run must name


def _file_link(root: Path, _outside: Path) -> str:
    """dev's kustomization.yaml is a symlink to staging's."""
    (root / DEV_K).unlink()
    (root / DEV_K).symlink_to("../staging/kustomization.yaml")
    return DEV_K


def _dir_link(root: Path, _outside: Path) -> str:
    """dev's overlay directory is a symlink to staging's."""
    shutil.rmtree(root / f"{API}/dev")
    (root / f"{API}/dev").symlink_to("staging")
    return f"{API}/dev"


def _outside_link(root: Path, outside: Path) -> str:
    """dev's kustomization.yaml is a symlink to a file outside the repository."""
    shutil.copy(root / DEV_K, outside / "kustomization.yaml")
    (root / DEV_K).unlink()
    (root / DEV_K).symlink_to(outside / "kustomization.yaml")
    return DEV_K


def _helm_link(root: Path, _outside: Path) -> str:
    """api-service's dev overlay is a Helm values file, a symlink to staging's."""
    values = 'image:\n  repository: ghcr.io/myorg/api-service\n  tag: v1.0.0\n  digest: ""\n'
    (root / f"{API}/staging/values.yaml").write_text(values)
    (root / f"{API}/dev/values.yaml").symlink_to("../staging/values.yaml")
    _app_path(root, f"{API}/{{env}}/values.yaml")
    return f"{API}/dev/values.yaml"


def _setter_link(root: Path, _outside: Path) -> str:
    """api-service's dev overlay is a manifest with a setter marker, a symlink to staging's."""
    manifest = 'image: ghcr.io/myorg/api-service:v1.0.0 # {"$promote": "api-service"}\n'
    (root / f"{API}/staging/deploy.yaml").write_text(manifest)
    (root / f"{API}/dev/deploy.yaml").symlink_to("../staging/deploy.yaml")
    _app_path(root, f"{API}/{{env}}/deploy.yaml")
    return f"{API}/dev/deploy.yaml"


def _app_path(root: Path, path: str) -> None:
    config = root / "promotion.yaml"
    text = config.read_text()
    old = "  api-service:\n    image: ghcr.io/myorg/api-service\n"
    assert old in text
    config.write_text(text.replace(old, f"{old}    path: {path}\n"))


SHAPES = [
    pytest.param(_file_link, id="kustomization-file-link"),
    pytest.param(_dir_link, id="overlay-directory-link"),
    pytest.param(_outside_link, id="link-out-of-the-repo"),
    pytest.param(_helm_link, id="helm-values-link"),
    pytest.param(_setter_link, id="setter-file-link"),
]


def _checkout(tmp_path: Path, shape: Shape | None = None) -> tuple[Path, str]:
    """The example config repo as a committed checkout, changed by ``shape``."""
    root = tmp_path / "config"
    shutil.copytree(EXAMPLE, root)
    outside = tmp_path / "outside"
    outside.mkdir()
    link = shape(root, outside) if shape else ""
    gitutil.init_repo(root)
    gitutil.git("add", "-A", cwd=root)
    gitutil.git("commit", "-q", "-m", "config", cwd=root)
    return root, link


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file's bytes (links followed), outside .git."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if ".git" not in p.parts and p.is_file()
    }


def _refused(run_output: str, link: str) -> None:
    assert f"{link} is a symlink" in run_output
    assert "Traceback" not in run_output
    assert len(run_output.strip().splitlines()) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_promote_refuses_an_overlay_reached_through_a_link(shape: Shape, tmp_path: Path) -> None:
    """promote --env dev over a dev overlay that is (or lies under) a symlink: exit 2,
    the link named, and no file (staging's, or one outside the repo) changed."""
    root, link = _checkout(tmp_path, shape)
    before = _snapshot(root) | _snapshot(tmp_path / "outside")
    head = gitutil.rev_parse(root, "HEAD")
    run = cli(
        "promote", "--repo", str(root), "--app", "api-service", "--env", "dev",
        "--digest", NEW, "--skip-registry-check", "--no-push",
        cwd=tmp_path, check=2,
    )  # fmt: skip
    _refused(run.stderr, link)
    assert _snapshot(root) | _snapshot(tmp_path / "outside") == before
    assert gitutil.rev_parse(root, "HEAD") == head
    assert gitutil.git("status", "--porcelain", cwd=root) == ""


@pytest.mark.parametrize("shape", SHAPES)
def test_validate_and_status_refuse_to_read_through_a_link(shape: Shape, tmp_path: Path) -> None:
    """validate fails (exit 2) naming the link; status reports the dev overlay as
    unreadable instead of showing staging's pin as dev's."""
    root, link = _checkout(tmp_path, shape)
    run = cli("validate", "--repo", str(root), "--json", cwd=tmp_path, check=2)
    problems = json.loads(run.stdout)["problems"]
    assert [p for p in problems if f"{link} is a symlink" in p["message"]]
    status = cli("status", "--repo", str(root), "--json", cwd=tmp_path, check=None)
    assert f"{link} is a symlink" in status.output
    assert NEW not in status.output


@pytest.mark.parametrize("shape", [SHAPES[0], SHAPES[1], SHAPES[2]])
def test_set_image_refuses_to_write_through_a_link(shape: Shape, tmp_path: Path) -> None:
    """set-image on a linked overlay (the file, its directory, or a file outside the repo):
    exit 2 naming the link; the link stays a link and nothing it points at changes."""
    root, link = _checkout(tmp_path, shape)
    before = _snapshot(root) | _snapshot(tmp_path / "outside")
    run = cli("set-image", f"{API}/dev", f"ghcr.io/myorg/api-service@{NEW}", cwd=root, check=2)
    _refused(run.stderr, link)
    assert _snapshot(root) | _snapshot(tmp_path / "outside") == before
    assert (root / link).is_symlink()


def test_promote_over_http_refuses_a_linked_overlay_directory(
    git_server: GitServer, tmp_path: Path
) -> None:
    """--remote (a fresh partial clone, read from git's tree): a dev overlay directory that
    is a symlink to staging's is refused (exit 2) and nothing is pushed."""
    root, link = _checkout(tmp_path, _dir_link)
    bare = git_server.create_bare("org/links")
    gitutil.git("push", "-q", str(bare), "HEAD:refs/heads/main", cwd=root)
    tip = gitutil.rev_parse(bare, "main")
    run = cli(
        "promote", "--remote", git_server.url("org/links"), "--app", "api-service",
        "--env", "dev", "--digest", NEW, "--skip-registry-check",
        cwd=tmp_path, env={"GITOPS_PROMOTE_TOKEN": git_server.token or ""}, check=2,
    )  # fmt: skip
    _refused(run.stderr, link)
    assert gitutil.rev_parse(bare, "main") == tip


BROKEN = {
    "digest": "    digest: sha256:not-a-digest\n",
    "tag": "    newTag: 'not a tag!'\n",
    "name": "    newName: Not/A/Name\n",
}


def _break(root: Path, field: str) -> str:
    """dev's api-service entry carries an invalid value (and keeps its name line)."""
    path = root / DEV_K
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "name: ghcr.io/myorg/api-service" in line)
    end = at + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    path.write_text("".join([*lines[: at + 1], BROKEN[field], *lines[end:]]))
    return DEV_K


@pytest.mark.parametrize("field", sorted(BROKEN))
def test_promote_repairs_a_broken_pin(field: str, tmp_path: Path) -> None:
    """promote --env dev over a dev pin with an invalid digest, tag or name: the whole pin
    is replaced (as kustomize edit set image does) and committed; validate agrees after."""
    root, _ = _checkout(tmp_path, lambda r, _o: _break(r, field))
    broken = cli("validate", "--repo", str(root), cwd=tmp_path, check=2)
    assert DEV_K in broken.stderr
    cli(
        "promote", "--repo", str(root), "--app", "api-service", "--env", "dev",
        "--digest", NEW, "--skip-registry-check", "--no-push",
        cwd=tmp_path,
    )  # fmt: skip
    text = (root / DEV_K).read_text()
    assert f"digest: {NEW}" in text
    assert BROKEN[field] not in text
    assert gitutil.git("status", "--porcelain", cwd=root) == ""
    cli("validate", "--repo", str(root), cwd=tmp_path)


@pytest.mark.parametrize("field", sorted(BROKEN))
def test_set_image_repairs_a_broken_pin_and_refuses_to_keep_it(field: str, tmp_path: Path) -> None:
    """set-image NAME@DIGEST replaces a broken entry; keeping the broken value with '*'
    is refused (exit 2) naming the file and line."""
    root, _ = _checkout(tmp_path, lambda r, _o: _break(r, field))
    keep = {
        "digest": "ghcr.io/myorg/api-service:v2@*",
        "tag": f"ghcr.io/myorg/api-service:*@{NEW}",
        "name": f"ghcr.io/myorg/api-service=*@{NEW}",
    }[field]
    refused = cli("set-image", f"{API}/dev", keep, cwd=root, check=2)
    assert f"{DEV_K}:" in refused.stderr or "kustomization.yaml:" in refused.stderr
    run = cli("set-image", f"{API}/dev", f"ghcr.io/myorg/api-service@{NEW}", cwd=root)
    assert "updated" in run.stdout
    text = (root / DEV_K).read_text()
    assert f"digest: {NEW}" in text
    assert BROKEN[field] not in text


def _staging_built_from_dev(root: Path, _outside: Path) -> str:
    """staging's kustomization is built on dev's overlay (resources: [../dev])."""
    path = root / STAGING_K
    path.write_text(path.read_text().replace("  - ../../base\n", "  - ../dev\n"))
    return DEV_K


def test_a_gated_overlay_built_from_a_push_overlay_is_refused(
    git_server: GitServer, tmp_path: Path
) -> None:
    """staging's kustomization references dev's overlay: validate names dev's file (exit 2),
    and a dev promotion is refused at the push (exit 2), over --remote and from a --repo
    checkout alike: the remote keeps its tip, the checkout its commit and a clean tree."""
    root, _ = _checkout(tmp_path, _staging_built_from_dev)
    run = cli("validate", "--repo", str(root), "--json", cwd=tmp_path, check=2)
    problems = json.loads(run.stdout)["problems"]
    assert [p for p in problems if p["file"] == DEV_K and "what staging deploys" in p["message"]]
    bare = git_server.create_bare("org/chained")
    gitutil.git("push", "-q", str(bare), "HEAD:refs/heads/main", cwd=root)
    gitutil.git("remote", "add", "origin", git_server.url("org/chained"), cwd=root)
    gitutil.git("fetch", "-q", str(bare), "main:refs/remotes/origin/main", cwd=root)
    tip = gitutil.rev_parse(bare, "main")
    env = {"GITOPS_PROMOTE_TOKEN": git_server.token or ""}
    promote = ("--app", "api-service", "--env", "dev", "--digest", NEW, "--skip-registry-check")
    remote = cli(
        "promote", "--remote", git_server.url("org/chained"), *promote,
        cwd=tmp_path, env=env, check=2,
    )  # fmt: skip
    assert f"the commit changes {DEV_K}, a file staging deploys" in remote.stderr
    assert gitutil.rev_parse(bare, "main") == tip
    local = cli("promote", "--repo", str(root), *promote, cwd=tmp_path, env=env, check=2)
    assert f"the commit changes {DEV_K}, a file staging deploys" in local.stderr
    assert gitutil.rev_parse(bare, "main") == tip
    assert gitutil.rev_parse(root, "HEAD") == tip
    assert gitutil.git("status", "--porcelain", cwd=root) == ""
