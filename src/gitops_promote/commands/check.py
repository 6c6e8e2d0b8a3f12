"""``gitops-promote check``: the required status check on config-repo pull requests.

Reads top to bottom: inputs (arguments, else the pull_request event) -> workspace ->
which commits (fetched when missing) -> facts (git, kustomize) -> gates (pure) -> report
(text or JSON, annotations on the overlay lines, job summary, optionally one PR comment
updated in place) -> exit code: 0 passed, 1 a gate failed, 2 bad input, 3 the world failed.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gitops_promote.adapters.git import plumbing
from gitops_promote.commands import common

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gitops_promote.adapters.git import Repo
    from gitops_promote.adapters.github import GitHub
    from gitops_promote.adapters.kustomize import Renderer
    from gitops_promote.adapters.workspace import Location, Workspace
    from gitops_promote.errors import InputError
    from gitops_promote.plan.gates.evaluate import CheckResult

_PR_EVENTS = ("pull_request", "pull_request_target")
# The commit status that carries the verdict (check --set-status, recheck): the one to make
# required in branch protection, whichever run set it.
STATUS_CONTEXT = "gitops-promote/check"
_DESCRIPTION_LIMIT = 140  # GitHub keeps at most 140 characters of a status description
# A render that takes an hour is stuck; a larger limit (1e20) overflows the timer itself.
MAX_RENDER_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Request:
    """The typed inputs of one check run."""

    base: str | None  # a revision; None: origin/<base branch>
    head: str | None  # a revision; None: HEAD
    base_branch: str | None  # the PR's base branch name, when known
    labels: tuple[str, ...]
    pr: int | None
    now: datetime
    as_json: bool
    comment: bool
    render: bool
    render_timeout: float
    from_event: bool
    set_status: bool = False
    status_context: str = STATUS_CONTEXT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="REF",
        help="the base branch revision (default: the pull_request event's base branch, "
        "else origin/<settings.base-branch>)",
    )
    parser.add_argument(
        "--head",
        metavar="REF",
        help="the pull request's head revision (default: the event's head sha, else HEAD)",
    )
    parser.add_argument(
        "--label",
        action="append",
        metavar="LABEL",
        help="a pull request label (added to the event's labels), e.g. freeze-exception",
    )
    parser.add_argument(
        "--pr", type=int, metavar="NUMBER", help="pull request number (default: the event's)"
    )
    parser.add_argument(
        "--comment",
        action="store_true",
        help="write the promotion plan as one PR comment, updated in place on re-runs "
        "(needs pull-requests: write)",
    )
    parser.add_argument("--json", action="store_true", help="print every gate result as JSON")
    add_status_arguments(parser, "set the verdict as a commit status on the head commit")
    add_render_arguments(parser)
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-render`` and ``--render-timeout`` (checked by :func:`render_timeout`): shared
    with recheck."""
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="do not render overlays (skips drift, references and limits)",
    )
    parser.add_argument(
        "--render-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit of one kustomize render, up to 3600 (default: 60)",
    )


def add_status_arguments(parser: argparse.ArgumentParser, set_help: str | None) -> None:
    """``--status-context`` (and ``--set-status`` when ``set_help``): shared with recheck."""
    if set_help is not None:
        parser.add_argument(
            "--set-status",
            action="store_true",
            help=f"{set_help} (needs statuses: write), named by --status-context",
        )
    parser.add_argument(
        "--status-context",
        default=STATUS_CONTEXT,
        metavar="NAME",
        help=f"the commit status name to make required in branch protection "
        f"(default: {STATUS_CONTEXT})",
    )


def status_context(text: str) -> str:
    """A --status-context value, checked: one line of printable text."""
    from gitops_promote.errors import InputError, quote  # noqa: PLC0415

    name = text.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise InputError(
            f"--status-context {quote(text)} is not a status name",
            hint=f"use one line of at most 100 printable characters, e.g. {STATUS_CONTEXT}",
        )
    return name


def _event_pull_request() -> dict[str, Any]:
    from gitops_promote.adapters import actions  # noqa: PLC0415

    name = os.environ.get("GITHUB_EVENT_NAME")
    if name == "merge_group":  # the merge queue's combined state, judged like a PR's head
        return actions.merge_group()
    if name not in _PR_EVENTS:
        return {}
    return actions.pull_request()


def render_timeout(seconds: float) -> float:
    """``--render-timeout``: a finite number of seconds, more than 0 and at most an hour."""
    from gitops_promote.errors import InputError  # noqa: PLC0415

    if not (math.isfinite(seconds) and 0 < seconds <= MAX_RENDER_TIMEOUT):
        raise InputError(
            f"--render-timeout {seconds:g} is not a number of seconds from 0 to "
            f"{MAX_RENDER_TIMEOUT:g}",
            hint="e.g. --render-timeout 60",
        )
    return seconds


def request(args: argparse.Namespace) -> Request:
    from gitops_promote.errors import InputError  # noqa: PLC0415

    pr = _event_pull_request()
    base_info: dict[str, Any] = pr["base"] if isinstance(pr.get("base"), dict) else {}
    head_info: dict[str, Any] = pr["head"] if isinstance(pr.get("head"), dict) else {}
    event_labels = [
        str(label.get("name"))
        for label in pr.get("labels") or ()
        if isinstance(label, dict) and label.get("name")
    ]
    number = args.pr if args.pr is not None else pr.get("number")
    if args.comment and not isinstance(number, int):
        raise InputError(
            "--comment needs a pull request number",
            hint="run on a pull_request event, or pass --pr NUMBER",
        )
    render_timeout(args.render_timeout)
    head_sha = head_info.get("sha") if isinstance(head_info.get("sha"), str) else None
    base_name = base_info.get("ref") if isinstance(base_info.get("ref"), str) else None
    return Request(
        base=args.base,
        head=args.head or head_sha,
        base_branch=args.base_branch or base_name,
        labels=tuple(dict.fromkeys([*event_labels, *common.split_names(args.label)])),
        pr=number if isinstance(number, int) else None,
        now=common.parse_now(args.now),
        as_json=args.json,
        comment=args.comment,
        render=not args.no_render,
        render_timeout=args.render_timeout,
        from_event=bool(pr),
        set_status=args.set_status,
        status_context=status_context(args.status_context),
    )


def base_branch_name(ws: Workspace, loc: Location, req: Request) -> str:
    """The branch the pull request targets: the event's or --base-branch, else
    settings.base-branch of the checkout's promotion.yaml, else the checked-out branch."""
    from gitops_promote.config.load import load_config  # noqa: PLC0415
    from gitops_promote.errors import UserError  # noqa: PLC0415

    if req.base_branch:
        return req.base_branch
    try:
        return load_config(ws.root, loc.config_path).settings.base_branch
    except UserError:
        return ws.repo.base_branch


def revisions(ws: Workspace, req: Request, branch: str) -> tuple[str, str]:
    """The base and head commits, fetched from the remote when they are not here yet (a
    fresh clone of the config repo has only its base branch)."""
    repo = ws.repo
    remote_base = f"{repo.remote}/{branch}"
    base = req.base or remote_base
    head = req.head or "HEAD"
    if ws.has_remote:
        wanted: list[str] = []
        if req.base is None and (req.from_event or repo.rev_parse(base) is None):
            wanted.append(branch)
        elif req.base is not None and repo.rev_parse(base) is None:
            wanted.append(req.base.removeprefix(f"{repo.remote}/"))
        if repo.rev_parse(head) is None:
            wanted.append(head)
        if wanted:
            fetched = fetch(ws, req, wanted)
            if req.base is None and branch in fetched:
                base = fetched[branch]
            head = fetched.get(head, head)
            if req.base is not None:
                base = fetched.get(req.base.removeprefix(f"{repo.remote}/"), base)
    if req.base is None and repo.rev_parse(base) is None and repo.rev_parse(branch):
        base = branch  # a checkout without the remote-tracking branch: the local one
    return base, head


def fetch(ws: Workspace, req: Request, wanted: list[str]) -> dict[str, str]:
    """Fetch ``wanted`` in one request. A fork's head commit is not on any branch of the
    config repo: when fetching it by id fails, it is fetched as ``refs/pull/N/head``.
    When the fetch fails while the remote answers and lacks one of ``wanted``, that is
    bad input (a mistyped --base, an unknown --head), not the server failing."""
    from gitops_promote.errors import GitError  # noqa: PLC0415

    try:
        return _fetch(ws, req, wanted)
    except GitError:
        absent = _absent(ws, wanted)
        if absent is None:
            raise
    raise _not_on_remote(ws, req, absent) from None


def _fetch(ws: Workspace, req: Request, wanted: list[str]) -> dict[str, str]:
    from gitops_promote.errors import GitError  # noqa: PLC0415

    try:
        return ws.repo.fetch(wanted)
    except GitError:
        head = req.head
        if req.pr is None or head is None or head not in wanted:
            raise
    others = [w for w in wanted if w != head]
    fetched = ws.repo.fetch([*others, f"refs/pull/{req.pr}/head"])
    newest = fetched.pop(f"refs/pull/{req.pr}/head")
    fetched[head] = head if ws.repo.rev_parse(head) else newest
    return fetched


def _absent(ws: Workspace, wanted: list[str]) -> str | None:
    """Which of ``wanted`` the remote does not have, asked with one ``git ls-remote``
    (None: the remote does not answer, or has every branch asked for and no commit id
    was among them: the failure was the world's). A commit id cannot be listed: when
    every branch is there, the id the fetch asked for is the one missing."""
    ids = [w for w in wanted if _is_commit_id(w)]
    names = {
        w: w if w.startswith("refs/") else f"refs/heads/{w}" for w in wanted if not _is_commit_id(w)
    }
    present = plumbing.ls_remote(
        ws.repo.git, ws.repo.remote, ["HEAD", *names.values()], check=False
    )
    if present is None:
        return None
    missing = [w for w, ref in names.items() if ref not in present]
    absent = missing or ids
    return absent[0] if absent else None


def _is_commit_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _not_on_remote(ws: Workspace, req: Request, ref: str) -> InputError:
    from gitops_promote.errors import InputError, quote  # noqa: PLC0415

    if req.head is not None and ref == req.head:
        flag = "--head"
    elif req.base is not None and ref == req.base.removeprefix(f"{ws.repo.remote}/"):
        flag = "--base"
    else:
        flag = "the base branch"
    what = "commit" if _is_commit_id(ref) else "branch"
    return InputError(
        f"{flag} {quote(ref)}: no such {what} on the config repo's remote",
        hint="check the name or commit id (git ls-remote origin lists the branches), "
        "or push it first",
    )


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace  # noqa: PLC0415

    from gitops_promote.adapters import kustomize as render  # noqa: PLC0415 - lazy: fast start
    from gitops_promote.adapters.workspace import open_workspace  # noqa: PLC0415

    req = request(args)
    loc = replace(common.location(args), base_branch=req.base_branch)
    with open_workspace(loc, common.credentials(args), require_clean=False) as ws:
        common.require_commits(ws)
        if req.comment:
            require_github(ws, "--comment")
        if req.set_status:
            require_github(ws, "--set-status")
        branch = base_branch_name(ws, loc, req)
        base, head = revisions(ws, req, branch)
        provenance = break_glass(ws, req, base, loc.config_path)
        result = judge(
            ws.repo,
            base=base,
            head=head,
            labels=req.labels,
            provenance=provenance,
            now=req.now,
            base_ref=branch,
            config_path=loc.config_path,
            renderer=render.find_renderer(req.render_timeout) if req.render else None,
            render_overlays=req.render,
        )
        publish(result, req)
        if req.comment:
            post_comment(ws, req, result)
        if req.set_status:
            set_status(ws, req, result)
    return 0 if result.passed else 1


def judge(
    repo: Repo,
    *,
    base: str,
    head: str,
    labels: Sequence[str],
    now: datetime,
    base_ref: str,
    config_path: str,
    renderer: Renderer | None,
    render_overlays: bool = True,
    provenance: tuple[str, str] = ("", ""),
) -> CheckResult:
    """The verdict on one pull request, (``base``, ``head``) judged at ``now`` with
    ``labels``: its facts gathered from git and kustomize, then every gate. ``check`` and
    ``recheck`` both call this, so a re-check judges exactly as the pull request's check."""
    from gitops_promote.facts import check as checkfacts  # noqa: PLC0415 - lazy: fast start
    from gitops_promote.plan.gates.evaluate import evaluate  # noqa: PLC0415

    revs = checkfacts.revisions(repo, base, head)
    facts = checkfacts.gather(
        repo,
        revs,
        config_path=config_path,
        now=now,
        labels=tuple(labels),
        base_ref=base_ref,
        renderer=renderer,
        render_overlays=render_overlays,
    )
    if provenance != ("", ""):
        from dataclasses import replace  # noqa: PLC0415

        facts = replace(facts, break_glass_by=provenance[0], break_glass_refused=provenance[1])
    return evaluate(facts)


def break_glass(ws: Workspace, req: Request, base: str, config_path: str) -> tuple[str, str]:
    """(who added the break-glass label, why it does not count): only a person who is not
    this tool's identity may break glass. On a pull request the PR's label events say who
    added it (:func:`label_provenance`); a label given with --label and no pull request is
    the person at the terminal's."""
    from gitops_promote.adapters.github import connect  # noqa: PLC0415

    label = break_glass_label(ws.repo, base, config_path, req.labels)
    if not label or req.pr is None:
        return "", ""
    if not ws.github_repo or not ws.credentials.token:
        return "", (
            f"who added it to #{req.pr} cannot be checked without a GitHub token "
            "(give the check GITHUB_TOKEN with pull-requests: read)"
        )
    gh = connect(ws.github_repo, ws.credentials)
    try:
        return label_provenance(gh, req.pr, label)
    finally:
        gh.close()


def break_glass_label(repo: Repo, base: str, config_path: str, labels: Sequence[str]) -> str:
    """The base's break-glass label when ``labels`` carry it, else "" (no call to make)."""
    from gitops_promote.config.load import parse_config  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415

    text = repo.show(base, config_path)
    try:
        settings = parse_config((text or b"").decode("utf-8"), config_path).settings
    except (PromoteError, UnicodeDecodeError):
        return ""  # the check itself reports a broken promotion.yaml
    label = settings.freeze_exception_label
    return label if label and label.casefold() in {x.casefold() for x in labels} else ""


def label_provenance(gh: GitHub, number: int, label: str) -> tuple[str, str]:
    """(who added ``label`` to PR ``number``, why it does not count), from the latest
    ``labeled`` event (1 API call; 1 more, once per run, to learn who the token is when a
    person added it)."""
    event = gh.label_added_by(number, label)
    if event is None:
        return "", f"#{number} has no event of a person adding it"
    if event.bot or not event.actor:
        return "", f"it was added by {event.actor or 'an unknown account'}, a bot"
    if event.actor == gh.viewer():
        return "", f"it was added by {event.actor}, the identity this check runs as"
    return event.actor, ""


def require_github(ws: Workspace, option: str) -> tuple[str, str]:
    """(owner/name, token) of the config repo on GitHub, which ``option`` needs."""
    from gitops_promote.errors import InputError  # noqa: PLC0415

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


def set_status(ws: Workspace, req: Request, result: CheckResult) -> None:
    """The verdict as the commit status ``req.status_context`` on the head commit (1 call):
    the same status ``recheck`` keeps current while the pull request is open. A refusal
    (a fork's read-only token) is a warning: the status stays missing, so the merge waits
    for the next recheck, which sets it."""
    from gitops_promote.adapters import actions  # noqa: PLC0415
    from gitops_promote.adapters.github import connect  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415

    repository, _ = require_github(ws, "--set-status")
    state, description = commit_status(result)
    gh = connect(repository, ws.credentials)
    try:
        gh.set_status(
            result.head,
            state=state,
            context=req.status_context,
            description=description,
            target_url=target_url(),
        )
    except PromoteError as err:
        message = f"could not set status {req.status_context} on {result.head[:12]}: {err}"
        actions.annotate("warning", message, title="check: status")
        common.warn(f"warning: {message}")
        return
    finally:
        gh.close()
    if not req.as_json:
        common.emit(f"status {req.status_context}: {state} on {result.head[:12]}")


def publish(result: CheckResult, req: Request) -> None:
    """Terminal (or JSON), annotations, job summary and outputs: all from the one record."""
    from gitops_promote.adapters import actions  # noqa: PLC0415
    from gitops_promote.report import check as checkreport  # noqa: PLC0415

    for note in checkreport.annotations_of(result):
        actions.annotate(note.level, note.message, file=note.file, line=note.line, title=note.title)
    if req.as_json:
        common.emit_json(checkreport.to_json(result))
    else:
        common.emit(checkreport.text(result))
    actions.append_summary(checkreport.summary(result, actions.summary_room()))
    actions.set_outputs(checkreport.outputs(result))


def post_comment(ws: Workspace, req: Request, result: CheckResult) -> None:
    """One comment per PR, found by its hidden marker and updated in place. A failure to
    comment is reported but does not change the verdict."""
    from gitops_promote.adapters import actions  # noqa: PLC0415
    from gitops_promote.adapters.github import connect  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415
    from gitops_promote.report import check as checkreport  # noqa: PLC0415

    if req.pr is None or not ws.github_repo or not ws.credentials.token:
        return
    gh = connect(ws.github_repo, ws.credentials)
    try:
        operation, info = gh.upsert_comment(
            req.pr, checkreport.comment(result), checkreport.COMMENT_MARKER
        )
    except PromoteError as err:
        message = f"could not write the promotion plan comment on #{req.pr}: {err}"
        actions.annotate("warning", message, title="check: comment")
        common.warn(f"warning: {message}")
        return
    finally:
        gh.close()
    if not req.as_json:
        common.emit(f"comment {operation} on #{req.pr}: {info.url}")
