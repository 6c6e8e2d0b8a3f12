"""``validate``'s findings (:class:`Validation`) and how they show: JSON, and the lines
of a valid run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_promote.errors import Problem


@dataclass(frozen=True)
class Validation:
    """What ``validate`` found: the overlays checked, the notes (file, message), every
    problem, and the state files written (``--write-state``)."""

    config_file: str
    checked: int
    notes: tuple[tuple[str, str], ...]
    problems: tuple[Problem, ...]
    written: tuple[str, ...]


def to_json(v: Validation) -> dict[str, Any]:
    return {
        "valid": not v.problems,
        "checked": v.checked,
        "notes": [{"file": file, "message": message} for file, message in v.notes],
        "problems": [{"file": p.file, "line": p.line, "message": p.message} for p in v.problems],
    }


def lines(v: Validation) -> list[str]:
    """A valid run: the files written, the notes, then the summary line."""
    out = [f"wrote {path}" for path in v.written]
    out += [f"note: {file}: {message}" for file, message in v.notes]
    carry = f"{v.checked - len(v.notes)} overlays carry their app's image"
    if v.notes:
        carry += f", {len(v.notes)} get it from their first promote"
    return [*out, f"{v.config_file}: valid; {carry}"]
