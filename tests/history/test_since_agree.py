"""promote, soak and status read "since when" from one source
(:func:`gitops_promote.facts.since.read`): the state file where git confirms it, history
for the rest. Where the two could disagree (an artifact that ran, left and came back: the
state file may name the commit that first set it, which git confirms), all three say the
same commit and time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitops_promote.adapters.git import Git, Repo
from gitops_promote.config.load import parse_config
from gitops_promote.facts import statefile
from support import gitutil
from support.repos import cli, digest_of

CONFIG = """\
version: 1
settings:
  base-branch: main
  state-file: state/versions.json
environments:
  - {name: dev, path: 'apps/{app}/dev'}
  - {name: prod, path: 'apps/{app}/prod', from: dev, soak: 1h, auto: true}
apps:
  web: {image: ghcr.io/o/web}
"""
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
NOW = (T0 + timedelta(days=2)).isoformat()


def overlay(build: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n"
        f"  - name: ghcr.io/o/web\n    digest: {digest_of(build)}\n"
    )


def dev(build: str) -> dict[str, str]:
    return {"apps/web/dev/kustomization.yaml": overlay(build)}


def build_repo(root: Path) -> tuple[str, str]:
    """dev runs 2 (first set at T0+1h), then 3, then 2 again (T0+3h); prod runs 1. The
    state file names the commit that first set 2: git confirms it (it set the pin), while
    history alone says since the return. Returns (first, return) commits."""
    gitutil.init_repo(root)
    gitutil.commit_files(
        root,
        {"promotion.yaml": CONFIG, **dev("1"), "apps/web/prod/kustomization.yaml": overlay("1")},
        message="seed",
        date=T0,
    )
    first = gitutil.commit_files(root, dev("2"), message="dev 2", date=T0 + timedelta(hours=1))
    gitutil.commit_files(root, dev("3"), message="dev 3", date=T0 + timedelta(hours=2))
    back = gitutil.commit_files(root, dev("2"), message="dev 2 again", date=T0 + timedelta(hours=3))
    repo = Repo(Git(cwd=root), root, base_branch="main")
    statefile.refresh(repo, parse_config(CONFIG), full=True)
    versions = root / "state" / "versions.json"
    data = json.loads(versions.read_text())
    entry = data["apps"]["web"]["dev"]
    assert entry["commit"] == back  # what history says
    entry["commit"] = first
    entry["since"] = (T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    versions.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    gitutil.commit_files(root, {}, message="state", date=T0 + timedelta(hours=4), allow_empty=True)
    return first, back


def test_promote_and_soak_say_since_when_as_status_does(tmp_path: Path) -> None:
    root = tmp_path / "config"
    first, _ = build_repo(root)
    since = (T0 + timedelta(hours=1)).isoformat()

    status = json.loads(cli("status", "--repo", str(root), "--json", cwd=tmp_path).stdout)
    (row,) = [r for r in status if (r["app"], r["env"]) == ("web", "dev")]
    assert (row["since-commit"], row["since"]) == (first, since)

    promote = cli(
        "promote", "--repo", str(root), "--env", "prod", "--app", "web", "--dry-run", "--json",
        "--skip-registry-check", "--now", NOW, cwd=tmp_path,
    )  # fmt: skip
    (change,) = json.loads(promote.stdout)["changes"]
    assert (change["upstream-commit"], change["upstream-since"]) == (first, since)

    soak = cli("soak", "--repo", str(root), "--json", "--dry-run", "--now", NOW, cwd=tmp_path)
    (target,) = [t for t in json.loads(soak.stdout)["targets"] if t["env"] == "prod"]
    assert (target["candidate-since-commit"], target["candidate-since"]) == (first, since)
