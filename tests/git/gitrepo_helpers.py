"""Helpers for the git layer tests (imported by tests/git/ modules and its conftest)."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gitops_promote.adapters.git import Git, Repo
from support.githttp import GitServer

APPS = ("api", "worker", "web")
ENVS = ("dev", "staging", "production")


def overlay(app: str, env: str) -> str:
    return f"apps/{app}/overlays/{env}"


def kustomization(app: str, digest: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n  - ../../base\n"
        "images:\n"
        f"  - name: ghcr.io/org/{app}\n"
        f"    digest: sha256:{digest}\n"
    )


def seed_files() -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = {"promotion.yaml": "version: 1\n"}
    for app in APPS:
        files[f"apps/{app}/base/kustomization.yaml"] = "resources: [deployment.yaml]\n"
        for env in ENVS:
            files[f"{overlay(app, env)}/kustomization.yaml"] = kustomization(app, "0" * 64)
    return files


@dataclass
class ConfigRepo:
    """A bare config repo served over HTTP, with its URL and token."""

    server: GitServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def bare(self) -> Path:
        return self.server.path(self.name)


@dataclass
class ArgvLog:
    """Every git process (and the git subprocesses git itself runs) logged to files."""

    shim_dir: Path
    argv_file: Path
    trace_file: Path

    def git(self) -> Git:
        """A runner whose git is the shim, with GIT_TRACE logging child commands too."""
        env = dict(os.environ)
        env["PATH"] = f"{self.shim_dir}{os.pathsep}{env.get('PATH', '')}"
        env["GIT_TRACE"] = str(self.trace_file)
        return Git(base_env=env)

    def text(self) -> str:
        parts = []
        for file in (self.argv_file, self.trace_file):
            if file.exists():
                parts.append(file.read_text(errors="replace"))
        return "\n".join(parts)

    def commands(self) -> list[list[str]]:
        """argv (after ``git``) of each process the shim saw."""
        if not self.argv_file.exists():
            return []
        return [line.split("\x1f")[1:] for line in self.argv_file.read_text().splitlines()]


def clone(config_repo: ConfigRepo, dest: Path, *paths: str, git: Git | None = None) -> Repo:
    """A partial, sparse clone of the config repo with the right token."""
    return Repo.clone(
        config_repo.url,
        dest,
        token=config_repo.token,
        sparse_paths=list(paths) or ["promotion.yaml"],
        git=git,
    )


def make_argv_log(tmp_path: Path) -> ArgvLog:
    """A ``git`` on PATH that appends its argv to a file, then runs the real git."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    real = next(
        p
        for p in (Path(d) / "git" for d in os.environ.get("PATH", "").split(os.pathsep) if d)
        if p.is_file() and os.access(p, os.X_OK)
    )
    argv_file = tmp_path / "argv.log"
    shim = shim_dir / "git"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"with open({str(argv_file)!r}, 'a') as f:\n"
        "    f.write('\\x1f'.join(sys.argv) + '\\n')\n"
        f"os.execv({str(real)!r}, [{str(real)!r}, *sys.argv[1:]])\n"
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return ArgvLog(shim_dir, argv_file, tmp_path / "trace.log")
