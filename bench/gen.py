"""Generate the benchmark config repo: ``python bench/gen.py DEST [--apps N] [--commits N]``.

The generator itself lives in ``tests/git/bigrepo.py`` (tests and the reliability suite
reuse it); this is its command line and the benchmark's cache. The default size is the
benchmark's: 2,000 apps x 3 environments with 20,000 commits of history, written with
``git fast-import`` (minutes, not the hours 20,000 ``git commit`` would take), then one
commit installing the benchmark's ``promotion.yaml`` (:func:`bench_config`).

:func:`cached_repo` keeps each generated repo under ``bench/out/cache/``, keyed by the
parameters and a hash of the generator's source: a changed generator makes a new repo.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from git import bigrepo  # noqa: E402 - tests/ is on the path only from here

CACHE = ROOT / "bench" / "out" / "cache"
CONFIG_VERSION = 1  # bump when bench_config() changes: a new cache key


def bench_config(apps: Sequence[str]) -> str:
    """The promotion.yaml the benchmark works with: the generator's pipeline plus what makes
    ``soak`` and ``check`` do real work (soak times and ``auto`` on the gated envs, digests
    required and a weekend freeze in production)."""
    lines = [
        "version: 1",
        "environments:",
        "  - name: dev",
        "    path: apps/{app}/overlays/dev",
        "    mode: push",
        "  - name: staging",
        "    path: apps/{app}/overlays/staging",
        "    from: dev",
        "    mode: pull-request",
        "    soak: 1h",
        "    auto: true",
        "  - name: production",
        "    path: apps/{app}/overlays/production",
        "    from: staging",
        "    mode: pull-request",
        "    soak: 24h",
        "    auto: true",
        "    require-digest: true",
        "    freeze:",
        '      - {name: weekend, schedule: "0 16 * * FRI", duration: 64h, timezone: Europe/Berlin}',
        "apps:",
    ]
    lines += [f"  {app}: {{image: ghcr.io/myorg/{app}}}" for app in apps]
    return "\n".join(lines) + "\n"


def _commit_config(bare: Path, apps: Sequence[str]) -> None:
    """One commit on top of the generated history that installs :func:`bench_config`."""
    from support import gitutil

    tip = int(gitutil.git("log", "-1", "--format=%ct", "main", cwd=bare))
    gitutil.commit_tree_to_bare(
        bare,
        {"promotion.yaml": bench_config(apps)},
        message="chore: soak times, auto-promotion and a production freeze",
        date=datetime.fromtimestamp(tip + 60, UTC),
        author=("Ada Lovelace", "ada@example.test"),
    )
    # keep the server-side pack tidy: one pack with a bitmap, as generated
    gitutil.git("repack", "-a", "-d", "-q", "--write-bitmap-index", cwd=bare)
    gitutil.git("commit-graph", "write", "--reachable", "--no-progress", cwd=bare)


@dataclass(frozen=True)
class CachedRepo:
    """A generated bare repo in the cache: where, its shape, and what making it cost."""

    path: Path
    apps: tuple[str, ...]
    envs: tuple[str, ...]
    commits: int
    seconds: float  # generation time (when it was made)
    reused: bool  # found in the cache this time

    @property
    def pack_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.path / "objects" / "pack").glob("*.pack"))


def generator_hash() -> str:
    source = Path(bigrepo.__file__).read_bytes()
    return hashlib.sha256(source).hexdigest()[:12]


def cache_key(apps: int, commits: int, seed: int) -> str:
    return f"apps{apps}-commits{commits}-seed{seed}-gen{generator_hash()}-cfg{CONFIG_VERSION}"


def cached_repo(
    apps: int, commits: int, *, seed: int = 1, cache: Path = CACHE, log: bool = True
) -> CachedRepo:
    """The bare repo for these parameters, generated on the first call."""
    key = cache_key(apps, commits, seed)
    dest = cache / f"{key}.git"
    meta = cache / f"{key}.json"
    if dest.is_dir() and meta.is_file():
        info = json.loads(meta.read_text())
        return CachedRepo(
            dest,
            tuple(info["apps"]),
            tuple(info["envs"]),
            int(info["commits"]),
            float(info["seconds"]),
            reused=True,
        )
    cache.mkdir(parents=True, exist_ok=True)
    work = cache / f"{key}.tmp"
    if work.exists():
        shutil.rmtree(work)
    if log:
        print(f"generating {apps} apps x 3 envs, {commits} commits (cached afterwards)...")
    started = time.perf_counter()
    repo = bigrepo.generate_config_repo(work, apps=apps, commits=commits, seed=seed)
    _commit_config(work, repo.apps)
    seconds = time.perf_counter() - started
    work.rename(dest)
    meta.write_text(
        json.dumps(
            {
                "apps": list(repo.apps),
                "envs": list(repo.envs),
                "commits": repo.commits + 1,
                "seconds": round(seconds, 1),
            }
        )
    )
    if log:
        print(f"  generated in {seconds:.0f} s: {dest}")
    return CachedRepo(dest, repo.apps, repo.envs, repo.commits + 1, seconds, reused=False)


STATE_VERSION = 1  # bump when with_state_file() changes: a new cache key


def with_state_file(base: CachedRepo, *, cache: Path = CACHE, log: bool = True) -> CachedRepo:
    """``base`` plus one commit that turns the state file on (``settings.state-file:
    versions.json``) and adds ``versions.json`` and ``VERSIONS.md`` as the tool writes them
    (``gitops-promote validate --write-state`` in a full clone): how a team adopts the
    state file on an existing repo. Cached beside ``base``."""
    from support import gitutil

    dest = base.path.with_name(base.path.name.removesuffix(".git") + f"-state{STATE_VERSION}.git")
    if dest.is_dir():
        return CachedRepo(dest, base.apps, base.envs, base.commits + 1, 0.0, reused=True)
    work = cache / f"{dest.name}.tmp"
    checkout = cache / f"{dest.name}.checkout"
    for old in (work, checkout):
        if old.exists():
            shutil.rmtree(old)
    if log:
        print("adding the state file (validate --write-state over the whole history)...")
    started = time.perf_counter()
    shutil.copytree(base.path, work)
    gitutil.git("clone", "-q", str(work), str(checkout), cwd=cache)
    config = checkout / "promotion.yaml"
    config.write_text(
        config.read_text().replace("apps:\n", "settings:\n  state-file: versions.json\napps:\n", 1)
    )
    tool = Path(sys.executable).with_name("gitops-promote")
    subprocess.run(
        [str(tool), "validate", "--write-state", "--repo", str(checkout)],
        env=gitutil.clean_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    gitutil.git("add", "promotion.yaml", "versions.json", "VERSIONS.md", cwd=checkout)
    tip = int(gitutil.git("log", "-1", "--format=%ct", cwd=checkout))
    stamp = f"@{tip + 60} +0000"
    gitutil.git(
        "-c",
        "user.name=Ada Lovelace",
        "-c",
        "user.email=ada@example.test",
        "commit",
        "-q",
        "-m",
        "chore: keep versions.json and VERSIONS.md",
        cwd=checkout,
        env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
    )
    gitutil.git("push", "-q", "origin", "HEAD:main", cwd=checkout)
    gitutil.git("repack", "-a", "-d", "-q", "--write-bitmap-index", cwd=work)
    gitutil.git("commit-graph", "write", "--reachable", "--no-progress", cwd=work)
    shutil.rmtree(checkout)
    work.rename(dest)
    seconds = time.perf_counter() - started
    if log:
        print(f"  added in {seconds:.0f} s: {dest}")
    return CachedRepo(dest, base.apps, base.envs, base.commits + 1, seconds, reused=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("dest", type=Path, help="bare repository to create (must not exist)")
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    repo = bigrepo.generate_config_repo(
        args.dest, apps=args.apps, commits=args.commits, seed=args.seed
    )
    _commit_config(args.dest, repo.apps)
    took = time.perf_counter() - started
    print(f"{repo.path}: {len(repo.apps)} apps x {len(repo.envs)} envs, {repo.commits + 1} commits")
    print(f"generated in {took:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
