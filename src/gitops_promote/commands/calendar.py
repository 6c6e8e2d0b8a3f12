"""``gitops-promote calendar``: an iCalendar (RFC 5545) file of the freeze windows ahead and
of the soak promotions expected to open, to subscribe to.

Facts (what every env pins, the upstreams' timelines) -> occurrences and openings, pure
(:mod:`gitops_promote.plan.calendar`, from the freeze gate's own window logic) ->
:mod:`gitops_promote.report.calendar`."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from gitops_promote.commands import common
from gitops_promote.errors import InputError, quote
from gitops_promote.facts import since
from gitops_promote.plan import calendar as plan
from gitops_promote.report import calendar as view


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days",
        type=int,
        default=90,
        metavar="N",
        help="how many days ahead the calendar covers (default: 90, at most 730)",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the calendar to FILE (default: stdout)"
    )
    parser.add_argument("--env", action="append", metavar="ENV", help="only these environments")
    parser.add_argument(
        "--no-soak", action="store_true", help="only the freeze windows (reads no history)"
    )
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def run(args: argparse.Namespace) -> int:

    if not 1 <= args.days <= 730:
        raise InputError(f"--days {args.days} is not from 1 to 730", hint="e.g. --days 90")
    now = common.parse_now(args.now)
    end = now + timedelta(days=args.days)
    loc = common.location(args)
    openings: list[plan.SoakOpening] = []
    with common.open_config(loc, common.credentials(args)) as (ws, config):
        envs = [common.pick_env(config, e).name for e in common.split_names(args.env)] or None
        if not args.no_soak:
            targets = [
                (a, e)
                for a in config.apps
                for e in config.envs_of(a)
                if any(
                    x.upstream and x.soak is not None and e.name in {x.name, x.upstream}
                    for x in config.envs_of(a)
                    if envs is None or x.name in envs
                )
            ]
            rev = "HEAD" if ws.cloned else None
            held = since.read(ws.repo, config, targets, rev=rev)
            pins = {key: c.ref for key, c in held.current.items()}
            lines = held.lines
            found = plan.soak_openings(config, pins, lines, now)
            openings = [o for o in found if o.opens < end and (envs is None or o.env in envs)]
    occurrences = plan.freeze_occurrences(config, now, end, envs)
    data = view.build(occurrences, openings, now)
    if args.output:
        _write(args.output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _write(path: str, data: bytes) -> None:

    try:
        Path(path).write_bytes(data)
    except OSError as err:
        raise InputError(f"--output {quote(path)}: {err.strerror}") from None
