"""``gitops-promote schema``: print the JSON Schema of promotion.yaml."""

from __future__ import annotations

import argparse
import json

from gitops_promote.config.load import schema


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")


def run(args: argparse.Namespace) -> int:

    print(json.dumps(schema(), indent=args.indent))
    return 0
