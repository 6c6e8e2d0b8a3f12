"""Mermaid's own parser, run by Node on many diagrams at once (tests/tools/mermaid-parse.mjs).

``mermaid`` and ``happy-dom`` (its DOM) are installed in tests/tools by ``npm ci``
(tests/run.sh, step 4). Node starts in about a second, so callers parse a batch per test
or per module: :func:`parse` takes every source at once and returns one :class:`Verdict`
each, with what the parser understood (gantt tasks, xychart bars) for tests to assert on.
Under CI=true a missing node or package fails the test (:func:`support.tools.missing`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.mermaid_check import FENCE
from support.tools import missing, which

TOOLS = Path(__file__).resolve().parents[1] / "tools"
SCRIPT = TOOLS / "mermaid-parse.mjs"
HOW = "tests/run.sh installs it: (cd tests/tools && npm ci)"


@dataclass(frozen=True)
class Verdict:
    """One diagram: ``ok`` with its ``type`` and ``data``, or the parser's ``error``."""

    source: str
    ok: bool
    type: str = ""
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def tasks(self) -> list[str]:
        """A gantt's task names as the parser read them (without the space before ``:``)."""
        return [str(t["task"]).strip() for t in self.data["tasks"]]

    def sections(self) -> list[str]:
        return [str(s) for s in self.data["sections"]]

    def labels(self) -> list[str]:
        """An xychart's x-axis labels."""
        return [str(label) for label in self.data["x"]]

    def bars(self) -> list[float]:
        """An xychart's only bar plot's values."""
        (values,) = self.data["bars"]
        return [float(v) for v in values]


def _node() -> str:
    node = which("node")
    if node is None:
        missing("node", "tests/run.sh installs Node (apt-get install nodejs npm)")
        raise AssertionError("unreachable")
    for package in ("mermaid", "happy-dom"):
        if not (TOOLS / "node_modules" / package / "package.json").is_file():
            missing(f"npm package {package}", HOW)
    return node


def parse(sources: Sequence[str]) -> list[Verdict]:
    """Every source through Mermaid's parser in one Node run; a verdict per source."""
    if not sources:
        return []
    proc = subprocess.run(
        [_node(), str(SCRIPT)],
        input=json.dumps(list(sources)),
        capture_output=True,
        text=True,
        check=False,
        cwd=TOOLS,
        env={**os.environ, "TZ": "UTC"},
        timeout=120,
    )
    assert proc.returncode == 0, f"mermaid-parse.mjs failed:\n{proc.stderr}"
    found = json.loads(proc.stdout)
    assert len(found) == len(sources)
    return [
        Verdict(
            source,
            bool(v["ok"]),
            str(v.get("type", "")),
            str(v.get("error", "")),
            dict(v.get("data") or {}),
        )
        for source, v in zip(sources, found, strict=True)
    ]


def blocks(markdown: str) -> list[str]:
    """The source of every ```mermaid block of ``markdown``, in order."""
    return [m.group(1) for m in FENCE.finditer(markdown)]


def parse_ok(markdowns: Sequence[str]) -> list[list[Verdict]]:
    """Every mermaid block of each markdown text, parsed in one run; fails on the first
    block the parser rejects, quoting the block and the parser's message."""
    per_text = [blocks(text) for text in markdowns]
    verdicts = iter(parse([b for bs in per_text for b in bs]))
    out = [[next(verdicts) for _ in bs] for bs in per_text]
    for verdict in (v for vs in out for v in vs):
        assert verdict.ok, f"mermaid rejects:\n{verdict.source}\n{verdict.error}"
    return out
