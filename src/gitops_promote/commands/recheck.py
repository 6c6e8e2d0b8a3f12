"""``gitops-promote recheck``: keep the required verdict of every open pull request current.

Freeze and soak verdicts change with the clock, not with pushes, and ``check`` runs only on
pull-request events. A scheduled recheck (every 15 minutes, and at each freeze boundary:
``--print-cron`` prints those schedule lines) reads top to bottom: the open pull requests
into the base branch (one listing call) -> their heads fetched (one git fetch) -> each one
judged by ``check.judge``, exactly as its check judges it -> the commit status
(``--status-context``, the one branch protection requires) set on each head commit whose
verdict changed -> one line per pull request.

What the status says now is not read back from GitHub (that would cost a call per pull
request): ``--state FILE`` carries, from one run to the next, the verdict each head commit
was given with the labels it was judged with. A pull request whose head or labels are not
in it (new, pushed to, relabelled, or no state file) gets its status set; one whose
verdict is the one remembered costs nothing. So a run costs one listing call (per 100
pull requests) plus one call per pull request whose verdict changed. What this does not
see: a re-run of a pull request's own check on the same commit and labels (``check
--set-status``) after the last recheck. Its status is the verdict of its own moment, and
differs from the next recheck's only if the verdict changed and changed back within one
interval; the next change of verdict rewrites it.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_promote.commands import check, common

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from gitops_promote.adapters.github import GitHub, PullInfo
    from gitops_promote.adapters.workspace import Workspace
    from gitops_promote.config.model import Config

STATE_VERSION = 1
EVERY = "*/15 * * * *"  # the re-check's own schedule: a verdict is at most 15 minutes old
_HORIZON = timedelta(days=366)
_MAX_OCCURRENCES = 2000  # occurrences of one window followed within the horizon
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Request:
    status_context: str
    state_file: Path | None
    print_cron: bool
    dry_run: bool
    now: datetime
    render: bool
    render_timeout: float


@dataclass(frozen=True)
class Verdict:
    """The status one head commit was given, and the labels it was judged with."""

    head: str
    labels: tuple[str, ...]
    state: str  # success | failure | error
    description: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    check.add_status_arguments(parser, None)
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="the verdicts of the last run (read, then rewritten): a pull request whose "
        "verdict did not change costs no API call (keep it between runs, e.g. actions/cache)",
    )
    parser.add_argument(
        "--print-cron",
        action="store_true",
        help="print the schedule lines (UTC) that run the re-check every 15 minutes and "
        "right after each freeze window of promotion.yaml opens or closes, and exit",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="judge and print; set no status, keep no state"
    )
    check.add_render_arguments(parser)
    common.add_now_argument(parser)
    common.add_location_arguments(parser)


def request(args: argparse.Namespace) -> Request:

    check.render_timeout(args.render_timeout)
    return Request(
        status_context=check.status_context(args.status_context),
        state_file=Path(args.state) if args.state else None,
        print_cron=args.print_cron,
        dry_run=args.dry_run,
        now=common.parse_now(args.now),
        render=not args.no_render,
        render_timeout=args.render_timeout,
    )


def run(args: argparse.Namespace) -> int:
    from gitops_promote.adapters.workspace import open_workspace  # noqa: PLC0415
    from gitops_promote.config.load import load_config  # noqa: PLC0415

    req = request(args)
    loc = common.location(args)
    with open_workspace(loc, common.credentials(args), require_clean=False) as ws:
        config = load_config(ws.root, loc.config_path)
        if req.print_cron:
            common.emit(cron_text(config, req.now))
            return 0
        branch = loc.base_branch or config.settings.base_branch
        return recheck(ws, req, branch, loc.config_path)


def recheck(ws: Workspace, req: Request, branch: str, config_path: str) -> int:
    from gitops_promote.adapters import kustomize as render  # noqa: PLC0415
    from gitops_promote.adapters.github import connect  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415

    repository, _ = check.require_github(ws, "recheck")
    remembered = load_state(req.state_file, req.status_context)
    gh = connect(repository, ws.credentials)
    failures: list[PromoteError] = []
    kept: dict[int, Verdict] = {}
    lines: list[str] = []
    changed = 0
    try:
        pulls = gh.open_pulls(branch)
        base, heads = fetch(ws, branch, pulls)
        renderer = render.find_renderer(req.render_timeout) if req.render else None
        for pull in pulls:
            head = heads.get(pull.number)
            if head is None and not _SHA.fullmatch(pull.head_sha):
                lines.append(f"#{pull.number}: skipped, GitHub gave no head commit id")
                continue
            verdict = judge(ws, pull, head, base, branch, req, config_path, renderer, gh)
            before = remembered.get(pull.number)
            if before == verdict:
                kept[pull.number] = verdict
                lines.append(_line(pull.number, verdict, "unchanged"))
                continue
            was = f"was {before.state}" if before and before.head == verdict.head else "new"
            if req.dry_run:
                lines.append(_line(pull.number, verdict, f"would set ({was})"))
                continue
            try:
                gh.set_status(
                    verdict.head,
                    state=verdict.state,
                    context=req.status_context,
                    description=verdict.description,
                    target_url=check.target_url(),
                )
            except PromoteError as err:
                failures.append(err)
                lines.append(_line(pull.number, verdict, f"NOT set: {err}"))
                continue
            kept[pull.number] = verdict
            changed += 1
            lines.append(_line(pull.number, verdict, f"set ({was})"))
    finally:
        gh.close()
    if not req.dry_run and req.state_file is not None:
        save_state(req.state_file, req.status_context, kept)
    lines.append(
        f"recheck: {len(pulls)} open pull request(s) into {branch}, {changed} status(es) set"
        f" ({req.status_context})"
    )
    common.emit("\n".join(lines))
    if failures:
        raise max(failures, key=lambda e: e.exit_code)
    return 0


def _line(number: int, verdict: Verdict, what: str) -> str:
    return f"#{number} {verdict.head[:12]} {verdict.state}: {verdict.description} - {what}"


def fetch(ws: Workspace, branch: str, pulls: Iterable[PullInfo]) -> tuple[str, dict[int, str]]:
    """The base branch's tip and each pull request's head commit, in one git fetch (a
    second, by ``refs/pull/N/head``, when the server refuses commits by id)."""
    from gitops_promote.errors import GitError  # noqa: PLC0415

    repo = ws.repo
    heads = {p.number: p.head_sha for p in pulls if _SHA.fullmatch(p.head_sha)}
    if not ws.has_remote:
        return branch, {n: sha for n, sha in heads.items() if repo.rev_parse(sha)}
    missing = {n: sha for n, sha in heads.items() if repo.rev_parse(sha) is None}
    try:
        fetched = repo.fetch([branch, *dict.fromkeys(missing.values())])
    except GitError:
        fetched = repo.fetch([branch, *(f"refs/pull/{n}/head" for n in missing)])
        for number in missing:
            heads[number] = fetched[f"refs/pull/{number}/head"]
    return fetched[branch], heads


def judge(
    ws: Workspace,
    pull: PullInfo,
    head: str | None,
    base: str,
    branch: str,
    req: Request,
    config_path: str,
    renderer: Any,
    gh: GitHub | None = None,
) -> Verdict:
    """The verdict on one open pull request, as ``check`` would give it now. A pull request
    that cannot be judged gets an ``error`` status (never keeps a stale success)."""
    from gitops_promote.adapters.secrets import redact  # noqa: PLC0415
    from gitops_promote.errors import PromoteError  # noqa: PLC0415

    labels = tuple(sorted(pull.labels))
    if head is None:
        return Verdict(pull.head_sha, labels, "error", "recheck: head commit not found")
    try:
        label = check.break_glass_label(ws.repo, base, config_path, pull.labels)
        provenance = check.label_provenance(gh, pull.number, label) if label and gh else ("", "")
        result = check.judge(
            ws.repo,
            base=base,
            head=head,
            labels=pull.labels,
            provenance=provenance,
            now=req.now,
            base_ref=branch,
            config_path=config_path,
            renderer=renderer,
            render_overlays=req.render,
        )
    except PromoteError as err:
        text = redact(str(err)).splitlines()[0] if str(err) else type(err).__name__
        return Verdict(head, labels, "error", check.clip(f"cannot judge: {text}"))
    state, description = check.commit_status(result)
    return Verdict(result.head, labels, state, description)


# -- the state file ---------------------------------------------------------------------------


def load_state(path: Path | None, context: str) -> dict[int, Verdict]:
    """The verdicts of the last run. A missing, unreadable or foreign file is no memory
    (every status is set again), never an error: it only saves calls."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION or data.get("context") != context:
            return {}
        return {
            int(number): Verdict(
                head=str(entry["head"]),
                labels=tuple(str(label) for label in entry["labels"]),
                state=str(entry["state"]),
                description=str(entry["description"]),
            )
            for number, entry in data["pulls"].items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        common.warn(
            f"warning: --state {path}: ignored ({type(err).__name__}); every status is set again"
        )
        return {}


def save_state(path: Path, context: str, verdicts: Mapping[int, Verdict]) -> None:
    """Only the pull requests open now are kept: a closed one drops out."""
    from gitops_promote.adapters import files  # noqa: PLC0415

    data = {
        "version": STATE_VERSION,
        "context": context,
        "pulls": {str(n): asdict(v) for n, v in sorted(verdicts.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


# -- the schedule -----------------------------------------------------------------------------


def freeze_boundaries(config: Config, now: datetime) -> list[tuple[datetime, str]]:
    """Every instant (UTC, rounded up to the minute) within a year from ``now`` at which a
    freeze window of ``config`` opens or closes, with the window's name."""
    from gitops_promote.plan.gates.freeze import next_occurrence, occurrence_at  # noqa: PLC0415

    found: set[tuple[datetime, str]] = set()
    limit = now + _HORIZON
    for env in config.environments:
        for window in env.freeze:
            active = occurrence_at(window, now)
            moments = [active.ends] if active else []
            at = now
            for _ in range(_MAX_OCCURRENCES):
                nxt = next_occurrence(window, at)
                if nxt is None or nxt.started > limit:
                    break
                moments += [nxt.started, nxt.ends]
                at = nxt.started
            for moment in moments:
                utc = moment.astimezone(UTC)
                if utc.second or utc.microsecond:
                    utc = utc.replace(second=0, microsecond=0) + timedelta(minutes=1)
                if now <= utc <= limit:
                    found.add((utc, window.name))
    return sorted(found)


def cron_lines(config: Config, now: datetime) -> list[tuple[str, tuple[str, ...]]]:
    """The schedule (UTC cron lines, with the windows each serves): every 15 minutes, plus
    one line per freeze boundary that is not on a quarter hour. A boundary that recurs on
    the same weekday and time becomes a weekly line; one that does not, a dated line."""
    weekly: dict[tuple[int, int, int], set[str]] = {}
    dated: dict[tuple[int, int, int, int], set[str]] = {}
    seen: dict[tuple[int, int, int], int] = {}
    boundaries = [(m, n) for m, n in freeze_boundaries(config, now) if m.minute % 15]
    for moment, _ in boundaries:
        key = (moment.minute, moment.hour, (moment.weekday() + 1) % 7)  # cron: 0 is Sunday
        seen[key] = seen.get(key, 0) + 1
    for moment, name in boundaries:
        key = (moment.minute, moment.hour, (moment.weekday() + 1) % 7)
        if seen[key] > 1:
            weekly.setdefault(key, set()).add(name)
        else:
            day = (moment.minute, moment.hour, moment.day, moment.month)
            dated.setdefault(day, set()).add(name)
    by_time: dict[tuple[int, int], tuple[set[int], set[str]]] = {}
    for (minute, hour, weekday), names in weekly.items():
        weekdays, all_names = by_time.setdefault((minute, hour), (set(), set()))
        weekdays.add(weekday)
        all_names.update(names)
    lines: list[tuple[str, tuple[str, ...]]] = [(EVERY, ())]
    for (minute, hour), (weekdays, names) in sorted(by_time.items(), key=lambda i: i[0][::-1]):
        dow = "*" if len(weekdays) == 7 else ",".join(map(str, sorted(weekdays)))
        lines.append((f"{minute} {hour} * * {dow}", tuple(sorted(names))))
    for (minute, hour, mday, month), names in sorted(dated.items(), key=lambda i: i[0][::-1]):
        lines.append((f"{minute} {hour} {mday} {month} *", tuple(sorted(names))))
    return lines


def cron_text(config: Config, now: datetime) -> str:
    out = [
        "# on: schedule: for `gitops-promote recheck` (UTC): every 15 minutes, and right after",
        "# each freeze window opens or closes (boundaries on a quarter hour need no line of",
        "# their own). Print again when the freeze windows change.",
    ]
    for line, names in cron_lines(config, now):
        note = f" # {', '.join(names)}" if names else ""
        out.append(f'- cron: "{line}"{note}')
    return "\n".join(out)
