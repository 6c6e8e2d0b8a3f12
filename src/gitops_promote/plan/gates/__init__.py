"""Gates: pure functions over facts that say whether a promotion may happen, and why.

Every gate returns :class:`GateResult` records; git, GitHub and the registry only gather
the facts the gates are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GateSeverity = Literal["error", "warning"]


@dataclass(frozen=True)
class GateResult:
    """The verdict of one gate on one (app, env) target.

    ``message`` is one line: why it passed or failed, and how to fix it or when it will
    pass. ``overridden`` marks a pass granted only by break-glass (reported loudly).
    ``file``/``line`` point at the line to annotate, when there is one.
    """

    gate: str  # "freeze", "pinning", "upstream", "soak", "dependencies", "drift", "ownership"
    app: str | None
    env: str | None
    passed: bool
    message: str
    file: str | None = None
    line: int | None = None
    severity: GateSeverity = "error"
    overridden: bool = False

    @property
    def blocking(self) -> bool:
        """True when this result should fail the run (a failed gate of severity error)."""
        return not self.passed and self.severity == "error"


__all__ = ["GateResult", "GateSeverity"]
