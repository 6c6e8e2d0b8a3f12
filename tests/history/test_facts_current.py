"""What every target pins now, read from a commit's tree (fresh clones) or from the work
tree: the same files, pins and errors either way, for every shape an overlay path takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops_promote.adapters.git import Git, Repo
from gitops_promote.config.load import parse_config
from gitops_promote.facts import pins
from gitops_promote.facts.events import Key
from gitops_promote.facts.overlay import Current
from support import gitutil
from support.inprocess import cli
from support.repos import Platform, digest_of

NOW = "2026-11-25T10:00:00+00:00"

CONFIG = parse_config(
    """\
version: 1
environments:
  - {name: dev, path: 'apps/{app}/dev'}
  - {name: prod, path: 'apps/{app}/prod'}
apps:
  ok: {image: ghcr.io/o/ok}
  yml: {image: ghcr.io/o/yml}
  cap: {image: ghcr.io/o/cap}
  values: {image: ghcr.io/o/values, path: 'apps/{app}/{env}/values.yaml'}
  missing: {image: ghcr.io/o/missing}
  nokust: {image: ghcr.io/o/nokust}
  broken: {image: ghcr.io/o/broken}
  latin: {image: ghcr.io/o/latin}
  unpinned: {image: ghcr.io/o/unpinned}
  linkdir: {image: ghcr.io/o/ok}
  linkfile: {image: ghcr.io/o/ok}
  kdir: {image: ghcr.io/o/kdir}
  shared: {image: ghcr.io/o/shared, path: 'shared/{env}/deploy.yaml'}
  other: {image: ghcr.io/o/other, path: 'shared/{env}/deploy.yaml'}
  sub: {image: ghcr.io/o/sub}
  huge: {image: ghcr.io/o/huge}
"""
)


def kustomization(image: str, digest: str, tag: str | None = None) -> str:
    extra = f"    newTag: '{tag}'\n" if tag else ""
    return f"images:\n  - name: {image}\n{extra}    digest: {digest}\n"


def build(root: Path) -> Repo:
    """A checkout whose overlays take every shape: directories with each kustomization
    name, a values file, missing and broken overlays, symlinks, a submodule."""
    gitutil.init_repo(root)
    files: dict[str, str | bytes] = {"promotion.yaml": "version: 1\n"}
    for env in ("dev", "prod"):
        d = digest_of(env)
        files |= {
            f"apps/ok/{env}/kustomization.yaml": kustomization("ghcr.io/o/ok", d, "1.10"),
            f"apps/yml/{env}/kustomization.yml": kustomization("ghcr.io/o/yml", d),
            f"apps/cap/{env}/Kustomization": kustomization("ghcr.io/o/cap", d),
            f"apps/values/{env}/values.yaml": f"image:\n  repository: ghcr.io/o/values\n"
            f"  tag: v1\n  digest: {d}\n",
            f"apps/nokust/{env}/deployment.yaml": "kind: Deployment\n",
            f"apps/broken/{env}/kustomization.yaml": "images: [\n",
            f"apps/latin/{env}/kustomization.yaml": "images: []\n# caf\xe9\n".encode("latin-1"),
            f"apps/unpinned/{env}/kustomization.yaml": "resources: [deployment.yaml]\n",
            f"apps/linkfile/{env}/real.yaml": kustomization("ghcr.io/o/ok", d),
            f"apps/kdir/{env}/kustomization.yaml/README": "a directory, not the file\n",
            f"apps/kdir/{env}/kustomization.yml": kustomization("ghcr.io/o/kdir", d),
            f"apps/huge/{env}/kustomization.yaml": "# x\n" * (3 * 1024 * 1024 // 2),
            f"shared/{env}/deploy.yaml": (
                f'a: ghcr.io/o/shared@{d}  # {{"$promote": "shared"}}\n'
                f'b: ghcr.io/o/other:v2  # {{"$promote": "other"}}\n'
            ),
        }
    gitutil.write_files(root, files)
    (root / "apps" / "linkdir").symlink_to("ok")
    for env in ("dev", "prod"):
        (root / f"apps/linkfile/{env}/kustomization.yaml").symlink_to("real.yaml")
    gitutil.git("add", "-A", cwd=root)
    gitutil.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},apps/sub/dev", cwd=root)
    (root / "apps" / "sub" / "dev").mkdir(parents=True)
    gitutil.git("commit", "-q", "-m", "overlays", cwd=root, env=gitutil.identity_env())
    return Repo(Git(cwd=root), root, base_branch="main")


def described(current: dict[Key, Current]) -> dict[Key, Any]:
    out: dict[Key, Any] = {}
    for key, c in current.items():
        error = c.error
        why = (type(error).__name__, error.message, error.hint) if error else None
        out[key] = (c.file, c.pin, why)
    return out


def test_the_commit_tree_reads_like_the_work_tree(tmp_path: Path) -> None:
    """For kustomization.yaml/.yml/Kustomization directories, values files, setter
    markers shared by two apps, missing overlays, directories without a kustomization,
    broken YAML, non-UTF-8 and oversized files, overlays without a pin, a directory named
    kustomization.yaml, symlinked directories and files (refused) and a submodule: the tree of HEAD
    gives the same file, pin and error (type, message, hint) as the work tree."""
    repo = build(tmp_path / "config")
    targets = [(a, e) for a in CONFIG.apps for e in CONFIG.envs_of(a)]
    from_tree = described(pins.current(repo, CONFIG, targets, rev="HEAD"))
    from_work_tree = described(pins.current(repo, CONFIG, targets))
    assert from_tree == from_work_tree
    assert list(from_tree) == [(a.name, e.name) for a, e in targets]
    ok = from_tree[("ok", "dev")]
    assert ok[0] == "apps/ok/dev/kustomization.yaml"
    assert ok[1].ref.tag == "1.10"
    # overlays reached through a symlink (a directory or the file) are refused, not followed
    assert "apps/linkdir is a symlink" in from_tree[("linkdir", "dev")][2][1]
    assert "kustomization.yaml is a symlink" in from_tree[("linkfile", "dev")][2][1]
    assert from_tree[("shared", "prod")][1].ref.digest == digest_of("prod")
    assert from_tree[("other", "prod")][1].ref.tag == "v2"
    assert "does not exist" in from_tree[("missing", "dev")][2][1]
    assert "has no kustomization.yaml" in from_tree[("nokust", "dev")][2][1]
    assert "not valid UTF-8" in from_tree[("latin", "dev")][2][1]
    assert from_tree[("unpinned", "dev")][1:] == (None, None)
    assert "over the 5 MiB limit" in from_tree[("huge", "dev")][2][1]


def test_status_and_soak_of_a_fresh_clone_equal_those_of_a_checkout(
    platform: Platform, tmp_path: Path
) -> None:
    """``status``/``soak --dry-run`` on a fresh clone (pins read from git objects) print
    exactly what they print on a full checkout of the same commit (pins read from files),
    broken and missing overlays included."""
    dev = "apps/worker/overlays/dev/kustomization.yaml"
    platform.git.seed(
        platform.repo,
        {
            "apps/api-service/overlays/staging/kustomization.yaml": "images: [\n",
            dev: gitutil.read_file(platform.bare, "main", dev).decode().replace("v", "w", 1),
        },
        message="break staging, touch worker",
        date="2026-11-21T10:00:00+00:00",
    )
    checkout = tmp_path / "checkout"
    gitutil.git("clone", "-q", str(platform.bare), str(checkout))
    work = tmp_path / "work"
    work.mkdir()
    for command in (["status", "--json"], ["soak", "--dry-run", "--json", "--now", NOW]):
        code = 2 if command[0] == "status" else 0  # status: the broken overlay is an error
        cloned = cli(
            *command, "--config-repo", platform.repo, cwd=work, env=platform.env, check=code
        )
        local = cli(*command, "--repo", str(checkout), cwd=work, check=code)
        assert cloned.stderr == local.stderr
        ours, theirs = json.loads(cloned.stdout), json.loads(local.stdout)
        if isinstance(ours, dict):  # soak: the checkout has no GitHub to ask about PRs
            ours.pop("notes"), theirs.pop("notes")
        assert ours == theirs
        assert "images: [" not in cloned.stdout
        assert "apps/api-service/overlays/staging/kustomization.yaml" in cloned.stdout


def test_status_and_soak_of_a_shallow_checkout_equal_those_of_a_full_one(
    platform: Platform, tmp_path: Path
) -> None:
    """A ``--repo`` checkout made with depth 1 (actions/checkout's default) gives the same
    since-when answers as a full one: its history is fetched before anything reads it,
    never computed from the one commit it holds."""
    for day in (21, 22, 23):
        platform.git.seed(
            platform.repo,
            {f"notes/{day}.md": "x\n"},
            message=f"notes {day}",
            date=f"2026-11-{day}T10:00:00+00:00",
        )
    full = tmp_path / "full"
    gitutil.git("clone", "-q", str(platform.bare), str(full))
    shallow = tmp_path / "shallow"
    gitutil.git("clone", "-q", "--depth=1", f"file://{platform.bare}", str(shallow))
    assert gitutil.git("rev-list", "--count", "HEAD", cwd=shallow) == "1"
    work = tmp_path / "work"
    work.mkdir()
    for command in (["status", "--json"], ["soak", "--dry-run", "--json", "--now", NOW]):
        cut = cli(*command, "--repo", str(shallow), cwd=work)
        whole = cli(*command, "--repo", str(full), cwd=work)
        assert json.loads(cut.stdout) == json.loads(whole.stdout)
    assert gitutil.git("rev-parse", "--is-shallow-repository", cwd=shallow) == "false"
