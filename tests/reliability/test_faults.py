"""Faults: the world fails in the middle of a promotion, then a re-run converges.

Each test injects one fault (a push rejected because another commit landed first, the git
server answering 500 or dropping the connection, the answer to a push that landed being
lost, GitHub answering 502 / 403 secondary rate limit / never, the process killed between
pushing the PR branch and opening the PR), then runs the same promotion again. After the
re-run: 0 duplicate PRs, 0 lost commits, no half-edited file on any branch.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from reliability import children
from reliability.conftest import Figure
from reliability.fleet import NOW, Fleet, assert_sound, digest_of, kustomization, overlay
from support.repos import Run

PROD_BRANCH = "promote/production/app-03"


def promote(
    fleet: Fleet,
    cwd: Path,
    *args: str,
    check: int | None = 0,
    extra_env: dict[str, str] | None = None,
) -> tuple[Run, dict[str, Any]]:
    """One ``promote --json`` through the CLI as a child process."""
    run = children.run(
        "promote",
        "--config-repo",
        fleet.repo,
        "--skip-registry-check",
        "--json",
        "--now",
        NOW,
        *args,
        cwd=cwd,
        env={**fleet.env, **(extra_env or {})},
        check=check,
    )
    assert "Traceback" not in run.output
    assert fleet.token not in run.output
    out: dict[str, Any] = json.loads(run.stdout) if run.returncode == 0 else {}
    return run, out


def one_line_error(run: Run, code: int) -> str:
    """The failed run's single ``error:`` line (exit ``code``, nothing else on stderr)."""
    assert run.returncode == code, run.output
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: "), run.stderr
    return lines[0]


def dev(app: str, digest: str) -> tuple[str, ...]:
    return ("--app", app, "--env", "dev", "--digest", digest)


def prod(digest: str) -> tuple[str, ...]:
    """A production promotion of ``digest``: staging does not run it, so the upstream gate
    would refuse it; --defer-gates opens the PR anyway (its required check holds it)."""
    return ("--app", "app-03", "--env", "production", "--digest", digest, "--defer-gates")


def assert_one_pr(fleet: Fleet, digest: str) -> None:
    """Exactly one PR for the production branch, open, carrying ``digest``, fully dressed."""
    assert fleet.api is not None
    pulls = fleet.api.pulls(state="all")
    assert len(pulls) == 1, [(p.number, p.head, p.state) for p in pulls]
    pr = pulls[0]
    assert pr.state == "open"
    assert pr.head == PROD_BRANCH
    assert digest in (pr.body or "")
    assert set(pr.labels) == {"promotion", "production"}
    assert pr.requested_reviewers == ("release-manager",)
    assert pr.requested_teams == ("oncall-approvers",)
    assert fleet.pin("app-03", "production", PROD_BRANCH) == digest


# -- git: pushes to dev -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "app"),
    [("another app's promotion", "app-01"), ("an older promotion of the same app", "app-00")],
)
def test_push_rejected_because_another_commit_landed_first(
    fleet: Fleet, tmp_path: Path, figure: Figure, who: str, app: str
) -> None:
    """Just before our push, another commit lands on main (the race shim pushes it): our
    push is rejected, the edit is re-applied on the new tip and lands; both commits stay."""
    theirs = digest_of(f"theirs-{app}")
    race = children.install_race(
        tmp_path,
        fleet.bare,
        {overlay(app, "dev"): kustomization(app, "dev", theirs)},
        f"chore(dev): promote {app}\n\nPromoted-At: 2026-11-25T09:00:00+00:00\n",
    )
    seed_tip = fleet.sha()
    ours = digest_of("ours")
    _, out = promote(fleet, tmp_path / "run", *dev("app-00", ours), extra_env=race)
    assert children.race_fired(tmp_path)
    assert out["operation"] == "pushed"
    commits = fleet.commits(f"{seed_tip}..main")
    assert len(commits) == 2, "their commit and ours, nothing more"
    assert out["commit"] == commits[0]
    assert fleet.files_of(commits[0]) == [overlay("app-00", "dev")]
    assert fleet.pin("app-00", "dev") == ours
    if app != "app-00":
        assert fleet.pin(app, "dev") == theirs
    rejected = [
        r for r in fleet.git.requests if r.service == "git-receive-pack" and r.method == "GET"
    ]
    assert len(rejected) == 2, "one rejected push, one that landed"

    tip = fleet.sha()
    _, again = promote(fleet, tmp_path / "rerun", *dev("app-00", ours))
    assert again["operation"] == "unchanged"
    assert fleet.sha() == tip
    assert_sound(fleet, kept={"theirs": commits[1], "ours": commits[0]})
    figure(f"fault.push-rejected.{app}.recovered", 1)


@pytest.mark.parametrize(
    ("mode", "status"),
    [("status", 500), ("drop", 0), ("drop-after-backend", 0)],
    ids=["http-500", "connection-dropped", "answer-lost-after-push-landed"],
)
def test_git_server_fails_mid_push(
    fleet: Fleet, tmp_path: Path, figure: Figure, mode: str, status: int
) -> None:
    """The pack upload answers 500, or the connection drops before git runs, or after the
    push landed (the answer is lost): the run retries and ends with exactly one commit of
    the promotion on main; a re-run changes nothing."""
    seed_tip = fleet.sha()
    fleet.git.fail_next(
        1,
        mode=mode,  # type: ignore[arg-type]
        status=status or 500,
        service="git-receive-pack",
        method="POST",
    )
    digest = digest_of(f"fault-{mode}")
    _, out = promote(fleet, tmp_path / "run", *dev("app-02", digest))
    assert fleet.git.pending_faults == 0, "the fault fired"
    assert out["operation"] == "pushed"
    assert fleet.commits(f"{seed_tip}..main") == [out["commit"]], "exactly one commit"
    assert fleet.pin("app-02", "dev") == digest

    _, again = promote(fleet, tmp_path / "rerun", *dev("app-02", digest))
    assert again["operation"] == "unchanged"
    assert fleet.commits(f"{seed_tip}..main") == [out["commit"]]
    assert_sound(fleet, kept={"promotion": out["commit"]})
    figure(f"fault.git-{mode}.recovered", 1)


def test_git_server_fails_the_clone_then_a_rerun_lands(
    fleet: Fleet, tmp_path: Path, figure: Figure
) -> None:
    """The clone gets 500: one error line, exit 3, nothing written; the re-run lands once."""
    seed_tip = fleet.sha()
    # both clones fail: the one with the recent window, and the fallback to the tip alone
    fleet.git.fail_next(2, mode="status", status=500, service="git-upload-pack")
    digest = digest_of("after-clone-failure")
    run, _ = promote(fleet, tmp_path / "run", *dev("app-04", digest), check=None)
    line = one_line_error(run, 3)
    assert "re-run" in line
    assert fleet.sha() == seed_tip
    assert fleet.git.pending_faults == 0  # the first run met both
    _, out = promote(fleet, tmp_path / "rerun", *dev("app-04", digest))
    assert out["operation"] == "pushed"
    assert fleet.commits(f"{seed_tip}..main") == [out["commit"]]
    assert_sound(fleet, kept={"promotion": out["commit"]})
    figure("fault.git-clone-500.recovered", 1)


def test_killed_mid_push_then_a_rerun_converges(
    fleet: Fleet, tmp_path: Path, figure: Figure
) -> None:
    """SIGKILL while the pack upload is held by the server: whether or not that push
    lands, the re-run ends with the digest pinned by exactly one commit on main."""
    seed_tip = fleet.sha()
    fleet.git.fail_next(1, mode="delay", delay=3.0, service="git-receive-pack", method="POST")
    digest = digest_of("killed-mid-push")
    child = children.start(
        "promote",
        "--config-repo",
        fleet.repo,
        "--skip-registry-check",
        "--now",
        NOW,
        *dev("app-05", digest),
        cwd=tmp_path / "killed",
        env=fleet.env,
    )
    _wait_for(lambda: fleet.git.pending_faults == 0, child, "the held push")
    child.kill()
    _, out = promote(fleet, tmp_path / "rerun", *dev("app-05", digest))
    commits = fleet.commits(f"{seed_tip}..main")
    assert len(commits) == 1, "one commit for the promotion, whoever pushed it"
    assert out["operation"] in ("pushed", "unchanged")
    assert fleet.pin("app-05", "dev") == digest
    assert_sound(fleet, kept={"promotion": commits[0]})
    figure("fault.killed-mid-push.recovered", 1)


# -- GitHub: pull requests for production -----------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "mode", "apply"),
    [
        ("pulls/create", "status", False),
        ("pulls/create", "status", True),
        ("issues/add-labels", "status", False),
        ("pulls/create", "secondary-rate-limit", False),
        ("pulls/request-reviewers", "secondary-rate-limit", False),
        ("pulls/create", "hang", False),
        ("pulls/create", "hang", True),
    ],
    ids=[
        "create-502",
        "create-502-after-it-was-created",
        "labels-502",
        "create-403-secondary-rate-limit",
        "reviewers-403-secondary-rate-limit",
        "create-timeout",
        "create-timeout-after-it-was-created",
    ],
)
def test_github_fails_then_the_promotion_converges(
    fleet: Fleet, tmp_path: Path, figure: Figure, operation: str, mode: str, apply: bool
) -> None:
    """GitHub answers 502, or 403 secondary rate limit with Retry-After, or never answers
    (past the client timeout), once, on one call of a new production promotion; sometimes
    after doing the work (the PR exists, the answer was lost). The run (and, if it gave up,
    its re-run) leaves exactly one fully dressed PR; a re-run after a good run changes
    nothing."""
    assert fleet.api is not None
    main_tip = fleet.sha()
    fleet.api.fail_next(
        1,
        operation=operation,
        mode=mode,  # type: ignore[arg-type]
        status=502,
        retry_after=1,
        hang=20.0,
        apply=apply,
    )
    digest = digest_of(f"github-{operation}-{mode}-{apply}")
    timeout = {"GITOPS_PROMOTE_API_TIMEOUT": "2"}
    run, out = promote(fleet, tmp_path / "run", *prod(digest), check=None, extra_env=timeout)
    assert faults_fired(fleet) == 1
    first = out.get("operation") if run.returncode == 0 else f"exit {run.returncode}"
    if run.returncode == 0:
        assert out["operation"] == "pr-created", out
        assert_one_pr(fleet, digest)
        _, out = promote(fleet, tmp_path / "rerun", *prod(digest), extra_env=timeout)
        assert out["operation"] == "unchanged", out
    else:
        one_line_error(run, 3)
        _, out = promote(fleet, tmp_path / "rerun", *prod(digest), extra_env=timeout)
        assert out["operation"] in ("pr-created", "unchanged"), out
    assert_one_pr(fleet, digest)
    assert fleet.sha() == main_tip, "a gated env never moves main"
    assert_sound(fleet)
    figure(f"fault.github-{operation}-{mode}{'-applied' if apply else ''}.recovered", 1)
    figure(
        f"fault.github-{operation}-{mode}{'-applied' if apply else ''}.first-run",
        str(first),
    )


@pytest.mark.parametrize(
    ("operation", "mode"),
    [
        ("pulls/list", "status"),
        ("pulls/update", "status"),
        ("pulls/list", "secondary-rate-limit"),
        ("pulls/update", "hang"),
    ],
    ids=["find-502", "update-502", "find-403-secondary-rate-limit", "update-timeout"],
)
def test_github_fails_while_updating_the_pr_then_it_converges(
    fleet: Fleet, tmp_path: Path, figure: Figure, operation: str, mode: str
) -> None:
    """A second digest updates the open PR; GitHub fails once while the PR is found or
    edited. The run (or its re-run) leaves one PR, showing the second digest."""
    assert fleet.api is not None
    timeout = {"GITOPS_PROMOTE_API_TIMEOUT": "2"}
    _, out = promote(fleet, tmp_path / "create", *prod(digest_of("first")), extra_env=timeout)
    assert out["operation"] == "pr-created"
    fleet.api.fail_next(
        1,
        operation=operation,
        mode=mode,  # type: ignore[arg-type]
        status=502,
        retry_after=1,
        hang=20.0,
    )
    second = digest_of("second")
    run, out = promote(fleet, tmp_path / "run", *prod(second), check=None, extra_env=timeout)
    assert faults_fired(fleet) == 1
    first = out.get("operation") if run.returncode == 0 else f"exit {run.returncode}"
    if run.returncode != 0:
        one_line_error(run, 3)
        _, out = promote(fleet, tmp_path / "rerun", *prod(second), extra_env=timeout)
    assert out["operation"] == "pr-updated", (first, out)
    assert_one_pr(fleet, second)
    assert_sound(fleet)
    figure(f"fault.github-{operation}-{mode}.recovered", 1)
    figure(f"fault.github-{operation}-{mode}.first-run", str(first))


@pytest.mark.parametrize("created", [False, True], ids=["before-create", "after-create"])
def test_killed_between_branch_push_and_pr_then_one_pr(
    fleet: Fleet, tmp_path: Path, figure: Figure, created: bool
) -> None:
    """The process is SIGKILLed after it pushed the PR branch, while it waits for GitHub to
    create the PR (which GitHub does or does not do). The re-run opens, or adopts and
    dresses, exactly one PR."""
    assert fleet.api is not None
    api = fleet.api
    api.fail_next(1, operation="pulls/create", mode="hang", hang=60.0, apply=created)
    digest = digest_of(f"killed-{created}")
    child = children.start(
        "promote",
        "--config-repo",
        fleet.repo,
        "--skip-registry-check",
        "--now",
        NOW,
        *prod(digest),
        cwd=tmp_path / "killed",
        env=fleet.env,
    )
    if created:
        _wait_for(lambda: len(api.pulls(state="all")) == 1, child, "the PR being created")
    else:
        _wait_for(lambda: PROD_BRANCH in fleet.branches(), child, "the branch push")
        time.sleep(0.5)  # let it reach the (hanging) create call: no assertion depends on it
    child.kill()
    api.release_hangs()
    assert len(api.pulls(state="all")) == (1 if created else 0)
    _, out = promote(fleet, tmp_path / "rerun", *prod(digest))
    assert out["operation"] == ("unchanged" if created else "pr-created")
    assert_one_pr(fleet, digest)
    assert_sound(fleet)
    figure(f"fault.killed-{'after' if created else 'before'}-pr-create.recovered", 1)


def faults_fired(fleet: Fleet) -> int:
    """How many GitHub calls got an injected fault (a hanging one is recorded only when it
    ends: let it end, then wait for its record)."""
    assert fleet.api is not None
    api = fleet.api
    api.release_hangs()
    for _ in range(200):
        fired = sum(1 for c in api.calls if c.fault is not None)
        if fired:
            return fired
        time.sleep(0.05)
    return 0


def _wait_for(ready: Any, child: children.Child, what: str) -> None:
    """Poll until ``ready()``; fail (after killing the child) if the child ends first."""
    for _ in range(1200):
        if ready():
            return
        if child.proc.poll() is not None:
            run = child.wait()
            raise AssertionError(f"the child ended before {what}:\n{run.output}")
        time.sleep(0.05)
    child.kill()
    raise AssertionError(f"timed out waiting for {what}")
