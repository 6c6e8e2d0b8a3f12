"""What ``check`` and ``recheck`` read about a pull request before judging it: the branch it
targets, its base and head commits (fetched when missing; a fork's head as
``refs/pull/N/head``), each open pull request's head (recheck: one fetch), who added the
break-glass label (the PR's label events on GitHub), and the ``pull_request`` event a run in
GitHub Actions was started by.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_promote.adapters import actions
from gitops_promote.adapters.git import Repo, plumbing
from gitops_promote.adapters.github import GitHub, PullInfo, connect
from gitops_promote.adapters.workspace import Location, Workspace
from gitops_promote.config.load import load_config, parse_config
from gitops_promote.errors import GitError, InputError, PromoteError, UserError, quote

SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Asked:
    """The commits a check was asked about: ``base``/``head`` revisions (None: the base
    branch's tip / HEAD), the pull request's number, and whether they came from its event."""

    base: str | None
    head: str | None
    pr: int | None = None
    from_event: bool = False


def base_branch_name(ws: Workspace, loc: Location, base_branch: str | None) -> str:
    """The branch the pull request targets: the event's or --base-branch, else
    settings.base-branch of the checkout's promotion.yaml, else the checked-out branch."""
    if base_branch:
        return base_branch
    try:
        return load_config(ws.root, loc.config_path).settings.base_branch
    except UserError:
        return ws.repo.base_branch


def revisions(ws: Workspace, req: Asked, branch: str) -> tuple[str, str]:
    """The base and head commits, fetched from the remote when they are not here yet (a
    fresh clone of the config repo has only its base branch)."""
    repo = ws.repo
    remote_base = f"{repo.remote}/{branch}"
    base = req.base or remote_base
    head = req.head or "HEAD"
    if ws.has_remote:
        wanted: list[str] = []
        if req.base is None and (req.from_event or repo.rev_parse(base) is None):
            wanted.append(branch)
        elif req.base is not None and repo.rev_parse(base) is None:
            wanted.append(req.base.removeprefix(f"{repo.remote}/"))
        if repo.rev_parse(head) is None:
            wanted.append(head)
        if wanted:
            fetched = fetch(ws, req, wanted)
            if req.base is None and branch in fetched:
                base = fetched[branch]
            head = fetched.get(head, head)
            if req.base is not None:
                base = fetched.get(req.base.removeprefix(f"{repo.remote}/"), base)
    if req.base is None and repo.rev_parse(base) is None and repo.rev_parse(branch):
        base = branch  # a checkout without the remote-tracking branch: the local one
    return base, head


def fetch(ws: Workspace, req: Asked, wanted: list[str]) -> dict[str, str]:
    """Fetch ``wanted`` in one request. A fork's head commit is not on any branch of the
    config repo: when fetching it by id fails, it is fetched as ``refs/pull/N/head``.
    When the fetch fails while the remote answers and lacks one of ``wanted``, that is
    bad input (a mistyped --base, an unknown --head), not the server failing."""
    try:
        return _fetch(ws, req, wanted)
    except GitError:
        absent = _absent(ws, wanted)
        if absent is None:
            raise
    raise _not_on_remote(ws, req, absent) from None


def _fetch(ws: Workspace, req: Asked, wanted: list[str]) -> dict[str, str]:

    try:
        return ws.repo.fetch(wanted, trees=True)
    except GitError:
        head = req.head
        if req.pr is None or head is None or head not in wanted:
            raise
    others = [w for w in wanted if w != head]
    fetched = ws.repo.fetch([*others, f"refs/pull/{req.pr}/head"], trees=True)
    newest = fetched.pop(f"refs/pull/{req.pr}/head")
    fetched[head] = head if ws.repo.rev_parse(head) else newest
    return fetched


def _absent(ws: Workspace, wanted: list[str]) -> str | None:
    """Which of ``wanted`` the remote does not have, asked with one ``git ls-remote``
    (None: the remote does not answer, or has every branch asked for and no commit id
    was among them: the failure was the world's). A commit id cannot be listed: when
    every branch is there, the id the fetch asked for is the one missing."""
    ids = [w for w in wanted if _is_commit_id(w)]
    names = {
        w: w if w.startswith("refs/") else f"refs/heads/{w}" for w in wanted if not _is_commit_id(w)
    }
    present = plumbing.ls_remote(
        ws.repo.git, ws.repo.remote, ["HEAD", *names.values()], check=False
    )
    if present is None:
        return None
    missing = [w for w, ref in names.items() if ref not in present]
    absent = missing or ids
    return absent[0] if absent else None


def _is_commit_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _not_on_remote(ws: Workspace, req: Asked, ref: str) -> InputError:

    if req.head is not None and ref == req.head:
        flag = "--head"
    elif req.base is not None and ref == req.base.removeprefix(f"{ws.repo.remote}/"):
        flag = "--base"
    else:
        flag = "the base branch"
    what = "commit" if _is_commit_id(ref) else "branch"
    return InputError(
        f"{flag} {quote(ref)}: no such {what} on the config repo's remote",
        hint="check the name or commit id (git ls-remote origin lists the branches), "
        "or push it first",
    )


def break_glass(
    ws: Workspace, pr: int | None, labels: Sequence[str], base: str, config_path: str
) -> tuple[str, str]:
    """(who added the break-glass label, why it does not count): only a person who is not
    this tool's identity may break glass. On a pull request (``pr``) the PR's label events
    say who added it (:func:`label_provenance`); a label given with --label and no pull request is
    the person at the terminal's."""
    label = break_glass_label(ws.repo, base, config_path, labels)
    if not label or pr is None:
        return "", ""
    if not ws.github_repo or not ws.credentials.token:
        return "", (
            f"who added it to #{pr} cannot be checked without a GitHub token "
            "(give the check GITHUB_TOKEN with pull-requests: read)"
        )
    gh = connect(ws.github_repo, ws.credentials)
    try:
        return label_provenance(gh, pr, label)
    finally:
        gh.close()


def break_glass_label(repo: Repo, base: str, config_path: str, labels: Sequence[str]) -> str:
    """The base's break-glass label when ``labels`` carry it, else "" (no call to make)."""
    text = repo.show(base, config_path)
    try:
        settings = parse_config((text or b"").decode("utf-8"), config_path).settings
    except (PromoteError, UnicodeDecodeError):
        return ""  # the check itself reports a broken promotion.yaml
    label = settings.freeze_exception_label
    return label if label and label.casefold() in {x.casefold() for x in labels} else ""


def label_provenance(gh: GitHub, number: int, label: str) -> tuple[str, str]:
    """(who added ``label`` to PR ``number``, why it does not count), from the latest
    ``labeled`` event (1 API call; 1 more, once per run, to learn who the token is when a
    person added it)."""
    event = gh.label_added_by(number, label)
    if event is None:
        return "", f"#{number} has no event of a person adding it"
    if event.bot or not event.actor:
        return "", f"it was added by {event.actor or 'an unknown account'}, a bot"
    if event.actor == gh.viewer():
        return "", f"it was added by {event.actor}, the identity this check runs as"
    return event.actor, ""


def pull_heads(ws: Workspace, branch: str, pulls: Iterable[PullInfo]) -> tuple[str, dict[int, str]]:
    """The base branch's tip and each pull request's head commit, in one git fetch (a
    second, by ``refs/pull/N/head``, when the server refuses commits by id)."""
    repo = ws.repo
    heads = {p.number: p.head_sha for p in pulls if SHA.fullmatch(p.head_sha)}
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


_PR_EVENTS = ("pull_request", "pull_request_target")


@dataclass(frozen=True)
class Event:
    """The ``pull_request`` event this run was started by (``present`` False: none)."""

    number: int | None = None
    base_ref: str | None = None
    head_sha: str | None = None
    labels: tuple[str, ...] = ()
    present: bool = False


def event() -> Event:
    """The pull request of the Actions event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH)."""
    name = os.environ.get("GITHUB_EVENT_NAME")
    if name == "merge_group":  # the merge queue's combined state, judged like a PR's head
        pr = actions.merge_group()
    elif name in _PR_EVENTS:
        pr = actions.pull_request()
    else:
        return Event()
    base: dict[str, Any] = pr["base"] if isinstance(pr.get("base"), dict) else {}
    head: dict[str, Any] = pr["head"] if isinstance(pr.get("head"), dict) else {}
    number = pr.get("number")
    return Event(
        number=number if isinstance(number, int) else None,
        base_ref=base.get("ref") if isinstance(base.get("ref"), str) else None,
        head_sha=head.get("sha") if isinstance(head.get("sha"), str) else None,
        labels=tuple(
            str(label.get("name"))
            for label in pr.get("labels") or ()
            if isinstance(label, dict) and label.get("name")
        ),
        present=bool(pr),
    )
