"""What a git command did, and a failed one as a one-line, redacted, classified error
(auth, forbidden, not-found, transient: worth retrying, other) with a hint to fix it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gitops_promote.adapters import secrets
from gitops_promote.adapters.git.urls import safe_url
from gitops_promote.errors import GitError

ErrorKind = Literal["auth", "forbidden", "not-found", "transient", "other"]


@dataclass(frozen=True)
class Completed:
    """What one git command did. ``stderr`` is already redacted."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        """stdout as text, without the final newline."""
        return self.stdout.decode("utf-8", "surrogateescape").removesuffix("\n")

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class GitCommandError(GitError):
    """A git command failed. ``kind`` says how: ``auth`` (401: no or bad token),
    ``forbidden`` (403), ``not-found``, ``transient`` (5xx, dropped connection, timeout:
    worth retrying) or ``other``. ``stderr`` is redacted."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        subcommand: str,
        returncode: int,
        stderr: str,
        kind: ErrorKind,
    ) -> None:
        super().__init__(message, hint=hint)
        self.subcommand = subcommand
        self.returncode = returncode
        self.stderr = stderr
        self.kind: ErrorKind = kind
        if kind in ("auth", "forbidden", "not-found"):
            # a token, permission or URL problem: the user's to fix, like the same answer
            # from the GitHub API (exit 2); only the world's failures exit 3
            self.exit_code = 2

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


_AUTH = (
    "returned error: 401",
    "could not read username",
    "could not read password",
    "authentication failed",
    "invalid username or password",
    "http basic: access denied",
)
_FORBIDDEN = ("returned error: 403", "permission to", "write access to repository not granted")
_NOT_FOUND = (
    "returned error: 404",
    "repository not found",
    "does not appear to be a git repository",
)
_NOT_FOUND_RE = re.compile(r"repository '.*' not found")
_TRANSIENT = (
    "returned error: 5",
    "http 5",
    "rpc failed",
    "remote end hung up",
    "unexpected disconnect",
    "early eof",
    "empty reply",
    "transfer closed",
    "connection reset",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "failed to connect",
    "couldn't connect",
    "could not resolve host",
    "timed out",
    "gnutls",
    "ssl_read",
    "tls connection",
    "recv failure",
    "send failure",
    "index-pack failed",
    "internal server error",
    "bad gateway",
    "service unavailable",
)


def classify(stderr: str) -> ErrorKind:
    """What kind of failure git's stderr describes."""
    low = stderr.lower()
    if any(s in low for s in _AUTH):
        return "auth"
    if any(s in low for s in _FORBIDDEN):
        return "forbidden"
    if any(s in low for s in _NOT_FOUND) or _NOT_FOUND_RE.search(low):
        return "not-found"
    if any(s in low for s in _TRANSIENT):
        return "transient"
    return "other"


def first_useful_line(stderr: str) -> str:
    """The line of git's stderr that says what went wrong, without ``fatal:``/``error:``."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.lower().startswith(("hint:", "cloning into"))]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.lower().startswith(prefix):
                return _shorten(line[len(prefix) :])
    return _shorten(lines[0]) if lines else "no message"


def _shorten(line: str, limit: int = 300) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


HINTS: dict[ErrorKind, str] = {
    "auth": "the git server refused the credentials: pass a valid token "
    "(GITOPS_PROMOTE_TOKEN, GITHUB_TOKEN or the action's token input) that can read and "
    "write the config repo (contents: write)",
    "forbidden": "the token is valid but may not do this: give it contents: write on the "
    "config repo (or add the GitHub App / bot user to it)",
    "not-found": "check the config repo URL or owner/name, and that the token can see it",
    "transient": "the git server or the network failed: re-run; nothing was half-written",
}


def command_error(sub: str, proc: Completed, remote_url: str | None) -> GitCommandError:
    """A one-line, redacted :class:`GitCommandError` for a failed git command."""
    kind = classify(proc.stderr)
    where = f" ({safe_url(remote_url)})" if remote_url and kind != "other" else ""
    detail = first_useful_line(proc.stderr)
    if kind == "auth":
        detail = "authentication failed"
    message = secrets.redact(f"git {sub} failed{where}: {detail}")
    return GitCommandError(
        message,
        hint=HINTS.get(kind),
        subcommand=sub,
        returncode=proc.returncode,
        stderr=proc.stderr,
        kind=kind,
    )
