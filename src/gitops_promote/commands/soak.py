"""``gitops-promote soak``: the scheduled run that promotes whatever has soaked long enough.

Parse the arguments into a :class:`~gitops_promote.deliver.requests.SoakRequest`, run
:func:`gitops_promote.deliver.soak.soak` (facts -> plan -> deliver each target that may
go), print every target with its reason. A target that fails does not stop the others;
the exit code is 0 unless something failed for real.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime

from gitops_promote.adapters import actions
from gitops_promote.adapters.escape import log
from gitops_promote.commands import common
from gitops_promote.config.durations import format_iso
from gitops_promote.deliver.requests import SoakRequest
from gitops_promote.deliver.soak import soak
from gitops_promote.plan import shard as sharding
from gitops_promote.report import mermaid
from gitops_promote.report.soak import Outcome, outcome_json, summary, text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="plan and report; write nothing, open no PR"
    )
    parser.add_argument("--json", action="store_true", help="print every target as JSON")
    common.add_filter_arguments(parser)
    parser.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author and committer")
    common.add_now_argument(parser, "; at most 5m ahead of the clock unless --dry-run")
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help="only the apps of shard K of N (apps that depend on each other share one; "
        "for a workflow matrix running N soaks in parallel)",
    )
    common.add_location_arguments(parser)


def request(args: argparse.Namespace) -> SoakRequest:
    now = common.parse_now(args.now)
    if not args.dry_run:
        common.require_not_ahead(now, args.now, "soak")
    return SoakRequest(
        now=now,
        dry_run=args.dry_run,
        as_json=args.json,
        apps=tuple(common.split_names(args.app)),
        envs=tuple(common.split_names(args.env)),
        author=args.author,
        shard=sharding.parse(args.shard) if args.shard is not None else None,
    )


def run(args: argparse.Namespace) -> int:

    req = request(args)
    outcomes, notes = soak(req, common.location(args), common.credentials(args))
    _report(outcomes, req.now, req.dry_run, req.as_json, notes, req.shard)
    return max((o.exit_code for o in outcomes), default=0)


def _report(
    outcomes: Sequence[Outcome],
    now: datetime,
    dry_run: bool,
    as_json: bool,
    notes: Sequence[str],
    shard: sharding.Shard | None = None,
) -> None:

    promoted = [o for o in outcomes if o.result is not None and o.result.operation != "unchanged"]
    # each target's JSON, built once for --json and the `results` output (each only if
    # used); for --json alone, one at a time as it is written (common.emit_json)
    outputs = actions.outputs_enabled()
    targets = [outcome_json(o) for o in outcomes] if outputs else []
    if as_json:
        common.emit_json(
            {
                "now": format_iso(now, utc=False),
                "dry-run": dry_run,
                "targets": targets if outputs else (outcome_json(o) for o in outcomes),
                "promoted": len(promoted),
                "failed": sum(1 for o in outcomes if o.error is not None),
                "notes": list(notes),
                **_shard_json(shard, outcomes),
            }
        )
    else:
        common.emit(text(outcomes, now, dry_run, notes))
        if shard is not None:
            common.emit(f"shard {shard}: {len(outcomes)} targets")
    for o in outcomes:
        if o.error is not None:
            common.warn(f"error: {o.decision.env}/{o.decision.app}: {log(o.error)}")
    if outputs:
        actions.set_outputs(
            {
                "promoted": str(len(promoted)),
                "results": json.dumps(targets, sort_keys=True),
            }
        )
    if not actions.summary_enabled():
        return  # the job summary is built only where it is written
    actions.append_summary(summary(outcomes, now, dry_run))
    if shard is not None:
        actions.append_summary(f"Shard {shard}: {len(outcomes)} targets.")
    actions.append_summary(
        mermaid.soak_chart([o.decision for o in outcomes if o.result is None], now)
    )


def _shard_json(shard: sharding.Shard | None, outcomes: Sequence[Outcome]) -> dict[str, object]:
    if shard is None:
        return {}
    return {"shard": {"index": shard.index, "count": shard.count, "targets": len(outcomes)}}
