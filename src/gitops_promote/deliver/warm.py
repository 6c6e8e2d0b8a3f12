"""Load, while a clone runs, what reading promotion.yaml will need.

A promotion spends its first few hundred milliseconds waiting for ``git clone`` (a child
process: the interpreter sits idle), then reads promotion.yaml, which first imports and
builds what it parses and validates with: the JSON Schema validator (jsonschema and its
dependencies, the schema compiled), libyaml, ruamel.yaml and croniter. :func:`start`
does that work in a background thread during the clone (for ``promote``, the
orchestrator's own modules first: :data:`PROMOTION`); :meth:`Warm.wait` is called
before the config is read, so nothing is built twice and nothing runs concurrently
with the command's own work but the clone (and the git commands that prepare it).

Only caches are filled (imports, ``functools.cache``\\ d builders): what the command
computes and prints is unchanged, and a failure here is ignored (the command meets it
again, and reports it, where it is really needed).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

# The modules are imported here, by the thread, not by whoever imports this module.


def _libyaml() -> None:
    from gitops_promote.adapters import yamlfast  # noqa: PLC0415 - in the thread

    yamlfast.fast_available()  # libyaml: the fast YAML read path


def _ruamel() -> None:
    from gitops_promote.adapters import yamlsafe  # noqa: PLC0415 - in the thread

    yamlsafe.rt_yaml()  # ruamel.yaml: the values of promotion.yaml


def _validator() -> None:
    from gitops_promote.config import shape  # noqa: PLC0415 - in the thread

    # an empty document: the validator is built (and cached) and judges nothing of note
    shape.check_shape({})


def _module(name: str) -> Callable[[], object]:
    return lambda: importlib.import_module(name)


# What reading promotion.yaml builds first (gitops_promote.config.load).
STEPS: tuple[Callable[[], object], ...] = (
    _libyaml,
    _ruamel,
    _validator,
    _module("croniter"),  # freeze windows' schedules
)

# ``promote`` (the command): its orchestrator and report too, then what STEPS loads.
PROMOTION: tuple[Callable[[], object], ...] = (
    _module("gitops_promote.deliver.promotion"),
    _module("gitops_promote.report.promotion"),
    *STEPS,
)


class Warm:
    """A warm-up under way (or none: ``thread`` is None)."""

    def __init__(self, thread: threading.Thread | None) -> None:
        self.thread = thread

    def wait(self) -> None:
        """Until the warm-up is over (at once when there is none)."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None


def _run(steps: tuple[Callable[[], object], ...]) -> None:
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001, S112 - met and reported again where it is needed
            continue


def start(steps: tuple[Callable[[], object], ...] = STEPS) -> Warm:
    """The warm-up, started in a daemon thread (it never keeps the process alive)."""
    thread = threading.Thread(target=_run, args=(steps,), name="gitops-promote-warm", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread can be started: the command does the work itself
        return Warm(None)
    return Warm(thread)
