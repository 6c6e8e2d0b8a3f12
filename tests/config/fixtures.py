"""Fixture files of tests/config/data: valid configs, and invalid ones that carry their
expected problems as trailing ``#! fragment`` markers on the lines they are expected on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
VALID = sorted((DATA / "valid").glob("*.yaml"))
INVALID = sorted((DATA / "invalid").glob("*.yaml"))
EXAMPLE = Path(__file__).parents[2] / "examples" / "config-repo" / "promotion.yaml"


@dataclass(frozen=True)
class Expected:
    """What an invalid fixture must produce: (line, fragment) pairs and the schema verdict."""

    problems: tuple[tuple[int, str], ...]
    schema: str  # "reject", "accept" (not expressible in JSON Schema) or "unparsable"


def expected(path: Path) -> Expected:
    """Read the ``#!`` markers (line 1 also stands for "no line") and the schema verdict."""
    lines = path.read_text("utf-8").splitlines()
    found = re.search(r"\(schema: (reject|accept|unparsable)", lines[0])
    assert found, f"{path.name}: first line must say (schema: reject|accept|unparsable)"
    problems = []
    for number, line in enumerate(lines, start=1):
        for fragment in line.split("#!")[1:]:
            problems.append((number, fragment.strip()))
    return Expected(tuple(problems), found.group(1))
