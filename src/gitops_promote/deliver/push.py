"""``mode: push`` delivery: refresh -> apply -> commit -> push, and again from the new tip
when another push landed first or the server failed (:func:`push_with_retry`); a pin that
a newer promotion (its ``Promoted-At`` trailer) or a person changed meanwhile is left
alone (superseded). The git adapter makes one commit and one push per call; the loop,
its backoff and its bounds live here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from gitops_promote.adapters.git import (
    GitCommandError,
    ProtectedBranchError,
    PushResult,
    Repo,
    Retry,
    check_push_allowed,
)
from gitops_promote.deliver.choice import Job
from gitops_promote.deliver.opening import superseded_window
from gitops_promote.deliver.requests import NOW_AHEAD
from gitops_promote.errors import GitPushError
from gitops_promote.facts import pins, statefile
from gitops_promote.report import promotion as report
from gitops_promote.report.records import Change, PromotionResult

_logger = logging.getLogger("gitops_promote.adapters.git")

PROMOTED_AT = "Promoted-At"


def deliver_push(job: Job, result: PromotionResult) -> PromotionResult:
    """``mode: push``: commit to the base branch and push, re-applying on a race."""
    req, ws, config, env, choices = job.req, job.ws, job.config, job.env, job.choices
    first_seen = {c.app: c.old for c in result.changes}
    stamp = req.now.isoformat()
    applied: list[Change] = []
    start: list[str] = []  # the tip the first attempt edited

    def apply() -> bool:
        applied.clear()
        if not start:
            start.append(ws.repo.head())
        for choice in choices:
            state = pins.read_state(ws.root, config, choice.app, env)
            now_ref = state.pin.ref if state.pin else None
            if now_ref == choice.ref:
                continue
            moved = now_ref != first_seen[choice.app.name]
            if _superseded(ws.repo, state.file, req.now, moved=moved, start=start[0]):
                continue
            pins.write(state, pins.edit(state, choice.ref))
            applied.append(
                Change(
                    choice.app.name,
                    env.name,
                    state.file,
                    now_ref,
                    choice.ref,
                    state.pin.line if state.pin else None,
                    choice.source,
                    choice.upstream,
                )
            )
        if applied:
            statefile.refresh(ws.repo, config, {(c.app, env.name): req.now for c in applied})
        return bool(applied)

    def message() -> str:
        done = replace(result, changes=tuple(applied))
        text = report.commit_message(done, config.settings, req.message)
        return f"{text}{PROMOTED_AT}: {stamp}\n"

    paths = sorted({c.file for c in result.changes} | set(statefile.paths(config) or ()))
    if not ws.has_remote or req.no_push:
        if not apply():
            return result
        sha = ws.repo.commit(paths, message())
        return replace(result, operation="committed", commit=sha, changes=tuple(applied))
    pushed = push_with_retry(
        ws.repo, apply, message, paths=paths, allow_base_push=env.mode == "push"
    )
    ws.repo.unpushed = None  # the remote has this promotion now: commits it replaced stay gone
    if pushed.status == "unchanged":
        superseded = [c.app for c in result.changes if c.app not in {a.app for a in applied}]
        notes = tuple(f"{app}: superseded by a newer promotion" for app in superseded)
        return replace(result, notes=notes)
    return replace(result, operation="pushed", commit=pushed.commit, changes=tuple(applied))


def push_with_retry(
    repo: Repo,
    apply: Callable[[], bool],
    message: str | Callable[[], str],
    *,
    paths: Sequence[str],
    allow_base_push: bool,
    retry: Retry | None = None,
) -> PushResult:
    """Edit, commit and push to the base branch until it lands (``mode: push`` only).

    ``apply()`` edits the files under ``paths`` in the work tree and returns whether
    it changed anything; it is re-run from the new remote tip after every rejected or
    failed push (the edit is re-applied, text is never merged). ``message`` may be a
    callable, evaluated after each ``apply()``. Returns ``unchanged`` when ``apply()``
    finds nothing to do (already in place, or superseded by a newer push). Raises
    :class:`ProtectedBranchError` unless ``allow_base_push`` is True, and
    :class:`GitPushError` after ``retry.attempts`` failed pushes, or ``retry.races``
    pushes rejected because others landed first.
    """
    check_push_allowed(
        repo.base_branch, base_branch=repo.base_branch, allow_base_push=allow_base_push
    )
    retry = retry or Retry()
    repo.sync_base()
    last = ""
    ours: str | None = None
    failures = races = 0
    attempt = 0
    while failures < retry.attempts and races < retry.races:
        attempt += 1
        if attempt > 1:
            retry.sleep(retry.delay(attempt - 1))
            try:
                tip = repo.fetch([repo.base_branch])[repo.base_branch]
            except GitCommandError as exc:
                if not exc.transient:
                    raise
                last = str(exc.message)
                failures += 1
                continue
            if ours is not None and repo.is_ancestor(ours, tip):
                # the "failed" push had landed (the answer was lost on the way back)
                return PushResult("pushed", repo.base_branch, ours, None, attempt - 1)
            repo.reset_hard(tip)
        parent = repo.head()
        if not apply():
            return PushResult("unchanged", repo.base_branch, None, parent, attempt - 1)
        text = message() if callable(message) else message
        if repo.git.noop:
            repo.commit(paths, text)
            repo.push(repo.base_branch, allow_base_push=allow_base_push)
            return PushResult("dry-run", repo.base_branch, None, parent, 0)
        ours = repo.commit(paths, text)
        if ours is None:
            return PushResult("unchanged", repo.base_branch, None, parent, attempt - 1)
        try:
            outcome = repo.push(repo.base_branch, allow_base_push=allow_base_push)
        except ProtectedBranchError:
            repo.reset_hard(parent)  # a refused commit leaves nothing behind
            raise
        if outcome.pushed or outcome.flag == "=":
            return PushResult("pushed", repo.base_branch, ours, parent, attempt)
        if not outcome.retryable:
            raise repo.push_error(outcome)
        if outcome.flag == "!" and outcome.summary.lower().startswith("[rejected]"):
            races += 1  # another push landed first: re-apply on the new tip
        else:
            failures += 1
        last = outcome.describe()
        _logger.info("push to %s failed (%s); retrying", repo.base_branch, last)
    tries = (
        f"failed {failures} times"
        if failures >= retry.attempts
        else f"was rejected {races} times as other pushes landed first"
    )
    raise GitPushError(
        f"git push to {repo.base_branch} of {repo.remote_url} {tries}; last: {last}",
        hint="others keep pushing or the server keeps failing: re-run the job, it "
        "starts again from the new tip and changes nothing that is already in place",
    )


def _superseded(
    repo: Repo, file: str, now: datetime, *, moved: bool, start: str | None = None
) -> bool:
    """Whether the pin in ``file`` must be left alone: the last promotion of it was requested
    at or after ``now`` (its Promoted-At trailer), or it was changed by a human (no trailer)
    while this run was going (``moved``). An older request that starts late never
    overwrites a newer one, whichever process cloned first."""
    if moved and start:
        # the pin moved while this run went on: the commit that moved it lies between the
        # tip this run started from and the new one
        window = f"{start}..HEAD"
    else:
        # a newer promotion that landed before this run started is recent
        since = superseded_window(now)
        repo.deepen_since(since)  # a shallow clone: the commits of the window, no more
        window = f"--since={since.isoformat()}"
    if not moved and not _any_stamp_since(repo, window, now):
        # no commit in the window was requested at or after now: whichever last changed
        # the file, it cannot supersede this run (and reading the commits alone needs no
        # trees: a commits-only clone downloads nothing for it)
        return False
    theirs = _stamp(repo.last_trailer(PROMOTED_AT, file, window))
    if theirs is None:
        return moved
    return theirs >= now


def _stamp(text: str | None) -> datetime | None:
    """A Promoted-At value as an aware time (None: absent, not one of ours, or from the
    future). A request time more than ``NOW_AHEAD`` ahead of the clock cannot be a
    real one (promote refuses such a --now): trusted, it would make every promotion of the
    overlay look older than it until then, so it is read as no stamp at all."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None  # not one of ours: treat it as a human's commit
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC) + NOW_AHEAD:
        return None
    return moment


def _any_stamp_since(repo: Repo, window: str, now: datetime) -> bool:
    """Whether any commit in ``window`` (``--since=…``) carries a Promoted-At at or after
    ``now``, whatever it changed; True when git cannot say (the caller then asks exactly)."""
    stamps = repo.trailers_in(PROMOTED_AT, window)
    if stamps is None:
        return True
    return any((moment := _stamp(text)) is not None and moment >= now for text in stamps)
