"""Token handling: the token reaches the git server only as an Authorization header set
through the environment; it never shows in argv, URLs, .git/, messages or output."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from git.gitrepo_helpers import ArgvLog, ConfigRepo, clone, overlay
from gitops_promote.adapters import secrets
from gitops_promote.adapters.git import (
    Git,
    GitCommandError,
    Identity,
    Repo,
    Retry,
    build_env,
    check_remote_url,
    github_url,
)
from gitops_promote.deliver.push import push_with_retry
from gitops_promote.errors import GitError, UserError
from support import gitutil


def _token_forms(token: str) -> list[str]:
    forms = [token]
    for prefix in ("x-access-token:", ""):
        forms.append(base64.b64encode(f"{prefix}{token}".encode()).decode())
    return forms


def _all_bytes_under(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


def _edit(repo: Repo, app: str, value: str) -> bool:
    target = repo.root / overlay(app, "dev") / "kustomization.yaml"
    old = target.read_text()
    new = old.replace("0" * 64, value * 64)
    if new == old:
        return False
    target.write_text(new)
    return True


def test_token_never_in_argv_config_or_output(
    config_repo: ConfigRepo,
    argv_log: ArgvLog,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    no_wait: Retry,
) -> None:
    """A full promotion (clone, sparse add, history, blobs, commit, push, branch push)
    authenticates with the token, yet the token (plain or base64) appears in no argv of any
    git process (shim log and GIT_TRACE), in nothing under .git/, in no request URL, and
    in nothing printed."""
    repo = clone(config_repo, tmp_path / "c", "promotion.yaml", git=argv_log.git())
    repo.add_sparse([overlay("api", "dev")])
    repo.log_paths([overlay("api", "dev")])
    repo.read_blobs([("HEAD", f"{overlay('web', 'prod')}/kustomization.yaml")])
    config_repo.server.seed(config_repo.name, {"README.md": "someone else\n"})  # forces a retry
    result = push_with_retry(
        repo,
        lambda: _edit(repo, "api", "a"),
        "promote api",
        paths=[overlay("api", "dev")],
        allow_base_push=True,
        retry=no_wait,
    )
    assert result.status == "pushed"
    assert result.attempts == 2
    repo.push_branch("promote/dev/api", expected_remote_sha=None)

    logged = argv_log.text()
    assert "clone" in logged
    assert "push" in logged
    assert "git-remote-http" in logged or "remote-http" in logged  # children are traced too
    git_dir = _all_bytes_under(repo.root / ".git")
    out, err = capfd.readouterr()
    urls = " ".join(r.url_path for r in config_repo.server.requests)
    for form in _token_forms(config_repo.token):
        assert form not in logged
        assert form.encode() not in git_dir
        assert form not in out
        assert form not in err
        assert form not in urls
    assert all(r.authorized for r in config_repo.server.requests)
    assert {r.auth_scheme for r in config_repo.server.requests} == {"basic"}
    assert {r.basic_user for r in config_repo.server.requests} == {"x-access-token"}


def test_missing_token_is_a_clear_auth_error(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """Without a token the server answers 401: the error says authentication failed, names
    the remote, tells how to fix it, exits 2 (the user's to fix), and git never waits for a
    prompt."""
    with pytest.raises(GitCommandError) as info:
        Repo.clone(config_repo.url, tmp_path / "c", sparse_paths=["promotion.yaml"])
    error = info.value
    assert error.kind == "auth"
    assert error.exit_code == 2
    assert error.message == f"git clone failed ({config_repo.url}): authentication failed"
    assert error.hint is not None
    assert "token" in error.hint
    assert "\n" not in str(error)


def test_wrong_token_is_refused_and_redacted(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A wrong token gets the same one-line auth error; neither token shows in it."""
    wrong = "ghs_wrongwrongwrongwrong"
    with pytest.raises(GitCommandError) as info:
        Repo.clone(config_repo.url, tmp_path / "c", token=wrong, sparse_paths=["promotion.yaml"])
    text = f"{info.value} {info.value.stderr}"
    assert info.value.kind == "auth"
    for form in (*_token_forms(wrong), *_token_forms(config_repo.token)):
        assert form not in text


def test_server_error_message_is_one_redacted_line(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A failing git command raises a GitError whose message is one line naming the git
    subcommand and the first useful line of git's stderr, with the token masked even when
    git's stderr contained it."""
    repo = clone(config_repo, tmp_path / "c")
    config_repo.server.fail_next(5, status=500)
    with pytest.raises(GitCommandError) as info:
        repo.fetch(["main"])
    error = info.value
    assert error.kind == "transient"
    assert error.subcommand == "fetch"
    assert error.message.startswith("git fetch failed (")
    assert "500" in error.message
    assert "\n" not in str(error)
    # Redaction of stderr itself: a git error that echoes the token is masked.
    echoed = Git(cwd=repo.root, token=config_repo.token).run(
        "cat-file", "-t", f"no-such-{config_repo.token}", check=False
    )
    assert config_repo.token not in echoed.stderr
    assert "no-such-***" in echoed.stderr


def test_token_replaces_a_persisted_header(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A checkout whose .git/config already carries an Authorization extraheader for the
    host (what actions/checkout persists) still authenticates with OUR token: the earlier
    header is reset for the remote, not sent twice (the server would read the stale one)."""
    work = gitutil.init_repo(tmp_path / "checkout")
    gitutil.git("remote", "add", "origin", config_repo.url, cwd=work)
    gitutil.git("fetch", "-q", "origin", "main", cwd=work, env=config_repo.server.git_env())
    gitutil.git("checkout", "-q", "-B", "main", "FETCH_HEAD", cwd=work)
    stale = base64.b64encode(b"x-access-token:stale-token").decode()
    gitutil.git(
        "config",
        f"http.{config_repo.server.base_url}/.extraheader",
        f"AUTHORIZATION: basic {stale}",
        cwd=work,
    )
    with pytest.raises(gitutil.GitCommandError):  # the stale header alone is refused
        gitutil.git("ls-remote", "origin", cwd=work)
    repo = Repo.open(work, token=config_repo.token)
    assert repo.remote_branch_sha("main") == gitutil.rev_parse(config_repo.bare, "main")
    assert config_repo.token not in (work / ".git" / "config").read_text()


def test_env_scopes_the_header_to_the_remote() -> None:
    """The environment built for git carries the header for exactly the remote's URL (after
    a reset of earlier values), switches credential helpers off, keeps GIT_CONFIG_* entries
    that were already there, removes GIT_DIR-like variables, and sets the identity."""
    env = build_env(
        {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "user.useConfigOnly",
            "GIT_CONFIG_VALUE_0": "true",
            "GIT_DIR": "/elsewhere",
            "PATH": "/usr/bin",
        },
        identity=Identity("Promo Bot", "bot@example.test"),
        token="tok_abcdef123456",
        remote_url="https://git.example.test/org/config.git",
    )
    count = int(env["GIT_CONFIG_COUNT"])
    pairs = [(env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"]) for i in range(count)]
    assert pairs[0] == ("user.useConfigOnly", "true")
    key = "http.https://git.example.test/org/config.git.extraHeader"
    values = [v for k, v in pairs if k == key]
    expected = base64.b64encode(b"x-access-token:tok_abcdef123456").decode()
    assert values == ["", f"Authorization: Basic {expected}"]
    assert ("credential.helper", "") in pairs
    assert ("core.hooksPath", "/dev/null") in pairs
    assert "GIT_DIR" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GCM_INTERACTIVE"] == "never"
    assert env["GIT_AUTHOR_NAME"] == env["GIT_COMMITTER_NAME"] == "Promo Bot"
    assert env["GIT_AUTHOR_EMAIL"] == env["GIT_COMMITTER_EMAIL"] == "bot@example.test"
    assert "GIT_CONFIG_NOSYSTEM" not in env  # system config (safe.directory) still applies
    assert secrets.redact(f"Authorization: Basic {expected}") == "Authorization: Basic ***"


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    """A remote URL with user:token in it is refused with a hint to pass the token apart;
    the message shows the URL without the credentials."""
    with pytest.raises(UserError) as info:
        check_remote_url("https://x-token:ghp_secretsecret123@github.com/org/config.git")
    assert "ghp_secretsecret123" not in str(info.value)
    assert "https://github.com/org/config.git" in str(info.value)
    assert "GITOPS_PROMOTE_TOKEN" in str(info.value)
    assert secrets.redact("ghp_secretsecret123") == "***"


def test_github_url() -> None:
    """owner/name becomes a clone URL on github.com or on a GitHub Enterprise server."""
    assert github_url("org/config") == "https://github.com/org/config.git"
    assert github_url("org/config", "https://ghe.example.test/") == (
        "https://ghe.example.test/org/config.git"
    )
    with pytest.raises(UserError):
        github_url("org/../config")


def test_missing_git_binary_is_a_user_error(tmp_path: Path) -> None:
    """When git is not installed the error says so and how to fix it (exit 2)."""
    runner = Git(cwd=tmp_path, binary=str(tmp_path / "no-git-here"))
    with pytest.raises(UserError) as info:
        runner.run("status")
    assert info.value.exit_code == 2
    assert "git is not installed" in str(info.value)


def test_forbidden_push_is_not_retried(
    config_repo: ConfigRepo, tmp_path: Path, no_wait: Retry
) -> None:
    """A 403 on push (token without write access) fails at once with a GitError that says
    the token may not push; nothing is retried."""
    repo = clone(config_repo, tmp_path / "c", overlay("api", "dev"))
    config_repo.server.fail_next(10, status=403, service="git-receive-pack")
    with pytest.raises(GitError) as info:
        push_with_retry(
            repo,
            lambda: _edit(repo, "api", "b"),
            "promote api",
            paths=[overlay("api", "dev")],
            allow_base_push=True,
            retry=no_wait,
        )
    assert info.value.exit_code == 2
    assert "403" in str(info.value)
    assert config_repo.server.pending_faults == 9


def test_open_masks_a_token_left_in_the_remote_url(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """A checkout cloned the guide's way (token in the remote URL) is opened; the token in
    that URL is masked in every message, and the URL shown has no user info."""
    work = gitutil.init_repo(tmp_path / "checkout")
    gitutil.commit_files(work, {"a": "1\n"})
    host = config_repo.server.base_url.removeprefix("http://")
    gitutil.git(
        "remote", "add", "origin", f"http://x-token:ghp_leaky123456@{host}/org/nope.git", cwd=work
    )
    repo = Repo.open(work)
    assert "ghp_leaky123456" not in repo.remote_url
    assert secrets.redact("ghp_leaky123456") == "***"
