"""``gitops-promote status``: what every app runs in every environment, and since when.

The whole table is printed; an overlay that cannot be read (unparseable YAML, a bad image
value, a missing file) shows as broken in it, and then its reason, naming the file, is
one ``error:`` line each: exit 2."""

from __future__ import annotations

import argparse
from typing import Any

from gitops_promote.adapters import actions
from gitops_promote.commands import common
from gitops_promote.errors import OverlayError
from gitops_promote.facts import statefile as state
from gitops_promote.report import status as statusview
from gitops_promote.report.records import StatusReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_format_arguments(parser, ["table", "json", "markdown"])
    common.add_filter_arguments(parser)
    common.add_location_arguments(parser)
    add_live_argument(parser)


def add_live_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--live",
        action="store_true",
        help="also ask each environment's controller (the live: blocks of promotion.yaml: "
        "Argo CD or Flux) what it runs: a LIVE column (synced, out of sync, progressing, "
        "degraded, unknown; '-' without a live: block); see docs/live.md",
    )


def live_states(args: argparse.Namespace, ws: Any, config: Any, targets: Any) -> Any:
    """``--live``: the live state of every target with a live block (None without
    ``--live``); the reading modules are imported only then."""
    if not getattr(args, "live", False):
        return None
    from gitops_promote.facts.live import read as live  # noqa: PLC0415 - only with --live

    return live.read(ws.repo, config, targets)


def run(args: argparse.Namespace) -> int:

    fmt = "json" if args.json else args.format
    loc = common.location(args)
    with common.open_config(loc, common.credentials(args)) as (ws, config):
        if ws.cloned and not args.app and state.paths(config) is None:
            # every app's history: it downloads while the overlays are read (with a state
            # file, only what it does not answer is read from history: statesince)
            ws.repo.start_tree_download()
        envs = [common.pick_env(config, e) for e in common.split_names(args.env)] or list(
            config.environments
        )
        names = common.split_names(args.app) or [a.name for a in config.apps]
        apps = common.pick_apps(config, names, None)
        targets = [(a, e) for a in apps for e in config.envs_of(a) if e in envs]
        notes: list[str] = []
        rev = "HEAD" if ws.cloned else None
        rows = statusview.gather(ws.repo, config, targets, rev=rev, notes=notes)
        states = live_states(args, ws, config, targets)

    report = StatusReport(tuple(rows), tuple(notes), live=states)
    for note in report.notes:
        common.warn(f"note: {note}")
    for live in (states or {}).values():
        if live.failure is not None:
            common.warn(f"note: live: {live.reason}")
    if actions.summary_enabled():  # built only where it is written
        actions.append_summary("### Promotion status\n\n" + statusview.markdown(report))
        actions.append_summary(statusview.chart(rows))
    common.emit_as(
        fmt,
        lambda: statusview.to_json(report),
        lambda: statusview.markdown(report),
        lambda: statusview.table(report),
    )
    reasons = statusview.broken(report)
    if reasons:
        raise OverlayError(
            "\n".join(reasons),
            hint="fix the overlay; `gitops-promote validate` lists every problem at once",
        )
    return 0
