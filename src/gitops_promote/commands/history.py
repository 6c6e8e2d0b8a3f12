"""``gitops-promote history``: every pin change of an app in an environment.

Reads the same facts as ``status``
(:func:`gitops_promote.facts.timelines.timelines`: one ``git log``
over the overlay files of the base branch's first-parent history, one blob batch): for each
change the commit, its date (when it landed on the branch), author, from -> to, and the
pull request it came through when the commit is a merge or a squash of one.
"""

from __future__ import annotations

import argparse

from gitops_promote.commands import common
from gitops_promote.deliver.promotion import ws_web_url
from gitops_promote.errors import InputError
from gitops_promote.facts import timelines
from gitops_promote.report import history as report
from gitops_promote.report.records import HistoryReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app", required=True, metavar="APP", help="the app")
    parser.add_argument(
        "--env",
        action="append",
        metavar="ENV",
        help="the environment (repeat for several; default: every environment of the app)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the N newest changes")
    parser.add_argument("--json", action="store_true", help="print the changes as JSON")
    common.add_location_arguments(parser)


def run(args: argparse.Namespace) -> int:

    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit {args.limit} is not a positive number")
    loc = common.location(args)
    with common.open_config(loc, common.credentials(args)) as (ws, config):
        (app,) = common.pick_apps(config, [args.app], None)
        names = common.split_names(args.env)
        envs = [common.pick_env(config, n) for n in names] or list(config.envs_of(app))
        for env in envs:
            common.pick_apps(config, [app.name], env)  # refuses an env the app is not in
        targets = [(app, env) for env in envs]
        ws.repo.add_sparse([config.overlay_path(app, env) for env in envs])
        lines = timelines.timelines(ws.repo, config, targets)
        repo_url = ws_web_url(ws)
    ordered = [(e.date, i, e) for line in lines.values() for i, e in enumerate(line.events)]
    events = [e for _, _, e in sorted(ordered, key=lambda t: t[:2], reverse=True)][: args.limit]

    record = HistoryReport(app.name, tuple(e.name for e in envs), tuple(events), repo_url)
    if args.json:
        common.emit_json(report.to_json(record))
    else:
        common.emit(report.text(record))
    return 0
