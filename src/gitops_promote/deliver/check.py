"""A pull request judged, and its verdict delivered: the facts gathered
(:mod:`gitops_promote.facts.check`), every gate
(:func:`gitops_promote.plan.gates.evaluate.evaluate`), then the commit status (the one
branch protection requires) and the PR comment written to GitHub. ``check`` and
``recheck`` both call :func:`judge`, so a re-check judges exactly as the pull request's
check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from gitops_promote.adapters import actions
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.git import Repo
from gitops_promote.adapters.github import GitHub, connect
from gitops_promote.adapters.workspace import (
    Credentials,
    Location,
    Workspace,
    github_repository,
    open_workspace,
)
from gitops_promote.deliver.inputs import require_commits
from gitops_promote.deliver.requests import CheckRequest
from gitops_promote.errors import InputError, PromoteError, quote
from gitops_promote.facts import check as checkfacts
from gitops_promote.facts import pull
from gitops_promote.facts.changes import Key
from gitops_promote.facts.judged import Facts
from gitops_promote.facts.live import read as live
from gitops_promote.facts.merged import revisions
from gitops_promote.plan import shard as sharding
from gitops_promote.plan.gates.evaluate import CheckResult, evaluate
from gitops_promote.report import check as checkreport
from gitops_promote.report.check import shard as shardreport

MAX_VERDICT_BYTES = 256 * 1024 * 1024  # one shard's verdict file

_DESCRIPTION_LIMIT = 140  # GitHub keeps at most 140 characters of a status description


@dataclass(frozen=True)
class Posted:
    """What a write to GitHub did: ``line`` to print (stdout, unless JSON) or ``warning``
    (stderr: the write was refused; the verdict stands)."""

    line: str = ""
    warning: str = ""


def judge(
    repo: Repo,
    *,
    base: str,
    head: str,
    labels: Sequence[str],
    now: datetime,
    base_ref: str,
    config_path: str,
    renderer: render.Renderer | None,
    render_overlays: bool = True,
    provenance: tuple[str, str] = ("", ""),
) -> CheckResult:
    """The verdict on one pull request, (``base``, ``head``) judged at ``now`` with
    ``labels``: its facts gathered from git and kustomize, then every gate. ``check`` and
    ``recheck`` both call this, so a re-check judges exactly as the pull request's check."""
    result, _ = judge_shard(
        repo,
        None,
        base=base,
        head=head,
        labels=labels,
        now=now,
        base_ref=base_ref,
        config_path=config_path,
        renderer=renderer,
        render_overlays=render_overlays,
        provenance=provenance,
    )
    return result


def judge_shard(
    repo: Repo,
    shard: sharding.Shard | None,
    *,
    base: str,
    head: str,
    labels: Sequence[str],
    now: datetime,
    base_ref: str,
    config_path: str,
    renderer: render.Renderer | None,
    render_overlays: bool = True,
    provenance: tuple[str, str] = ("", ""),
) -> tuple[CheckResult, tuple[Key, ...]]:
    """:func:`judge` for ``shard`` (``check --shard``): the targets of the apps it owns
    (:func:`gitops_promote.plan.shard.owned`: dependent apps share a shard) and, in shard 1
    only, every gate not of one app (promotion.yaml, CODEOWNERS, the state file, unknown
    apps' edits) and the notes on the whole pull request; so each gate is judged by exactly
    one of the N shards. Also every target of the whole pull request, in the order an
    unsharded check lists them (what ``check --combine`` orders the shards' targets by)."""
    revs = revisions(repo, base, head)
    scope = (
        None
        if shard is None
        else checkfacts.Scope(lambda config: sharding.owned(config, shard), shard.index == 1)
    )
    facts, touched = checkfacts.gather(
        repo,
        revs,
        config_path=config_path,
        now=now,
        labels=tuple(labels),
        base_ref=base_ref,
        renderer=renderer,
        render_overlays=render_overlays,
        scope=scope,
    )
    if provenance != ("", ""):
        facts = replace(facts, break_glass_by=provenance[0], break_glass_refused=provenance[1])
    result = evaluate(with_live(repo, facts))
    if scope is not None and not scope.whole_pr:
        # what evaluate judges of the whole pull request (CODEOWNERS) is shard 1's
        result = replace(result, results=tuple(r for t in result.targets for r in t.results))
    return result, touched


def with_live(repo: Repo, facts: Facts) -> Facts:
    """``facts`` with the live state of the touched targets' upstreams, where they have a
    ``live:`` block (unchanged, and nothing asked, where none has)."""
    config = facts.config
    targets = [
        (config.app(a), config.env(e))
        for a, e in sorted(facts.changes.touched)
        if config.has_app(a) and config.has_env(e)
    ]
    states = live.gate_states(repo, config, targets)
    return facts if states is None else replace(facts, live=states)


def require_github(ws: Workspace, option: str) -> tuple[str, str]:
    """(owner/name, token) of the config repo on GitHub, which ``option`` needs."""
    permission = "pull-requests: write" if option == "--comment" else "statuses: write"
    if not ws.github_repo:
        raise InputError(
            f"{option} needs the config repo on GitHub",
            hint="pass --config-repo OWNER/NAME, or run in GitHub Actions (GITHUB_REPOSITORY)",
        )
    if not ws.credentials.token:
        raise InputError(
            f"{option} needs a GitHub token",
            hint=f"set GITHUB_TOKEN ({permission}) or GITOPS_PROMOTE_TOKEN",
        )
    return ws.github_repo, ws.credentials.token


def commit_status(result: CheckResult) -> tuple[str, str]:
    """(state, description) of the verdict's commit status. The description names what
    failed (gate, app/env) and nothing that moves with the clock, so it changes only when
    the verdict does: a re-check compares it to decide whether to write."""
    if result.passed:
        judged = len(result.targets)
        return "success", f"passed: {judged} target(s), every gate passed" if judged else (
            "passed: no environment changes"
        )
    failed = list(
        dict.fromkeys(
            r.gate + (f" ({r.app or '*'}/{r.env})" if r.env else "") for r in result.blocking
        )
    )
    return "failure", clip(f"failed: {', '.join(failed)}")


def clip(text: str) -> str:
    """A status description GitHub keeps whole: one line, at most 140 characters."""
    line = " ".join(text.split())
    return line if len(line) <= _DESCRIPTION_LIMIT else line[: _DESCRIPTION_LIMIT - 1] + "…"


def target_url() -> str | None:
    """The workflow run that set a status (its page), in GitHub Actions."""
    server, repo, run = (
        os.environ.get(name, "")
        for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server and repo and run.isdigit()):
        return None
    return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"


def check(
    req: CheckRequest,
    loc: Location,
    creds: Credentials,
    *,
    show: Callable[[CheckResult], None],
    say: Callable[[Posted], None],
    shard: sharding.Shard | None = None,
    show_shard: Callable[[CheckResult, tuple[Key, ...]], None] | None = None,
) -> CheckResult:
    """``check``: the pull request's commits (fetched when missing) judged, the verdict
    shown (``show``), then the PR comment and the commit status written when asked, each
    write's line given to ``say``. With ``shard``, only that shard's part
    (:func:`judge_shard`), shown by ``show_shard`` with every target of the pull request;
    no comment, no status (the fan-in, ``check --combine``, writes them)."""
    loc = replace(loc, base_branch=req.base_branch)
    with open_workspace(loc, creds, require_clean=False) as ws:
        require_commits(ws)
        if req.comment:
            require_github(ws, "--comment")
        if req.set_status:
            require_github(ws, "--set-status")
        branch = pull.base_branch_name(ws, loc, req.base_branch)
        asked = pull.Asked(req.base, req.head, req.pr, req.from_event)
        base, head = pull.revisions(ws, asked, branch)
        result, touched = judge_shard(
            ws.repo,
            shard,
            base=base,
            head=head,
            labels=req.labels,
            provenance=pull.break_glass(ws, req.pr, req.labels, base, loc.config_path),
            now=req.now,
            base_ref=branch,
            config_path=loc.config_path,
            renderer=render.find_renderer(req.render_timeout) if req.render else None,
            render_overlays=req.render,
        )
        if shard is not None and show_shard is not None:
            show_shard(result, touched)
            return result
        show(result)
        if req.comment:
            say(post_comment(ws, req.pr, result))
        if req.set_status:
            say(set_status(ws, req.status_context, result))
    return result


def set_status(ws: Workspace, context: str, result: CheckResult) -> Posted:
    """The verdict as the commit status ``context`` on the head commit (1 call): the same
    status ``recheck`` keeps current while the pull request is open. A refusal (a fork's
    read-only token) is a warning: the status stays missing, so the merge waits for the next
    recheck, which sets it."""
    repository, _ = require_github(ws, "--set-status")
    return _post(repository, ws, *_status_writer(context, result), "check: status")


def _status_writer(context: str, result: CheckResult) -> tuple[Callable[[GitHub], str], str]:
    """The call that sets ``result`` as the commit status ``context``, and what a failure
    of it says."""
    state, description = commit_status(result)

    def write(gh: GitHub) -> str:
        gh.set_status(
            result.head,
            state=state,
            context=context,
            description=description,
            target_url=target_url(),
        )
        return f"status {context}: {state} on {result.head[:12]}"

    return write, f"could not set status {context} on {result.head[:12]}"


def post_comment(ws: Workspace, pr: int | None, result: CheckResult) -> Posted:
    """One comment per PR, found by its hidden marker and updated in place. A failure to
    comment is reported but does not change the verdict."""
    if pr is None or not ws.github_repo or not ws.credentials.token:
        return Posted()
    return _post(ws.github_repo, ws, *_comment_writer(pr, result), "check: comment")


def _comment_writer(
    pr: int, result: CheckResult, cells: Sequence[tuple[str, str, str]] | None = None
) -> tuple[Callable[[GitHub], str], str]:
    """The call that writes (or updates in place) the PR's one promotion plan comment, and
    what a failure of it says. ``cells``: the plan's cells, where the shards made them."""

    def write(gh: GitHub) -> str:
        body = checkreport.comment(result, cells=cells)
        operation, info = gh.upsert_comment(pr, body, checkreport.COMMENT_MARKER)
        return f"comment {operation} on #{pr}: {info.url}"

    return write, f"could not write the promotion plan comment on #{pr}"


def post_combined(
    loc: Location,
    creds: Credentials,
    result: CheckResult,
    cells: Sequence[tuple[str, str, str]],
    *,
    pr: int | None,
    status_context: str | None,
) -> list[Posted]:
    """``check --combine``: the merged verdict's PR comment (with ``pr``) and commit status
    (with ``status_context``), exactly as an unsharded check writes them; the config repo
    on GitHub is --config-repo, else GITHUB_REPOSITORY (no clone: the verdicts hold all)."""
    option = "--comment" if pr is not None else "--set-status"
    repository = github_repository(loc, None)
    if not repository:
        raise InputError(
            f"{option} needs the config repo on GitHub",
            hint="pass --config-repo OWNER/NAME, or run in GitHub Actions (GITHUB_REPOSITORY)",
        )
    if not creds.token:
        raise InputError(
            f"{option} with --combine needs a GitHub token",
            hint="set GITHUB_TOKEN or GITOPS_PROMOTE_TOKEN",
        )
    posted: list[Posted] = []
    if pr is not None:
        writer = _comment_writer(pr, result, cells)
        posted.append(_post(repository, creds, *writer, "check: comment"))
    if status_context is not None:
        writer = _status_writer(status_context, result)
        posted.append(_post(repository, creds, *writer, "check: status"))
    return posted


def _post(
    repository: str,
    creds: Workspace | Credentials,
    write: Callable[[GitHub], str],
    failed: str,
    title: str,
) -> Posted:
    """One write to GitHub: its line on success; refused, a warning (and an annotation)
    that does not change the verdict."""
    gh = connect(repository, creds.credentials if isinstance(creds, Workspace) else creds)
    try:
        line = write(gh)
    except PromoteError as err:
        message = f"{failed}: {err}"
        actions.annotate("warning", message, title=title)
        return Posted(warning=f"warning: {message}")
    finally:
        gh.close()
    return Posted(line)


def read_verdicts(paths: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``check --combine``: the shards' verdict files (a directory: every ``*.json`` in it,
    and in its subdirectories, as actions/download-artifact lays them out), each checked
    (:func:`gitops_promote.report.check.shard.parse`); file name -> verdict."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise InputError(
                    f"{quote(name)} holds no .json verdict file",
                    hint="pass the directory the shards' artifacts were downloaded to",
                )
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(
                f"{quote(name)} is not a file or directory",
                hint="pass the shards' verdict files (check --shard K/N --json > FILE)",
            )
    out: dict[str, dict[str, Any]] = {}
    for path in files:
        name = str(path)
        if name in out:
            continue
        if path.stat().st_size > MAX_VERDICT_BYTES:
            raise InputError(f"{quote(name)} is larger than {MAX_VERDICT_BYTES} bytes")
        try:
            doc = json.loads(path.read_bytes())
        except (ValueError, RecursionError):
            raise InputError(
                f"{quote(name)} is not JSON",
                hint="pass the files 'gitops-promote check --shard K/N --json' wrote",
            ) from None
        except OSError as err:
            raise InputError(f"cannot read {quote(name)}: {err.strerror}") from None
        out[name] = shardreport.parse(name, doc)
    return out


__all__ = [
    "MAX_VERDICT_BYTES",
    "Posted",
    "check",
    "clip",
    "commit_status",
    "judge",
    "judge_shard",
    "post_combined",
    "post_comment",
    "read_verdicts",
    "require_github",
    "set_status",
    "target_url",
    "with_live",
]
