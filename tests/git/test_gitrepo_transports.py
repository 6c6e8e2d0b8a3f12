"""The git layer over every transport and repo age, and what it sends where: shallow
promotion clones of a month-quiet repo over ``git://``, ``ssh://``, ``file://`` and a plain
path; a checkout aligned with its remote before anything is decided; no token over plain
http to another machine."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from git.gitrepo_helpers import overlay, seed_files
from git.transports import Transport, file_transport, git_daemon, path_transport, sshd
from gitops_promote.adapters import secrets
from gitops_promote.adapters.git import Git, GitCommandError, Repo, build_env, check_token_url
from gitops_promote.adapters.workspace import Credentials, Location, open_workspace
from gitops_promote.errors import UserError
from support import gitutil

MONTH_AGO = datetime.now(UTC) - timedelta(days=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[[str], tuple[Path, Transport]]]:
    """``served(name)``: a bare repo whose two commits are a month old or older, and the
    transport that serves it (``git``, ``ssh``, ``file`` or ``path``)."""
    with ExitStack() as stack:

        def make(name: str) -> tuple[Path, Transport]:
            root = tmp_path / f"served-{name}"
            bare = gitutil.init_bare(root / "config.git")
            gitutil.commit_tree_to_bare(
                bare, seed_files(), message="seed", date=MONTH_AGO - timedelta(days=9)
            )
            gitutil.commit_tree_to_bare(bare, {"README": "x\n"}, message="docs", date=MONTH_AGO)
            if name == "git":
                return bare, stack.enter_context(git_daemon(root, tmp_path / "daemon"))
            if name == "ssh":
                return bare, stack.enter_context(sshd(root, tmp_path / "sshd"))
            return bare, (file_transport(root) if name == "file" else path_transport(root))

        yield make


def _git(transport: Transport) -> Git:
    return Git(base_env={**os.environ, **transport.env})


@pytest.mark.parametrize("name", ["git", "ssh", "file", "path"])
def test_shallow_clone_since_a_day_of_a_month_quiet_repo(
    served: Callable[[str], tuple[Path, Transport]], name: str, tmp_path: Path
) -> None:
    """Nothing landed in the last day: the clone is the tip alone (git refuses the empty
    --shallow-since window, in words that differ per transport: a GitCommandError, exit
    3, before), the window needs no fetch, and the whole history still comes when read.
    A clone that really fails (no such repo) still raises."""
    bare, transport = served(name)
    since = datetime.now(UTC) - timedelta(days=1)
    repo = Repo.clone(
        transport.url(bare),
        tmp_path / "c",
        git=_git(transport),
        sparse_paths=["promotion.yaml"],
        shallow=True,
        recent=since,
    )
    assert repo.head() == gitutil.rev_parse(bare, "main")
    assert (repo.root / "promotion.yaml").read_text() == "version: 1\n"
    repo.deepen_since(since)
    files = [f"{overlay('api', 'dev')}/kustomization.yaml"]
    assert [c.subject for c in repo.log_paths(files)] == ["seed"]
    assert gitutil.git("rev-list", "--count", "HEAD", cwd=repo.root) == "2"
    assert not repo.shallow
    # the fallback to the tip alone hides no real failure: a missing repo still fails
    missing = transport.url(bare).replace("config.git", "nope.git")
    with pytest.raises(GitCommandError):
        Repo.clone(missing, tmp_path / "m", git=_git(transport), shallow=True, recent=since)
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_align_with_remote_moves_behind_and_ahead_checkouts_to_the_tip(tmp_path: Path) -> None:
    """A checkout behind its remote is fast-forwarded; one ahead moves to the tip too and
    keeps what it was at (restore_unpushed puts it back); one at the tip stays."""
    bare = gitutil.init_bare(tmp_path / "config.git")
    gitutil.commit_tree_to_bare(bare, seed_files(), message="seed")
    work = tmp_path / "work"
    gitutil.git("clone", "-q", str(bare), str(work))
    repo = Repo.open(work)
    assert repo.align_with_remote() is None

    tip = gitutil.commit_tree_to_bare(bare, {"README": "1\n"}, message="remote moved")
    assert repo.align_with_remote() is None
    assert repo.head() == tip

    mine = gitutil.commit_files(work, {"notes": "mine\n"}, message="mine")
    unpushed = repo.align_with_remote()
    assert unpushed is not None
    assert (unpushed.head, unpushed.base, unpushed.count) == (mine, tip, 1)
    assert repo.head() == tip
    assert not (work / "notes").exists()
    repo.restore_unpushed()
    assert repo.head() == mine
    assert (work / "notes").read_text() == "mine\n"


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://git.example.com/org/config.git", True),
        ("http://10.1.2.3:8080/org/config.git", True),
        ("http://127.0.0.1.example.com/x.git", True),
        ("http://localhost.example.com/x.git", True),
        ("https://git.example.com/org/config.git", False),
        ("http://127.0.0.1:8080/org/config.git", False),
        ("http://localhost/org/config.git", False),
        ("http://[::1]:8080/org/config.git", False),
    ],
)
def test_the_token_header_goes_only_over_https_or_to_loopback(url: str, refused: bool) -> None:
    """The one place the Authorization header is built refuses a plain-http remote on
    another host (UserError, exit 2, the token not in the message)."""
    token = "ghp_headertokenheadertokenheader0001"
    if refused:
        with pytest.raises(UserError, match="plain http") as info:
            build_env({}, token=token, remote_url=url)
        assert token not in str(info.value)
        with pytest.raises(UserError):
            check_token_url(url)
    else:
        env = build_env({}, token=token, remote_url=url)
        assert any(v.startswith("Authorization: Basic ") for v in env.values())


def test_a_github_app_key_is_not_sent_to_a_plain_http_api(tmp_path: Path) -> None:
    """A GitHub App's token is asked for at GITHUB_API_URL: a plain-http one on another
    host is refused before the signed key goes there (it was tried: a network error)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    api = "http://ghe.example.invalid/api/v3"
    creds = Credentials(None, app_id="1", app_private_key=pem, api_url=api)
    loc = Location(config_repo="org/config")
    with (
        pytest.raises(UserError, match=re.escape(f"plain http to {api}")),
        open_workspace(loc, creds),
    ):
        pass


def test_the_user_of_an_ssh_remote_is_not_a_secret(
    served: Callable[[str], tuple[Path, Transport]], tmp_path: Path
) -> None:
    """A ``--repo`` checkout whose origin is ``ssh://user@host/...``: the user name is a
    login, not a token. It was masked as one: every message lost it, and every variable
    that mentions it (``GIT_SSH_COMMAND`` with a key under the user's home) was dropped,
    so the first fetch failed. An https user name stays a secret (a token goes there)."""
    bare, transport = served("ssh")
    work = tmp_path / "work"
    gitutil.git("clone", "-q", transport.url(bare), str(work), env=transport.env)
    repo = Repo.open(work, git=_git(transport))
    user = transport.url(bare).split("//", 1)[1].split("@", 1)[0]
    assert secrets.redact(f"hello {user}") == f"hello {user}"
    assert repo.fetch(["main"])["main"] == gitutil.rev_parse(bare, "main")

    gitutil.git(
        "remote", "set-url", "origin", "https://tok3n-in-url@example.invalid/c.git", cwd=work
    )
    Repo.open(work)
    assert secrets.redact("tok3n-in-url") == "***"


@pytest.mark.parametrize(
    ("api", "refused"),
    [
        ("http://ghe.example.invalid/api/v3", True),
        ("http://10.1.2.3/api/v3", True),
        ("https://ghe.example.invalid/api/v3", False),
        ("http://127.0.0.1:9/api/v3", False),
    ],
)
def test_the_github_client_sends_its_token_only_over_https_or_to_loopback(
    api: str, refused: bool
) -> None:
    """The GitHub API client (PR, comment, commit status) refuses a plain-http
    GITHUB_API_URL on another host before any request carries the token; the message
    names the URL, never the token. Building a client makes no request, so the allowed
    URLs need no server."""
    from gitops_promote.adapters.github import GitHub

    token = "ghp_apitokenapitokenapitokenapitoken01"
    if refused:
        with pytest.raises(UserError, match="plain http") as info:
            GitHub("org/config", token=token, api_url=api)
        assert token not in str(info.value)
    else:
        GitHub("org/config", token=token, api_url=api).close()
