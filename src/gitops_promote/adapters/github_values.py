"""GitHub's answers as values (pull requests, comments, label events), and its failures
as one-line errors with a hint: what :mod:`gitops_promote.adapters.github` hands out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_promote.adapters import secrets
from gitops_promote.errors import GitHubError, UserError


@dataclass(frozen=True)
class PullInfo:
    number: int
    url: str  # html_url
    title: str
    body: str
    head_sha: str
    labels: tuple[str, ...]
    reviewers: tuple[str, ...]
    team_reviewers: tuple[str, ...]
    node_id: str
    draft: bool
    author: str = ""  # user.login of who opened it


@dataclass(frozen=True)
class CommentInfo:
    id: int
    body: str
    url: str  # html_url


@dataclass(frozen=True)
class LabelEvent:
    """Who added a label to an issue or PR (the latest ``labeled`` event for it)."""

    actor: str  # login ("" when GitHub does not say: a deleted account)
    bot: bool  # the actor is a Bot account (an App, github-actions)
    created_at: str


# Who each token is, learned once per run: (API URL, token) -> login.


def is_bot(login: str, kind: str = "") -> bool:
    """A GitHub App's or Actions' account (type Bot, or the ``[bot]`` suffix GitHub gives
    every App login)."""
    return kind == "Bot" or login.endswith("[bot]")


def pull_info(raw: dict[str, Any]) -> PullInfo:
    """A PR from its JSON (used as it came: reading PyGithub's ``raw_data`` would cost a
    second call to complete the object)."""
    return PullInfo(
        number=int(raw["number"]),
        url=str(raw.get("html_url") or ""),
        title=str(raw.get("title") or ""),
        body=str(raw.get("body") or ""),
        head_sha=str((raw.get("head") or {}).get("sha") or ""),
        labels=tuple(str(label.get("name")) for label in raw.get("labels") or ()),
        reviewers=tuple(str(u.get("login")) for u in raw.get("requested_reviewers") or ()),
        team_reviewers=tuple(str(t.get("slug")) for t in raw.get("requested_teams") or ()),
        node_id=str(raw.get("node_id") or ""),
        draft=bool(raw.get("draft")),
        author=str((raw.get("user") or {}).get("login") or ""),
    )


def api_error(action: str, exc: Exception) -> GitHubError | UserError:
    from github import GithubException  # noqa: PLC0415

    if not isinstance(exc, GithubException):
        return GitHubError(secrets.redact(f"GitHub API: {action} failed: {exc}"))
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or "")
    details = "; ".join(
        str(e.get("message") or e.get("code"))
        for e in data.get("errors") or ()
        if isinstance(e, dict)
    )
    text = secrets.redact(
        f"GitHub API: {action} failed with HTTP {exc.status}: {message}"
        + (f" ({details})" if details else "")
    )
    if exc.status in (401, 403, 404, 422):
        hints = {
            401: "the token is invalid or expired: check the token input / GITHUB_TOKEN",
            403: "the token lacks permission: it needs contents: write and "
            "pull-requests: write on the config repo",
            404: "the repository does not exist or the token cannot see it",
            422: "GitHub refused the request as sent",
        }
        return UserError(text, hint=hints[exc.status])
    return GitHubError(text, hint="GitHub failed after retries: re-run the job")


def already_open(exc: Exception) -> bool:
    """GitHub's 422 for a second PR from the same head branch."""
    from github import GithubException  # noqa: PLC0415

    if not isinstance(exc, GithubException) or exc.status != 422:
        return False
    data = exc.data if isinstance(exc.data, dict) else {}
    return any(
        "already exists" in str(e.get("message") or "")
        for e in data.get("errors") or ()
        if isinstance(e, dict)
    )


def foreign_pull(pull: PullInfo, me: str, branch: str, why: str = "") -> UserError:
    """The refusal to adopt a pull request the tool did not open (or whose branch holds
    someone else's commit): it names the PR and how to clear the way."""
    reason = why or f"it was opened by {pull.author or 'someone else'}, not by {me}"
    return UserError(
        f"pull request #{pull.number} ({pull.url}) on the promotion branch {branch} is not "
        f"this tool's: {reason}; it was left untouched",
        hint=f"close #{pull.number}, or delete the branch {branch}, then re-run",
    )
