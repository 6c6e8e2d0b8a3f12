"""``gitops-promote validate``: promotion.yaml is valid, and every app's overlay in every
environment exists and carries the app's image; every problem is listed, not just the
first (the checks: :mod:`gitops_promote.deliver.validate`)."""

from __future__ import annotations

import argparse

from gitops_promote.commands import common
from gitops_promote.deliver.validate import validate
from gitops_promote.errors import ConfigError
from gitops_promote.report import validate as view


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the problems as JSON")
    parser.add_argument(
        "--write-state",
        action="store_true",
        help="rewrite settings.state-file and VERSIONS.md from the overlays (then commit them)",
    )
    common.add_location_arguments(parser)


def run(args: argparse.Namespace) -> int:
    found = validate(common.location(args), common.credentials(args), write_state=args.write_state)
    if args.json:
        common.emit_json(view.to_json(found))
        return 2 if found.problems else 0
    if found.problems:
        raise ConfigError(list(found.problems))
    for line in view.lines(found):
        common.emit(line)
    return 0
