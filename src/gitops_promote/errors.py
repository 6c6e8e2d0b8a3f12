"""The one small tree of errors the program raises, caught in one place (``cli``).

Two kinds of failure: the user's (bad input or config: exit 2; a gate that says no:
exit 1) and the world's (git server, GitHub API, registry: exit 3 after retries).
Every message is one line that names the input and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# How much of a bad value a message quotes: enough to recognise it, never a wall of text
# (a pasted file, a runaway variable) in a one-line error.
QUOTE_LIMIT: Final = 80


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to its first ``limit`` characters, with ``…`` when it was longer (for a
    value a message shows unquoted, e.g. inside ``{…}``)."""
    return text if len(text) <= limit else text[:limit] + "…"


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` quoted for an error message, as ``repr`` does (newlines and control
    characters escaped, so the message stays one line), cut to its first ``limit``
    characters with the full length said: ``'aaaa…' (300 characters)``. Every message
    that quotes a value someone typed or a file holds goes through here."""
    if not isinstance(value, str):
        shown = repr(value)
        return shown if len(shown) <= limit else f"{shown[:limit]}… ({len(shown)} characters)"
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


class PromoteError(Exception):
    """Base of every error the program reports to the user."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UserError(PromoteError):
    """Bad input from the user: arguments, files, environment. Exit code 2."""

    exit_code = 2


class InputError(UserError):
    """A command-line argument or action input is not valid."""


class OverlayError(UserError):
    """An overlay file cannot be read or edited safely."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration file, with its position."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(UserError):
    """promotion.yaml is not valid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else Problem("promotion.yaml", None, "invalid")
        more = len(self.problems) - 1
        summary = str(first) + (f" (and {more} more problem(s))" if more > 0 else "")
        super().__init__(summary)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class Where:
    """The line an error is about, for an annotation on it."""

    message: str
    file: str | None = None
    line: int | None = None
    title: str | None = None


class GateError(PromoteError):
    """A gate refused the promotion (freeze window, digest mismatch, soak...). Exit 1.

    ``where`` points each refusal at its overlay line, for annotations."""

    exit_code = 1

    def __init__(
        self, message: str, *, hint: str | None = None, where: Sequence[Where] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.where = tuple(where)


class ExternalError(PromoteError):
    """The world failed: network, git server, GitHub API, registry. Exit code 3."""


class GitError(ExternalError):
    """A git command failed."""


class GitPushError(GitError):
    """A push was rejected or failed after every retry."""


class GitHubError(ExternalError):
    """The GitHub API refused or failed a request."""


class RegistryError(ExternalError):
    """The container registry refused or failed a request."""


class LiveError(ExternalError):
    """Argo CD or the Kubernetes API gave no reading: ``kind`` says why (``unreachable``:
    network, timeout, 5xx after retries; ``unauthorized``: 401; ``forbidden``: 403;
    ``invalid``: an answer that is not the object asked for). Exit 3 only where the env's
    live gate is ``on-error: fail``; elsewhere a warning."""

    def __init__(self, message: str, *, kind: str = "unreachable", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
