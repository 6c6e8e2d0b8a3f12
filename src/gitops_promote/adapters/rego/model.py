"""The values Rego evaluation takes and gives (pure; no engine is imported here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Conftest's rule names: ``deny`` and ``violation`` fail, ``warn`` warns.
RuleKind = Literal["deny", "violation", "warn"]
# Why evaluation gave no answer for some policies.
ErrorKind = Literal["compile", "runtime", "timeout", "crash"]


@dataclass(frozen=True)
class PolicyModule:
    """One ``.rego`` file: its repo-relative ``path`` (as messages name it) and text."""

    path: str
    text: str


@dataclass(frozen=True)
class PolicyFinding:
    """One message a ``deny``/``violation``/``warn`` rule produced for one input.

    ``document``: the index of the input (one rendered document) it was produced for, or
    None under ``combine`` (one input: the list of all documents). ``namespace``: the
    Rego package, e.g. ``main``. ``files``: the policy files that define that rule in
    that package (usually one). ``message``: the rule's message (a string, or ``msg`` of
    an object a ``violation`` rule returns), unescaped: callers escape it for output."""

    kind: RuleKind
    namespace: str
    message: str
    files: tuple[str, ...]
    document: int | None = None

    @property
    def fails(self) -> bool:
        return self.kind != "warn"


@dataclass(frozen=True)
class PolicyError:
    """Evaluation failed for ``files``: a compile error, a runtime error, the time limit,
    or the engine crashing. ``message`` is one line naming the policy and the reason."""

    kind: ErrorKind
    message: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyOutcome:
    """Everything one evaluation said: findings in input order, then errors."""

    findings: tuple[PolicyFinding, ...] = ()
    errors: tuple[PolicyError, ...] = ()


@dataclass(frozen=True)
class PolicyTestResult:
    """One ``test_*`` rule run by ``policy test``: ``name`` is ``package.rule``."""

    name: str
    file: str
    passed: bool
    message: str = ""


__all__ = [
    "ErrorKind",
    "PolicyError",
    "PolicyFinding",
    "PolicyModule",
    "PolicyOutcome",
    "PolicyTestResult",
    "RuleKind",
]
