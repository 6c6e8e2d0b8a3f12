"""``gitops-promote history``: every pin change of an app in an environment.

Reads the same facts as ``status``
(:func:`gitops_promote.facts.timelines.timelines`: one ``git log``
over the overlay files of the base branch's first-parent history, one blob batch): for each
change the commit, its date (when it landed on the branch), author, from -> to, and the
pull request it came through when the commit is a merge or a squash of one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

from gitops_promote.commands import common

if TYPE_CHECKING:
    from gitops_promote.facts.events import PinEvent
    from gitops_promote.images import ImageRef


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


def pin_text(ref: ImageRef | None) -> str:
    """``v1.4.0@sha256:f9811b73ac5d`` / ``sha256:f9811b73ac5d`` / ``v1.4.0`` / ``(none)``."""
    from gitops_promote.images import short_digest  # noqa: PLC0415

    if ref is None:
        return "(none)"
    digest = short_digest(ref.digest) if ref.digest else None
    if ref.tag and digest:
        return f"{ref.tag}@{digest}"
    return digest or ref.tag or ref.name


def event_json(event: PinEvent, repo_url: str | None) -> dict[str, Any]:
    return {
        "app": event.app,
        "env": event.env,
        "file": event.file,
        "commit": event.commit,
        "date": event.date.isoformat(),
        "author": event.author,
        "subject": event.subject,
        "from": str(event.old) if event.old else None,
        "to": str(event.new) if event.new else None,
        "from-digest": event.old.digest if event.old else None,
        "to-digest": event.new.digest if event.new else None,
        "pr-number": event.pr,
        "pr-url": f"{repo_url}/pull/{event.pr}" if repo_url and event.pr else None,
    }


def table(events: Sequence[PinEvent]) -> str:
    header = ("DATE", "ENV", "COMMIT", "AUTHOR", "PR", "FROM", "", "TO")
    rows = [
        (
            e.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            e.env,
            e.commit[:12],
            e.author.split(" <", 1)[0],
            f"#{e.pr}" if e.pr else "-",
            pin_text(e.old),
            "->",
            pin_text(e.new),
        )
        for e in events
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def run(args: argparse.Namespace) -> int:
    from gitops_promote.adapters.workspace import open_workspace  # noqa: PLC0415
    from gitops_promote.config.load import load_config  # noqa: PLC0415
    from gitops_promote.deliver.promotion import ws_web_url  # noqa: PLC0415
    from gitops_promote.errors import InputError  # noqa: PLC0415
    from gitops_promote.facts import timelines  # noqa: PLC0415 - lazy: keep start-up fast

    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit {args.limit} is not a positive number")
    loc = common.location(args)
    with open_workspace(loc, common.credentials(args), require_clean=False) as ws:
        common.require_commits(ws)
        config = load_config(ws.root, loc.config_path)
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
    if args.json:
        common.emit_json([event_json(e, repo_url) for e in events])
        return 0
    where = ", ".join(env.name for env in envs)
    if not events:
        common.emit(f"{app.name} in {where}: no pin changes in the history of the base branch")
        return 0
    count = f"{len(events)} pin change{'s' if len(events) != 1 else ''}"
    common.emit(f"{app.name} in {where}: {count}, newest first\n{table(events)}")
    return 0
