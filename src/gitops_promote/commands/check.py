"""``gitops-promote check``: the required status check on config-repo pull requests.

Reads top to bottom: inputs (arguments, else the pull_request event) -> workspace ->
which commits (fetched when missing) -> facts (git, kustomize) -> gates (pure) -> report
(text or JSON, annotations on the overlay lines, job summary, optionally one PR comment
updated in place and the commit status) -> exit code: 0 passed, 1 a gate failed, 2 bad
input, 3 the world failed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_promote.adapters import actions
from gitops_promote.commands import common
from gitops_promote.commands.check_options import (
    add_render_arguments,
    add_status_arguments,
    render_timeout,
    status_context,
)
from gitops_promote.deliver import check as deliver
from gitops_promote.deliver import requests
from gitops_promote.errors import InputError, quote
from gitops_promote.facts import pull
from gitops_promote.plan import shard as sharding
from gitops_promote.report import check as checkreport
from gitops_promote.report.check import shard as shardreport

if TYPE_CHECKING:
    from gitops_promote.deliver.check import Posted
    from gitops_promote.plan.gates.evaluate import CheckResult


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
    add(
        "--shard",
        metavar="K/N",
        help="judge only the targets of the apps of shard K of N (apps that depend on each "
        "other share one; shard 1 also judges what is not of one app); with --json, the "
        "verdict that --combine merges",
    )
    add(
        "--output",
        metavar="FILE",
        help="with --shard: also write the shard's JSON verdict to FILE (for "
        "actions/upload-artifact; the log keeps the text)",
    )
    add(
        "--combine",
        nargs="+",
        metavar="FILE",
        help="merge the N shards' --json verdicts (files, or a directory of them) into the "
        "verdict one unsharded check gives, instead of judging",
    )
    add_status_arguments(parser, "set the verdict as a commit status on the head commit")
    add_render_arguments(parser)
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def request(args: argparse.Namespace) -> requests.CheckRequest:
    pr = pull.event()
    number = args.pr if args.pr is not None else pr.number
    if args.comment and number is None:
        raise InputError(
            "--comment needs a pull request number",
            hint="run on a pull_request event, or pass --pr NUMBER",
        )
    render_timeout(args.render_timeout)
    return requests.CheckRequest(
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


def shard_of(args: argparse.Namespace) -> sharding.Shard | None:
    """``--shard K/N``, checked: no PR comment or commit status from one shard."""
    if args.shard is None:
        return None
    shard = sharding.parse(args.shard)
    for given, option in ((args.comment, "--comment"), (args.set_status, "--set-status")):
        if given:
            raise InputError(
                f"{option} cannot be used with --shard",
                hint=f"write it from the fan-in job: check --combine DIR {option}",
            )
    if args.combine:
        raise InputError("--combine merges the shards' verdicts: it takes no --shard")
    return shard


def _write(path: str, doc: object) -> None:
    try:
        Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise InputError(f"--output {quote(path)}: {err.strerror}") from None


def run(args: argparse.Namespace) -> int:
    shard = shard_of(args)
    if args.output and shard is None:
        raise InputError("--output writes a shard's verdict: it needs --shard K/N")
    if args.combine:
        return combine(args)
    req = request(args)
    result = deliver.check(
        req,
        common.location(args),
        common.credentials(args),
        show=lambda result: publish(result, req),
        say=lambda posted: say(posted, req),
        shard=shard,
        show_shard=lambda result, touched: publish_shard(result, req, shard, touched, args.output),
    )
    return 0 if result.passed else 1


def combine(args: argparse.Namespace) -> int:
    """``check --combine FILE...``: the shards' verdicts merged, shown as one check."""
    number = args.pr if args.pr is not None else pull.event().number
    if args.comment and number is None:
        raise InputError(
            "--comment needs a pull request number",
            hint="run on a pull_request event, or pass --pr NUMBER",
        )
    context = status_context(args.status_context) if args.set_status else None
    merged, counts, cells = shardreport.combine(deliver.read_verdicts(args.combine))
    result = shardreport.to_result(merged, counts)
    for note in checkreport.annotations_of(result):
        actions.annotate(note.level, note.message, file=note.file, line=note.line, title=note.title)
    if args.json:
        common.emit_json(merged)
    else:
        common.emit(checkreport.text(result))
    actions.append_summary(checkreport.summary(result, actions.summary_room()))
    actions.set_outputs(checkreport.outputs(result))
    if args.comment or context is not None:
        for posted in deliver.post_combined(
            common.location(args),
            common.credentials(args),
            result,
            cells,
            pr=number if args.comment else None,
            status_context=context,
        ):
            if posted.warning:
                common.warn(posted.warning)
            elif posted.line and not args.json:
                common.emit(posted.line)
    return 0 if merged["passed"] else 1


def publish_shard(
    result: CheckResult,
    req: requests.CheckRequest,
    shard: sharding.Shard | None,
    touched: tuple[tuple[str, str], ...],
    output: str | None,
) -> None:
    """One shard's verdict: JSON for the fan-in (stdout, or ``output`` too), or the
    terminal text of its part. Its annotations are the fan-in's to write, once."""
    if shard is None:
        return
    verdict = shardreport.shard_json(result, shard, touched)
    if output:
        _write(output, verdict)
    if req.as_json:
        common.emit_json(verdict)
    else:
        common.emit(f"shard {shard}: {len(result.targets)} of {len(touched)} target(s)")
        common.emit(checkreport.text(result))
    actions.set_outputs(checkreport.outputs(result))


def publish(result: CheckResult, req: requests.CheckRequest) -> None:
    """Terminal (or JSON), annotations, job summary and outputs: all from the one record."""

    for note in checkreport.annotations_of(result):
        actions.annotate(note.level, note.message, file=note.file, line=note.line, title=note.title)
    if req.as_json:
        common.emit_json(checkreport.to_json(result))
    else:
        common.emit(checkreport.text(result))
    actions.append_summary(checkreport.summary(result, actions.summary_room()))
    actions.set_outputs(checkreport.outputs(result))


def say(posted: Posted, req: requests.CheckRequest) -> None:
    if posted.warning:
        common.warn(posted.warning)
    elif posted.line and not req.as_json:
        common.emit(posted.line)
