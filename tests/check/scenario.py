"""Config repos with a dated history, and pull-request-like branches, for ``check`` tests.

A :class:`ConfigRepo` starts as examples/config-repo (dev -> staging -> production, two apps,
production frozen on weekends, soak 1h/24h) committed at :data:`T0`; every later commit has
the date it is given, so soak times are exact. Pins are edited with the product's own
editors, byte-minimally, as a promotion would.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_promote.apply import overlays
from gitops_promote.config.load import parse_config
from gitops_promote.facts import pins
from gitops_promote.images import ImageRef
from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE, Run, digest_of

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
API = "ghcr.io/myorg/api-service"
WORKER = "ghcr.io/myorg/worker"
OLD_API = "sha256:f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a"
OLD_WORKER = "sha256:13029f9e83d15b3d437c2a7568fc1ca7990ecf3ff79bef6da08f13ff5ae12af8"
NEW_API = digest_of("api-service 1.5.0")
NEW_WORKER = digest_of("worker 2.0.0")


def overlay(app: str, env: str) -> str:
    return f"apps/{app}/overlays/{env}/kustomization.yaml"


class ConfigRepo:
    """A local config repo (branch ``main``) whose history tests write commit by commit."""

    def __init__(self, root: Path, *, files: Mapping[str, str | None] | None = None) -> None:
        self.root = root
        shutil.copytree(EXAMPLE, root)
        gitutil.init_repo(root)
        gitutil.write_files(root, files or {})
        gitutil.commit_files(root, {}, message="Initial config", date=T0)

    # -- reading and editing ------------------------------------------------------------------

    def text(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def pinned(self, app: str, env: str, ref: str) -> dict[str, str]:
        """The overlay of ``app`` in ``env`` with ``ref`` pinned (a file mapping to commit)."""
        config = parse_config(self.text("promotion.yaml"))
        target_app = config.app(app)
        rel = overlay(app, env)
        new = ImageRef.parse(ref)
        text = overlays.set_pin(
            rel, self.text(rel), pins.target(target_app), pins.set_image_arg(target_app, new)
        )
        return {rel: text}

    def commit(self, files: Mapping[str, str | bytes | None], *, at: datetime, message: str) -> str:
        return gitutil.commit_files(self.root, files, message=message, date=at)

    def promote(self, app: str, env: str, ref: str, *, at: datetime) -> str:
        """Commit a pin change on the current branch, as a merged promotion would land."""
        return self.commit(self.pinned(app, env, ref), at=at, message=f"promote {app} to {env}")

    # -- branches -----------------------------------------------------------------------------

    def branch(self, name: str, start: str = "main") -> None:
        gitutil.git("checkout", "-q", "-b", name, start, cwd=self.root)

    def switch(self, name: str) -> None:
        gitutil.git("checkout", "-q", name, cwd=self.root)

    def head(self) -> str:
        return gitutil.rev_parse(self.root, "HEAD")

    # -- running check ------------------------------------------------------------------------

    def check(
        self,
        *args: str,
        now: datetime | str,
        head: str = "HEAD",
        base: str = "main",
        env: Mapping[str, str] | None = None,
        code: int | None = None,
    ) -> Run:
        """``gitops-promote check`` as CI would run it (in process, a child's environment)."""
        when = now if isinstance(now, str) else now.isoformat()
        return cli(
            "check",
            "--repo",
            str(self.root),
            "--base",
            base,
            "--head",
            head,
            "--now",
            when,
            *args,
            env=env,
            check=code,
        )

    def check_json(
        self, *args: str, now: datetime | str, code: int | None = None
    ) -> dict[str, Any]:
        run = self.check("--json", *args, now=now, code=code)
        data: dict[str, Any] = json.loads(run.stdout)
        return data


def failed(data: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(gate, app, env) of every blocking result in ``check --json`` output."""
    return [
        (r["gate"], r["app"], r["env"])
        for r in data["results"]
        if not r["passed"] and r["severity"] == "error"
    ]


def result(
    data: dict[str, Any], gate: str, app: str | None = None, env: str | None = None
) -> dict[str, Any]:
    """The one result of ``gate`` (for ``app`` in ``env``) in ``check --json`` output."""
    found = [
        r
        for r in data["results"]
        if r["gate"] == gate
        and (app is None or r["app"] == app)
        and (env is None or r["env"] == env)
    ]
    assert len(found) == 1, (gate, app, env, data["results"])
    out: dict[str, Any] = found[0]
    return out


__all__ = [
    "API",
    "NEW_API",
    "NEW_WORKER",
    "OLD_API",
    "OLD_WORKER",
    "T0",
    "WORKER",
    "ConfigRepo",
    "failed",
    "overlay",
    "result",
]
