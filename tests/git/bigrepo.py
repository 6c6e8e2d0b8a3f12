"""Generate a big config repo fast (``git fast-import``), for benchmarks and load tests.

The shape follows the product's contract: ``promotion.yaml`` at the root, every app with a
``base/`` and one kustomize overlay per environment under ``apps/<app>/overlays/<env>``.
History: a seed commit, then promotions: ``dev`` ones are direct commits on ``main`` (what
``mode: push`` does); gated ones are a commit on a pull-request branch merged into ``main``
by a merge commit (what a reviewed promotion PR does), so first-parent history looks like
GitHub's. Dates grow by ``step`` per commit; everything is deterministic for a ``seed``.

Usage from Python: ``generate_config_repo(Path("big.git"), apps=2000, commits=20000)``;
from a shell: ``python bench/gen.py big.git --apps 2000 --commits 20000``.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

ENVIRONMENTS = ("dev", "staging", "production")
START = datetime(2024, 1, 1, tzinfo=UTC)

# Server-side settings for HTTP push, partial clone and fetching blobs by id.
SERVER_CONFIG = (
    ("http.receivepack", "true"),
    ("uploadpack.allowFilter", "true"),
    ("uploadpack.allowAnySHA1InWant", "true"),
    ("uploadpack.allowReachableSHA1InWant", "true"),
)


@dataclass(frozen=True)
class GeneratedRepo:
    """What was generated: the bare repo, its apps and envs, the commit count on ``main``
    (every commit reachable from it, merges included) and the final pin of each overlay."""

    path: Path
    apps: tuple[str, ...]
    envs: tuple[str, ...]
    commits: int
    pins: dict[tuple[str, str], str]  # (app, env) -> "sha256:..."

    def overlay(self, app: str, env: str) -> str:
        return f"apps/{app}/overlays/{env}"


def app_name(i: int) -> str:
    return f"app-{i:04d}"


def digest_for(app: str, n: int) -> str:
    return "sha256:" + hashlib.sha256(f"{app}/{n}".encode()).hexdigest()


def kustomization(app: str, digest: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        f"  - name: ghcr.io/myorg/{app}\n"
        f"    digest: {digest}\n"
    )


def base_kustomization() -> str:
    return "resources:\n  - deployment.yaml\n"


def deployment(app: str) -> str:
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        f"metadata:\n  name: {app}\n"
        "spec:\n"
        f"  selector:\n    matchLabels: {{app: {app}}}\n"
        "  template:\n"
        f"    metadata:\n      labels: {{app: {app}}}\n"
        "    spec:\n"
        "      containers:\n"
        f"        - name: {app}\n"
        f"          image: ghcr.io/myorg/{app}:latest\n"
    )


def promotion_yaml(apps: Sequence[str], envs: Sequence[str]) -> str:
    lines = ["version: 1", "environments:"]
    for i, env in enumerate(envs):
        lines.append(f"  - name: {env}")
        lines.append(f"    path: apps/{{app}}/overlays/{env}")
        if i == 0:
            lines.append("    mode: push")
        else:
            lines.append(f"    from: {envs[i - 1]}")
            lines.append("    mode: pull-request")
    lines.append("apps:")
    lines += [f"  {app}: {{image: ghcr.io/myorg/{app}}}" for app in apps]
    return "\n".join(lines) + "\n"


class _Stream:
    """Writes a ``git fast-import`` stream."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.mark = 0

    def data(self, text: str) -> None:
        raw = text.encode()
        self.sink.write(b"data %d\n%s\n" % (len(raw), raw))

    def commit(
        self,
        ref: str,
        when: datetime,
        author: str,
        message: str,
        files: dict[str, str],
        parents: Sequence[int] = (),
    ) -> int:
        self.mark += 1
        stamp = f"{int(when.timestamp())} +0000"
        self.sink.write(f"commit {ref}\nmark :{self.mark}\n".encode())
        self.sink.write(f"author {author} {stamp}\ncommitter {author} {stamp}\n".encode())
        self.data(message)
        if parents:
            self.sink.write(f"from :{parents[0]}\n".encode())
            for extra in parents[1:]:
                self.sink.write(f"merge :{extra}\n".encode())
        for path, content in files.items():
            raw = content.encode()
            self.sink.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(raw), raw))
        return self.mark


def generate_config_repo(
    dest: Path,
    *,
    apps: int = 2000,
    commits: int = 20000,
    envs: Sequence[str] = ENVIRONMENTS,
    seed: int = 1,
    start: datetime = START,
    step: timedelta = timedelta(minutes=7),
    branch: str = "main",
    repack: bool = True,
) -> GeneratedRepo:
    """Create the bare repo ``dest`` (must not exist) with ``apps`` apps x ``envs`` and
    ``commits`` commits reachable from ``branch``; return what was generated.

    ``repack``: one pack with a reachability bitmap and a commit-graph, as a busy hosted
    repo has (the server then answers clones without walking every object).
    """
    if dest.exists():
        raise FileExistsError(dest)
    if commits < 1 or apps < 1:
        raise ValueError("need at least one app and one commit")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    names = tuple(app_name(i) for i in range(apps))
    env_list = tuple(envs)
    subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(dest)], check=True)
    for key, value in SERVER_CONFIG:
        subprocess.run(["git", "config", key, value], cwd=dest, check=True)
    authors = [
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
        "Ada Lovelace <ada@example.test>",
        "Grace Hopper <grace@example.test>",
    ]
    pins: dict[tuple[str, str], str] = {}
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=dest, stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    stream = _Stream(proc.stdin)
    ref = f"refs/heads/{branch}"
    when = start
    seed_files = {"promotion.yaml": promotion_yaml(names, env_list)}
    for app in names:
        seed_files[f"apps/{app}/base/kustomization.yaml"] = base_kustomization()
        seed_files[f"apps/{app}/base/deployment.yaml"] = deployment(app)
        for env in env_list:
            pins[(app, env)] = digest_for(app, 0)
            seed_files[f"apps/{app}/overlays/{env}/kustomization.yaml"] = kustomization(
                app, pins[(app, env)]
            )
    tip = stream.commit(ref, when, authors[1], "Initial config", seed_files)
    made = 1
    serial = 0
    while made < commits:
        serial += 1
        when += step
        app = names[rng.randrange(apps)]
        gated = made + 2 <= commits and rng.random() < 0.3 and len(env_list) > 1
        env = env_list[rng.randrange(1, len(env_list))] if gated else env_list[0]
        digest = digest_for(app, serial)
        pins[(app, env)] = digest
        change = {f"apps/{app}/overlays/{env}/kustomization.yaml": kustomization(app, digest)}
        message = f"chore({env}): promote {app} to {digest[:19]}"
        if not gated:
            tip = stream.commit(ref, when, authors[0], message, change, parents=[tip])
            made += 1
            continue
        side = stream.commit(
            f"refs/heads/promote/{env}/{app}", when, authors[0], message, change, parents=[tip]
        )
        when += step
        number = 1000 + serial
        merge_message = f"Merge pull request #{number} from myorg/promote/{env}/{app}\n\n{message}"
        tip = stream.commit(
            ref, when, authors[1 + serial % 2], merge_message, change, parents=[tip, side]
        )
        made += 2
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    # Only main stays: the promotion branches were merged (GitHub deletes them).
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/heads/promote/"],
        cwd=dest,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if refs:
        subprocess.run(
            ["git", "update-ref", "--stdin"],
            cwd=dest,
            check=True,
            input="".join(f"delete {r}\n" for r in refs),
            text=True,
        )
    if repack:
        subprocess.run(
            ["git", "repack", "-a", "-d", "-q", "--write-bitmap-index"], cwd=dest, check=True
        )
        subprocess.run(
            ["git", "commit-graph", "write", "--reachable", "--no-progress"], cwd=dest, check=True
        )
    return GeneratedRepo(dest, names, env_list, made, pins)
