"""The parent's side of the Rego engine: runs :mod:`.child` with a time limit, reads its
events, and goes on past a crash or a timeout (see :mod:`gitops_promote.adapters.rego`,
whose :func:`~gitops_promote.adapters.rego.evaluate` and
:func:`~gitops_promote.adapters.rego.run_tests` call this module's).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal, cast

from gitops_promote.adapters.rego import child as source
from gitops_promote.adapters.rego.model import (
    ErrorKind,
    PolicyError,
    PolicyFinding,
    PolicyModule,
    PolicyOutcome,
    PolicyTestResult,
    RuleKind,
)

CHILD: Final = Path(__file__).with_name("child.py")
MAX_FINDINGS = source.MAX_FINDINGS  # messages of one evaluation kept (tests lower it)
KNOWN_CRASH: Final = (
    "a known limit of regopy 1.5.2: the engine's own `with` on a policy that calls a builtin "
    "function (sprintf, endswith, ...) crashes it; a test whose expressions give `input` one "
    "value (`with input as X`, the same X) is run without it (docs/policies.md)"
)


@dataclass
class _Run:
    """What one child said: its events, and how it ended."""

    events: list[dict[str, Any]] = field(default_factory=list)
    ended: Literal["ok", "crash", "timeout"] = "ok"
    detail: str = ""

    def stuck(self) -> str | None:
        """The unit the child had begun and not finished (None: between units)."""
        open_unit: str | None = None
        for event in self.events:
            if "begin" in event:
                open_unit = str(event["begin"])
            elif "done" in event:
                open_unit = None
        return open_unit

    def done(self) -> set[str]:
        return {str(e["done"]) for e in self.events if "done" in e}


def _signal_name(code: int) -> str:
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"
    return f"signal {name}" + (", a segmentation fault" if name == "SIGSEGV" else "")


def _child(request: Mapping[str, Any], timeout: float) -> _Run:
    """Runs the child once; never raises for what the child does."""
    run = _Run()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={},
            cwd=Path(__file__).parent,
        )
    except OSError as err:
        return _Run(ended="crash", detail=f"the engine's process did not start: {err}")
    payload = json.dumps(request, default=str).encode()
    try:
        out, err_text = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err_text = proc.communicate()
        run.ended = "timeout"
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            run.events.append(event)
    if run.ended == "ok" and proc.returncode != 0:
        run.ended = "crash"
        said = err_text.decode("utf-8", "replace")
        if "bad_alloc" in said or "MemoryError" in said:
            limit = source.MEMORY_LIMIT >> 20
            run.detail = f"out of memory: the policies may allocate {limit} MiB"
        elif proc.returncode < 0:
            run.detail = _signal_name(proc.returncode)
        else:
            lines = said.strip().splitlines()
            run.detail = f"exit {proc.returncode}" + (f": {lines[-1]}" if lines else "")
    return run


def _drive(
    request: Mapping[str, Any],
    units: list[Any],
    key: Callable[[Any], str],
    timeout: float,
    narrow: Callable[[Any], Mapping[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[Any, str, str]]]:
    """Runs the child over ``units`` until each is done or was the one it died in.
    Returns the events and, for each unit lost, (unit, "crash"|"timeout", detail).

    When the child dies before it begins any unit (while compiling), ``narrow`` gives for
    each unit a request with fewer modules (its own package and the libraries), run one
    unit per child; without ``narrow``, every unit of that run is lost."""
    events: list[dict[str, Any]] = []
    lost: list[tuple[Any, str, str]] = []
    pending = list(units)
    one_by_one = False
    while pending:
        batch = pending[:1] if one_by_one else pending
        base = narrow(batch[0]) if one_by_one and narrow is not None else request
        run = _child({**base, "units": batch}, timeout)
        events.extend(e for e in run.events if "begin" not in e and "done" not in e)
        if run.ended == "ok":
            pending = [u for u in pending if u not in batch]
            continue
        done = run.done()
        stuck = run.stuck()
        if stuck is None and not one_by_one and narrow is not None and len(batch) > 1:
            pending = [u for u in pending if key(u) not in done]
            one_by_one = True
            continue
        if stuck is None and not one_by_one:
            lost.extend((u, run.ended, run.detail) for u in batch if key(u) not in done)
            pending = [u for u in pending if u not in batch]
            continue
        victim = next((u for u in batch if key(u) == stuck), batch[0])
        lost.append((victim, run.ended, run.detail))
        pending = [u for u in pending if key(u) not in done and u != victim]
    return events, lost


def _files(modules: Sequence[PolicyModule], package: str) -> tuple[str, ...]:
    return tuple(m.path for m in modules if source.package(m.text) == package)


def _lost_error(
    kind: str, detail: str, what: str, files: Sequence[str], timeout: float
) -> PolicyError:
    named = ", ".join(files)
    if kind == "timeout":
        return PolicyError(
            "timeout", f"{what} ({named}) ran past the time limit of {timeout:g}s", tuple(files)
        )
    return PolicyError(
        "crash",
        f"the Rego engine crashed ({detail}) evaluating {what} ({named})",
        tuple(files),
    )


def _error(event: Mapping[str, Any]) -> PolicyError:
    return PolicyError(
        cast(ErrorKind, event["kind"]),
        str(event["message"]),
        tuple(str(f) for f in event.get("files") or ()),
    )


def _unique(errors: Sequence[PolicyError]) -> tuple[PolicyError, ...]:
    return tuple(dict.fromkeys(errors))


def _prepare(
    modules: Sequence[PolicyModule],
) -> tuple[list[PolicyModule], list[PolicyError]]:
    kept, errors = [], []
    for module in modules:
        if source.package(module.text) is None:
            errors.append(
                PolicyError(
                    "compile",
                    f"{module.path}: no `package` line (a policy starts with e.g. `package main`)",
                    (module.path,),
                )
            )
        else:
            kept.append(module)
    return kept, errors


def evaluate(
    modules: Sequence[PolicyModule],
    data: Mapping[str, Any],
    inputs: Sequence[Any],
    *,
    namespaces: Sequence[str] = ("main",),
    all_namespaces: bool = False,
    combine: bool = False,
    timeout: float = 10.0,
) -> PolicyOutcome:
    """What the policies say about ``inputs`` (see the module's docstring). Never raises
    for what a policy does: compile errors, runtime errors, crashes and timeouts are the
    outcome's errors."""
    kept, errors = _prepare(modules)
    packages = list(dict.fromkeys(source.package(m.text) or "" for m in kept))
    units = packages if all_namespaces else [n for n in dict.fromkeys(namespaces) if n in packages]
    if not units or (not inputs and not combine):
        return PolicyOutcome((), _unique(errors))
    request = {
        "op": "eval",
        "modules": [[m.path, m.text] for m in kept],
        "data": dict(data),
        "inputs": list(inputs),
        "combine": combine,
        "max_findings": MAX_FINDINGS,
    }

    def narrow(unit: str) -> Mapping[str, Any]:
        own = [m for m in kept if source.package(m.text) in (unit, *libraries)]
        return {**request, "modules": [[m.path, m.text] for m in own]}

    libraries = [p for p in packages if p not in units]
    events, lost = _drive(request, units, str, timeout, narrow)
    findings = []
    for event in events:
        if "finding" in event:
            found = event["finding"]
            findings.append(
                PolicyFinding(
                    kind=cast(RuleKind, found["kind"]),
                    namespace=str(found["namespace"]),
                    message=str(found["message"]),
                    files=tuple(str(f) for f in found["files"]),
                    document=found["document"],
                )
            )
        elif "error" in event:
            errors.append(_error(event["error"]))
    for unit, kind, detail in lost:
        files = _files(kept, unit)
        errors.append(_lost_error(kind, detail, f"package {unit}", files, timeout))
    merged: dict[tuple[str, str, str, int | None], PolicyFinding] = {}
    for finding in findings:  # one message from two files' rules: one finding naming both
        key = (finding.kind, finding.namespace, finding.message, finding.document)
        seen = merged.get(key)
        files = finding.files if seen is None else (*seen.files, *finding.files)
        merged[key] = replace(finding, files=tuple(dict.fromkeys(files)))
    findings = list(merged.values())
    order = {unit: i for i, unit in enumerate(units)}
    findings.sort(key=lambda f: (-1 if f.document is None else f.document, order[f.namespace]))
    return PolicyOutcome(tuple(findings), _unique(errors))


def run_tests(
    modules: Sequence[PolicyModule], data: Mapping[str, Any], *, timeout: float = 30.0
) -> tuple[list[PolicyTestResult], list[PolicyError]]:
    """Runs every ``test_*`` rule of ``modules`` (policies and their tests together), each
    alone; ``timeout`` is per child run. A module that defines a ``test_*`` rule is a test
    module; each is run in its own child with all the other (policy) modules. A test the
    engine crashes or hangs in fails with that reason; the others still run."""
    kept, errors = _prepare(modules)
    tests = [m for m in kept if source.test_names(m.text)]
    policies = [m for m in kept if m not in tests]
    events: list[dict[str, Any]] = []
    lost: list[tuple[Any, str, str]] = []
    units: list[list[str]] = []
    for test in tests:  # one test file at a time: a crash in one hides no other file
        these = [
            [source.package(test.text) or "", n, test.path] for n in source.test_names(test.text)
        ]
        units.extend(these)
        request = {
            "op": "test",
            "modules": [[m.path, m.text] for m in [*policies, test]],
            "data": dict(data),
        }
        found, gone = _drive(request, these, lambda u: f"{u[0]}.{u[1]}", timeout)
        events.extend(found)
        lost.extend(gone)
    results: dict[tuple[str, str], PolicyTestResult] = {}  # (file, name) -> result
    for event in events:
        if "test" in event:
            test = event["test"]
            result = PolicyTestResult(
                str(test["name"]), str(test["file"]), bool(test["passed"]), str(test["message"])
            )
            results[(result.file, result.name)] = result
        elif "error" in event:
            errors.append(_error(event["error"]))
    for unit, kind, detail in lost:
        name = f"{unit[0]}.{unit[1]}"
        if kind == "timeout":
            reason = f"ran past the time limit of {timeout:g}s"
        elif detail.startswith("signal"):
            reason = f"the Rego engine crashed ({detail}); {KNOWN_CRASH}"
        else:
            reason = f"the Rego engine crashed ({detail})"
        results[(unit[2], name)] = PolicyTestResult(name, unit[2], False, reason)
    keys = [(u[2], f"{u[0]}.{u[1]}") for u in units]
    ordered = [results[k] for k in keys if k in results]
    return ordered, list(_unique(errors))


__all__ = ["CHILD", "KNOWN_CRASH", "evaluate", "run_tests"]
