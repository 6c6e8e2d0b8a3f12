"""GitHub access (PyGithub): pull requests, labels, reviewers, comments, commit statuses,
auto-merge.

Auth by token, or as a GitHub App (app id + private key -> installation token); GitHub
Enterprise Server through ``api_url``. PyGithub's ``GithubRetry`` retries 5xx answers and
secondary rate limits (honouring ``Retry-After``), and a request that gets no answer within
``GITOPS_PROMOTE_API_TIMEOUT`` seconds (default 30). Every method here is one API call
(noted), so the orchestrators can keep to the budget: a new promotion PR in 3 calls after
the push (create, labels, reviewers), an update in 2 (find, edit), plus 1 per run to learn
who the token is (:meth:`GitHub.viewer`, cached) whenever an existing PR or comment must be
proved ours.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from gitops_promote.adapters import actions, secrets
from gitops_promote.adapters.git import check_token_url
from gitops_promote.adapters.github_values import (
    CommentInfo,
    LabelEvent,
    PullInfo,
    already_open,
    api_error,
    foreign_pull,
    is_bot,
    pull_info,
)
from gitops_promote.errors import GitHubError, InputError, quote

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_TIMEOUT = 30
TIMEOUT_ENV = "GITOPS_PROMOTE_API_TIMEOUT"


_VIEWERS: dict[tuple[str, str], str] = {}


def api_url_from_env(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def api_timeout_from_env() -> int:
    """Seconds to wait for one GitHub API answer before retrying: ``GITOPS_PROMOTE_API_TIMEOUT``
    (whole seconds, 1 to 600), else 30."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    if not text.isdigit() or not 1 <= int(text) <= 600:
        raise InputError(
            f"{TIMEOUT_ENV}={quote(text)} is not a whole number of seconds from 1 to 600",
            hint=f"unset it for the default ({DEFAULT_TIMEOUT}), or set e.g. 60",
        )
    return int(text)


class GitHub:
    """One config repository on GitHub (``owner/name``)."""

    def __init__(
        self,
        repository: str,
        *,
        token: str,
        api_url: str | None = None,
        timeout: int | None = None,
        retries: int = 6,
    ) -> None:
        from github import Auth, Github, GithubRetry  # noqa: PLC0415 - heavy import, lazy

        if "/" not in repository:
            raise InputError(f"repository {quote(repository)} is not owner/name")
        secrets.register(token)
        self._token = token
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self.api_url = api_url_from_env(api_url)
        check_token_url(self.api_url, what="the GitHub API (GITHUB_API_URL)")
        self._gh = Github(
            base_url=self.api_url,
            auth=Auth.Token(token),
            timeout=api_timeout_from_env() if timeout is None else timeout,
            retry=GithubRetry(total=retries, backoff_factor=0.5),
            per_page=100,
            # A promotion makes a handful of calls: PyGithub's default pacing (0.25 s per
            # call, 1 s per write) would only add seconds; GithubRetry still honours
            # secondary rate limits (Retry-After) when a soak run makes many writes.
            seconds_between_requests=0.0,
            seconds_between_writes=0.25,
        )
        self._url = f"/repos/{repository}"  # relative to the API URL; no call to make it

    @staticmethod
    def app_token(
        repository: str,
        *,
        app_id: str,
        private_key: str,
        api_url: str | None = None,
    ) -> str:
        """An installation token of a GitHub App installed on the repository (2 calls:
        find the installation, create the token). Used for both git and the API."""
        from github import Auth, GithubException, GithubIntegration  # noqa: PLC0415

        secrets.register(private_key)
        owner, _, name = repository.partition("/")
        bad_key = InputError(
            "the GitHub App private key is not a PEM RSA private key",
            hint="pass the .pem file the App's settings page generated, whole (BEGIN/END "
            "lines included), in GITOPS_PROMOTE_APP_PRIVATE_KEY or the app-private-key input",
        )
        try:
            from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
                load_pem_private_key,
            )

            load_pem_private_key(private_key.encode(), password=None)
        except (ValueError, TypeError):
            raise bad_key from None
        try:
            integration = GithubIntegration(
                auth=Auth.AppAuth(int(app_id), private_key), base_url=api_url_from_env(api_url)
            )
            installation = integration.get_repo_installation(owner, name)
            token = str(integration.get_access_token(installation.id).token)
            slug = str(installation.app_slug or "")
        except ValueError as exc:
            raise InputError(
                "GitHub App credentials are not valid (app id must be a number, the private "
                "key a PEM RSA key)",
                hint="pass app-id and app-private-key as given by the App's settings page",
            ) from exc
        except GithubException as exc:
            raise api_error("authenticating as GitHub App", exc) from None
        secrets.register(token)
        if slug:  # the installation already named the App: no call to learn who we are
            _VIEWERS[(api_url_from_env(api_url), token)] = f"{slug}[bot]"

        actions.mask(token)  # the runner masks it in the log too (::add-mask::)
        return token

    def viewer(self) -> str:
        """The login the token acts as: a user's, or ``<app-slug>[bot]`` for an App
        installation token (GITHUB_TOKEN: ``github-actions[bot]``). 1 GraphQL call, once per
        run (REST ``GET /user`` refuses installation tokens); free after :meth:`app_token`."""
        key = (self.api_url, self._token)
        if key not in _VIEWERS:
            try:
                _, data = self._gh.requester.graphql_query("query { viewer { login } }", {})
                login = str(((data.get("data") or {}).get("viewer") or {}).get("login") or "")
            except Exception as exc:  # noqa: BLE001
                raise api_error("asking GitHub who the token is", exc) from None
            if not login:
                raise GitHubError(
                    "GitHub API: asking who the token is gave no login",
                    hint="re-run the job; if it persists, check the token",
                )
            _VIEWERS[key] = login
        return _VIEWERS[key]

    # -- pull requests ----------------------------------------------------------------

    def find_open_pull(self, branch: str, base: str) -> PullInfo | None:
        """The open PR from ``branch`` into ``base`` (1 call)."""
        params = {"state": "open", "head": f"{self.owner}:{branch}", "base": base}
        try:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"{self._url}/pulls", parameters=params
            )
        except Exception as exc:  # noqa: BLE001 - every PyGithub failure becomes one error
            raise api_error(f"listing pull requests of {self.repository}", exc) from None
        pulls = data if isinstance(data, list) else []
        return pull_info(pulls[0]) if pulls else None

    def open_pulls(self, base: str) -> list[PullInfo]:
        """Every open PR into ``base``, oldest first (1 call per 100 PRs)."""
        pulls: list[PullInfo] = []
        page = 1
        while True:
            params = {
                "state": "open",
                "base": base,
                "sort": "created",
                "direction": "asc",
                "per_page": 100,
                "page": page,
            }
            try:
                _, data = self._gh.requester.requestJsonAndCheck(
                    "GET", f"{self._url}/pulls", parameters=params
                )
            except Exception as exc:  # noqa: BLE001
                raise api_error(f"listing the open pull requests into {base}", exc) from None
            items = data if isinstance(data, list) else []
            pulls.extend(pull_info(item) for item in items)
            if len(items) < 100:
                return pulls
            page += 1

    def set_status(
        self,
        sha: str,
        *,
        state: str,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        """Set the commit status ``context`` of commit ``sha`` (1 call): ``state`` is
        success, failure, error or pending."""
        payload = {"state": state, "context": context, "description": description}
        if target_url:
            payload["target_url"] = target_url
        try:
            self._gh.requester.requestJsonAndCheck(
                "POST", f"{self._url}/statuses/{sha}", input=payload
            )
        except Exception as exc:  # noqa: BLE001
            raise api_error(f"setting status {context} on {sha[:12]}", exc) from None

    def create_pull(
        self, *, branch: str, base: str, title: str, body: str, draft: bool
    ) -> PullInfo:
        """Open a PR (1 call). When GitHub says one is already open from ``branch`` (our
        earlier request was applied but its answer lost, and the retry found it done), that
        PR is adopted: found (1 call) and given ``title`` and ``body`` if it differs (1 call)."""
        payload = {"base": base, "head": branch, "title": title, "body": body, "draft": draft}
        try:
            _, data = self._gh.requester.requestJsonAndCheck(
                "POST", f"{self._url}/pulls", input=payload
            )
        except Exception as exc:  # noqa: BLE001
            existing = self.find_open_pull(branch, base) if already_open(exc) else None
            if existing is None:
                raise api_error(f"opening a pull request from {branch}", exc) from None
            if existing.author != self.viewer():
                raise foreign_pull(existing, self.viewer(), branch) from None
            if (existing.title, existing.body) != (title, body):
                self.update_pull(existing.number, title=title, body=body)
                existing = replace(existing, title=title, body=body)
            return existing
        return pull_info(data)

    def update_pull(self, number: int, *, title: str, body: str) -> None:
        """Update title and body of a PR (1 call)."""
        try:
            self._gh.requester.requestJsonAndCheck(
                "PATCH", f"{self._url}/pulls/{number}", input={"title": title, "body": body}
            )
        except Exception as exc:  # noqa: BLE001
            raise api_error(f"updating pull request #{number}", exc) from None

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        """Add labels to a PR (1 call; none when there are no labels)."""
        if not labels:
            return
        try:
            self._gh.requester.requestJsonAndCheck(
                "POST", f"{self._url}/issues/{number}/labels", input={"labels": list(labels)}
            )
        except Exception as exc:  # noqa: BLE001
            raise api_error(f"labelling pull request #{number}", exc) from None

    def request_reviewers(
        self, number: int, reviewers: Sequence[str], team_reviewers: Sequence[str]
    ) -> None:
        """Request reviews from users and teams (1 call; none when there are none)."""
        if not reviewers and not team_reviewers:
            return
        payload: dict[str, Any] = {}
        if reviewers:
            payload["reviewers"] = list(reviewers)
        if team_reviewers:
            payload["team_reviewers"] = list(team_reviewers)
        try:
            self._gh.requester.requestJsonAndCheck(
                "POST", f"{self._url}/pulls/{number}/requested_reviewers", input=payload
            )
        except Exception as exc:  # noqa: BLE001
            raise api_error(f"requesting reviewers on pull request #{number}", exc) from None

    # -- comments ---------------------------------------------------------------------

    def find_comment(self, number: int, marker: str) -> CommentInfo | None:
        """The first comment on issue/PR ``number`` that the token's own identity wrote and
        whose body starts with ``marker`` (1 call per 100 comments, and :meth:`viewer` once
        a marked comment is seen): a comment someone else wrote, marker or not, is never
        taken for ours."""
        for item in self._listing(f"/issues/{number}/comments", f"listing comments of #{number}"):
            body = str(item.get("body") or "")
            author = str((item.get("user") or {}).get("login") or "")
            if body.lstrip().startswith(marker) and author == self.viewer():
                return CommentInfo(int(item["id"]), body, str(item.get("html_url") or ""))
        return None

    def upsert_comment(self, number: int, body: str, marker: str) -> tuple[str, CommentInfo]:
        """Create the marked comment, or update it in place: ("created" | "updated" |
        "unchanged", comment). 2 calls (find, then create or update); 1 when unchanged."""
        existing = self.find_comment(number, marker)
        if existing is not None and existing.body == body:
            return "unchanged", existing
        try:
            if existing is not None:
                _, data = self._gh.requester.requestJsonAndCheck(
                    "PATCH",
                    f"{self._url}/issues/comments/{existing.id}",
                    input={"body": body},
                )
                operation = "updated"
            else:
                _, data = self._gh.requester.requestJsonAndCheck(
                    "POST", f"{self._url}/issues/{number}/comments", input={"body": body}
                )
                operation = "created"
        except Exception as exc:  # noqa: BLE001
            raise api_error(f"commenting on #{number}", exc) from None
        return operation, CommentInfo(int(data["id"]), body, str(data.get("html_url") or ""))

    def label_added_by(self, number: int, label: str) -> LabelEvent | None:
        """Who last added ``label`` to issue/PR ``number``: the latest ``labeled`` event for it
        in the issue's events (1 call per 100 events), or None when there is none."""
        found: LabelEvent | None = None
        for item in self._listing(f"/issues/{number}/events", f"listing the events of #{number}"):
            name = str((item.get("label") or {}).get("name") or "")
            if item.get("event") != "labeled" or name.lower() != label.lower():
                continue
            actor = item.get("actor") or {}
            login = str(actor.get("login") or "")
            found = LabelEvent(
                login, is_bot(login, str(actor.get("type") or "")), str(item["created_at"])
            )
        return found

    def _listing(self, path: str, what: str) -> Iterator[dict[str, Any]]:
        """The items of a paginated REST listing under this repository, page by page (1 call
        per 100 items, made only as far as the caller reads)."""
        page = 1
        while True:
            try:
                _, data = self._gh.requester.requestJsonAndCheck(
                    "GET", f"{self._url}{path}", parameters={"per_page": 100, "page": page}
                )
            except Exception as exc:  # noqa: BLE001
                raise api_error(what, exc) from None
            items = data if isinstance(data, list) else []
            yield from (item for item in items if isinstance(item, dict))
            if len(items) < 100:
                return
            page += 1

    def enable_auto_merge(self, node_id: str, method: str) -> None:
        """Turn on auto-merge (1 GraphQL call)."""
        query = (
            "mutation($id: ID!, $method: PullRequestMergeMethod!) {"
            " enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method})"
            " { clientMutationId } }"
        )
        try:
            self._gh.requester.graphql_query(query, {"id": node_id, "method": method.upper()})
        except Exception as exc:  # noqa: BLE001
            raise api_error("enabling auto-merge", exc) from None

    def close(self) -> None:
        self._gh.close()


class Credentials(Protocol):
    """What :func:`connect` reads of a workspace's credentials."""

    @property
    def token(self) -> str | None: ...

    @property
    def api_url(self) -> str | None: ...


def connect(repository: str, credentials: Credentials) -> GitHub:
    """The GitHub client of the config repo ``repository``: the one place the product
    builds one. The token is a user's, ``GITHUB_TOKEN``, or the GitHub App installation
    token the workspace exchanged (:meth:`GitHub.app_token`); it is registered as a
    secret; the API URL is ``credentials.api_url`` or ``GITHUB_API_URL``; PyGithub retries
    5xx answers and secondary rate limits. Callers check first that a token is there, to
    say what it is needed for."""
    if not credentials.token:
        raise InputError(
            "the GitHub API needs a token",
            hint="set GITOPS_PROMOTE_TOKEN or GITHUB_TOKEN, or a GitHub App",
        )
    return GitHub(repository, token=credentials.token, api_url=credentials.api_url)


__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV",
    "CommentInfo",
    "Credentials",
    "GitHub",
    "LabelEvent",
    "PullInfo",
    "api_timeout_from_env",
    "api_url_from_env",
    "connect",
    "foreign_pull",
    "is_bot",
]
