"""``gitops-promote recheck``: keep the required verdict of every open pull request current.

Freeze and soak verdicts change with the clock, not with pushes, and ``check`` runs only on
pull-request events. A scheduled recheck (every 15 minutes, and at each freeze boundary:
``--print-cron`` prints those schedule lines) reads top to bottom: the open pull requests
into the base branch (one listing call) -> their heads fetched (one git fetch) -> each one
judged by :func:`gitops_promote.deliver.check.judge`, exactly as its check judges it ->
the commit status (``--status-context``, the one branch protection requires) set on each
head commit whose verdict changed -> one line per pull request.

What the status says now is not read back from GitHub (that would cost a call per pull
request): ``--state FILE`` carries, from one run to the next, the verdict each head commit
was given with the labels it was judged with. A pull request whose head or labels are not
in it (new, pushed to, relabelled, or no state file) gets its status set; one whose
verdict is the one remembered costs nothing. So a run costs one listing call (per 100
pull requests) plus one call per pull request whose verdict changed. What this does not
see: a re-run of a pull request's own check on the same commit and labels (``check
--set-status``) after the last recheck. Its status is the verdict of its own moment, and
differs from the next recheck's only if the verdict changed and changed back within one
interval; the next change of verdict rewrites it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gitops_promote.commands import common
from gitops_promote.commands.check_options import (
    add_render_arguments,
    add_status_arguments,
    render_timeout,
    status_context,
)
from gitops_promote.deliver import recheck as deliver
from gitops_promote.deliver.recheck import Request
from gitops_promote.report.check import cron_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_status_arguments(parser, None)
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="the verdicts of the last run (read, then rewritten): a pull request whose "
        "verdict did not change costs no API call (keep it between runs, e.g. actions/cache)",
    )
    parser.add_argument(
        "--print-cron",
        action="store_true",
        help="print the schedule lines (UTC) that run the re-check every 15 minutes and "
        "right after each freeze window of promotion.yaml opens or closes, and exit",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="judge and print; set no status, keep no state"
    )
    add_render_arguments(parser)
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def request(args: argparse.Namespace) -> Request:

    render_timeout(args.render_timeout)
    return Request(
        status_context=status_context(args.status_context),
        state_file=Path(args.state) if args.state else None,
        dry_run=args.dry_run,
        now=common.parse_now(args.now),
        render=not args.no_render,
        render_timeout=args.render_timeout,
    )


def run(args: argparse.Namespace) -> int:

    req = request(args)
    loc = common.location(args)
    with common.open_config(loc, common.credentials(args), commits=False) as (ws, config):
        if args.print_cron:
            common.emit(cron_text(config, req.now))
            return 0
        branch = loc.base_branch or config.settings.base_branch
        remembered, warning = deliver.load_state(req.state_file, req.status_context)
        if warning:
            common.warn(warning)
        done = deliver.recheck(ws, req, branch, loc.config_path, remembered)
    done.lines.append(
        f"recheck: {done.pulls} open pull request(s) into {branch}, {done.changed} status(es) "
        f"set ({req.status_context})"
    )
    common.emit("\n".join(done.lines))
    if done.failures:
        raise max(done.failures, key=lambda e: e.exit_code)
    return 0
