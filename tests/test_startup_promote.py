"""``promote`` starts its clone before it loads the orchestrator: parsing its arguments
loads neither :mod:`gitops_promote.deliver.promotion` nor promotion.yaml's validator
(they load in a thread while git clones, gitops_promote.deliver.warm). Probed in a
fresh interpreter, whose ``sys.modules`` is its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.repos import child_env

PROBE = """
import sys
from gitops_promote.cli import build_parser
build_parser("promote").parse_args(["promote", "--env", "dev", "--app", "api"])
print("IMPORTED=" + ",".join(sorted(sys.modules)))
"""

LATER = (
    "gitops_promote.deliver.promotion",
    "gitops_promote.config.load",
    "gitops_promote.plan.verdicts",
    "gitops_promote.report.promotion",
    "jsonschema",
    "ruamel",
    "croniter",
)


def test_promote_parses_its_arguments_without_the_orchestrator(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("IMPORTED="))
    modules = set(line.removeprefix("IMPORTED=").split(","))
    assert "gitops_promote.commands.promote" in modules
    assert "gitops_promote.deliver.opening" in modules
    loaded = sorted(m for m in modules if any(m == x or m.startswith(x + ".") for x in LATER))
    assert loaded == []
