"""Run git: argv lists only, one place that builds the environment, redacted errors.

Authentication: the token travels to git as an ``Authorization`` HTTP header set through
the *environment* (``GIT_CONFIG_COUNT`` / ``GIT_CONFIG_KEY_n`` / ``GIT_CONFIG_VALUE_n``),
scoped to the remote's URL (``http.<url>.extraHeader``). It is never in a URL, in argv, in
``.git/config`` or in a message: it is registered with :mod:`gitops_promote.adapters.secrets` and
every stderr line that reaches an exception passes through ``redact``.

System and global git config are kept (on GitHub runners the system config may carry
``safe.directory``); the settings that would change what the automation does are
overridden through the same environment mechanism (hooks, fsmonitor, auto gc, prompts,
credential helpers when a token is given, earlier ``extraHeader`` values for the remote).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from gitops_promote.adapters import secrets
from gitops_promote.adapters.git.failures import (
    HINTS,
    Completed,
    ErrorKind,
    GitCommandError,
    classify,
    command_error,
    first_useful_line,
)
from gitops_promote.adapters.git.urls import (
    auth_header,
    check_remote_url,
    check_token_url,
    github_url,
    register_url_secret,
    safe_url,
)
from gitops_promote.errors import UserError

MIN_GIT_VERSION = (2, 35)  # GIT_CONFIG_COUNT (2.31), sparse-checkout set --no-cone (2.35)

# Environment variables that would point git at another repository or index than ours.
_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
    "GIT_LITERAL_PATHSPECS",
    "GIT_GLOB_PATHSPECS",
    "GIT_NOGLOB_PATHSPECS",
    "GIT_ICASE_PATHSPECS",
    "GIT_REFLOG_ACTION",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_DATE",
)

# Settings that make the automation predictable whatever the user's config says.
_BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),  # no repository or user hooks run
    ("core.fsmonitor", "false"),  # no fsmonitor program runs
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("advice.detachedHead", "false"),
    ("protocol.version", "2"),
    ("http.lowSpeedLimit", "1000"),  # abort transfers stuck below 1 kB/s ...
    ("http.lowSpeedTime", "120"),  # ... for two minutes
)

_GITHUB_BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


@dataclass(frozen=True)
class Identity:
    """Author and committer of the commits the tool makes (set through the environment)."""

    name: str = _GITHUB_BOT[0]
    email: str = _GITHUB_BOT[1]

    def __post_init__(self) -> None:
        for value, what in ((self.name, "name"), (self.email, "email")):
            if not value.strip() or any(c in value for c in "<>\n\0"):
                raise UserError(
                    f"commit author {what} {value!r} is not valid",
                    hint="use a plain name and an e-mail address without <, > or newlines",
                )


DEFAULT_IDENTITY = Identity()


class PushGuardError(RuntimeError):
    """A ``git push`` was about to run without passing the base-branch guard (a bug)."""


# -- the environment ----------------------------------------------------------------------


def build_env(
    base: Mapping[str, str],
    *,
    identity: Identity = DEFAULT_IDENTITY,
    token: str | None = None,
    remote_url: str | None = None,
) -> dict[str, str]:
    """The environment of every git child process (the one place it is built).

    ``token`` (with ``remote_url``, an http(s) URL) becomes ``http.<remote_url>.extraHeader``
    set through ``GIT_CONFIG_*``, after a reset of any earlier value for that URL (so a
    header persisted by ``actions/checkout`` is replaced, not sent twice); credential
    helpers are switched off for it. Entries already in ``GIT_CONFIG_COUNT`` are kept.
    Variables whose value holds a registered secret (the token's own GITOPS_PROMOTE_TOKEN,
    GITHUB_TOKEN or INPUT_TOKEN) are not passed on: git, and whatever git starts, get the
    token only as that header.
    """
    env = {
        k: v
        for k, v in base.items()
        if k not in _REPO_ENV and (k.startswith("GIT_CONFIG_") or secrets.redact(v) == v)
    }
    env.update(
        {
            "LC_ALL": "C",
            "LANGUAGE": "",
            "GIT_TERMINAL_PROMPT": "0",
            "GCM_INTERACTIVE": "never",
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
    )
    config: list[tuple[str, str]] = list(_BASE_CONFIG)
    if token:
        env["GIT_ASKPASS"] = ""
        env["SSH_ASKPASS"] = ""
        env["GIT_TRACE_REDACT"] = "1"
        if remote_url and urlsplit(remote_url).scheme in ("http", "https"):
            check_token_url(remote_url)  # the header goes nowhere a listener could read it
            config += [
                ("credential.helper", ""),
                (f"credential.{remote_url}.helper", ""),
                (f"http.{remote_url}.extraHeader", ""),
                (f"http.{remote_url}.extraHeader", f"Authorization: {auth_header(token)}"),
            ]
    try:
        start = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        start = 0
    for i, (key, value) in enumerate(config, start=start):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(config))
    return env


# -- the runner ---------------------------------------------------------------------------


@functools.cache
def git_version(binary: str = "git") -> tuple[int, ...]:
    """The version of the git at ``binary`` (checked once per process)."""
    try:
        proc = subprocess.run(
            [binary, "version"],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=build_env(os.environ),
        )
    except FileNotFoundError:
        raise _missing_git(binary) from None
    match = re.search(rb"git version (\d+)\.(\d+)(?:\.(\d+))?", proc.stdout)
    if proc.returncode != 0 or match is None:
        raise UserError(f"{binary!r} does not look like git", hint="install git >= 2.35")
    return tuple(int(g) for g in match.groups(default=b"0"))


def _missing_git(binary: str) -> UserError:
    return UserError(
        f"git is not installed (no {binary!r} on PATH)",
        hint="install git >= 2.35 (apt-get install git); GitHub runners have it",
    )


def _subcommand(args: Sequence[str]) -> str:
    for arg in args:
        if not arg.startswith("-"):
            return arg
    return "git"


def _print_stderr(line: str) -> None:
    print(line, file=sys.stderr)


@dataclass(frozen=True)
class Git:
    """Runs git with argv lists (never a shell) in ``cwd``.

    ``token`` + ``remote_url``: authenticate to that remote (see :func:`build_env`).
    ``noop``: commands run with ``write=True`` (commit, push, reset of history) are
    printed through ``echo`` instead of run; reads still run.
    """

    cwd: Path | None = None
    token: str | None = field(default=None, repr=False)
    remote_url: str | None = None
    identity: Identity = DEFAULT_IDENTITY
    noop: bool = False
    echo: Callable[[str], None] = _print_stderr
    binary: str = "git"
    base_env: Mapping[str, str] | None = field(default=None, repr=False)
    timeout: float = 900.0

    def __post_init__(self) -> None:
        if self.token:
            auth_header(self.token)  # register the token and its header before anything runs

    def at(self, cwd: Path) -> Git:
        """The same runner in another directory."""
        return replace(self, cwd=cwd)

    def env(self) -> dict[str, str]:
        """The environment of git child processes."""
        base = os.environ if self.base_env is None else self.base_env
        return build_env(base, identity=self.identity, token=self.token, remote_url=self.remote_url)

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        write: bool = False,
        push_guard: object = None,
        config: Sequence[tuple[str, str]] = (),
        cwd: Path | None = None,
        to_file: bool = False,
    ) -> Completed:
        """Run ``git *args``; raise :class:`GitCommandError` on failure when ``check``.

        ``to_file``: git writes its output to an unnamed temporary file, read once git is
        done (megabytes from a pipe cost this process a wake-up per few kilobytes).

        ``push`` refuses to run unless ``push_guard`` is the token that
        :func:`gitops_promote.adapters.git.repo.check_push_allowed` hands out: every push goes
        through the base-branch guard. ``config`` adds ``-c``-like settings (through the
        environment, never argv).
        """
        sub = _subcommand(args)
        if sub == "push" and push_guard is not _GUARD_PASSED:
            raise PushGuardError("git push must go through Repo.push (the base-branch guard)")
        argv = (self.binary, *args)
        if write and self.noop:
            self.echo(secrets.redact(f"dry-run: would run: {shlex.join(argv)}"))
            return Completed(tuple(args), 0, b"", "")
        if self.token:
            version = git_version(self.binary)
            if version[:2] < MIN_GIT_VERSION:
                raise UserError(
                    f"git {'.'.join(map(str, version))} is too old",
                    hint="gitops-promote needs git >= 2.35: install a newer git",
                )
        env = self.env()
        if config:
            start = int(env["GIT_CONFIG_COUNT"])
            for i, (key, value) in enumerate(config, start=start):
                env[f"GIT_CONFIG_KEY_{i}"] = key
                env[f"GIT_CONFIG_VALUE_{i}"] = value
            env["GIT_CONFIG_COUNT"] = str(start + len(config))
        try:
            with tempfile.TemporaryFile() if to_file else contextlib.nullcontext() as sink:
                proc = subprocess.run(
                    argv,
                    cwd=cwd or self.cwd,
                    env=env,
                    input=input,
                    stdin=None if input is not None else subprocess.DEVNULL,
                    stdout=sink if sink is not None else subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    check=False,
                    timeout=self.timeout,
                )
                if sink is not None:
                    sink.seek(0)
                    proc.stdout = sink.read()
        except FileNotFoundError as exc:
            if cwd or self.cwd:
                where = Path(cwd or self.cwd or ".")
                if not where.is_dir():
                    raise UserError(f"directory {where} does not exist") from None
            raise _missing_git(self.binary) from exc
        except subprocess.TimeoutExpired:
            raise GitCommandError(
                f"git {sub} timed out after {self.timeout:.0f} s",
                hint=HINTS["transient"],
                subcommand=sub,
                returncode=-1,
                stderr="",
                kind="transient",
            ) from None
        result = Completed(
            tuple(args),
            proc.returncode,
            proc.stdout,
            secrets.redact(proc.stderr.decode("utf-8", "replace")),
        )
        if check and not result.ok:
            raise command_error(sub, result, self.remote_url)
        return result

    def stream(self, *args: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """Run a read-only ``git *args`` and yield its stdout as it comes. Closing the
        iterator early stops git; a failure raises :class:`GitCommandError` at the end."""
        sub = _subcommand(args)
        if sub == "push":
            raise PushGuardError("git push must go through Repo.push (the base-branch guard)")
        argv = (self.binary, *args)
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=self.cwd,
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                )
            except FileNotFoundError as exc:
                raise _missing_git(self.binary) from exc
            stdout = proc.stdout
            if stdout is None:  # pragma: no cover - stdout=PIPE always gives one
                raise RuntimeError("no stdout pipe")
            finished = False
            try:
                while chunk := stdout.read(chunk_size):
                    yield chunk
                finished = True
            finally:
                if not finished:
                    proc.kill()
                stdout.close()
                returncode = proc.wait()
            if returncode != 0:
                errors.seek(0)
                stderr = secrets.redact(errors.read().decode("utf-8", "replace"))
                raise command_error(sub, Completed(tuple(args), returncode, b"", stderr), None)


class _GuardPassed:
    """The token :func:`check_push_allowed` returns; only it lets ``git push`` run."""

    def __repr__(self) -> str:
        return "<push guard passed>"


_GUARD_PASSED = _GuardPassed()

__all__ = [
    "DEFAULT_IDENTITY",
    "MIN_GIT_VERSION",
    "Completed",
    "ErrorKind",
    "Git",
    "GitCommandError",
    "Identity",
    "PushGuardError",
    "auth_header",
    "build_env",
    "check_remote_url",
    "check_token_url",
    "classify",
    "command_error",
    "first_useful_line",
    "git_version",
    "github_url",
    "register_url_secret",
    "safe_url",
]
