"""The git-over-HTTP test server behaves like an authenticated smart-HTTP git host."""

from __future__ import annotations

import base64
import gzip
import http.client
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import gitutil
from support.githttp import GitServer


def run_git(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=gitutil.clean_env(env),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def seeded(git_server: GitServer) -> str:
    """A repo ``org/config`` with two commits on main."""
    git_server.seed(
        "org/config",
        {"promotion.yaml": "version: 1\n", "apps/a/overlays/dev/kustomization.yaml": "a: 1\n"},
        message="first",
        date=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
    )
    git_server.seed(
        "org/config",
        {"apps/b/overlays/dev/kustomization.yaml": "b: 1\n"},
        message="second",
        date=datetime(2025, 3, 2, 9, 0, tzinfo=UTC),
    )
    return "org/config"


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_clone_and_push_with_token_in_env(
    git_server: GitServer, seeded: str, tmp_path: Path, scheme: str
) -> None:
    """Clone and push succeed with the token sent as an extra header through GIT_CONFIG_*
    env vars; every request was authorized and the token appears in no URL or .git/config."""
    env = git_server.git_env("basic" if scheme == "basic" else "bearer")
    work = tmp_path / "work"
    clone = run_git("clone", "-q", git_server.url(seeded), str(work), env=env)
    assert clone.returncode == 0, clone.stderr
    gitutil.commit_files(work, {"apps/c/overlays/dev/k.yaml": "c: 1\n"}, message="third")
    push = run_git("push", "-q", "origin", "HEAD:main", cwd=work, env=env)
    assert push.returncode == 0, push.stderr

    bare = git_server.path(seeded)
    assert gitutil.list_commits(bare, "main")[0].subject == "third"
    reqs = git_server.requests
    assert any(r.service == "git-receive-pack" and r.method == "POST" for r in reqs)
    assert all(r.authorized and r.auth_scheme == scheme for r in reqs)
    assert all(git_server.token not in r.url_path for r in reqs)
    assert git_server.token not in (work / ".git" / "config").read_text()


def test_missing_or_wrong_token_gets_401(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """Without the Authorization header (or with a wrong token) the server answers 401 with a
    Basic challenge, and git fails without prompting."""
    clone = run_git("clone", "-q", git_server.url(seeded), str(tmp_path / "a"))
    assert clone.returncode != 0
    wrong = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": "Authorization: Bearer not-the-token",
    }
    clone = run_git("clone", "-q", git_server.url(seeded), str(tmp_path / "b"), env=wrong)
    assert clone.returncode != 0
    reqs = git_server.requests
    assert reqs
    assert all(r.status == 401 and not r.authorized for r in reqs)
    assert {r.auth_scheme for r in reqs} == {None, "bearer"}

    conn = http.client.HTTPConnection("127.0.0.1", git_server.port, timeout=10)
    conn.request("GET", "/org/config.git/info/refs?service=git-upload-pack")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 401
    assert resp.getheader("WWW-Authenticate", "").startswith("Basic realm=")
    conn.close()


def test_partial_clone_and_sparse_checkout_fetch_blobs_lazily(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """A --filter=blob:none clone with a sparse checkout only has the blobs it checked out;
    other blobs are fetched on demand (lazy fetch over the authenticated server)."""
    env = git_server.git_env()
    work = tmp_path / "work"
    args = ["clone", "-q", "--filter=blob:none", "--no-checkout", "--sparse"]
    clone = run_git(*args, git_server.url(seeded), str(work), env=env)
    assert clone.returncode == 0, clone.stderr
    sparse = run_git("sparse-checkout", "set", "apps/a/overlays/dev", cwd=work, env=env)
    assert sparse.returncode == 0, sparse.stderr
    checkout = run_git("checkout", "-q", "main", cwd=work, env=env)
    assert checkout.returncode == 0, checkout.stderr
    assert (work / "apps/a/overlays/dev/kustomization.yaml").read_text() == "a: 1\n"
    assert not (work / "apps/b").exists()

    missing = run_git(
        "rev-list", "--objects", "--all", "--missing=print", cwd=work, env=env
    ).stdout.splitlines()
    assert any(line.startswith("?") for line in missing), "some blobs should still be missing"
    # history is complete: both commits are there
    assert [c.subject for c in gitutil.list_commits(work, "HEAD")] == ["second", "first"]
    # a lazy fetch of a missing blob works through the server
    lazy = run_git("show", "HEAD:apps/b/overlays/dev/kustomization.yaml", cwd=work, env=env)
    assert lazy.returncode == 0, lazy.stderr
    assert lazy.stdout == "b: 1\n"
    assert all(r.authorized for r in git_server.requests)


def test_protocol_v2_header_is_passed_to_the_backend(git_server: GitServer, seeded: str) -> None:
    """A client asking for protocol v2 (Git-Protocol header) gets a v2 capability answer."""
    conn = http.client.HTTPConnection("127.0.0.1", git_server.port, timeout=10)
    conn.request(
        "GET",
        "/org/config.git/info/refs?service=git-upload-pack",
        headers={"Authorization": git_server.auth_header(), "Git-Protocol": "version=2"},
    )
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200
    assert b"version 2" in body
    assert git_server.requests[-1].git_protocol == "version=2"


def _pkt(line: bytes) -> bytes:
    return b"%04x" % (len(line) + 4) + line


def test_chunked_gzip_request_body_is_streamed_to_the_backend(
    git_server: GitServer, seeded: str
) -> None:
    """A POST sent with Transfer-Encoding: chunked and Content-Encoding: gzip (as git does
    for large requests) reaches http-backend intact: a v2 ls-refs command is answered."""
    request = _pkt(b"command=ls-refs\n") + b"0001" + _pkt(b"ref-prefix refs/heads/\n") + b"0000"
    body = gzip.compress(request)
    head = gitutil.rev_parse(git_server.path(seeded), "main")

    conn = http.client.HTTPConnection("127.0.0.1", git_server.port, timeout=10)
    conn.putrequest("POST", "/org/config.git/git-upload-pack")
    for name, value in {
        "Authorization": git_server.auth_header("basic"),
        "Content-Type": "application/x-git-upload-pack-request",
        "Accept": "application/x-git-upload-pack-result",
        "Content-Encoding": "gzip",
        "Git-Protocol": "version=2",
        "Transfer-Encoding": "chunked",
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    for i in range(0, len(body), 7):  # many small chunks
        piece = body[i : i + 7]
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    answer = resp.read()
    conn.close()
    assert resp.status == 200, answer
    assert f"{head} refs/heads/main".encode() in answer
    last = git_server.requests[-1]
    assert last.chunked
    assert last.content_encoding == "gzip"
    assert last.auth_scheme == "basic"


def test_concurrent_pushes_one_wins_others_rejected(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """Several processes pushing different commits onto the same tip at once: exactly one
    push lands, every other is rejected, and the remote repo stays consistent."""
    env = git_server.git_env()
    workers = 5
    clones = []
    for i in range(workers):
        work = tmp_path / f"w{i}"
        assert run_git("clone", "-q", git_server.url(seeded), str(work), env=env).returncode == 0
        gitutil.commit_files(work, {f"apps/n{i}/file": f"{i}\n"}, message=f"worker {i}")
        clones.append(work)
    procs = [
        subprocess.Popen(
            ["git", "push", "origin", "HEAD:main"],
            cwd=work,
            env=gitutil.clean_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for work in clones
    ]
    results = [(p.wait(timeout=60), p.communicate()[1]) for p in procs]
    winners = [i for i, (rc, _) in enumerate(results) if rc == 0]
    assert len(winners) == 1, results
    for i, (rc, err) in enumerate(results):
        if i != winners[0]:
            assert rc != 0
            assert "rejected" in err, err
    bare = git_server.path(seeded)
    assert gitutil.list_commits(bare, "main")[0].subject == f"worker {winners[0]}"
    gitutil.git("fsck", "--no-progress", "--no-dangling", cwd=bare)  # raises if corrupt


def test_fault_status_fires_once_then_serves(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """fail_next(status=500) makes the next matching request fail with 500 and is then used
    up: the following clone works."""
    env = git_server.git_env()
    git_server.fail_next(1, status=500, service="git-upload-pack")
    first = run_git("clone", "-q", git_server.url(seeded), str(tmp_path / "a"), env=env)
    assert first.returncode != 0
    assert "500" in first.stderr
    assert git_server.pending_faults == 0
    second = run_git("clone", "-q", git_server.url(seeded), str(tmp_path / "b"), env=env)
    assert second.returncode == 0, second.stderr
    faulted = [r for r in git_server.requests if r.fault]
    assert [(r.fault, r.status) for r in faulted] == [("status", 500)]


def test_fault_only_matches_its_filter(git_server: GitServer, seeded: str, tmp_path: Path) -> None:
    """A fault for git-receive-pack leaves fetches alone and breaks the push."""
    env = git_server.git_env()
    work = tmp_path / "w"
    git_server.fail_next(1, status=503, service="git-receive-pack", method="POST")
    assert run_git("clone", "-q", git_server.url(seeded), str(work), env=env).returncode == 0
    gitutil.commit_files(work, {"x": "1\n"}, message="x")
    push = run_git("push", "-q", "origin", "HEAD:main", cwd=work, env=env)
    assert push.returncode != 0
    assert gitutil.list_commits(git_server.path(seeded), "main")[0].subject == "second"
    push = run_git("push", "-q", "origin", "HEAD:main", cwd=work, env=env)
    assert push.returncode == 0, push.stderr


def test_fault_drop_closes_connection_without_answer(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """mode="drop" closes the connection before git runs: the push fails and nothing lands."""
    env = git_server.git_env()
    work = tmp_path / "w"
    assert run_git("clone", "-q", git_server.url(seeded), str(work), env=env).returncode == 0
    gitutil.commit_files(work, {"x": "1\n"}, message="x")
    git_server.fail_next(1, mode="drop", service="git-receive-pack", method="POST")
    push = run_git("push", "-q", "origin", "HEAD:main", cwd=work, env=env)
    assert push.returncode != 0
    assert gitutil.list_commits(git_server.path(seeded), "main")[0].subject == "second"
    dropped = [r for r in git_server.requests if r.fault == "drop"]
    assert len(dropped) == 1
    assert dropped[0].status is None


def test_fault_drop_after_backend_lands_push_but_client_fails(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """mode="drop-after-backend" lets the push land on the server but the client never hears
    back (the ambiguous failure a re-run must handle)."""
    env = git_server.git_env()
    work = tmp_path / "w"
    assert run_git("clone", "-q", git_server.url(seeded), str(work), env=env).returncode == 0
    sha = gitutil.commit_files(work, {"x": "1\n"}, message="x")
    git_server.fail_next(1, mode="drop-after-backend", service="git-receive-pack", method="POST")
    push = run_git("push", "-q", "origin", "HEAD:main", cwd=work, env=env)
    assert push.returncode != 0
    assert gitutil.rev_parse(git_server.path(seeded), "main") == sha


def test_fault_delay_still_serves(git_server: GitServer, seeded: str, tmp_path: Path) -> None:
    """mode="delay" holds the request, then serves it normally."""
    env = git_server.git_env()
    git_server.fail_next(1, mode="delay", delay=0.2, service="git-upload-pack", method="GET")
    clone = run_git("clone", "-q", git_server.url(seeded), str(tmp_path / "w"), env=env)
    assert clone.returncode == 0, clone.stderr
    assert [r.fault for r in git_server.requests if r.fault] == ["delay"]


def test_seed_controls_dates_authors_and_messages(git_server: GitServer, tmp_path: Path) -> None:
    """seed() and the gitutil helpers build history with the given dates, authors, messages;
    read_file reads a file at a ref."""
    t0 = datetime(2024, 6, 1, 8, 30, tzinfo=UTC)
    tree = tmp_path / "tree"
    gitutil.write_files(tree, {"a.txt": "one\n", "d/b.bin": b"\x00\x01"})
    git_server.seed("r", tree, message="from dir", date=t0, author=("Ann", "ann@example.test"))
    git_server.seed(
        "r", {"a.txt": "two\n", "d/b.bin": None}, message="edit", date=t0 + timedelta(hours=5)
    )
    bare = git_server.path("r")
    commits = gitutil.list_commits(bare, "main")
    assert [c.subject for c in commits] == ["edit", "from dir"]
    assert commits[1].author_name == "Ann"
    assert commits[1].author_date == t0
    assert commits[0].committer_date == t0 + timedelta(hours=5)
    assert gitutil.read_file(bare, "main", "a.txt") == b"two\n"
    assert gitutil.read_file(bare, "main~1", "d/b.bin") == b"\x00\x01"
    with pytest.raises(gitutil.GitCommandError):
        gitutil.read_file(bare, "main", "d/b.bin")


def test_basic_auth_header_shape(git_server: GitServer) -> None:
    """auth_header("basic") carries the token as the password of a Basic credential."""
    header = git_server.auth_header("basic")
    user, _, password = base64.b64decode(header.split()[1]).decode().partition(":")
    assert user
    assert password == git_server.token


def test_large_push_streams_a_chunked_body(
    git_server: GitServer, seeded: str, tmp_path: Path
) -> None:
    """A push bigger than git's post buffer (sent chunked, after a probe request) lands."""
    env = git_server.git_env()
    work = tmp_path / "w"
    assert run_git("clone", "-q", git_server.url(seeded), str(work), env=env).returncode == 0
    payload = os.urandom(3 * 1024 * 1024)
    sha = gitutil.commit_files(work, {"big.bin": payload}, message="big")
    push = run_git("push", "-q", "origin", "HEAD:main", cwd=work, env=env)
    assert push.returncode == 0, push.stderr
    bare = git_server.path(seeded)
    assert gitutil.rev_parse(bare, "main") == sha
    assert gitutil.read_file(bare, "main", "big.bin") == payload
    assert any(r.chunked and r.service == "git-receive-pack" for r in git_server.requests)
