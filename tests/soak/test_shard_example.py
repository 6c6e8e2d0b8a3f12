"""The sharded soak example (examples/workflows/soak-sharded.yml) runs one job per shard:
its matrix lists 1..N and its step passes ``shard: ${{ matrix.shard }}/N`` with the same
N (a mismatch would leave the apps of the missing shards unpromoted); one failing shard
does not cancel the others; one soak run at a time, never cancelled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "soak-sharded.yml"


def test_the_matrix_and_the_shard_input_agree() -> None:
    doc: dict[str, Any] = YAML(typ="safe").load(EXAMPLE.read_text())
    (job,) = doc["jobs"].values()
    shards = job["strategy"]["matrix"]["shard"]
    assert job["strategy"]["fail-fast"] is False
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("gitops-promote/")]
    assert step["with"]["command"] == "soak"
    match = re.fullmatch(r"\$\{\{ matrix\.shard \}\}/(\d+)", step["with"]["shard"])
    assert match is not None
    assert shards == list(range(1, int(match[1]) + 1))
    assert doc["concurrency"]["cancel-in-progress"] is False
