"""What each REST operation does to the fake's state, and what it answers (GitHub semantics).

Handlers get a validated request (the server checked it against the OpenAPI description)
and return a ``Reply``; they raise ``ApiError`` for the answers GitHub gives on bad state
(422 for a duplicate pull request, a missing branch, an unknown commit...).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from support.github_fake import model
from support.github_fake.model import Actor, ApiError, Issue, Repo, Urls


@dataclass(frozen=True)
class Principal:
    """Who a credential authenticates as."""

    actor: Actor
    kind: str  # "installation" (ghs_ token, like GITHUB_TOKEN) | "user" (a PAT) | "app" (JWT)
    installation_id: int | None = None


@dataclass
class App:
    """The GitHub App the fake knows (JWT auth, installation tokens)."""

    id: int
    slug: str
    name: str
    installation_id: int
    private_key_pem: str
    public_key_pem: str
    created_at: datetime


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    state: State
    operation: str
    params: dict[str, Any]
    body: Any
    principal: Principal
    request_url: str

    @property
    def actor(self) -> Actor:
        return self.principal.actor

    def repo(self) -> Repo:
        return self.state.repo(self.params["owner"], self.params["repo"])

    def issue(self, number_param: str = "issue_number") -> tuple[Repo, Issue]:
        repo = self.repo()
        issue = repo.issues.get(self.params[number_param])
        if issue is None:
            raise ApiError(404, "Not Found")
        return repo, issue

    def pull(self) -> tuple[Repo, Issue]:
        repo, issue = self.issue("pull_number")
        if issue.pull is None:
            raise ApiError(404, "Not Found")
        return repo, issue


class State:
    """Everything the fake remembers. Guarded by ``lock`` (one request at a time)."""

    def __init__(self, urls: Urls, now: Callable[[], datetime]) -> None:
        self.urls = urls
        self.now = now
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.ids = itertools.count(1_000_001)
        self.principals: dict[str, Principal] = {}
        self.app: App | None = None
        self.warnings: list[str] = []
        self.graphql_calls: list[dict[str, Any]] = []

    def new_id(self) -> int:
        return next(self.ids)

    def repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get((owner.lower(), name.lower()))
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def add_repo(self, owner: str, name: str, bare: Path, *, private: bool, auto: bool) -> Repo:
        repo = Repo(
            owner=owner,
            name=name,
            bare=bare,
            id=self.new_id(),
            private=private,
            allow_auto_merge=auto,
            created_at=self.now(),
        )
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def forget_git(self) -> None:
        for repo in self.repos.values():
            repo.forget_git()

    def pull_by_node_id(self, node: str) -> tuple[Repo, Issue] | None:
        for repo in self.repos.values():
            for issue in repo.issues.values():
                if issue.pull is not None and model.node_id("PR_", issue.id) == node:
                    return repo, issue
        return None


# -- helpers ---------------------------------------------------------------------------------


def _paginate(ctx: Ctx, items: list[Any]) -> Reply:
    per_page = min(int(ctx.params.get("per_page", 30)), 100)
    page = max(int(ctx.params.get("page", 1)), 1)
    per_page = max(per_page, 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    links = []

    def url(p: int) -> str:
        parts = urlsplit(ctx.request_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
        query.append(("page", str(p)))
        return urlunsplit(parts._replace(query=urlencode(query)))

    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(1)}>; rel="first"', f'<{url(min(page - 1, last))}>; rel="prev"']
    if links:
        headers["Link"] = ", ".join(links)
    return Reply(200, chunk, headers)


def _validation(message: str, **error: Any) -> ApiError:
    return ApiError(422, "Validation Failed", [{"resource": "PullRequest", **error}])


def _touch(ctx: Ctx, issue: Issue) -> None:
    issue.updated_at = ctx.state.now()


def _pull(ctx: Ctx, repo: Repo, issue: Issue, *, full: bool) -> dict[str, Any]:
    return model.pull_json(ctx.state.urls, repo, issue, full=full)


def _open_duplicate(repo: Repo, head: str, base: str, skip: int | None = None) -> Issue | None:
    for issue in repo.issues.values():
        pull = issue.pull
        if (
            pull is not None
            and issue.state == "open"
            and issue.number != skip
            and pull.head_ref == head
            and pull.base_ref == base
        ):
            return issue
    return None


def _head_branch(repo: Repo, head: str) -> str:
    owner, sep, branch = head.partition(":")
    if not sep:
        return head
    if owner.lower() != repo.owner.lower():
        raise _validation("head", field="head", code="invalid")
    return branch


# -- repos -----------------------------------------------------------------------------------


def repos_get(ctx: Ctx) -> Reply:
    return Reply(200, model.repo_json(ctx.state.urls, ctx.repo(), full=True))


# -- pulls -----------------------------------------------------------------------------------


def pulls_list(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    state = ctx.params.get("state", "open")
    head = ctx.params.get("head")
    base = ctx.params.get("base")
    head_owner = head_branch = None
    if head is not None:
        owner, sep, branch = head.partition(":")
        if sep:
            head_owner, head_branch = owner.lower(), branch
        else:
            ctx.state.warnings.append(
                f"pulls/list head={head!r} has no 'owner:' prefix: GitHub ignores such a filter"
            )
    items = []
    issues = [i for i in repo.issues.values() if i.pull is not None]
    sort = ctx.params.get("sort", "created")
    direction = ctx.params.get("direction", "desc")
    key: Callable[[Issue], Any] = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
    }.get(sort, lambda i: (i.created_at, i.number))
    issues.sort(key=key, reverse=direction == "desc")
    for issue in issues:
        pull = issue.pull
        assert pull is not None
        if state not in ("all", issue.state):
            continue
        if head_branch is not None and (
            head_owner != repo.owner.lower() or pull.head_ref != head_branch
        ):
            continue
        if base is not None and pull.base_ref != base:
            continue
        items.append(issue)
    reply = _paginate(ctx, items)
    reply.body = [_pull(ctx, repo, i, full=False) for i in reply.body]
    return reply


def pulls_create(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.body
    if "issue" in body:
        raise _validation("issue", field="issue", code="invalid")
    title = body.get("title")
    if title is None:
        raise _validation("title", field="title", code="missing_field")
    head = _head_branch(repo, body["head"])
    base = body["base"]
    head_sha = repo.branch_sha(head)
    base_sha = repo.branch_sha(base)
    if base_sha is None:
        raise _validation("base", field="base", code="invalid")
    if head_sha is None:
        raise _validation("head", field="head", code="invalid")
    if _open_duplicate(repo, head, base) is not None:
        raise ApiError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {repo.owner}:{head}.",
                }
            ],
        )
    if repo.is_ancestor(head_sha, base_sha):
        raise ApiError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head}",
                }
            ],
        )
    now = ctx.state.now()
    issue = Issue(
        id=ctx.state.new_id(),
        number=repo.next_number(),
        title=title,
        body=body.get("body"),
        user=ctx.actor,
        state="open",
        created_at=now,
        updated_at=now,
        pull=model.PullData(
            head_ref=head,
            base_ref=base,
            draft=bool(body.get("draft", False)),
            maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
            head_sha=head_sha,
            base_sha=base_sha,
        ),
    )
    repo.issues[issue.number] = issue
    reply = Reply(201, _pull(ctx, repo, issue, full=True))
    reply.headers["Location"] = reply.body["url"]
    return reply


def pulls_get(ctx: Ctx) -> Reply:
    repo, issue = ctx.pull()
    return Reply(200, _pull(ctx, repo, issue, full=True))


def pulls_update(ctx: Ctx) -> Reply:
    repo, issue = ctx.pull()
    pull = issue.pull
    assert pull is not None
    body = ctx.body or {}
    if "base" in body:
        if repo.branch_sha(body["base"]) is None:
            raise _validation("base", field="base", code="invalid")
        if issue.state != "open":
            raise _validation("base", field="base", code="invalid")
    new_state = body.get("state")
    if new_state == "open" and issue.state == "closed":
        if pull.merged:
            raise _validation("state", field="state", code="invalid")
        base = body.get("base", pull.base_ref)
        if _open_duplicate(repo, pull.head_ref, base, skip=issue.number) is not None:
            raise ApiError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {repo.owner}:"
                        f"{pull.head_ref}.",
                    }
                ],
            )
        if repo.branch_sha(pull.head_ref) is None:
            raise _validation("state", field="state", code="invalid")
    model.current_shas(repo, issue)  # freeze the latest shas before a close
    if "title" in body:
        issue.title = body["title"]
    if "body" in body:
        issue.body = body["body"]
    if "base" in body:
        pull.base_ref = body["base"]
    if "maintainer_can_modify" in body:
        pull.maintainer_can_modify = body["maintainer_can_modify"]
    if new_state == "closed" and issue.state == "open":
        issue.state = "closed"
        issue.closed_at = ctx.state.now()
    elif new_state == "open" and issue.state == "closed":
        issue.state = "open"
        issue.closed_at = None
    _touch(ctx, issue)
    return Reply(200, _pull(ctx, repo, issue, full=True))


def pulls_request_reviewers(ctx: Ctx) -> Reply:
    repo, issue = ctx.pull()
    pull = issue.pull
    assert pull is not None
    body = ctx.body or {}
    reviewers = list(body.get("reviewers", []))
    teams = list(body.get("team_reviewers", []))
    if issue.user.login in reviewers:
        raise ApiError(422, "Review cannot be requested from pull request author.")
    for login in reviewers:
        if login not in pull.requested_reviewers:
            pull.requested_reviewers.append(login)
    for slug in teams:
        if slug not in pull.requested_teams:
            pull.requested_teams.append(slug)
    _touch(ctx, issue)
    return Reply(201, _pull(ctx, repo, issue, full=False))


# -- issues: labels, comments ----------------------------------------------------------------


def _label_names(body: Any) -> list[str]:
    labels = body.get("labels", []) if isinstance(body, dict) else []
    return [item if isinstance(item, str) else item["name"] for item in labels]


def _ensure_label(ctx: Ctx, repo: Repo, name: str) -> str:
    for existing in repo.labels.values():
        if existing.name.lower() == name.lower():
            return existing.name
    repo.labels[name] = model.Label(id=ctx.state.new_id(), name=name)
    return name


def _labels_reply(ctx: Ctx, repo: Repo, issue: Issue, status: int = 200) -> Reply:
    return Reply(
        status, [model.label_json(ctx.state.urls, repo, repo.labels[n]) for n in issue.labels]
    )


def _record(ctx: Ctx, issue: Issue, event: str, name: str) -> None:
    issue.events.append(
        model.LabelEvent(ctx.state.new_id(), event, name, ctx.actor, ctx.state.now())
    )


def issues_add_labels(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    for wanted in _label_names(ctx.body):
        name = _ensure_label(ctx, repo, wanted)
        if name not in issue.labels:
            issue.labels.append(name)
            _record(ctx, issue, "labeled", name)
    _touch(ctx, issue)
    return _labels_reply(ctx, repo, issue)


def issues_set_labels(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    before = list(issue.labels)
    issue.labels = []
    for wanted in _label_names(ctx.body):
        name = _ensure_label(ctx, repo, wanted)
        if name not in issue.labels:
            issue.labels.append(name)
    for name in before:
        if name not in issue.labels:
            _record(ctx, issue, "unlabeled", name)
    for name in issue.labels:
        if name not in before:
            _record(ctx, issue, "labeled", name)
    _touch(ctx, issue)
    return _labels_reply(ctx, repo, issue)


def issues_remove_label(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    wanted = str(ctx.params["name"]).lower()
    match = [n for n in issue.labels if n.lower() == wanted]
    if not match:
        raise ApiError(404, "Label does not exist")
    issue.labels.remove(match[0])
    _record(ctx, issue, "unlabeled", match[0])
    _touch(ctx, issue)
    return _labels_reply(ctx, repo, issue)


def issues_list_labels_on_issue(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    reply = _paginate(ctx, list(issue.labels))
    reply.body = [model.label_json(ctx.state.urls, repo, repo.labels[n]) for n in reply.body]
    return reply


def issues_list_events(ctx: Ctx) -> Reply:
    """The issue's events, oldest first (the fake records label changes only)."""
    repo, issue = ctx.issue()
    reply = _paginate(ctx, list(issue.events))
    reply.body = [
        model.label_event_json(ctx.state.urls, repo, e, repo.labels[e.label].color)
        for e in reply.body
    ]
    return reply


def issues_get(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    return Reply(200, model.issue_json(ctx.state.urls, repo, issue))


def issues_list_comments(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    comments = [repo.comments[c] for c in issue.comment_ids]
    since = ctx.params.get("since")
    if since is not None:
        when = datetime.fromisoformat(since.replace("Z", "+00:00"))
        comments = [c for c in comments if c.updated_at >= when]
    reply = _paginate(ctx, comments)
    reply.body = [model.comment_json(ctx.state.urls, repo, c) for c in reply.body]
    return reply


def issues_create_comment(ctx: Ctx) -> Reply:
    repo, issue = ctx.issue()
    body = ctx.body.get("body")
    if body is None:
        raise ApiError(
            422, "Validation Failed", [{"resource": "IssueComment", "code": "missing_field"}]
        )
    now = ctx.state.now()
    comment = model.Comment(
        id=ctx.state.new_id(),
        issue_number=issue.number,
        body=body,
        user=ctx.actor,
        created_at=now,
        updated_at=now,
    )
    repo.comments[comment.id] = comment
    issue.comment_ids.append(comment.id)
    _touch(ctx, issue)
    reply = Reply(201, model.comment_json(ctx.state.urls, repo, comment))
    reply.headers["Location"] = reply.body["url"]
    return reply


def issues_update_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    comment = repo.comments.get(ctx.params["comment_id"])
    if comment is None:
        raise ApiError(404, "Not Found")
    comment.body = ctx.body["body"]
    comment.updated_at = ctx.state.now()
    return Reply(200, model.comment_json(ctx.state.urls, repo, comment))


# -- checks, statuses, commits ---------------------------------------------------------------


def _require_app(ctx: Ctx) -> None:
    if ctx.principal.kind != "installation":
        raise ApiError(403, "You must authenticate via a GitHub App.")


def _integration_json(ctx: Ctx) -> dict[str, Any]:
    app = ctx.state.app
    assert app is not None
    owner = Actor(app.slug + "-owner", 40_000, "Organization")
    return {
        "id": app.id,
        "slug": app.slug,
        "node_id": model.node_id("A", app.id),
        "client_id": f"Iv1.{app.id:016x}",
        "owner": model.user_json(ctx.state.urls, owner),
        "name": app.name,
        "description": None,
        "external_url": f"{ctx.state.urls.web}/apps/{app.slug}",
        "html_url": f"{ctx.state.urls.web}/apps/{app.slug}",
        "created_at": model.iso(app.created_at),
        "updated_at": model.iso(app.created_at),
        "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
        "events": [],
    }


def _check_run_json(ctx: Ctx, repo: Repo, run: model.CheckRun) -> dict[str, Any]:
    api = f"{ctx.state.urls.repo(repo)}/check-runs/{run.id}"
    prs = [
        model.pull_minimal_json(ctx.state.urls, repo, issue)
        for issue in repo.issues.values()
        if issue.pull is not None
        and issue.state == "open"
        and model.current_shas(repo, issue)[0] == run.head_sha
    ]
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": model.node_id("CR_", run.id),
        "external_id": run.external_id,
        "url": api,
        "html_url": f"{ctx.state.urls.repo_html(repo)}/runs/{run.id}",
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": model.iso(run.started_at),
        "completed_at": model.iso(run.completed_at),
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": len(run.output.get("annotations", [])),
            "annotations_url": f"{api}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": 50_000 + run.id % 10_000},
        "app": _integration_json(ctx),
        "pull_requests": prs,
    }


def _check_run_fields(ctx: Ctx, run: model.CheckRun, body: dict[str, Any]) -> None:
    for key in ("name", "details_url", "external_id"):
        if key in body:
            setattr(run, key, body[key])
    if "started_at" in body:
        run.started_at = _parse_time(body["started_at"])
    if "status" in body:
        run.status = body["status"]
    if "conclusion" in body:
        run.conclusion = body["conclusion"]
        run.status = "completed"
    if "completed_at" in body:
        run.completed_at = _parse_time(body["completed_at"])
    if "output" in body:
        output = dict(body["output"])
        annotations = list(run.output.get("annotations", [])) + list(output.get("annotations", []))
        run.output = {**run.output, **output, "annotations": annotations}
    if run.status == "completed":
        if run.conclusion is None:
            raise ApiError(
                422,
                "Invalid request.\n\n'conclusion' is required when 'status' is 'completed'.",
            )
        if run.completed_at is None:
            run.completed_at = ctx.state.now()
    if run.status == "in_progress" and run.started_at is None:
        run.started_at = ctx.state.now()


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def checks_create(ctx: Ctx) -> Reply:
    _require_app(ctx)
    repo = ctx.repo()
    body = ctx.body
    if not repo.commit_exists(body["head_sha"]):
        raise ApiError(422, f"No commit found for SHA: {body['head_sha']}")
    assert ctx.state.app is not None
    run = model.CheckRun(
        id=ctx.state.new_id(),
        head_sha=repo.resolve_commit(body["head_sha"]) or body["head_sha"],
        name=body["name"],
        status=body.get("status", "queued"),
        conclusion=None,
        started_at=ctx.state.now(),
        completed_at=None,
        details_url=None,
        external_id=None,
        output={},
        app_id=ctx.state.app.id,
    )
    _check_run_fields(ctx, run, {k: v for k, v in body.items() if k not in ("name", "head_sha")})
    repo.check_runs[run.id] = run
    return Reply(201, _check_run_json(ctx, repo, run))


def checks_update(ctx: Ctx) -> Reply:
    _require_app(ctx)
    repo = ctx.repo()
    run = repo.check_runs.get(ctx.params["check_run_id"])
    if run is None:
        raise ApiError(404, "Not Found")
    _check_run_fields(ctx, run, ctx.body or {})
    return Reply(200, _check_run_json(ctx, repo, run))


def repos_create_commit_status(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.params["sha"]
    full = repo.resolve_commit(sha) if len(sha) >= 4 else None
    if full is None:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    body = ctx.body
    status = model.Status(
        id=ctx.state.new_id(),
        sha=full,
        state=body["state"],
        target_url=body.get("target_url"),
        description=body.get("description"),
        context=body.get("context", "default"),
        created_at=ctx.state.now(),
        creator=ctx.actor,
    )
    repo.statuses.append(status)
    return Reply(201, model.status_json(ctx.state.urls, repo, status))


def repos_list_pull_requests_associated_with_commit(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = repo.resolve_commit(ctx.params["commit_sha"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['commit_sha']}")
    found = []
    for issue in sorted(repo.issues.values(), key=lambda i: -i.number):
        pull = issue.pull
        if pull is None:
            continue
        head, base = model.current_shas(repo, issue)
        if pull.merged:
            introduced = sha == pull.merge_commit_sha or (
                repo.is_ancestor(sha, head) and not repo.is_ancestor(sha, pull.base_sha)
            )
            if introduced:
                found.append(issue)
        elif (
            issue.state == "open"
            and repo.is_ancestor(sha, head)
            and not repo.is_ancestor(sha, base)
        ):
            found.append(issue)
    reply = _paginate(ctx, found)
    reply.body = [_pull(ctx, repo, i, full=False) for i in reply.body]
    return reply


# -- apps ------------------------------------------------------------------------------------


def _installation_json(ctx: Ctx, repo: Repo) -> dict[str, Any]:
    app = ctx.state.app
    assert app is not None
    inst = app.installation_id
    return {
        "id": inst,
        "account": model.user_json(ctx.state.urls, model.owner_actor(repo)),
        "repository_selection": "all",
        "access_tokens_url": f"{ctx.state.urls.api}/app/installations/{inst}/access_tokens",
        "repositories_url": f"{ctx.state.urls.api}/installation/repositories",
        "html_url": (
            f"{ctx.state.urls.web}/organizations/{repo.owner}/settings/installations/{inst}"
        ),
        "app_id": app.id,
        "client_id": f"Iv1.{app.id:016x}",
        "target_id": model.owner_actor(repo).id,
        "target_type": "Organization",
        "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
        "events": [],
        "created_at": model.iso(app.created_at),
        "updated_at": model.iso(app.created_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "app_slug": app.slug,
        "suspended_by": None,
        "suspended_at": None,
        "contact_email": None,
    }


def apps_get_repo_installation(ctx: Ctx) -> Reply:
    return Reply(200, _installation_json(ctx, ctx.repo()))


def apps_create_installation_access_token(ctx: Ctx) -> Reply:
    app = ctx.state.app
    assert app is not None
    if ctx.params["installation_id"] != app.installation_id:
        raise ApiError(404, "Not Found")
    token = issue_installation_token(ctx.state)
    expires = ctx.state.now() + timedelta(hours=1)
    body: dict[str, Any] = {
        "token": token,
        "expires_at": model.iso(expires),
        "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
        "repository_selection": "all",
    }
    if ctx.body and ctx.body.get("permissions"):
        body["permissions"] = ctx.body["permissions"]
    return Reply(201, body)


def issue_installation_token(state: State) -> str:
    import secrets

    app = state.app
    assert app is not None
    token = f"ghs_{secrets.token_urlsafe(27)}"
    state.principals[token] = Principal(
        Actor(f"{app.slug}[bot]", 50_000 + app.id % 10_000, "Bot"),
        "installation",
        app.installation_id,
    )
    return token


HANDLERS: dict[str, Callable[[Ctx], Reply]] = {
    "apps/create-installation-access-token": apps_create_installation_access_token,
    "apps/get-repo-installation": apps_get_repo_installation,
    "checks/create": checks_create,
    "checks/update": checks_update,
    "issues/add-labels": issues_add_labels,
    "issues/create-comment": issues_create_comment,
    "issues/get": issues_get,
    "issues/list-comments": issues_list_comments,
    "issues/list-events": issues_list_events,
    "issues/list-labels-on-issue": issues_list_labels_on_issue,
    "issues/remove-label": issues_remove_label,
    "issues/set-labels": issues_set_labels,
    "issues/update-comment": issues_update_comment,
    "pulls/create": pulls_create,
    "pulls/get": pulls_get,
    "pulls/list": pulls_list,
    "pulls/request-reviewers": pulls_request_reviewers,
    "pulls/update": pulls_update,
    "repos/create-commit-status": repos_create_commit_status,
    "repos/get": repos_get,
    "repos/list-pull-requests-associated-with-commit": (
        repos_list_pull_requests_associated_with_commit
    ),
}

# Operations that only a GitHub App's JWT may call.
JWT_OPERATIONS = frozenset({"apps/get-repo-installation", "apps/create-installation-access-token"})
