"""``gitops-promote check``: the required status check on config-repo pull requests.

Reads top to bottom: inputs (arguments, else the pull_request event) -> workspace ->
which commits (fetched when missing) -> facts (git, kustomize) -> gates (pure) -> report
(text or JSON, annotations on the overlay lines, job summary, optionally one PR comment
updated in place and the commit status) -> exit code: 0 passed, 1 a gate failed, 2 bad
input, 3 the world failed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from gitops_promote.adapters import actions
from gitops_promote.adapters import kustomize as render
from gitops_promote.adapters.workspace import open_workspace
from gitops_promote.commands import common
from gitops_promote.commands.check_options import (
    STATUS_CONTEXT,
    add_render_arguments,
    add_status_arguments,
    render_timeout,
    status_context,
)
from gitops_promote.deliver import check as deliver
from gitops_promote.errors import InputError
from gitops_promote.facts import pull
from gitops_promote.report import check as checkreport

if TYPE_CHECKING:
    from gitops_promote.deliver.check import Posted
    from gitops_promote.plan.gates.evaluate import CheckResult


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
    add = parser.add_argument
    add(
        "--base",
        metavar="REF",
        help="the base branch revision (default: the pull_request event's base branch, "
        "else origin/<settings.base-branch>)",
    )
    add(
        "--head",
        metavar="REF",
        help="the pull request's head revision (default: the event's head sha, else HEAD)",
    )
    add(
        "--label",
        action="append",
        metavar="LABEL",
        help="a pull request label (added to the event's labels), e.g. freeze-exception",
    )
    add("--pr", type=int, metavar="NUMBER", help="pull request number (default: the event's)")
    add(
        "--comment",
        action="store_true",
        help="write the promotion plan as one PR comment, updated in place on re-runs "
        "(needs pull-requests: write)",
    )
    add("--json", action="store_true", help="print every gate result as JSON")
    add_status_arguments(parser, "set the verdict as a commit status on the head commit")
    add_render_arguments(parser)
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def request(args: argparse.Namespace) -> Request:

    pr = pull.event()
    number = args.pr if args.pr is not None else pr.number
    if args.comment and number is None:
        raise InputError(
            "--comment needs a pull request number",
            hint="run on a pull_request event, or pass --pr NUMBER",
        )
    render_timeout(args.render_timeout)
    return Request(
        base=args.base,
        head=args.head or pr.head_sha,
        base_branch=args.base_branch or pr.base_ref,
        labels=tuple(dict.fromkeys([*pr.labels, *common.split_names(args.label)])),
        pr=number,
        now=common.parse_now(args.now),
        as_json=args.json,
        comment=args.comment,
        render=not args.no_render,
        render_timeout=args.render_timeout,
        from_event=pr.present,
        set_status=args.set_status,
        status_context=status_context(args.status_context),
    )


def run(args: argparse.Namespace) -> int:

    req = request(args)
    loc = replace(common.location(args), base_branch=req.base_branch)
    with open_workspace(loc, common.credentials(args), require_clean=False) as ws:
        common.require_commits(ws)
        if req.comment:
            deliver.require_github(ws, "--comment")
        if req.set_status:
            deliver.require_github(ws, "--set-status")
        branch = pull.base_branch_name(ws, loc, req.base_branch)
        asked = pull.Asked(req.base, req.head, req.pr, req.from_event)
        base, head = pull.revisions(ws, asked, branch)
        result = deliver.judge(
            ws.repo,
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
        publish(result, req)
        if req.comment:
            say(deliver.post_comment(ws, req.pr, result), req)
        if req.set_status:
            say(deliver.set_status(ws, req.status_context, result), req)
    return 0 if result.passed else 1


def publish(result: CheckResult, req: Request) -> None:
    """Terminal (or JSON), annotations, job summary and outputs: all from the one record."""

    for note in checkreport.annotations_of(result):
        actions.annotate(note.level, note.message, file=note.file, line=note.line, title=note.title)
    if req.as_json:
        common.emit_json(checkreport.to_json(result))
    else:
        common.emit(checkreport.text(result))
    actions.append_summary(checkreport.summary(result, actions.summary_room()))
    actions.set_outputs(checkreport.outputs(result))


def say(posted: Posted, req: Request) -> None:
    if posted.warning:
        common.warn(posted.warning)
    elif posted.line and not req.as_json:
        common.emit(posted.line)
