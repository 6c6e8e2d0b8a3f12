"""The fake's state (repos, issues and pull requests, comments, labels, checks, statuses) and
how each object renders as GitHub's JSON. Git facts (branch tips, commits) come from the real
bare repository each fake repo is tied to.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support import gitutil

DOCS = "https://docs.github.com/rest"


def iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode().rstrip("=")


class ApiError(Exception):
    """An error answer, as GitHub would send it (``basic-error`` or ``validation-error``)."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


@dataclass(frozen=True)
class Actor:
    login: str
    id: int
    type: str = "User"  # "User" | "Bot" | "Organization"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: Actor
    created_at: datetime
    updated_at: datetime


@dataclass
class LabelEvent:
    """A ``labeled`` / ``unlabeled`` event on an issue: who changed which label, when."""

    id: int
    event: str  # "labeled" | "unlabeled"
    label: str
    actor: Actor
    created_at: datetime


@dataclass
class PullData:
    head_ref: str
    base_ref: str
    draft: bool
    maintainer_can_modify: bool
    head_sha: str
    base_sha: str
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: Actor | None = None
    merge_commit_sha: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    auto_merge: dict[str, Any] | None = None


@dataclass
class Issue:
    """An issue; a pull request is an issue with ``pull`` set (they share numbers)."""

    id: int
    number: int
    title: str
    body: str | None
    user: Actor
    state: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    events: list[LabelEvent] = field(default_factory=list)
    pull: PullData | None = None


@dataclass
class CheckRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    details_url: str | None
    external_id: str | None
    output: dict[str, Any]
    app_id: int | None


@dataclass
class Status:
    id: int
    sha: str
    state: str
    target_url: str | None
    description: str | None
    context: str
    created_at: datetime
    creator: Actor


@dataclass
class Repo:
    owner: str
    name: str
    bare: Path
    id: int
    private: bool
    allow_auto_merge: bool
    created_at: datetime
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    # git answers memoised for the duration of one API request (see ``forget_git``)
    _git_cache: dict[tuple[str, ...], str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    # -- git facts --------------------------------------------------------------------------

    def forget_git(self) -> None:
        """Drop memoised git answers (the repo may have been pushed to since)."""
        self._git_cache.clear()

    def git(self, *args: str, check: bool = True) -> str:
        if not check:
            key = args
            if key not in self._git_cache:
                self._git_cache[key] = gitutil.git(*args, cwd=self.bare, check=False)
            return self._git_cache[key]
        return gitutil.git(*args, cwd=self.bare, check=check)

    def branch_sha(self, branch: str) -> str | None:
        out = self.git(
            "rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}", check=False
        )
        return out or None

    def commit_exists(self, sha: str) -> bool:
        proc = subprocess.run(
            ["git", "cat-file", "-e", f"{sha}^{{commit}}"],
            cwd=self.bare,
            env=gitutil.clean_env(),
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0

    def resolve_commit(self, ref: str) -> str | None:
        out = self.git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
        return out or None

    def default_branch(self) -> str:
        head = self.git("symbolic-ref", "-q", "HEAD", check=False)
        return head.removeprefix("refs/heads/") if head else "main"

    def pushed_at(self) -> datetime | None:
        out = self.git(
            "for-each-ref",
            "--sort=-committerdate",
            "--count=1",
            "--format=%(committerdate:iso-strict)",
        )
        return datetime.fromisoformat(out) if out else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return gitutil.is_ancestor(self.bare, ancestor, descendant)

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1


class Urls:
    """Where things live: the API root and the web root (html_url)."""

    def __init__(self, api: str, web: str) -> None:
        self.api = api.rstrip("/")
        self.web = web.rstrip("/")

    def repo(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_html(self, repo: Repo) -> str:
        return f"{self.web}/{repo.full_name}"


def user_json(urls: Urls, actor: Actor) -> dict[str, Any]:
    base = f"{urls.api}/users/{actor.login}"
    return {
        "login": actor.login,
        "id": actor.id,
        "node_id": node_id("U", actor.id),
        "avatar_url": f"{urls.web}/avatars/{actor.id}",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{urls.web}/{actor.login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": actor.type,
        "site_admin": False,
        "user_view_type": "public",
    }


def owner_actor(repo: Repo) -> Actor:
    return Actor(repo.owner, 10_000 + (sum(repo.owner.encode()) % 10_000), "Organization")


def repo_json(urls: Urls, repo: Repo, *, full: bool) -> dict[str, Any]:
    api = urls.repo(repo)
    html = urls.repo_html(repo)
    pushed = repo.pushed_at()
    issues_open = sum(1 for i in repo.issues.values() if i.state == "open")
    out: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user_json(urls, owner_actor(repo)),
        "private": repo.private,
        "html_url": html,
        "description": None,
        "fork": False,
        "url": api,
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments",
        "downloads_url": f"{api}/downloads",
        "events_url": f"{api}/events",
        "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_url": f"git://{urls.web.split('://', 1)[-1]}/{repo.full_name}.git",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "issues_url": f"{api}/issues{{/number}}",
        "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}",
        "languages_url": f"{api}/languages",
        "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "releases_url": f"{api}/releases{{/id}}",
        "ssh_url": f"git@{urls.web.split('://', 1)[-1]}:{repo.full_name}.git",
        "stargazers_url": f"{api}/stargazers",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "tags_url": f"{api}/tags",
        "teams_url": f"{api}/teams",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "clone_url": f"{html}.git",
        "mirror_url": None,
        "hooks_url": f"{api}/hooks",
        "svn_url": html,
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch(),
        "open_issues_count": issues_open,
        "open_issues": issues_open,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": iso(pushed),
        "created_at": iso(repo.created_at),
        "updated_at": iso(pushed or repo.created_at),
        "allow_rebase_merge": True,
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_auto_merge": repo.allow_auto_merge,
        "delete_branch_on_merge": False,
        "license": None,
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": True,
            "triage": True,
            "pull": True,
        },
    }
    if full:
        out["network_count"] = 0
        out["subscribers_count"] = 0
    return out


def label_json(urls: Urls, repo: Repo, label: Label) -> dict[str, Any]:
    return {
        "id": label.id,
        "node_id": node_id("LA", label.id),
        "url": f"{urls.repo(repo)}/labels/{label.name}",
        "name": label.name,
        # pull-request-simple's labels[].description is a non-nullable string in the
        # description (label's own is nullable): "" satisfies both.
        "description": label.description or "",
        "color": label.color,
        "default": False,
    }


def comment_json(urls: Urls, repo: Repo, comment: Comment) -> dict[str, Any]:
    issue_kind = "pull" if repo.issues[comment.issue_number].pull else "issues"
    return {
        "id": comment.id,
        "node_id": node_id("IC", comment.id),
        "url": f"{urls.repo(repo)}/issues/comments/{comment.id}",
        "html_url": (
            f"{urls.repo_html(repo)}/{issue_kind}/{comment.issue_number}#issuecomment-{comment.id}"
        ),
        "body": comment.body,
        "user": user_json(urls, comment.user),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "issue_url": f"{urls.repo(repo)}/issues/{comment.issue_number}",
        "author_association": "NONE",
    }


def _labels(urls: Urls, repo: Repo, issue: Issue) -> list[dict[str, Any]]:
    return [label_json(urls, repo, repo.labels[name]) for name in issue.labels]


def issue_json(urls: Urls, repo: Repo, issue: Issue) -> dict[str, Any]:
    api = f"{urls.repo(repo)}/issues/{issue.number}"
    out: dict[str, Any] = {
        "id": issue.id,
        "node_id": node_id("I", issue.id),
        "url": api,
        "repository_url": urls.repo(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.repo_html(repo)}/{'pull' if issue.pull else 'issues'}/{issue.number}",
        "number": issue.number,
        "state": issue.state,
        "title": issue.title,
        "body": issue.body,
        "user": user_json(urls, issue.user),
        "labels": _labels(urls, repo, issue),
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "comments": len(issue.comment_ids),
        "closed_at": iso(issue.closed_at),
        "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at),
        "author_association": "NONE",
    }
    if issue.pull is not None:
        pr_api = f"{urls.repo(repo)}/pulls/{issue.number}"
        html = f"{urls.repo_html(repo)}/pull/{issue.number}"
        out["pull_request"] = {
            "url": pr_api,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": iso(issue.pull.merged_at),
        }
        out["draft"] = issue.pull.draft
    return out


def current_shas(repo: Repo, issue: Issue) -> tuple[str, str]:
    """Head and base sha: live from the branches while open, frozen once closed."""
    pull = issue.pull
    assert pull is not None
    if issue.state == "open":
        head = repo.branch_sha(pull.head_ref)
        base = repo.branch_sha(pull.base_ref)
        if head:
            pull.head_sha = head
        if base:
            pull.base_sha = base
    return pull.head_sha, pull.base_sha


def _branch_json(urls: Urls, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user_json(urls, owner_actor(repo)),
        "repo": repo_json(urls, repo, full=False),
    }


def pull_json(urls: Urls, repo: Repo, issue: Issue, *, full: bool) -> dict[str, Any]:
    """A pull request: ``full`` is the ``pull-request`` schema (pulls/get, create, update),
    otherwise ``pull-request-simple`` (lists, request-reviewers)."""
    pull = issue.pull
    assert pull is not None
    head_sha, base_sha = current_shas(repo, issue)
    api = f"{urls.repo(repo)}/pulls/{issue.number}"
    issue_api = f"{urls.repo(repo)}/issues/{issue.number}"
    html = f"{urls.repo_html(repo)}/pull/{issue.number}"
    reviewers = [
        user_json(urls, Actor(login, 20_000 + (sum(login.encode()) % 10_000)))
        for login in pull.requested_reviewers
    ]
    out: dict[str, Any] = {
        "url": api,
        "id": issue.id,
        "node_id": node_id("PR_", issue.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_api,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{urls.repo(repo)}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": f"{urls.repo(repo)}/statuses/{head_sha}",
        "number": issue.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "user": user_json(urls, issue.user),
        "body": issue.body,
        "labels": _labels(urls, repo, issue),
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at),
        "closed_at": iso(issue.closed_at),
        "merged_at": iso(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": reviewers,
        "requested_teams": [
            # pull-request lists team-simple; pull-request-simple lists team (with parent)
            team_json(urls, repo.owner, slug) | ({} if full else {"parent": None})
            for slug in pull.requested_teams
        ],
        "head": _branch_json(urls, repo, pull.head_ref, head_sha),
        "base": _branch_json(urls, repo, pull.base_ref, base_sha),
        "_links": {
            "self": {"href": api},
            "html": {"href": html},
            "issue": {"href": issue_api},
            "comments": {"href": f"{issue_api}/comments"},
            "review_comments": {"href": f"{api}/comments"},
            "review_comment": {"href": f"{urls.repo(repo)}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/commits"},
            "statuses": {"href": f"{urls.repo(repo)}/statuses/{head_sha}"},
        },
        "author_association": "NONE",
        "auto_merge": pull.auto_merge,
        "draft": pull.draft,
    }
    if full:
        stats = _diff_stats(repo, base_sha, head_sha)
        mergeable: bool | None
        if issue.state == "open":
            mergeable = _mergeable(repo, base_sha, head_sha)
            state = "clean" if mergeable else "dirty"
            if pull.draft:
                state = "draft"
        else:
            mergeable, state = None, "unknown"
        out.update(
            {
                "merged": pull.merged,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": state,
                "merged_by": user_json(urls, pull.merged_by) if pull.merged_by else None,
                "comments": len(issue.comment_ids),
                "review_comments": 0,
                "maintainer_can_modify": pull.maintainer_can_modify,
                "commits": stats[0],
                "additions": stats[1],
                "deletions": stats[2],
                "changed_files": stats[3],
            }
        )
    return out


def _diff_stats(repo: Repo, base: str, head: str) -> tuple[int, int, int, int]:
    merge_base = repo.git("merge-base", base, head, check=False) or base
    commits = int(repo.git("rev-list", "--count", f"{merge_base}..{head}") or 0)
    numstat = repo.git("diff", "--numstat", merge_base, head)
    adds = dels = files = 0
    for line in numstat.splitlines():
        a, d, _ = line.split("\t", 2)
        files += 1
        adds += int(a) if a.isdigit() else 0
        dels += int(d) if d.isdigit() else 0
    return commits, adds, dels, files


def _mergeable(repo: Repo, base: str, head: str) -> bool:
    proc = subprocess.run(
        ["git", "merge-tree", "--write-tree", "--no-messages", base, head],
        cwd=repo.bare,
        env=gitutil.clean_env(),
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def pull_minimal_json(urls: Urls, repo: Repo, issue: Issue) -> dict[str, Any]:
    pull = issue.pull
    assert pull is not None
    head_sha, base_sha = current_shas(repo, issue)
    mini_repo = {"id": repo.id, "url": urls.repo(repo), "name": repo.name}
    return {
        "id": issue.id,
        "number": issue.number,
        "url": f"{urls.repo(repo)}/pulls/{issue.number}",
        "head": {"ref": pull.head_ref, "sha": head_sha, "repo": mini_repo},
        "base": {"ref": pull.base_ref, "sha": base_sha, "repo": mini_repo},
    }


def team_json(urls: Urls, org: str, slug: str) -> dict[str, Any]:
    team_id = 30_000 + (sum(slug.encode()) % 10_000)
    api = f"{urls.api}/organizations/{org}/team/{team_id}"
    return {
        "id": team_id,
        "node_id": node_id("T", team_id),
        "url": api,
        "members_url": f"{api}/members{{/member}}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "html_url": f"{urls.web}/orgs/{org}/teams/{slug}",
        "repositories_url": f"{api}/repos",
        "type": "organization",
    }


def status_json(urls: Urls, repo: Repo, status: Status) -> dict[str, Any]:
    return {
        "url": f"{urls.repo(repo)}/statuses/{status.sha}",
        "avatar_url": None,
        "id": status.id,
        "node_id": node_id("SC", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "creator": user_json(urls, status.creator),
    }


def label_event_json(urls: Urls, repo: Repo, event: LabelEvent, color: str) -> dict[str, Any]:
    """A ``labeled-issue-event`` / ``unlabeled-issue-event`` as GitHub serves it."""
    return {
        "id": event.id,
        "node_id": node_id("LE_" if event.event == "labeled" else "UNLE_", event.id),
        "url": f"{urls.repo(repo)}/issues/events/{event.id}",
        "actor": user_json(urls, event.actor),
        "event": event.event,
        "commit_id": None,
        "commit_url": None,
        "created_at": iso(event.created_at),
        "performed_via_github_app": None,
        "label": {"name": event.label, "color": color},
    }
