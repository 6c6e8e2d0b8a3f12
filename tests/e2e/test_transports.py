"""End to end through the CLI, over every transport a config repo can be reached by (https
stands in as http with token auth on loopback, ``git://`` from ``git daemon``, ``ssh://``
through a real ``sshd``, ``file://`` and a plain path), with repos of every age: a dev
promotion pushes, a re-run changes nothing, a rollback reads the whole history. Then what
reaches the remote: a ``--repo`` checkout ahead of it is pushed or refused, never reported
as done; a token never goes over plain http to another machine; a run stopped by SIGINT or
SIGTERM leaves no temporary clone behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from git.transports import Transport, file_transport, git_daemon, path_transport, sshd
from support import gitutil
from support.githttp import GitServer
from support.inprocess import cli
from support.repos import EXAMPLE, digest_of

DEV = "apps/api-service/overlays/dev/kustomization.yaml"
SEEDED = "sha256:f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a"
TRANSPORTS = ("http", "git", "ssh", "file", "path")


@dataclass(frozen=True)
class Remote:
    """A bare config repo and how this test reaches it."""

    bare: Path
    url: str
    env: dict[str, str]

    def main(self) -> str:
        return gitutil.rev_parse(self.bare, "main")

    def dev_text(self) -> str:
        return gitutil.read_file(self.bare, "main", DEV).decode()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], Remote]]:
    """``serve(transport)``: an empty bare repo ``org/config.git`` served over it (servers
    stop with the test)."""
    with ExitStack() as stack:

        def make(name: str) -> Remote:
            root = tmp_path / f"served-{name}"
            bare = gitutil.init_bare(root / "org" / "config.git")
            if name == "http":
                server = stack.enter_context(GitServer(root))
                return Remote(
                    bare, server.url("org/config"), {"GITOPS_PROMOTE_TOKEN": server.token}
                )
            transport: Transport
            if name == "git":
                transport = stack.enter_context(git_daemon(root, tmp_path / "daemon"))
            elif name == "ssh":
                transport = stack.enter_context(sshd(root, tmp_path / "sshd"))
            elif name == "file":
                transport = file_transport(root)
            else:
                transport = path_transport(root)
            return Remote(bare, transport.url(bare), dict(transport.env))

        yield make


def _ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def seed(bare: Path, age: str) -> None:
    """The example config repo with a history of the given age:
    ``quiet``: its last commit a month old (nothing in the superseded check's last day);
    ``busy``: months of history and a commit an hour ago (the day cuts the history);
    ``young``: every commit within the last day (the day reaches the first commit)."""
    first, last = {
        "quiet": (_ago(days=45), _ago(days=30)),
        "busy": (_ago(days=90), _ago(hours=1)),
        "young": (_ago(hours=5), _ago(hours=1)),
    }[age]
    gitutil.commit_tree_to_bare(bare, EXAMPLE, message="Initial config", date=first)
    gitutil.commit_tree_to_bare(bare, {"README.md": "the config repo\n"}, message="Docs", date=last)


def promote(remote: Remote, cwd: Path, *args: str, check: int | None = 0) -> str:
    run = cli(
        "promote",
        "--remote",
        remote.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--skip-registry-check",
        *args,
        cwd=cwd,
        env=remote.env,
        check=check,
    )
    assert "Traceback" not in run.output
    return run.output


@pytest.mark.parametrize("age", ["quiet", "busy", "young"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dev_promotion_pushes_over_every_transport_and_repo_age(
    serve: Callable[[str], Remote], transport: str, age: str, tmp_path: Path
) -> None:
    """Over each transport, into a repo whose last commit is a month old, an hour old, or
    whose whole history is from today, ``promote --env dev`` pushes one commit with the
    digest (a month-quiet repo failed over file://, git:// and ssh with "no commits
    selected for shallow requests", exit 3); the same promotion again is "already in
    place" and pushes nothing."""
    remote = serve(transport)
    seed(remote.bare, age)
    before = remote.main()
    digest = digest_of(f"{transport}-{age}")
    out = promote(remote, tmp_path, "--digest", digest)
    assert "dev: pushed" in out, out
    assert f"digest: {digest}" in remote.dev_text()
    assert gitutil.git("rev-parse", "main~1", cwd=remote.bare) == before
    again = promote(remote, tmp_path, "--digest", digest)
    assert "nothing to do: already in place" in again, again
    assert gitutil.git("rev-parse", "main~1", cwd=remote.bare) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rollback_in_a_month_quiet_repo_reads_the_whole_history(
    serve: Callable[[str], Remote], transport: str, tmp_path: Path
) -> None:
    """A rollback reads dev's own history: the shallow promotion clone is made whole over
    the same transport (commits only), and the digest before the last one goes back."""
    remote = serve(transport)
    seed(remote.bare, "quiet")
    bad = digest_of("bad")
    gitutil.commit_tree_to_bare(
        remote.bare,
        {DEV: remote.dev_text().replace(SEEDED, bad)},
        message="dev: bad build",
        date=_ago(days=29),
    )
    out = promote(remote, tmp_path, "--rollback")
    assert "dev: pushed" in out, out
    assert f"digest: {SEEDED}" in remote.dev_text()


# -- "already in place" only when the remote has it -------------------------------------


def _checkout(remote: Remote, where: Path) -> Path:
    gitutil.git("clone", "-q", remote.url, str(where), env=remote.env)
    return where


def promote_repo(
    checkout: Path, cwd: Path, *args: str, check: int | None = 0, env: dict[str, str] | None = None
) -> str:
    run = cli(
        "promote",
        "--repo",
        str(checkout),
        "--app",
        "api-service",
        "--env",
        "dev",
        "--skip-registry-check",
        *args,
        cwd=cwd,
        env=env,
        check=check,
    )
    assert "Traceback" not in run.output
    return run.output


def test_no_push_then_promote_pushes_the_promotion(
    serve: Callable[[str], Remote], tmp_path: Path
) -> None:
    """``promote --no-push`` commits locally; the same promotion again pushes it (it said
    "nothing to do: already in place", exit 0, and the remote never got the digest). The
    checkout ends on the remote's tip, which carries the digest."""
    remote = serve("file")
    seed(remote.bare, "quiet")
    checkout = _checkout(remote, tmp_path / "co")
    digest = digest_of("no-push")
    promote_repo(checkout, tmp_path, "--digest", digest, "--no-push")
    assert digest not in remote.dev_text()
    out = promote_repo(checkout, tmp_path, "--digest", digest)
    assert "dev: pushed" in out, out
    assert f"digest: {digest}" in remote.dev_text()
    assert gitutil.rev_parse(checkout, "HEAD") == remote.main()
    again = promote_repo(checkout, tmp_path, "--digest", digest)
    assert "nothing to do: already in place" in again


def test_a_checkout_behind_its_remote_is_judged_by_the_remote(
    serve: Callable[[str], Remote], tmp_path: Path
) -> None:
    """A ``--repo`` checkout that pins the digest while its remote has moved dev on to
    another one: the promotion pushes (it said "already in place", exit 0, judged from the
    stale checkout); a checkout behind a remote that has the digest is fast-forwarded and
    told "already in place"."""
    remote = serve("ssh")
    seed(remote.bare, "busy")
    digest = digest_of("mine")
    promote(remote, tmp_path, "--digest", digest)
    checkout = _checkout(remote, tmp_path / "co")
    promote(remote, tmp_path, "--digest", digest_of("theirs"))
    out = promote_repo(checkout, tmp_path, "--digest", digest, env=remote.env)
    assert "dev: pushed" in out, out
    assert f"digest: {digest}" in remote.dev_text()

    behind = _checkout(remote, tmp_path / "behind")
    gitutil.git("reset", "-q", "--hard", "HEAD~2", cwd=behind)
    out = promote_repo(behind, tmp_path, "--digest", digest, env=remote.env)
    assert "nothing to do: already in place" in out, out
    assert gitutil.rev_parse(behind, "HEAD") == remote.main()


def test_a_commit_left_by_a_run_stopped_before_its_push_is_pushed_after_others_landed(
    serve: Callable[[str], Remote], tmp_path: Path
) -> None:
    """A run committed and stopped before pushing; meanwhile another app's promotion
    landed on the remote (the histories diverged). The re-run re-applies the promotion on
    the remote's tip and pushes it, keeping the other promotion."""
    remote = serve("git")
    seed(remote.bare, "busy")
    checkout = _checkout(remote, tmp_path / "co")
    digest = digest_of("stopped")
    promote_repo(checkout, tmp_path, "--digest", digest, "--no-push")
    worker = "apps/worker/overlays/dev/kustomization.yaml"
    text = gitutil.read_file(remote.bare, "main", worker).decode()
    other = digest_of("worker")
    lines = [
        f"    digest: {other}" if line.strip().startswith("digest:") else line
        for line in text.splitlines()
    ]
    gitutil.commit_tree_to_bare(
        remote.bare, {worker: "\n".join(lines) + "\n"}, message="worker", date=_ago(minutes=5)
    )
    out = promote_repo(checkout, tmp_path, "--digest", digest)
    assert "dev: pushed" in out, out
    assert f"digest: {digest}" in remote.dev_text()
    assert other in gitutil.read_file(remote.bare, "main", worker).decode()


def test_a_checkout_ahead_with_other_commits_is_refused_and_kept(
    serve: Callable[[str], Remote], tmp_path: Path
) -> None:
    """A ``--repo`` checkout with a commit its remote lacks that is not this promotion (a
    person's edit, or another promotion): refused with the commit count and the file,
    exit 2; the checkout keeps its commit; the remote does not move. Before, a promotion
    already pinned locally was "already in place", exit 0."""
    remote = serve("path")
    seed(remote.bare, "quiet")
    checkout = _checkout(remote, tmp_path / "co")
    digest = digest_of("mixed")
    promote_repo(checkout, tmp_path, "--digest", digest, "--no-push")
    gitutil.commit_files(checkout, {"notes.txt": "mine\n"}, message="a person's commit")
    head = gitutil.rev_parse(checkout, "HEAD")
    tip = remote.main()
    out = promote_repo(checkout, tmp_path, "--digest", digest, check=2)
    assert "has 2 commits that are not on origin/main" in out, out
    assert "notes.txt" in out
    assert gitutil.rev_parse(checkout, "HEAD") == head
    assert remote.main() == tip

    other = digest_of("other")  # a local commit of another digest is not this promotion
    gitutil.git("reset", "-q", "--hard", "origin/main", cwd=checkout)
    promote_repo(checkout, tmp_path, "--digest", other, "--no-push")
    out = promote_repo(checkout, tmp_path, "--digest", digest, check=2)
    assert "not exactly this promotion" in out, out
    assert DEV in out
    assert remote.main() == tip


# -- tokens and signals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://git.example.invalid/org/config.git", True),
        ("http://0.0.0.0:1/org/config.git", True),
        ("HTTP://git.example.invalid/org/config.git", True),
        ("http://localhost:1/org/config.git", False),
        ("http://127.0.0.2:1/org/config.git", False),
        ("http://[::1]:1/org/config.git", False),
    ],
)
def test_a_token_is_never_sent_over_plain_http_to_another_machine(
    url: str, refused: bool, tmp_path: Path
) -> None:
    """With a token, a plain-http remote on another host is refused before anything is
    sent (exit 2, the URL and the fix named); loopback http is allowed (here it finds no
    server: the world's failure, exit 3). The token never appears."""
    token = "ghp_transporttokentransporttoken0001"
    run = cli(
        "promote",
        "--remote",
        url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("x"),
        "--skip-registry-check",
        cwd=tmp_path,
        env={"GITOPS_PROMOTE_TOKEN": token},
        check=None,
    )
    assert token not in run.output
    if refused:
        assert run.returncode == 2, run.output
        assert "refusing to send the token over plain http" in run.output
        assert "https" in run.output
    else:
        assert run.returncode == 3, run.output
        assert "plain http" not in run.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_clone_leaves_no_temporary_clone(
    git_server: GitServer, signum: int, tmp_path: Path
) -> None:
    """SIGTERM or SIGINT while the promotion clone waits on a slow server: the run stops
    (exit 128 + the signal), says it was interrupted, and its temporary directory is gone
    (SIGTERM ended the process at once and left it behind)."""
    git_server.seed("org/config", EXAMPLE, message="Initial config", date=_ago(days=30))
    git_server.fail_next(2, mode="delay", delay=8.0, service="git-upload-pack", method="POST")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITOPS_PROMOTE_"))}
    env.update(
        {
            "TMPDIR": str(tmpdir),
            "HOME": str(tmp_path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GITOPS_PROMOTE_TOKEN": git_server.token,
        }
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitops_promote",
            "promote",
            "--remote",
            git_server.url("org/config"),
            "--app",
            "api-service",
            "--env",
            "dev",
            "--digest",
            digest_of("slow"),
            "--skip-registry-check",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the server records a request once answered: the first answer (the refs
        # advertisement) is in, and the next request waits on the delay
        deadline = time.monotonic() + 60
        while not git_server.requests or not _clones(tmpdir):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the clone never started"
            time.sleep(0.05)
        time.sleep(0.5)
        assert git_server.pending_faults > 0  # still waiting on the slow server
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum, err
    assert f"interrupted ({signal.Signals(signum).name})" in err
    assert "Traceback" not in err
    assert _clones(tmpdir) == []


def _clones(tmpdir: Path) -> list[str]:
    return [p.name for p in tmpdir.iterdir() if p.name.startswith("gitops-promote-")]
