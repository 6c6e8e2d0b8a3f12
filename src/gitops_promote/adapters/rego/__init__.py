"""Rego policies, evaluated by the embedded engine (``regopy``) in a child process.

The engine is run in a child with a time limit because it can crash the process
(segmentation faults on some ``with`` forms) or never return (pathological regexes): a
crash, a compile error or a timeout becomes a :class:`~.model.PolicyError` naming the
policy, never a dead check. The values it takes and gives are in :mod:`.model`.

- :func:`evaluate`: Conftest's reading. For each namespace (a Rego package), the rules
  ``deny``, ``violation``, ``warn`` and their ``deny_*``, ``violation_*``, ``warn_*``
  forms, queried for each input alone (``combine``: one input, the list of all of them).
  A message is a string, or the ``msg`` of an object; any other value is shown as JSON.
- :func:`run_tests`: every ``test_*`` rule, queried alone (as ``opa test``): it passes
  when it is defined and true. A test whose every ``with`` is ``with input as`` one value
  (or ``with data.a.b as`` one value, outside the packages) runs without the engine's
  ``with`` (which crashes on rules that call builtins): the value is computed first, then
  the test is queried with it as the input or in ``data`` (:func:`.child.with_input`).

Isolation: the child reports each namespace (each test) as it starts and ends. When it
crashes or runs past ``timeout``, the namespace (test) it was in is the error and a new
child goes on with the rest, so one bad package hides no other package's verdicts. When
all modules do not compile together, each package is compiled alone (a compile error
names its files) and the others are evaluated. Each message names the file whose rule
produced it. The child sees no environment (``opa.runtime()`` shows an empty ``env``);
``regopy`` has no ``http.send`` and no file builtins, and a call of a function it lacks is
refused (it would be silently undefined); ``data`` is what the caller gives.

Modules: :mod:`.model` (the values, pure), :mod:`.engine` (the parent: the child process,
its time limit, isolation), :mod:`.child` (the child: regopy, and what a ``.rego`` text
says before it is compiled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops_promote.adapters.rego.model import (
    PolicyError,
    PolicyFinding,
    PolicyModule,
    PolicyOutcome,
    PolicyTestResult,
)

# The engine's module (subprocess, the child's protocol) is imported when it is used: the
# pure layers import .model through this package and must not load it.


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
    """What the policies say about ``inputs`` (see above). Never raises for what a policy
    does: compile errors, runtime errors, crashes and timeouts are the outcome's errors."""
    from gitops_promote.adapters.rego import engine  # noqa: PLC0415 - see above

    return engine.evaluate(
        modules,
        data,
        inputs,
        namespaces=namespaces,
        all_namespaces=all_namespaces,
        combine=combine,
        timeout=timeout,
    )


def run_tests(
    modules: Sequence[PolicyModule], data: Mapping[str, Any], *, timeout: float = 30.0
) -> tuple[list[PolicyTestResult], list[PolicyError]]:
    """Runs every ``test_*`` rule of ``modules`` (policies and their tests), each alone;
    a test the engine crashes or hangs in fails with that reason."""
    from gitops_promote.adapters.rego import engine  # noqa: PLC0415 - see above

    return engine.run_tests(modules, data, timeout=timeout)


__all__ = [
    "PolicyError",
    "PolicyFinding",
    "PolicyModule",
    "PolicyOutcome",
    "PolicyTestResult",
    "evaluate",
    "run_tests",
]
