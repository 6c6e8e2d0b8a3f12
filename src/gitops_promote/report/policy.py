"""What ``gitops-promote policy test`` and ``policy eval`` print: text lines and JSON.

Pure: values in, text out. Every string a policy produced (messages, rule names) or the
repo holds (paths, document names) is hostile and passes through
:func:`gitops_promote.adapters.escape.log` (one line, no workflow command, no terminal
control sequence) before it is part of a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_promote.adapters.escape import log
from gitops_promote.adapters.rego.model import (
    PolicyError,
    PolicyFinding,
    PolicyOutcome,
    PolicyTestResult,
)

RULE_WIDTH = 80


# -- policy test ----------------------------------------------------------------------------


def unit_test_lines(
    results: Sequence[PolicyTestResult], errors: Sequence[PolicyError]
) -> list[str]:
    """``opa test``'s verbose form: the tests of each file, PASS or FAIL, then the counts."""
    lines: list[str] = []
    file = None
    for result in results:
        if result.file != file:
            if file is not None:
                lines.append("")
            file = result.file
            lines.append(f"{log(file)}:")
        verdict = "PASS" if result.passed else "FAIL"
        why = f" ({log(result.message)})" if result.message and not result.passed else ""
        lines.append(f"data.{log(result.name)}: {verdict}{why}")
    for error in errors:
        lines.append(f"ERROR: {log(error.message)}")
    lines.append("-" * RULE_WIDTH)
    passed = sum(1 for r in results if r.passed)
    failed = len(results) - passed
    total = len(results)
    if passed:
        lines.append(f"PASS: {passed}/{total}")
    if failed:
        lines.append(f"FAIL: {failed}/{total}")
    if errors:
        lines.append(f"ERROR: {len(errors)} (policies that could not be evaluated)")
    return lines


def unit_test_json(results: Sequence[PolicyTestResult], errors: Sequence[PolicyError]) -> Any:
    return {
        "tests": [
            {"name": r.name, "file": r.file, "passed": r.passed, "message": r.message}
            for r in results
        ],
        "errors": [_error_json(e) for e in errors],
        "passed": sum(1 for r in results if r.passed),
        "failed": sum(1 for r in results if not r.passed),
    }


# -- policy eval ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One rendered manifest, as a finding names it: ``Kind/name`` (and its namespace)."""

    kind: str
    name: str
    namespace: str = ""

    @property
    def label(self) -> str:
        where = f" (namespace {self.namespace})" if self.namespace else ""
        return f"{self.kind or '?'}/{self.name or '?'}{where}"


def document_of(obj: Mapping[str, Any]) -> Document:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return Document(
        str(obj.get("kind") or ""), str(meta.get("name") or ""), str(meta.get("namespace") or "")
    )


@dataclass(frozen=True)
class Evaluation:
    """What ``policy eval`` evaluated and what the policies said."""

    env: str
    app: str
    overlay: str
    documents: tuple[Document, ...]
    outcome: PolicyOutcome
    policy_files: tuple[str, ...]
    combine: bool = False

    @property
    def failures(self) -> int:
        return sum(1 for f in self.outcome.findings if f.fails)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.outcome.findings if not f.fails)

    @property
    def failed(self) -> bool:
        return bool(self.failures or self.outcome.errors)


def _where(finding: PolicyFinding, documents: Sequence[Document]) -> str:
    if finding.document is None:
        return "all documents"
    if 0 <= finding.document < len(documents):
        return documents[finding.document].label
    return f"document {finding.document}"


def eval_lines(found: Evaluation) -> list[str]:
    """Conftest's form: ``FAIL - Kind/name - namespace - message (policy file)``, then the
    engine's errors and the counts."""
    lines = [
        f"{log(found.app)} in {log(found.env)}: {log(found.overlay)} renders "
        f"{len(found.documents)} document(s); {len(found.policy_files)} policy file(s)"
    ]
    for finding in found.outcome.findings:
        verdict = "FAIL" if finding.fails else "WARN"
        files = ", ".join(log(f) for f in finding.files)
        lines.append(
            f"{verdict} - {log(_where(finding, found.documents))} - {log(finding.namespace)} - "
            f"{log(finding.message)} ({files})"
        )
    for error in found.outcome.errors:
        lines.append(f"ERROR - {log(error.message)}")
    lines.append(
        f"{found.failures} failure(s), {found.warnings} warning(s), "
        f"{len(found.outcome.errors)} error(s)"
    )
    return lines


def _error_json(error: PolicyError) -> Any:
    return {"kind": error.kind, "message": error.message, "files": list(error.files)}


def eval_json(found: Evaluation) -> Any:
    return {
        "env": found.env,
        "app": found.app,
        "overlay": found.overlay,
        "combine": found.combine,
        "policy_files": list(found.policy_files),
        "documents": [
            {"kind": d.kind, "name": d.name, "namespace": d.namespace} for d in found.documents
        ],
        "findings": [
            {
                "kind": f.kind,
                "fails": f.fails,
                "namespace": f.namespace,
                "message": f.message,
                "files": list(f.files),
                "document": f.document,
            }
            for f in found.outcome.findings
        ],
        "errors": [_error_json(e) for e in found.outcome.errors],
        "failures": found.failures,
        "warnings": found.warnings,
    }


__all__ = [
    "Document",
    "Evaluation",
    "document_of",
    "eval_json",
    "eval_lines",
    "unit_test_json",
    "unit_test_lines",
]
