"""``gitops-promote promote``: pin an image in an environment.

Parse the arguments into a :class:`~gitops_promote.deliver.requests.PromoteRequest`,
run :func:`gitops_promote.deliver.promotion.promote_in` in the workspace
:func:`gitops_promote.deliver.opening.workspace` opens (workspace -> config -> what to pin
-> gates -> commit + push for ``mode: push``, branch + pull request for gated
environments), print the result. The tool never pushes a gated environment's change to
the base branch, whatever the flags.
"""

from __future__ import annotations

import argparse

from gitops_promote.commands import common
from gitops_promote.config import templates
from gitops_promote.deliver import opening, warm
from gitops_promote.deliver.requests import PromoteRequest
from gitops_promote.errors import InputError, quote


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        action="append",
        metavar="APP",
        help="app to promote (repeat, or comma-separated; several go in one commit/PR)",
    )
    parser.add_argument("--all", action="store_true", help="promote every app of the env")
    parser.add_argument("--env", required=True, metavar="ENV", help="target environment")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--digest", metavar="DIGEST", help="pin this digest (sha256:...)")
    what.add_argument(
        "--tag", metavar="TAG", help="pin this tag, with the digest it has now in the registry"
    )
    what.add_argument("--image", metavar="REF", help="pin this full reference (name:tag@digest)")
    what.add_argument(
        "--latest",
        action="store_true",
        help="pin the highest registry tag allowed by the env's or app's `track` range",
    )
    what.add_argument(
        "--rollback", action="store_true", help="propose the env's previous digest (from history)"
    )
    parser.add_argument(
        "--allow-downgrade", action="store_true", help="let --tag/--latest pin a lower version"
    )
    parser.add_argument(
        "--defer-gates",
        action="store_true",
        help="gated envs only: open the pull request even when the freeze, upstream, soak or "
        "dependency gates fail (they are reported; the PR's required check holds it)",
    )
    parser.add_argument(
        "--skip-registry-check",
        action="store_true",
        help="do not ask the registry whether a given digest exists (offline use)",
    )
    out = parser.add_argument_group("delivery")
    out.add_argument(
        "--dry-run", action="store_true", help="print the diff and the plan; change nothing"
    )
    out.add_argument(
        "--no-push", action="store_true", help="commit in the local checkout; do not push"
    )
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("--message", metavar="TEMPLATE", help="commit message template")
    out.add_argument("--title", metavar="TEMPLATE", help="pull request title template")
    out.add_argument("--label", action="append", metavar="LABEL", help="extra PR label")
    out.add_argument("--reviewer", action="append", metavar="USER", help="extra PR reviewer")
    out.add_argument(
        "--team-reviewer", action="append", metavar="TEAM", help="extra PR team reviewer"
    )
    out.add_argument("--draft", action="store_true", default=None, help="open the PR as draft")
    out.add_argument(
        "--auto-merge",
        choices=["merge", "squash", "rebase"],
        help="enable auto-merge on the PR with this method",
    )
    out.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author and committer")
    common.add_now_argument(
        parser,
        "; also the request time: a promotion of the same overlay requested later, and "
        "landed in the last day, supersedes this one; at most 5m ahead of the clock "
        "unless --dry-run",
    )
    common.add_location_arguments(parser)


def request(args: argparse.Namespace) -> PromoteRequest:
    apps = tuple(common.split_names(args.app))
    if not apps and not args.all:
        raise InputError("no app given", hint="pass --app NAME (or --all)")
    if apps and args.all:
        raise InputError("give --app or --all, not both")
    check_templates(args.message, args.title)
    now = common.parse_now(args.now)
    if not args.dry_run:
        common.require_not_ahead(now, args.now, "promote")
    return PromoteRequest(
        env=args.env,
        apps=apps,
        digest=args.digest,
        tag=args.tag,
        image=args.image,
        latest=args.latest,
        rollback=args.rollback,
        dry_run=args.dry_run,
        no_push=args.no_push,
        as_json=args.json,
        now=now,
        message=args.message,
        title=args.title,
        labels=tuple(common.split_names(args.label)),
        reviewers=tuple(common.split_names(args.reviewer)),
        team_reviewers=tuple(common.split_names(args.team_reviewer)),
        draft=args.draft,
        auto_merge=args.auto_merge,
        author=args.author,
        allow_downgrade=args.allow_downgrade,
        defer_gates=args.defer_gates,
        registry_check=not args.skip_registry_check,
    )


def check_templates(message: str | None, title: str | None) -> None:
    """--message and --title are refused before anything is edited (not when the commit
    message is rendered, with the overlay already written)."""
    for flag, text in (("--message", message), ("--title", title)):
        problems = templates.validate_template(text) if text is not None else []
        if problems:
            raise InputError(f"{flag} {quote(text)}: {problems[0]}")


def run(args: argparse.Namespace) -> int:
    req = request(args)
    loc, creds = common.location(args), common.credentials(args)
    # the clone starts first; the orchestrator and promotion.yaml's parsers load meanwhile
    warming = warm.start(warm.PROMOTION)
    with opening.workspace(req, loc, creds) as ws:
        from gitops_promote.deliver.promotion import promote_in  # noqa: PLC0415 - see above

        result, gates = promote_in(ws, req, loc, warming)
    from gitops_promote.deliver.promotion import publish  # noqa: PLC0415 - loaded by now
    from gitops_promote.report import promotion as report  # noqa: PLC0415 - loaded by now

    if req.as_json:
        common.emit_json(report.result_json(result, gates))
    else:
        for line in report.gate_lines(gates):
            common.emit(line)
        common.emit(report.text(result))
    publish(result, gates)
    return 0
