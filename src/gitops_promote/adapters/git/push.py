"""Pushes of a checkout: ONE ``git push`` per :meth:`Pushing.push` call, behind the
base-branch guard (:mod:`.guard`); a pull-request branch force-pushed with lease
(:meth:`Pushing.push_branch`); the base branch brought to the remote's tip first. The
retry loop that re-applies an edit on a race is the deliver layer's
(:func:`gitops_promote.deliver.push.push_with_retry`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from gitops_promote.adapters import secrets
from gitops_promote.adapters.git.checkout import Unpushed
from gitops_promote.adapters.git.guard import GatedFiles, branch_name, check_push_allowed
from gitops_promote.adapters.git.history import History
from gitops_promote.adapters.git.runner import (
    GitCommandError,
)
from gitops_promote.errors import GitPushError, UserError

PushStatus = Literal["pushed", "unchanged", "dry-run"]

# `git push --porcelain`: "<flag>\t<from>:<to>\t<summary>"
_RETRYABLE_REMOTE_REJECT = ("lock", "failed to update ref", "incorrect old value", "is at ")


class StaleBranchError(GitPushError):
    """A force-push with lease found the branch moved by someone else."""


@dataclass(frozen=True)
class PushResult:
    """What a push did.

    ``status``: ``pushed`` (``commit`` is on the remote ``branch``), ``unchanged`` (nothing
    to change: the edit is already in place, or the branch already had the commit) or
    ``dry-run`` (noop mode: nothing was pushed). ``parent``: the remote tip the commit was
    built on (the lease for branch pushes). ``attempts``: pushes tried.
    """

    status: PushStatus
    branch: str
    commit: str | None
    parent: str | None
    attempts: int


@dataclass(frozen=True)
class Retry:
    """Bounded retries with jittered exponential backoff (delays in seconds).

    ``attempts`` bounds the pushes that fail (server errors, dropped connections);
    ``races`` bounds the pushes rejected because someone else's push landed first, each
    of which means the others made progress: with many writers at once (CI of many apps)
    the last one needs about as many tries as there are writers ahead of it."""

    attempts: int = 8
    races: int = 40
    base_delay: float = 0.2
    max_delay: float = 6.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): "full jitter", uniform between
        a tenth of the ceiling and the ceiling, which doubles up to ``max_delay``; racing
        writers spread out instead of colliding again."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return self.rng.uniform(ceiling / 10, ceiling)


@dataclass(frozen=True)
class PushOutcome:
    """One push attempt: the porcelain flag of the ref (``!`` rejected, ``=`` up to date,
    ``' '``/``+``/``*`` pushed, ``""`` no ref line: the push failed before) and its summary."""

    flag: str
    summary: str
    error: GitCommandError | None

    @property
    def pushed(self) -> bool:
        return self.flag in (" ", "+", "*")

    @property
    def retryable(self) -> bool:
        if self.flag == "!":
            summary = self.summary.lower()
            if summary.startswith("[rejected]"):
                return "stale info" not in summary  # fetch first / non-fast-forward
            return any(s in summary for s in _RETRYABLE_REMOTE_REJECT)
        return self.error is not None and self.error.transient

    def describe(self) -> str:
        if self.error is not None:
            return str(self.error.message)
        return self.summary or "push failed"


class Pushing(History):
    """:class:`History` with its pushes."""

    def protect(self, roots: Mapping[str, str], allowed: Iterable[str] = ()) -> None:
        """From now on, refuse any base-branch push (``allow_base_push``) whose commits
        change a file under ``roots`` (overlay path -> gated environment), but for
        ``allowed`` ones (:func:`check_push_allowed`)."""
        self.gated = GatedFiles(
            {str(PurePosixPath(root)): env for root, env in roots.items()},
            frozenset(str(PurePosixPath(p)) for p in allowed),
        )

    def _pushed_files(self, rev: str) -> list[str]:
        """The files ``rev`` changes against the remote base branch (its parent when
        there is no remote-tracking ref): what a push of ``rev`` would change there."""
        base = self.rev_parse(self.base_ref) or self.rev_parse(f"{rev}^")
        flags = ("--name-only", "-z", "--no-renames", "--no-ext-diff")
        if base is None:  # the first commit: everything in it
            out = self.git.run("diff-tree", "-r", "--root", *flags, rev)
        else:
            out = self.git.run("diff", *flags, base, rev, "--")
        return [p.decode("utf-8", "surrogateescape") for p in out.stdout.split(b"\0") if p]

    def push(
        self,
        branch: str,
        *,
        allow_base_push: bool,
        lease: str | Literal[False] | None = False,
        rev: str = "HEAD",
    ) -> PushOutcome:
        """THE one place ``git push`` runs: ``rev`` to ``refs/heads/<branch>``, after
        :func:`check_push_allowed`. ``lease``: False for a plain (fast-forward) push; a
        commit id, or None for "must not exist yet", for ``--force-with-lease``.
        """
        checked = allow_base_push is True and self.gated is not None and not self.git.noop
        guard = check_push_allowed(
            branch,
            base_branch=self.base_branch,
            allow_base_push=allow_base_push,
            protected=(self._remote_default,),
            changed=self._pushed_files(rev) if checked else (),
            gated=self.gated if checked else None,
        )
        name = branch_name(branch)
        args = ["push", "--porcelain", "--no-verify", "--no-recurse-submodules"]
        if lease is not False:
            args.append(f"--force-with-lease=refs/heads/{name}:{lease or ''}")
        args += [self.remote, f"{rev}:refs/heads/{name}"]
        if self.git.noop:
            self.git.run(*args, write=True, push_guard=guard)
            return PushOutcome("dry-run", "", None)
        out = self.git.run(*args, check=False, push_guard=guard)
        flag, summary = "", ""
        for line in out.text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1].endswith(f":refs/heads/{name}"):
                flag, summary = parts[0], parts[2]
        error = None
        if not out.ok and flag in ("", "!"):
            error = self._error("push", out)
        if error is not None and flag == "!":
            error = None  # the porcelain line says it all
        return PushOutcome(flag, secrets.redact(summary), error)

    def sync_base(self) -> None:
        """Before the first push from an opened checkout: bring the base branch to the
        remote tip (fast-forward only; local commits not on the remote are refused)."""
        if self._synced:
            return
        tip = self.fetch([self.base_branch])[self.base_branch]
        head = self.head()
        if head != tip:
            if not self.is_ancestor(head, tip):
                raise UserError(
                    f"{self.root}: branch {self.base_branch!r} has commits that are not on "
                    f"{self.remote}/{self.base_branch}",
                    hint="push or drop them first; promote pushes only its own commit",
                )
            self.reset_hard(tip)
        self._synced = True

    def align_with_remote(self) -> Unpushed | None:
        """Before anything is decided from an opened checkout: move its base branch to the
        remote's tip, so that what the work tree holds is what the remote has ("already in
        place" then means the remote has it). Behind: a fast-forward. Ahead or diverged
        (commits not pushed): the branch moves to the tip all the same, and what it was at
        is kept in :attr:`unpushed` (and returned): the caller decides whether those
        commits are exactly its own change (it then re-applies it on the tip) or refuses,
        and :meth:`restore_unpushed` puts the branch back when the run does not deliver."""
        tip = self.fetch([self.base_branch])[self.base_branch]
        head = self.head()
        self.unpushed = None
        if head != tip and not self.is_ancestor(head, tip):
            base = self.merge_base(head, tip) or tip
            count = self.git.run("rev-list", "--count", f"{base}..{head}", "--").text
            self.unpushed = Unpushed(head, base, int(count) if count.isdigit() else 0)
        if head != tip:
            self.reset_hard(tip)
        self._synced = True
        return self.unpushed

    def restore_unpushed(self) -> None:
        """Put the base branch back at the commits :meth:`align_with_remote` moved it away
        from (no-op when there were none, or when they were delivered)."""
        unpushed, self.unpushed = self.unpushed, None
        if unpushed is not None:
            self.reset_hard(unpushed.head)
            self._synced = False

    def push_branch(
        self,
        branch: str,
        *,
        expected_remote_sha: str | None,
        rev: str = "HEAD",
        retry: Retry | None = None,
    ) -> PushResult:
        """Force-push ``rev`` to ``branch`` (a pull-request branch, never the base branch)
        with lease: only when the remote branch is still at ``expected_remote_sha`` (None:
        it must not exist). Transient failures are retried; a lost lease raises
        :class:`StaleBranchError`. ``unchanged`` when the branch already had ``rev``.
        """
        retry = retry or Retry()
        if self._remote_default is None and not self.git.noop:
            self.remote_branch_sha(branch)  # learn the remote's default branch for the guard
        commit = self.rev_parse(rev)
        last = ""
        for attempt in range(1, retry.attempts + 1):
            if attempt > 1:
                retry.sleep(retry.delay(attempt - 1))
            outcome = self.push(branch, allow_base_push=False, lease=expected_remote_sha, rev=rev)
            if outcome.flag == "dry-run":
                return PushResult("dry-run", branch, commit, expected_remote_sha, 0)
            if outcome.pushed:
                return PushResult("pushed", branch, commit, expected_remote_sha, attempt)
            if outcome.flag == "=":
                # up to date: already there before we came, or an earlier attempt of ours
                # landed but its answer was lost
                status: PushStatus = "unchanged" if attempt == 1 else "pushed"
                return PushResult(status, branch, commit, expected_remote_sha, attempt)
            if outcome.flag == "!" and "stale info" in outcome.summary:
                now = self.remote_branch_sha(branch)
                if now is not None and now == commit:
                    # an earlier attempt landed but its answer was lost
                    return PushResult("pushed", branch, commit, expected_remote_sha, attempt)
                raise StaleBranchError(
                    f"branch {branch} of {self.remote_url} moved while promoting "
                    f"(expected {(expected_remote_sha or 'no branch')[:12]}, "
                    f"found {(now or 'no branch')[:12]})",
                    hint="another run updated it at the same time: re-run, the promotion "
                    "starts again from the current state",
                )
            if not outcome.retryable:
                raise self.push_error(outcome)
            last = outcome.describe()
        raise GitPushError(
            f"git push to {branch} of {self.remote_url} failed {retry.attempts} times; "
            f"last: {last}",
            hint="the git server keeps failing: re-run the job",
        )

    def push_error(self, outcome: PushOutcome) -> GitPushError:
        if outcome.error is not None:
            error = outcome.error
            refused = GitPushError(str(error.message), hint=error.hint)
            refused.exit_code = error.exit_code  # 2 for auth/permission, like the cause
            return refused
        hint = None
        if "protected" in outcome.summary or "declined" in outcome.summary:
            hint = (
                "the server refused the push (branch protection?): let the bot push to it, "
                "or make the environment mode: pull-request"
            )
        return GitPushError(
            f"git push to {self.remote_url} was refused: {outcome.summary}", hint=hint
        )
