"""Bad input through the CLI is exit 2 with one ``error:`` line, whatever the command.

Every case is run as a user would (a child process against a config repo on the HTTP git
server, or a local checkout) and must: exit 2, print exactly one line on stderr, that
line an ``error:`` naming the input, no traceback and no "internal error", quote at most
80 characters of a long bad value, and write nothing (the remote's refs and the local
checkout are as they were). The world failing stays exit 3 (not tested here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import gitutil
from support.githttp import GitServer
from support.repos import EXAMPLE, SEED_DATE, cli, digest_of

LONG = "x" * 300
UNKNOWN_COMMIT = "0123456789abcdef0123456789abcdef01234567"
FUTURE = "2099-01-01T00:00:00Z"
DEV = ("--app", "api-service", "--env", "dev", "--skip-registry-check")


@dataclass(frozen=True)
class Where:
    """The places a case can run against."""

    remote: str  # the example config repo over HTTP
    empty_remote: str  # a bare repo without a commit
    empty_checkout: Path  # `git init` with the example's files, nothing committed


Argv = Callable[[Where], list[str]]


@dataclass(frozen=True)
class Case:
    name: str
    argv: Argv
    mentions: str  # what the error line must name


def remote(*args: str) -> Argv:
    return lambda w: [args[0], "--remote", w.remote, *args[1:]]


def empty_remote(*args: str) -> Argv:
    return lambda w: [args[0], "--remote", w.empty_remote, *args[1:]]


def empty_checkout(*args: str) -> Argv:
    return lambda w: [args[0], "--repo", str(w.empty_checkout), *args[1:]]


def plain(*args: str) -> Argv:
    return lambda _: list(args)


def overlay_of(*args: str) -> Argv:
    """``set-image`` on the dev overlay of the checkout."""
    overlay = "apps/api-service/overlays/dev"
    return lambda w: [args[0], str(w.empty_checkout / overlay), *args[1:]]


CASES = [
    # refs that do not exist are the user's mistake, not the git server failing
    Case("check: mistyped --base", remote("check", "--base", "mian", "--no-render"), "--base"),
    Case(
        "check: mistyped --base with the remote's prefix",
        remote("check", "--base", "origin/mian", "--no-render"),
        "--base",
    ),
    Case(
        "check: --head commit id that does not exist",
        remote("check", "--head", UNKNOWN_COMMIT, "--no-render"),
        "--head",
    ),
    Case("check: long --base", remote("check", "--base", LONG, "--no-render"), "--base"),
    # numbers that are not numbers
    Case("check: --render-timeout nan", remote("check", "--render-timeout", "nan"), "--render"),
    Case("check: --render-timeout inf", remote("check", "--render-timeout", "inf"), "--render"),
    Case("check: --render-timeout 1e20", remote("check", "--render-timeout", "1e20"), "--render"),
    # out-of-range times, in every command that takes --now
    Case(
        "check: --now in the year 9999",
        remote("check", "--now", "9999-12-31T23:59:59Z", "--no-render"),
        "--now",
    ),
    Case(
        "check: --now in the year 1",
        remote("check", "--now", "0001-01-01T00:00:00Z", "--no-render"),
        "--now",
    ),
    Case(
        "promote: --now in the year 9999",
        remote("promote", *DEV, "--digest", digest_of("a"), "--now", "9999-12-31T23:59:59Z"),
        "--now",
    ),
    Case(
        "promote: --now in the year 1 at an offset",
        remote("promote", *DEV, "--digest", digest_of("a"), "--now", "0001-01-01T00:00:00+01:00"),
        "--now",
    ),
    Case(
        "promote: --now from the future (it would be the commit's Promoted-At)",
        remote("promote", *DEV, "--digest", digest_of("a"), "--now", FUTURE),
        "--now",
    ),
    Case(
        "promote: --now from the future into a gated env",
        remote("promote", "--app", "api-service", "--env", "staging", "--now", FUTURE),
        "--now",
    ),
    Case("soak: --now from the future", remote("soak", "--now", FUTURE), "--now"),
    Case(
        "soak --dry-run: --now in the year 9999",
        remote("soak", "--dry-run", "--now", "9999-12-31T23:59:59Z"),
        "--now",
    ),
    Case(
        "promote: long --now",
        remote("promote", *DEV, "--digest", digest_of("a"), "--now", LONG),
        "--now",
    ),
    # long values are quoted, not pasted whole
    Case("status: long --env", remote("status", "--env", LONG), "environment"),
    Case("history: long --app", remote("history", "--app", LONG), "app"),
    Case("soak: long --app", remote("soak", "--dry-run", "--app", LONG), "app"),
    Case(
        "promote: long --app",
        remote("promote", "--app", LONG, "--env", "dev", "--digest", digest_of("a")),
        "app",
    ),
    Case(
        "promote: long --digest",
        remote("promote", *DEV, "--digest", "sha256:" + LONG),
        "--digest",
    ),
    Case("promote: long --author", remote("promote", *DEV, "--author", LONG), "--author"),
    Case(
        "promote: long --message placeholder",
        remote("promote", *DEV, "--digest", digest_of("a"), "--message", "{" + LONG + "}"),
        "--message",
    ),
    Case("promote: long --image", remote("promote", *DEV, "--image", LONG), "--image"),
    Case("promote: long --tag", remote("promote", *DEV, "--tag", LONG), "tag"),
    Case(
        "promote: long --token-env",
        remote("promote", *DEV, "--digest", digest_of("a"), "--token-env", LONG),
        "--token-env",
    ),
    Case(
        "promote: long --config-repo",
        plain("promote", *DEV, "--digest", digest_of("a"), "--config-repo", LONG),
        "--config-repo",
    ),
    Case("set-image: long image argument", overlay_of("set-image", LONG), "image argument"),
    Case("set-image: long tag", overlay_of("set-image", f"nginx:{LONG}"), "tag"),
    # paths no file system takes are bad input, not an OSError
    Case("set-image: long path", plain("set-image", LONG, "nginx:1"), "PATH"),
    Case("status: long --repo", plain("status", "--repo", LONG), "--repo"),
    Case("validate: long --config", remote("validate", "--config", LONG), "--config"),
    Case(
        "promote: long --config directory",
        remote("promote", *DEV, "--digest", digest_of("a"), "--config", f"a/{LONG}/b.yaml"),
        "--config",
    ),
    # a config repo without a single commit
    Case(
        "promote: --base-branch the remote lacks",
        remote("promote", *DEV, "--digest", digest_of("a"), "--base-branch", "mian"),
        "no branch",
    ),
    Case(
        "status: --base-branch the remote lacks",
        remote("status", "--base-branch", "mian"),
        "no branch",
    ),
    Case("status: empty remote", empty_remote("status"), "no commits"),
    Case(
        "promote: empty remote",
        empty_remote("promote", *DEV, "--digest", digest_of("a")),
        "no commits",
    ),
    Case("history: empty remote", empty_remote("history", "--app", "api-service"), "no commits"),
    Case("soak: empty remote", empty_remote("soak", "--dry-run"), "no commits"),
    Case("check: empty remote", empty_remote("check", "--no-render"), "no commits"),
    Case("status: checkout without commits", empty_checkout("status"), "no commits"),
    Case(
        "history: checkout without commits",
        empty_checkout("history", "--app", "api-service"),
        "no commits",
    ),
    Case("soak: checkout without commits", empty_checkout("soak", "--dry-run"), "no commits"),
    Case("check: checkout without commits", empty_checkout("check", "--no-render"), "no commits"),
]


@pytest.fixture
def where(git_server: GitServer, tmp_path: Path) -> Where:
    git_server.seed("org/config", EXAMPLE, message="Initial config", date=SEED_DATE)
    git_server.create_bare("org/empty")
    checkout = gitutil.init_repo(tmp_path / "empty-checkout")
    gitutil.write_files(
        checkout,
        {str(p.relative_to(EXAMPLE)): p.read_text() for p in EXAMPLE.rglob("*") if p.is_file()},
    )
    return Where(git_server.url("org/config"), git_server.url("org/empty"), checkout)


def _state(git_server: GitServer, where: Where) -> tuple[str, str, str, str]:
    """Everything a command could write: both remotes' refs, the checkout's refs and files."""
    return (
        gitutil.git("for-each-ref", cwd=git_server.path("org/config")),
        gitutil.git("for-each-ref", cwd=git_server.path("org/empty")),
        gitutil.git("for-each-ref", cwd=where.empty_checkout),
        gitutil.git("status", "--porcelain", "--untracked-files=all", cwd=where.empty_checkout),
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_exit_2_with_one_error_line(
    case: Case, where: Where, git_server: GitServer, tmp_path: Path
) -> None:
    """Each bad input: exit 2, one ``error:`` line that names it and quotes at most 80
    characters of it, no traceback, nothing written anywhere."""
    before = _state(git_server, where)
    run = cli(
        *case.argv(where),
        cwd=tmp_path,
        env={"GITOPS_PROMOTE_TOKEN": git_server.token or ""},
        check=None,
    )
    assert run.returncode == 2, run.output
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: "), run.stderr
    assert case.mentions in lines[0], run.stderr
    assert "Traceback" not in run.output
    assert "internal error" not in run.output
    assert "x" * 81 not in run.output
    assert _state(git_server, where) == before


@pytest.mark.parametrize(
    ("bound", "written"),
    [
        ("end", '"9999-12-31T23:59:59-05:00"'),
        ("end", "9999-12-31"),
        ("start", '"0001-01-01T00:00:00+01:00"'),
    ],
    ids=["end in 9999 at an offset", "end as a date in 9999", "start in the year 1"],
)
def test_a_freeze_timestamp_out_of_range_is_a_config_problem(
    git_server: GitServer, tmp_path: Path, bound: str, written: str
) -> None:
    """A one-off freeze window dated in the year 1 or 9999 is refused where promotion.yaml
    is read (exit 2, one line with file:line), not an internal error when the freeze gate
    runs; nothing is written."""
    text = (EXAMPLE / "promotion.yaml").read_text()
    original = {"start": '"2026-12-20T00:00:00+01:00"', "end": '"2027-01-04T08:00:00+01:00"'}
    assert f"{bound}: {original[bound]}" in text
    text = text.replace(f"{bound}: {original[bound]}", f"{bound}: {written}")
    git_server.seed("org/config", EXAMPLE, message="Initial config", date=SEED_DATE)
    git_server.seed("org/config", {"promotion.yaml": text}, message="far freeze", date=SEED_DATE)
    bare = git_server.path("org/config")
    before = gitutil.git("for-each-ref", cwd=bare)
    run = cli(
        "promote",
        "--remote",
        git_server.url("org/config"),
        "--app",
        "api-service",
        "--env",
        "production",
        "--digest",
        digest_of("far"),
        "--skip-registry-check",
        "--defer-gates",
        cwd=tmp_path,
        env={"GITOPS_PROMOTE_TOKEN": git_server.token or ""},
        check=None,
    )
    assert run.returncode == 2, run.output
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: promotion.yaml:"), line
    assert f"freeze window 'year-end': {bound} " in line
    assert "is out of range (from 1970-01-01 up to the year 2999)" in line
    assert "Traceback" not in run.output
    assert gitutil.git("for-each-ref", cwd=bare) == before
