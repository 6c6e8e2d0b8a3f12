"""End to end through the CLI: authenticating as a GitHub App (app id + private key ->
installation token), for both git and the API, with nothing but the key in the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import gitutil
from support.githttp import GitServer
from support.github_fake import GitHubFake
from support.inprocess import cli
from support.repos import EXAMPLE, SEED_DATE, digest_of


@pytest.fixture
def app_platform(
    github: GitHubFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GitServer, GitHubFake]]:
    """A git server that accepts every token the GitHub fake issued (the App's
    installation tokens among them), serving org/config on both."""
    server = GitServer(tmp_path_factory.mktemp("git-app"), accept=github.knows_token)
    with server:
        server.seed("org/config", EXAMPLE, message="Initial config", date=SEED_DATE)
        github.add_repo("org", "config", server.path("org/config"))
        yield server, github


def test_app_credentials_promote_through_git_and_the_api(
    app_platform: tuple[GitServer, GitHubFake], tmp_path: Path
) -> None:
    """--app-id with the key in GITOPS_PROMOTE_APP_PRIVATE_KEY: the installation token is
    made (2 API calls), used for the push and for the PR; neither key nor token is printed."""
    server, api = app_platform
    env = {
        "GITOPS_PROMOTE_APP_PRIVATE_KEY": api.app_private_key,
        "GITHUB_API_URL": api.api_url,
        "GITHUB_SERVER_URL": server.base_url,
    }
    common = ("--config-repo", "org/config", "--app-id", str(api.app_id), "--skip-registry-check")
    digest = digest_of("app-built")
    run = cli(
        "promote",
        *common,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest,
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert json.loads(run.stdout)["operation"] == "pushed"
    dev = gitutil.read_file(
        server.path("org/config"), "main", "apps/api-service/overlays/dev/kustomization.yaml"
    )
    assert f"digest: {digest}".encode() in dev
    assert api.count("apps/get-repo-installation") == 1
    assert api.count("apps/create-installation-access-token") == 1
    tokens = [c for c in api.calls if c.operation == "apps/create-installation-access-token"]
    assert tokens[0].status == 201
    assert "PRIVATE KEY" not in run.output

    # dev's commit is dated by the clock, and a promotion may not be requested in the
    # future: staging's 1h soak is left to the pull request's check
    run = cli(
        "promote",
        *common,
        "--app",
        "api-service",
        "--env",
        "staging",
        "--json",
        "--defer-gates",
        cwd=tmp_path,
        env=env,
    )
    out = json.loads(run.stdout)
    assert out["operation"] == "pr-created"
    (pull,) = api.pulls(state="open")
    assert pull.user.endswith("[bot]")
    assert "PRIVATE KEY" not in run.output


def test_bad_app_key_is_a_clear_error(
    app_platform: tuple[GitServer, GitHubFake], tmp_path: Path
) -> None:
    """A key that is not a PEM RSA key: one line, exit 2, nothing written."""
    server, api = app_platform
    before = gitutil.rev_parse(server.path("org/config"), "main")
    run = cli(
        "promote",
        "--config-repo",
        "org/config",
        "--app-id",
        str(api.app_id),
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("x"),
        "--skip-registry-check",
        cwd=tmp_path,
        env={
            "GITOPS_PROMOTE_APP_PRIVATE_KEY": "not a key",
            "GITHUB_API_URL": api.api_url,
            "GITHUB_SERVER_URL": server.base_url,
        },
        check=2,
    )
    assert run.stderr.count("error:") == 1
    assert "Traceback" not in run.output
    assert gitutil.rev_parse(server.path("org/config"), "main") == before
