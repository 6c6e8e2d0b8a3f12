"""Start-up stays lean: ``gitops-promote set-image`` (the command timed against
``kubectl kustomize``, bench P5) and the CLI itself load none of the config, delivery,
planning or git code, and no heavy library. Each probe runs in a fresh interpreter,
whose ``sys.modules`` is its own, after ``main()`` has done the whole command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.repos import child_env

DIGEST = "sha256:" + "ab" * 32

PROBE = """
import sys
from gitops_promote.cli import main
try:
    code = main(sys.argv[1:])
finally:  # --version exits from inside the parser
    print("IMPORTED=" + ",".join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""

# Third-party and standard-library modules set-image has no use for: JSON Schema, the
# controllers' and GitHub's HTTP stacks, the Rego engine, PyYAML (set-image edits through
# ruamel.yaml), processes, sockets, time zones.
HEAVY = (
    "jsonschema",
    "lightkube",
    "requests",
    "httpx",
    "urllib3",
    "regopy",
    "yaml",
    "subprocess",
    "socket",
    "ssl",
    "http",
    "email",
    "asyncio",
    "concurrent",
    "zoneinfo",
    "hashlib",
)
# The package's own code set-image does not run: promotion.yaml, delivery, plans, facts,
# reports beyond the diff, git/GitHub/registry/cluster adapters, other commands.
OURS = (
    "gitops_promote.config",
    "gitops_promote.deliver",
    "gitops_promote.plan",
    "gitops_promote.facts",
    "gitops_promote.commands.common",
    "gitops_promote.adapters.git",
    "gitops_promote.adapters.github",
    "gitops_promote.adapters.workspace",
    "gitops_promote.adapters.registry",
    "gitops_promote.adapters.rego",
    "gitops_promote.adapters.kube",
    "gitops_promote.adapters.argocd",
    "gitops_promote.adapters.kustomize",
)


def _imported(cwd: Path, *args: str) -> tuple[int, str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=child_env(cwd),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("IMPORTED="))
    return proc.returncode, proc.stdout, set(line.removeprefix("IMPORTED=").split(","))


def _unwanted(modules: set[str]) -> list[str]:
    return sorted(
        m
        for m in modules
        if m.split(".")[0] in HEAVY or any(m == o or m.startswith(o + ".") for o in OURS)
    )


def _overlay(root: Path) -> Path:
    overlay = root / "apps" / "api" / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/api\n    newTag: '1.0'\n"
    )
    return overlay


def test_set_image_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path)
    code, out, modules = _imported(
        tmp_path, "set-image", str(overlay), f"ghcr.io/acme/api@{DIGEST}"
    )
    assert code == 0
    assert out.endswith(": updated\n")
    assert DIGEST in (overlay / "kustomization.yaml").read_text()
    assert "gitops_promote.commands.set_image" in modules  # the probe saw the command run
    assert _unwanted(modules) == []


def test_set_image_dry_run_and_bad_input_load_nothing_more(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path)
    before = (overlay / "kustomization.yaml").read_text()
    code, out, modules = _imported(
        tmp_path, "set-image", "--dry-run", str(overlay), f"ghcr.io/acme/api@{DIGEST}"
    )
    assert code == 0
    assert f"+    digest: {DIGEST}" in out
    assert _unwanted(modules) == []
    code, _, modules = _imported(
        tmp_path, "set-image", str(overlay), "ghcr.io/acme/api@sha256:nope"
    )
    assert code == 2
    assert _unwanted(modules) == []
    assert (overlay / "kustomization.yaml").read_text() == before


def test_version_builds_no_command(tmp_path: Path) -> None:
    code, out, modules = _imported(tmp_path, "--version")
    assert code == 0
    assert out.startswith("gitops-promote ")
    commands = {m for m in modules if m.startswith("gitops_promote.commands.")}
    assert commands == {"gitops_promote.commands.argv"}
    assert _unwanted(modules) == []
