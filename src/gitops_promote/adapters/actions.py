"""GitHub Actions I/O: inputs, outputs, job summary, annotations, groups, masking.

Outside Actions (``GITHUB_ACTIONS`` unset) every function here does nothing, so the same
program runs unchanged as a plain CLI. actions-toolkit does the workflow-command and
file-command plumbing (``set_output`` writes ``$GITHUB_OUTPUT`` with a heredoc delimiter:
multiline-safe); annotations are formatted here, because its helpers emit empty
properties (``title=,line=``); its ``github`` module (which edits ``sys.path``) is never
imported, and the toolkit itself only when running in Actions.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal

from gitops_promote.adapters.escape import command_data, command_property
from gitops_promote.adapters.mdfit import Section, fit, utf8_bytes
from gitops_promote.adapters.secrets import redact

Level = Literal["error", "warning", "notice"]
SUMMARY_LIMIT: Final = 1024 * 1024  # bytes GitHub keeps of one step's job summary
_SUMMARY_END: Final = "\n\n"
# what one append may hold: the whole file stays strictly under the limit
SUMMARY_BUDGET: Final = SUMMARY_LIMIT - 1 - len(_SUMMARY_END)


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def annotation(
    level: Level,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> str:
    """``::error file=F,line=N,title=T::message`` with only the properties that are set."""
    props = []
    if file:
        props.append(f"file={command_property(file)}")
    if line:
        props.append(f"line={line}")
    if title:
        props.append(f"title={command_property(title)}")
    head = f"::{level}" + (" " + ",".join(props) if props else "")
    return f"{head}::{command_data(redact(message))}"


def annotate(
    level: Level,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> None:
    if in_actions():
        sys.stdout.write(annotation(level, message, file=file, line=line, title=title) + "\n")
        sys.stdout.flush()


def mask(secret: str | None) -> None:
    """Ask the runner to mask ``secret`` in the log (``::add-mask::``)."""
    if secret and in_actions():
        from actions_toolkit import core  # noqa: PLC0415

        core.set_secret(secret)


def outputs_enabled() -> bool:
    """Whether step outputs are written at all (``GITHUB_OUTPUT`` is set)."""
    return bool(os.environ.get("GITHUB_OUTPUT"))


def set_outputs(values: Mapping[str, str]) -> None:
    if not outputs_enabled():
        return
    from actions_toolkit import core  # noqa: PLC0415

    for name, value in values.items():
        core.set_output(name, redact(value))


def _summary_used(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def summary_enabled() -> bool:
    """Whether a job summary is written at all (``GITHUB_STEP_SUMMARY`` is set): a command
    builds its summary only then (on 2,000 apps, a table and a chart are ~0.3 s)."""
    return bool(os.environ.get("GITHUB_STEP_SUMMARY"))


def summary_room() -> int:
    """Bytes one more :func:`append_summary` may write: GitHub keeps a step's job summary
    only under :data:`SUMMARY_LIMIT`, and the file already holds this step's earlier
    writes (the runner gives each step its own file)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    used = _summary_used(path) if path else 0
    return max(0, SUMMARY_BUDGET - used)


def append_summary(markdown: str) -> None:
    """Append ``markdown`` to the job summary. Reports that can be long are cut to
    :func:`summary_room` by their renderer (at a block boundary, saying what was cut);
    text that still does not fit is left out whole, with a note, never cut inside."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    text = redact(markdown).rstrip("\n")
    section = Section((text,), unit="summary section(s)")
    text = fit([section], summary_room(), measure=utf8_bytes) if text else ""
    if not text:
        return
    with Path(path).open("a", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text + _SUMMARY_END)


def publish(values: Mapping[str, str], summary: str) -> None:
    """Outputs and job summary of a finished command (no-ops outside Actions)."""
    set_outputs(values)
    append_summary(summary)


@contextmanager
def group(title: str) -> Iterator[None]:
    """A collapsible log group in Actions; nothing outside."""
    if not in_actions():
        yield
        return
    sys.stdout.write(f"::group::{command_data(title)}\n")
    sys.stdout.flush()
    try:
        yield
    finally:
        sys.stdout.write("::endgroup::\n")
        sys.stdout.flush()


def event() -> dict[str, Any]:
    """The triggering event's payload (``GITHUB_EVENT_PATH``), or {}."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pull_request() -> dict[str, Any]:
    """The pull_request object of a pull_request event, or {}."""
    pr = event().get("pull_request")
    return pr if isinstance(pr, dict) else {}


def merge_group() -> dict[str, Any]:
    """The queued state of a ``merge_group`` event (GitHub's merge queue), shaped like a
    pull_request object: ``base`` (the branch it merges into, ``base_ref`` without
    ``refs/heads/``, and ``base_sha``), ``head`` (``head_ref``, ``head_sha``: the combined
    commit to judge), no number and no labels (a group may hold several pull requests).
    {} when the payload has no merge group."""
    group = event().get("merge_group")
    if not isinstance(group, dict):
        return {}
    base_ref, head_ref = group.get("base_ref"), group.get("head_ref")
    return {
        "base": {
            "ref": base_ref.removeprefix("refs/heads/") if isinstance(base_ref, str) else None,
            "sha": group.get("base_sha"),
        },
        "head": {"ref": head_ref, "sha": group.get("head_sha")},
        "labels": [],
    }
