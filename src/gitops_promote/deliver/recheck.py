"""Keep the required verdict of every open pull request current (``recheck``): the open
pull requests into the base branch (one listing call) -> their heads fetched (one git
fetch) -> each judged by :func:`gitops_promote.deliver.check.judge`, exactly as its check
judges it -> the commit status set on each head commit whose verdict changed.

What the status says now is not read back from GitHub (a call per pull request): the state
file carries, from one run to the next, the verdict each head commit was given with the
labels it was judged with (:func:`load_state`, :func:`save_state`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from gitops_promote.adapters import files
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.github import GitHub, PullInfo, connect
from gitops_promote.adapters.secrets import redact
from gitops_promote.adapters.workspace import Workspace
from gitops_promote.deliver import check
from gitops_promote.errors import PromoteError
from gitops_promote.facts import pull as pullfacts

STATE_VERSION = 1


@dataclass(frozen=True)
class Request:
    """One re-check: the status to keep, its memory, and how to judge."""

    status_context: str
    state_file: Path | None
    dry_run: bool
    now: datetime
    render: bool
    render_timeout: float


@dataclass(frozen=True)
class Verdict:
    """The status one head commit was given, and the labels it was judged with."""

    head: str
    labels: tuple[str, ...]
    state: str  # success | failure | error
    description: str


@dataclass
class Rechecked:
    """What a re-check did: one line per pull request, how many statuses it set, the
    writes GitHub refused (the run fails with the worst)."""

    pulls: int = 0
    changed: int = 0
    lines: list[str] = field(default_factory=list)
    failures: list[PromoteError] = field(default_factory=list)


def recheck(
    ws: Workspace,
    req: Request,
    branch: str,
    config_path: str,
    remembered: Mapping[int, Verdict],
) -> Rechecked:
    """Judge every open pull request into ``branch`` and set the statuses that changed
    (``remembered``: the verdicts of the last run, :func:`load_state`)."""
    repository, _ = check.require_github(ws, "recheck")
    done = Rechecked()
    gh = connect(repository, ws.credentials)
    kept: dict[int, Verdict] = {}
    try:
        pulls = gh.open_pulls(branch)
        done.pulls = len(pulls)
        base, heads = pullfacts.pull_heads(ws, branch, pulls)
        renderer = render.find_renderer(req.render_timeout) if req.render else None
        for pull in pulls:
            head = heads.get(pull.number)
            if head is None and not pullfacts.SHA.fullmatch(pull.head_sha):
                done.lines.append(f"#{pull.number}: skipped, GitHub gave no head commit id")
                continue
            verdict = judge(ws, pull, head, base, branch, req, config_path, renderer, gh)
            before = remembered.get(pull.number)
            if before == verdict:
                kept[pull.number] = verdict
                done.lines.append(_line(pull.number, verdict, "unchanged"))
                continue
            was = f"was {before.state}" if before and before.head == verdict.head else "new"
            if req.dry_run:
                done.lines.append(_line(pull.number, verdict, f"would set ({was})"))
                continue
            try:
                gh.set_status(
                    verdict.head,
                    state=verdict.state,
                    context=req.status_context,
                    description=verdict.description,
                    target_url=check.target_url(),
                )
            except PromoteError as err:
                done.failures.append(err)
                done.lines.append(_line(pull.number, verdict, f"NOT set: {err}"))
                continue
            kept[pull.number] = verdict
            done.changed += 1
            done.lines.append(_line(pull.number, verdict, f"set ({was})"))
    finally:
        gh.close()
    if not req.dry_run and req.state_file is not None:
        save_state(req.state_file, req.status_context, kept)
    return done


def _line(number: int, verdict: Verdict, what: str) -> str:
    return f"#{number} {verdict.head[:12]} {verdict.state}: {verdict.description} - {what}"


def judge(
    ws: Workspace,
    pull: PullInfo,
    head: str | None,
    base: str,
    branch: str,
    req: Request,
    config_path: str,
    renderer: render.Renderer | None,
    gh: GitHub | None = None,
) -> Verdict:
    """The verdict on one open pull request, as ``check`` would give it now. A pull request
    that cannot be judged gets an ``error`` status (never keeps a stale success)."""
    labels = tuple(sorted(pull.labels))
    if head is None:
        return Verdict(pull.head_sha, labels, "error", "recheck: head commit not found")
    try:
        label = pullfacts.break_glass_label(ws.repo, base, config_path, pull.labels)
        provenance = (
            pullfacts.label_provenance(gh, pull.number, label) if label and gh else ("", "")
        )
        result = check.judge(
            ws.repo,
            base=base,
            head=head,
            labels=pull.labels,
            provenance=provenance,
            now=req.now,
            base_ref=branch,
            config_path=config_path,
            renderer=renderer,
            render_overlays=req.render,
        )
    except PromoteError as err:
        text = redact(str(err)).splitlines()[0] if str(err) else type(err).__name__
        return Verdict(head, labels, "error", check.clip(f"cannot judge: {text}"))
    state, description = check.commit_status(result)
    return Verdict(result.head, labels, state, description)


def load_state(path: Path | None, context: str) -> tuple[dict[int, Verdict], str]:
    """The verdicts of the last run, and a warning when the file was ignored. A missing,
    unreadable or foreign file is no memory (every status is set again), never an error: it
    only saves calls."""
    if path is None or not path.is_file():
        return {}, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION or data.get("context") != context:
            return {}, ""
        return {
            int(number): Verdict(
                head=str(entry["head"]),
                labels=tuple(str(label) for label in entry["labels"]),
                state=str(entry["state"]),
                description=str(entry["description"]),
            )
            for number, entry in data["pulls"].items()
        }, ""
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        return {}, (
            f"warning: --state {path}: ignored ({type(err).__name__}); every status is set again"
        )


def save_state(path: Path, context: str, verdicts: Mapping[int, Verdict]) -> None:
    """Only the pull requests open now are kept: a closed one drops out."""
    data = {
        "version": STATE_VERSION,
        "context": context,
        "pulls": {str(n): asdict(v) for n, v in sorted(verdicts.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


__all__ = ["Rechecked", "Request", "Verdict", "judge", "load_state", "recheck", "save_state"]
