"""The ``policy`` gate: what the base branch's Rego policies said about the rendered
documents of one target (pure).

Each ``deny``/``violation`` message is a failed line naming the policy file, the rule's
message and the document (``Kind/name``), on the overlay line that produced the document
(or the line that wrote an image the message names); each ``warn`` message is a warning;
an evaluation that failed (a compile error, a runtime error, the time limit, the engine
crashing, a policy directory that cannot be read) is a failed line naming the policy. The
messages come from the policies and the documents from the pull request: they are kept as
they are (clipped) and escaped where they are printed (:mod:`gitops_promote.report.check`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from gitops_promote.adapters.rego.model import PolicyError, PolicyFinding
from gitops_promote.facts.changeset import Key
from gitops_promote.facts.policyfacts import PolicyDocument, PolicyFacts, PolicyRun
from gitops_promote.plan.gates import GateResult, GateSeverity

POLICY: Final = "policy"
MAX_MESSAGE: Final = 300  # characters of a rule's message kept in one line
MAX_LINES: Final = 20  # failures and warnings shown per target; the rest are counted


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _files(files: tuple[str, ...]) -> str:
    return ", ".join(files) if files else "the policies"


def _where(
    finding: PolicyFinding,
    document: PolicyDocument | None,
    origins: Mapping[str, tuple[str, int | None]],
    fallback: tuple[str | None, int | None],
) -> tuple[str | None, int | None]:
    """The line to annotate: the line that wrote an image of the document the message
    names, else the document's own line, else the target's."""
    if document is not None:
        for image in document.images:
            if image in origins and image in finding.message:
                return origins[image]
        if document.file is not None:
            return document.file, document.line
    return fallback


def _finding(
    key: Key,
    run: PolicyRun,
    finding: PolicyFinding,
    origins: Mapping[str, tuple[str, int | None]],
    fallback: tuple[str | None, int | None],
) -> GateResult | None:
    document: PolicyDocument | None = None
    if finding.document is not None:
        if not 0 <= finding.document < len(run.documents):
            return None
        document = run.documents[finding.document]
        if document.key != key:
            return None
    namespace = "" if finding.namespace == "main" else f" [{finding.namespace}]"
    about = f" ({document.label})" if document is not None else ""
    message = f"{_files(finding.files)}{namespace}: {clip(finding.message)}{about}"
    file, line = _where(finding, document, origins, fallback)
    severity: GateSeverity = "error" if finding.fails else "warning"
    return GateResult(POLICY, key[0], key[1], False, message, file, line, severity=severity)


def _error(key: Key, error: PolicyError) -> GateResult:
    reason = {
        "compile": "does not compile",
        "runtime": "failed while evaluating",
        "timeout": "ran past the time limit",
        "crash": "crashed the policy engine",
    }.get(error.kind, "failed")
    # the files the message names (one file of a package that does not compile stops
    # the whole package: the error lists them all and its message names the culprit)
    named = tuple(f for f in error.files if f in error.message) or error.files
    message = clip(error.message, 2 * MAX_MESSAGE)
    return GateResult(
        POLICY,
        key[0],
        key[1],
        False,
        f"{_files(named)} {reason}, so the policies give no verdict: {message}",
        named[0] if named else None,
        None,
    )


def policy_results(
    policies: PolicyFacts | None,
    key: Key,
    *,
    origins: Mapping[str, tuple[str, int | None]] | None = None,
    file: str | None = None,
    line: int | None = None,
) -> list[GateResult]:
    """The ``policy`` lines of target ``key``: failures, warnings and evaluation errors,
    or one passing line; nothing when no policies apply to it. ``origins``: image ->
    where the pull request wrote it; ``file``/``line``: the target's own line."""
    if policies is None:
        return []
    app, env = key
    if key in policies.skipped:
        return [
            GateResult(
                POLICY,
                app,
                env,
                False,
                f"policies not evaluated: {policies.skipped[key]}",
                file,
                line,
                severity="warning",
            )
        ]
    runs = policies.runs_of(key)
    if not runs:
        return []
    found: dict[tuple[str, str | None, int | None, str], GateResult] = {}
    errors: list[GateResult] = []
    documents = 0
    for run in runs:
        errors += [_error(key, e) for e in run.outcome.errors]
        documents += sum(1 for d in run.documents if d.key == key)
        for finding in run.outcome.findings:
            result = _finding(key, run, finding, origins or {}, (file, line))
            if result is not None:
                where = (result.message, result.file, result.line, result.severity)
                found.setdefault(where, result)
    lines = sorted(found.values(), key=lambda r: r.severity != "error")
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        more = lines[MAX_LINES:]
        failing = sum(1 for r in more if r.blocking)
        shown.append(
            GateResult(
                POLICY,
                app,
                env,
                False,
                f"and {len(more)} more policy message(s) ({failing} failing); "
                f"'gitops-promote policy eval --env {env} --app {app}' lists them all",
                file,
                line,
                severity="error" if failing else "warning",
            )
        )
    out = list(dict.fromkeys(errors)) + shown
    if not any(r.blocking for r in out):
        dirs = list(dict.fromkeys(d for run in runs for d in run.dirs))
        warned = len(lines)
        out.insert(
            0,
            GateResult(
                POLICY,
                app,
                env,
                True,
                f"{documents} rendered document(s) pass the policies of {', '.join(dirs)}"
                + (f" ({warned} warning(s))" if warned else ""),
                file,
                line,
            ),
        )
    return out


__all__ = ["MAX_LINES", "MAX_MESSAGE", "POLICY", "clip", "policy_results"]
