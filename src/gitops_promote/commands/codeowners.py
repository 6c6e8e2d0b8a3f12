"""``gitops-promote codeowners``: write the envs' ``owners:`` into CODEOWNERS.

Reads promotion.yaml, renders the marked block (see :mod:`gitops_promote.plan.gates.ownership`)
and writes it into the checkout's CODEOWNERS (``.github/CODEOWNERS`` unless the repository
already uses ``CODEOWNERS`` or ``docs/CODEOWNERS``), leaving every other line alone. It does
not commit. ``--check`` only reports (exit 1 when the file is out of date), as ``check``
does on pull requests.
"""

from __future__ import annotations

import argparse

from gitops_promote.adapters import files, yamlsafe
from gitops_promote.adapters.git import plumbing
from gitops_promote.commands import common
from gitops_promote.errors import InputError
from gitops_promote.facts.changes import CODEOWNERS_PATHS
from gitops_promote.plan.gates.ownership import BlockError, ownership_gate, update
from gitops_promote.report.diffs import unified


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when the block is missing or out of date",
    )
    parser.add_argument(
        "--file",
        metavar="PATH",
        help="the CODEOWNERS file (default: the one GitHub reads, else .github/CODEOWNERS)",
    )
    common.add_location_arguments(parser)


def run(args: argparse.Namespace) -> int:

    loc = common.location(args)
    if (loc.remote or loc.config_repo) and not args.check:
        raise InputError(
            "codeowners writes a file in a checkout, so it needs --repo (or --check)",
            hint="clone the config repo, run 'gitops-promote codeowners --repo DIR', commit",
        )
    opened = common.open_config(
        loc, common.credentials(args), commits=False, sparse_paths=CODEOWNERS_PATHS
    )
    with opened as (ws, config):
        rel = args.file or next(
            (p for p in CODEOWNERS_PATHS if (ws.root / p).is_file()), CODEOWNERS_PATHS[0]
        )
        path = files.resolve_in_repo(ws.root, rel, what="--file")
        before = yamlsafe.decode(files.read_bytes(path, what=rel), rel) if path.is_file() else None
        try:
            after = update(before, config)
        except BlockError as err:
            raise InputError(
                f"{rel}:{err.line}: {err}", hint="fix the gitops-promote markers by hand first"
            ) from None
        if args.check:
            tracked = plumbing.ls_files(ws.repo.git)
            verdict = ownership_gate(config, before, rel, tracked)
            common.emit(f"{'ok' if verdict.passed else 'FAIL'}: {verdict.message}")
            return 0 if verdict.passed else 1
        if after == (before or ""):
            common.emit(f"{rel} is up to date with {loc.config_path}")
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomic(path, after.encode("utf-8"))
        common.emit(unified(rel, before or "", after).rstrip("\n"))
        common.emit(f"updated {rel}; commit it with the change to {loc.config_path}")
    return 0
