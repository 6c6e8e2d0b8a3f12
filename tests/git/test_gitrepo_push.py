"""Committing and pushing for ``mode: push`` environments: only the given paths, the bot
identity, and pushes that survive races and server faults without losing or duplicating
anything."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from git.gitrepo_helpers import ConfigRepo, clone, overlay
from gitops_promote.adapters.git import Git, Identity, Repo, Retry
from gitops_promote.deliver.push import push_with_retry
from gitops_promote.errors import GitPushError, UserError
from support import gitutil

DEV_API = overlay("api", "dev")
FILE = f"{DEV_API}/kustomization.yaml"


def _set_digest(repo: Repo, path: str, digest: str) -> bool:
    """The edit: pin ``digest`` in the overlay at ``path``; False if already pinned."""
    target = repo.root / path / "kustomization.yaml"
    lines = target.read_text().splitlines(keepends=True)
    new = [
        f"    digest: sha256:{digest}\n" if line.startswith("    digest: ") else line
        for line in lines
    ]
    if new == lines:
        return False
    target.write_text("".join(new))
    return True


def _remote_file(config_repo: ConfigRepo, path: str) -> str:
    return gitutil.read_file(config_repo.bare, "main", path).decode()


def _linear(config_repo: ConfigRepo) -> list[gitutil.CommitInfo]:
    commits = gitutil.list_commits(config_repo.bare, "main")
    assert all(len(c.parents) <= 1 for c in commits), "history is not linear"
    return commits


# -- commit -------------------------------------------------------------------------------


def test_commit_takes_only_the_given_paths(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """commit() commits the changes under the given paths, by the GitHub Actions bot by
    default, with the message kept verbatim (lines starting with '#' included)."""
    repo = clone(config_repo, tmp_path / "c", DEV_API, overlay("web", "dev"))
    _set_digest(repo, DEV_API, "a" * 64)
    _set_digest(repo, overlay("web", "dev"), "b" * 64)
    message = "chore(dev): promote api\n\n#1 keeps its hash\n"
    sha = repo.commit([DEV_API], message)
    assert sha is not None
    info = gitutil.list_commits(repo.root, sha, extra=["-1"])[0]
    assert info.message == message.strip()
    assert (info.author_name, info.author_email) == (
        "github-actions[bot]",
        "41898282+github-actions[bot]@users.noreply.github.com",
    )
    assert (info.committer_name, info.committer_email) == (info.author_name, info.author_email)
    changed = gitutil.git("diff-tree", "--no-commit-id", "--name-only", "-r", sha, cwd=repo.root)
    assert changed.splitlines() == [FILE]
    assert repo.dirty_files() == [f"{overlay('web', 'dev')}/kustomization.yaml"]


def test_commit_identity_is_configurable(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A configured identity becomes author and committer; .git/config gets no user.*."""
    repo = Repo.clone(
        config_repo.url,
        tmp_path / "c",
        token=config_repo.token,
        sparse_paths=[DEV_API],
        identity=Identity("Promo Bot", "promo@example.test"),
    )
    _set_digest(repo, DEV_API, "c" * 64)
    sha = repo.commit([DEV_API], "promote")
    assert sha is not None
    info = gitutil.list_commits(repo.root, sha, extra=["-1"])[0]
    assert (info.author_name, info.committer_email) == ("Promo Bot", "promo@example.test")
    assert "[user]" not in (repo.root / ".git" / "config").read_text()
    with pytest.raises(UserError):
        Identity("bad <name>", "x@example.test")


def test_commit_with_nothing_changed_returns_none(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """No change under the paths (or a path that does not exist): no commit, None."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    head = repo.head()
    assert repo.commit([DEV_API, "apps/not-there"], "nothing") is None
    assert repo.head() == head


def test_commit_refuses_staged_files_outside_the_paths(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """When something outside the promoted paths is staged, commit() refuses and commits
    nothing."""
    repo = clone(config_repo, tmp_path / "c", DEV_API, "promotion.yaml")
    head = repo.head()
    (repo.root / "promotion.yaml").write_text("version: 2\n")
    gitutil.git("add", "promotion.yaml", cwd=repo.root)
    _set_digest(repo, DEV_API, "d" * 64)
    with pytest.raises(UserError, match="outside the promoted paths"):
        repo.commit([DEV_API], "promote")
    assert repo.head() == head


def test_commit_adds_new_and_deleted_files_under_the_paths(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """New and deleted files under a path are part of the commit."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    (repo.root / DEV_API / "patch.yaml").write_text("x: 1\n")
    (repo.root / FILE).unlink()
    sha = repo.commit([DEV_API], "reshape")
    assert sha is not None
    status = gitutil.git("diff-tree", "--no-commit-id", "--name-status", "-r", sha, cwd=repo.root)
    assert sorted(status.splitlines()) == [f"A\t{DEV_API}/patch.yaml", f"D\t{FILE}"]


# -- push with retry ----------------------------------------------------------------------


def test_push_lands_one_commit(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """The simple case: one attempt, one commit on the remote, on top of the old tip."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    tip = repo.head()
    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "e" * 64),
        "promote api",
        paths=[DEV_API],
        allow_base_push=True,
    )
    assert result.status == "pushed"
    assert result.attempts == 1
    assert result.parent == tip
    assert result.commit == gitutil.rev_parse(config_repo.bare, "main")
    assert "e" * 64 in _remote_file(config_repo, FILE)
    assert len(_linear(config_repo)) == 2


def test_rejected_push_is_refetched_and_reapplied(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """Someone pushed first (another file): the push is rejected, the remote tip fetched,
    the local commit dropped, the edit re-run on the new tip, and the push lands on top:
    both changes are there and the history stays linear."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    other = overlay("web", "dev")
    config_repo.server.seed(
        config_repo.name, {f"{other}/kustomization.yaml": "someone: else\n"}, message="other"
    )
    calls: list[str] = []

    def apply() -> bool:
        calls.append(repo.head())
        return _set_digest(repo, DEV_API, "f" * 64)

    result = push_with_retry(
        repo, apply, "promote api", paths=[DEV_API], allow_base_push=True, retry=no_wait
    )
    assert result.status == "pushed"
    assert result.attempts == 2
    commits = _linear(config_repo)
    assert [c.subject for c in commits] == ["promote api", "other", "seed"]
    assert calls[1] == commits[1].sha  # re-applied on the new tip
    assert result.parent == commits[1].sha
    assert _remote_file(config_repo, f"{other}/kustomization.yaml") == "someone: else\n"
    assert "f" * 64 in _remote_file(config_repo, FILE)


def test_same_file_conflict_reapplies_the_edit(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """Someone changed the SAME file first: the edit is re-run on their version (no text
    merge), so their other lines stay and our pin wins; the message is recomputed."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    theirs = _remote_file(config_repo, FILE).replace("resources:", "# tuned\nresources:")
    config_repo.server.seed(config_repo.name, {FILE: theirs}, message="tune")
    seen: list[str] = []

    def message() -> str:
        seen.append((repo.root / FILE).read_text())
        return f"promote api (attempt {len(seen)})"

    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "1" * 64),
        message,
        paths=[DEV_API],
        allow_base_push=True,
        retry=no_wait,
    )
    assert result.status == "pushed"
    final = _remote_file(config_repo, FILE)
    assert "# tuned\n" in final
    assert "1" * 64 in final
    assert gitutil.list_commits(config_repo.bare, "main")[0].subject == "promote api (attempt 2)"


def test_superseded_promotion_is_unchanged(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """When the new tip already pins what we wanted (another run pushed the same
    promotion), apply() changes nothing and the result is 'unchanged': no empty commit."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    same = _remote_file(config_repo, FILE).replace("0" * 64, "2" * 64)
    config_repo.server.seed(config_repo.name, {FILE: same}, message="same promotion")
    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "2" * 64),
        "promote",
        paths=[DEV_API],
        allow_base_push=True,
        retry=no_wait,
    )
    assert result.status == "unchanged"
    assert result.commit is None
    assert len(_linear(config_repo)) == 2


@pytest.mark.parametrize("mode", ["status", "drop"])
def test_transient_server_errors_are_retried(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry, mode: str
) -> None:
    """An HTTP 500 or a dropped connection on the push is retried; the commit lands once."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    config_repo.server.fail_next(
        2,
        mode="status" if mode == "status" else "drop",
        service="git-receive-pack",
        method="POST",
    )
    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "3" * 64),
        "promote",
        paths=[DEV_API],
        allow_base_push=True,
        retry=no_wait,
    )
    assert result.status == "pushed"
    assert result.attempts == 3
    assert len(_linear(config_repo)) == 2


def test_push_that_landed_but_lost_its_answer_is_not_duplicated(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """The server applies the push but the connection drops before the answer: the retry
    finds our commit on the remote and reports it pushed: one commit, not two."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    config_repo.server.fail_next(
        mode="drop-after-backend", service="git-receive-pack", method="POST"
    )
    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "4" * 64),
        "promote",
        paths=[DEV_API],
        allow_base_push=True,
        retry=no_wait,
    )
    assert result.status == "pushed"
    commits = _linear(config_repo)
    assert len(commits) == 2
    assert result.commit == commits[0].sha


def test_gives_up_after_the_attempts(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A server that keeps failing: bounded attempts, then GitPushError (exit 3) with one
    line naming the branch and the last failure; the waits grow (jittered backoff)."""
    repo = clone(config_repo, tmp_path / "c", DEV_API)
    config_repo.server.fail_next(100, status=502, service="git-receive-pack")
    waits: list[float] = []
    with pytest.raises(GitPushError) as info:
        push_with_retry(
            repo,
            lambda: _set_digest(repo, DEV_API, "5" * 64),
            "promote",
            paths=[DEV_API],
            allow_base_push=True,
            retry=Retry(attempts=4, sleep=waits.append),
        )
    assert info.value.exit_code == 3
    assert "git push to main" in info.value.message
    assert "4 times" in info.value.message
    assert "502" in info.value.message
    assert "\n" not in str(info.value)
    assert len(waits) == 3
    assert 0.02 <= waits[0] <= 0.2
    assert 0.08 <= waits[2] <= 0.8
    assert len(_linear(config_repo)) == 1


def test_backoff_is_bounded_and_jittered() -> None:
    """The ceiling doubles per retry up to the cap; each delay is drawn between a tenth of
    the ceiling and the ceiling (full jitter), so racing writers spread out."""
    retry = Retry(base_delay=1.0, max_delay=5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [retry.delay(attempt) for _ in range(200)]
        assert all(ceiling / 10 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4


def test_opened_checkout_behind_the_remote_is_fast_forwarded(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """An existing checkout (--repo) that is behind the remote is brought to the remote
    tip before the edit; one with local commits not on the remote is refused."""
    work = tmp_path / "checkout"
    gitutil.git("clone", "-q", config_repo.url, str(work), env=config_repo.server.git_env())
    config_repo.server.seed(config_repo.name, {"README.md": "newer\n"}, message="newer")
    repo = Repo.open(work, token=config_repo.token)
    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "6" * 64),
        "promote",
        paths=[DEV_API],
        allow_base_push=True,
    )
    assert result.status == "pushed"
    assert result.attempts == 1
    assert [c.subject for c in _linear(config_repo)] == ["promote", "newer", "seed"]

    gitutil.commit_files(work, {"local.txt": "not pushed\n"}, message="local")
    ahead = Repo.open(work, token=config_repo.token)
    with pytest.raises(UserError, match="not on origin/main"):
        push_with_retry(ahead, lambda: True, "x", paths=[DEV_API], allow_base_push=True)


def test_dry_run_pushes_nothing(
    config_repo: ConfigRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """noop: the commit and the push are printed, not made; the remote is untouched."""
    printed: list[str] = []
    repo = Repo.clone(
        config_repo.url,
        tmp_path / "c",
        token=config_repo.token,
        sparse_paths=[DEV_API],
        noop=True,
        git=Git(echo=printed.append),
    )
    before = gitutil.rev_parse(config_repo.bare, "main")
    result = push_with_retry(
        repo,
        lambda: _set_digest(repo, DEV_API, "7" * 64),
        "promote api",
        paths=[DEV_API],
        allow_base_push=True,
    )
    assert result.status == "dry-run"
    assert gitutil.rev_parse(config_repo.bare, "main") == before
    assert repo.head() == before
    assert any("would commit" in line for line in printed)
    assert any("git push" in line and "HEAD:refs/heads/main" in line for line in printed)
    assert config_repo.token not in " ".join(printed)
    assert not any(r.service == "git-receive-pack" for r in config_repo.server.requests)


# -- races between processes --------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from gitops_promote.adapters.git import Repo, Retry
    from gitops_promote.deliver.push import push_with_retry

    url, dest, path, value = sys.argv[1:5]
    token = os.environ["PROMOTE_TEST_TOKEN"]
    repo = Repo.clone(url, dest, token=token, sparse_paths=[path])
    target = Path(dest) / path / "value.txt"

    def apply():
        # Pin our value unless a newer one (higher number) is already there.
        current = int(target.read_text()) if target.exists() else -1
        if current >= int(value):
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value + "\\n")
        return True

    result = push_with_retry(
        repo, apply, f"set {path} to {value}", paths=[path], allow_base_push=True,
        retry=Retry(attempts=12),
    )
    print(result.status, result.attempts)
    """
)


def _race(config_repo: ConfigRepo, tmp_path: Path, jobs: list[tuple[str, str]]) -> list[str]:
    env = {**os.environ, "PROMOTE_TEST_TOKEN": config_repo.token}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, config_repo.url, str(tmp_path / f"w{i}"), path, value],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, (path, value) in enumerate(jobs)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert config_repo.token not in out + err
        outputs.append(out.split()[0])
    return outputs


def test_ten_concurrent_promotions_of_different_files_all_land(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """10 processes push 10 different files at once into one HTTP repo: every one lands,
    each exactly once, and the history is linear."""
    jobs = [(f"apps/app{i}/overlays/dev", str(i)) for i in range(10)]
    statuses = _race(config_repo, tmp_path, jobs)
    assert statuses == ["pushed"] * 10
    commits = _linear(config_repo)
    assert len(commits) == 11
    assert sorted(c.subject for c in commits[:10]) == sorted(
        f"set {path} to {value}" for path, value in jobs
    )
    for path, value in jobs:
        assert _remote_file(config_repo, f"{path}/value.txt") == f"{value}\n"


def test_concurrent_promotions_of_the_same_file_newest_wins(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """6 processes race on the same file, plus 4 on another: the highest (newest) value
    wins on each, every run ends pushed or unchanged (superseded), nothing is corrupted,
    history is linear and each landed commit is one clean edit."""
    jobs = [("apps/shared/overlays/dev", str(v)) for v in (3, 9, 1, 7, 5, 8)]
    jobs += [("apps/other/overlays/dev", str(v)) for v in (2, 4, 6, 0)]
    statuses = _race(config_repo, tmp_path, jobs)
    assert set(statuses) <= {"pushed", "unchanged"}
    assert _remote_file(config_repo, "apps/shared/overlays/dev/value.txt") == "9\n"
    assert _remote_file(config_repo, "apps/other/overlays/dev/value.txt") == "6\n"
    commits = _linear(config_repo)
    assert len(commits) == 1 + statuses.count("pushed")
    landed = [c.subject for c in commits[:-1]]
    assert "set apps/shared/overlays/dev to 9" in landed
    assert "set apps/other/overlays/dev to 6" in landed
