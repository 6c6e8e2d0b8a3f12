"""``gitops-promote metrics``: delivery metrics (DORA) from the base branch's history.

One history pass (:func:`gitops_promote.facts.timelines.timelines`, its pin events kept
as deployments by :func:`gitops_promote.facts.deployments.by_target`) -> the metrics, pure
(:mod:`gitops_promote.plan.metrics`) -> text, JSON or markdown, and the markdown with its
Mermaid charts in the job summary. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from gitops_promote.adapters import actions
from gitops_promote.commands import common
from gitops_promote.config.durations import parse_duration
from gitops_promote.errors import InputError, UserError, quote
from gitops_promote.facts import deployments, timelines
from gitops_promote.plan import metrics
from gitops_promote.report import metrics as view


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="start of the range: an ISO 8601 time, or a duration before --until such as "
        "30d (default: 30d)",
    )
    parser.add_argument(
        "--until", metavar="TIME", help="end of the range, ISO 8601 (default: --now, else now)"
    )
    common.add_filter_arguments(parser)
    common.add_format_arguments(parser, ["text", "json", "markdown"])
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def _time(flag: str, text: str, until: datetime | None = None) -> datetime:

    if until is not None and "-" not in text and ":" not in text:
        try:
            return until - parse_duration(text)
        except (UserError, ValueError):
            pass  # not a duration: an ISO 8601 time, then
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        hint = "e.g. 2026-11-01T00:00:00Z" + (" or 30d" if until is not None else "")
        raise InputError(f"{flag} {quote(text)} is not an ISO 8601 time", hint=hint) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:

    fmt = "json" if args.json else args.format
    until = _time("--until", args.until) if args.until else common.parse_now(args.now)
    since = _time("--since", args.since or "30d", until)
    if since >= until:
        raise InputError(
            f"--since {since.isoformat()} is not before --until {until.isoformat()}",
            hint="give a range that runs forward in time",
        )
    loc = common.location(args)
    with common.open_config(loc, common.credentials(args)) as (ws, config):
        if ws.cloned:
            ws.repo.start_tree_download()
        envs = [common.pick_env(config, e).name for e in common.split_names(args.env)]
        apps = common.pick_apps(config, common.split_names(args.app), None) or list(config.apps)
        targets = [(a, e) for a in apps for e in config.envs_of(a)]
        ws.repo.add_sparse([config.overlay_path(a, e) for a, e in targets])
        rev = "HEAD" if ws.cloned else None
        found = deployments.by_target(timelines.timelines(ws.repo, config, targets, rev))
    result = metrics.compute(
        config, found, since, until, apps=[a.name for a in apps], envs=envs or None
    )
    if actions.summary_enabled():  # built only where it is written
        actions.append_summary(view.markdown(result))
    common.emit_as(
        fmt,
        lambda: view.to_json(result),
        lambda: view.markdown(result),
        lambda: view.text(result),
    )
    return 0
