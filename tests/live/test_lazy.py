"""Without live configuration nothing changes: ``status`` and ``check`` import neither the
Argo CD nor the Kubernetes adapter, nor their libraries (lightkube, requests), and print
what they printed before (no LIVE column, no live gate). Run in a child process, whose
``sys.modules`` is its own."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from check.scenario import API, NEW_API, T0, ConfigRepo
from support.repos import child_env

PROBE = """
import sys
from gitops_promote.cli import main
code = main(sys.argv[1:])
heavy = ("lightkube", "requests", "httpx", "kubernetes")
live = ("gitops_promote.adapters.argocd", "gitops_promote.adapters.kube",
        "gitops_promote.facts.live.argocd", "gitops_promote.facts.live.flux")
found = sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in live)
print("IMPORTED=" + ",".join(found), file=sys.stderr)
sys.exit(code)
"""


def imported(root: Path, *args: str) -> tuple[int, str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--repo", str(root)],
        env=child_env(root),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("IMPORTED="))
    return proc.returncode, proc.stdout, [m for m in line.removeprefix("IMPORTED=").split(",") if m]


def test_status_and_check_without_live_import_no_controller_library(tmp_path: Path) -> None:
    repo = ConfigRepo(tmp_path / "config")
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.branch("pr")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=T0 + timedelta(days=2))
    repo.switch("main")
    code, out, modules = imported(repo.root, "status")
    assert (code, modules) == (0, [])
    assert out.splitlines()[0].split() == ["APP", "ENV", "TAG", "DIGEST", "SINCE", "COMMIT"]
    now = (T0 + timedelta(days=2, hours=1)).isoformat()
    code, out, modules = imported(
        repo.root, "check", "--base", "main", "--head", "pr", "--now", now, "--json"
    )
    assert (code, modules) == (0, [])
    assert '"gate": "live"' not in out
