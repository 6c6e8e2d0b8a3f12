"""The GitHub fake behaves like GitHub for the operations we use, checked through PyGithub,
and holds every request and response to GitHub's OpenAPI description."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import github
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException, GithubIntegration
from github.Repository import Repository

from support import gitutil
from support.github_fake import GitHubFake
from support.github_fake import operations as fake_operations
from support.github_fake.server import iter_fakes

OWNER, NAME = "myorg", "config"
T0 = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
# PyGithub throttles itself (0.25 s between requests, 1 s between writes) by default.
NO_THROTTLE: dict[str, Any] = {"seconds_between_requests": 0, "seconds_between_writes": 0}


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A bare config repo: main with two commits, and branches promote/a, promote/b."""
    path = gitutil.init_bare(tmp_path / "config.git")
    gitutil.commit_tree_to_bare(path, {"promotion.yaml": "version: 1\n"}, message="init", date=T0)
    gitutil.commit_tree_to_bare(
        path, {"apps/a/prod.yaml": "image: a@sha256:1\n"}, message="pin a", date=T0
    )
    for branch, content in (("promote/a", "a@sha256:2"), ("promote/b", "b@sha256:2")):
        gitutil.git("branch", branch, "main", cwd=path)
        gitutil.commit_tree_to_bare(
            path,
            {f"apps/{branch[-1]}/prod.yaml": f"image: {content}\n"},
            branch=branch,
            message=f"promote {branch[-1]}",
            date=T0 + timedelta(hours=1),
        )
    return path


@pytest.fixture
def fake(github: GitHubFake, bare: Path) -> GitHubFake:
    github.add_repo(OWNER, NAME, bare)
    return github


def client(fake: GitHubFake, token: str | None = None, **kwargs: Any) -> Github:
    kwargs = {**NO_THROTTLE, **kwargs}
    return Github(base_url=fake.api_url, auth=Auth.Token(token or fake.token), lazy=True, **kwargs)


@pytest.fixture
def repo(fake: GitHubFake) -> Repository:
    return client(fake).get_repo(f"{OWNER}/{NAME}")


def raw_call(
    fake: GitHubFake,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = "default",  # noqa: S107 - "default" means the fixture's token
) -> tuple[int, Any, dict[str, str]]:
    """One HTTP call with no client library in the way."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(fake.api_url + path, data=data, method=method)
    if token is not None:
        req.add_header("Authorization", f"token {fake.token if token == 'default' else token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text else None, dict(resp.headers)
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, json.loads(text) if text else None, dict(err.headers)


# -- repos, pulls --------------------------------------------------------------------------


def test_get_repo(fake: GitHubFake, repo: Repository) -> None:
    """GET /repos/{owner}/{repo} answers the full repository with its default branch."""
    assert repo.full_name == f"{OWNER}/{NAME}"
    assert repo.default_branch == "main"
    assert fake.count("repos/get") == 1


def test_create_pull_takes_shas_from_git_and_shares_numbers(
    fake: GitHubFake, repo: Repository, bare: Path
) -> None:
    """A new PR gets the next number and its head/base shas are the branch tips in git."""
    pr = repo.create_pull(base="main", head="promote/a", title="Promote a", body="b", draft=True)
    assert pr.number == 1
    assert pr.head.sha == gitutil.rev_parse(bare, "promote/a")
    assert pr.base.sha == gitutil.rev_parse(bare, "main")
    assert pr.head.label == f"{OWNER}:promote/a"
    assert pr.draft is True
    assert pr.mergeable is True
    pr2 = repo.create_pull(base="main", head=f"{OWNER}:promote/b", title="Promote b")
    assert pr2.number == 2
    assert [p.number for p in fake.pulls()] == [1, 2]


def test_duplicate_open_pull_is_422(fake: GitHubFake, repo: Repository) -> None:
    """A second open PR for the same head and base is refused like GitHub does."""
    repo.create_pull(base="main", head="promote/a", title="t")
    with pytest.raises(GithubException) as err:
        repo.create_pull(base="main", head="promote/a", title="t")
    assert err.value.status == 422
    assert f"A pull request already exists for {OWNER}:promote/a." in str(err.value.data)


def test_pull_for_missing_branch_or_without_commits_is_422(
    fake: GitHubFake, repo: Repository, bare: Path
) -> None:
    """A head branch that does not exist in git, or has nothing new, gives 422."""
    with pytest.raises(GithubException) as err:
        repo.create_pull(base="main", head="promote/nope", title="t")
    assert err.value.status == 422
    assert err.value.data["errors"][0]["field"] == "head"
    gitutil.git("branch", "same", "main", cwd=bare)
    with pytest.raises(GithubException) as err:
        repo.create_pull(base="main", head="same", title="t")
    assert "No commits between main and same" in str(err.value.data)
    assert fake.pulls() == []


def test_list_pulls_filters_and_paginates(fake: GitHubFake, repo: Repository, bare: Path) -> None:
    """state/head/base filters work, head needs the owner: prefix (as on GitHub), and pages
    come with a Link header PyGithub follows."""
    for i in range(5):
        gitutil.git("branch", f"b{i}", "promote/a", cwd=bare)
        repo.create_pull(base="main", head=f"b{i}", title=f"pr {i}")
    repo.get_pull(2).edit(state="closed")
    gh = client(fake, per_page=2)
    r = gh.get_repo(f"{OWNER}/{NAME}")
    assert sorted(p.number for p in r.get_pulls(state="open")) == [1, 3, 4, 5]
    assert [p.number for p in r.get_pulls(state="closed")] == [2]
    assert len(list(r.get_pulls(state="all"))) == 5
    assert [p.number for p in r.get_pulls(state="all", head=f"{OWNER}:b3")] == [4]
    assert [p.number for p in r.get_pulls(state="all", head="other:b3")] == []
    assert list(r.get_pulls(state="open", base="other")) == []
    # no owner prefix: GitHub silently ignores the filter; the fake does too, and warns.
    assert len(list(r.get_pulls(state="all", head="b3"))) == 5
    assert any("no 'owner:' prefix" in w for w in fake.warnings)
    status, _, headers = raw_call(
        fake, "GET", f"/repos/{OWNER}/{NAME}/pulls?state=all&per_page=2&page=2"
    )
    assert status == 200
    assert 'rel="next"' in headers["Link"]
    assert 'rel="prev"' in headers["Link"]


def test_update_pull_title_body_state(fake: GitHubFake, repo: Repository) -> None:
    """PATCH changes title/body, closes and reopens; reopening a duplicate is refused."""
    pr = repo.create_pull(base="main", head="promote/a", title="old")
    pr.edit(title="new", body="table")
    got = repo.get_pull(pr.number)
    assert (got.title, got.body, got.state) == ("new", "table", "open")
    pr.edit(state="closed")
    assert fake.pull(1).state == "closed"
    repo.create_pull(base="main", head="promote/a", title="again")
    with pytest.raises(GithubException) as err:
        pr.edit(state="open")
    assert err.value.status == 422


def test_head_sha_follows_the_branch_while_open(
    fake: GitHubFake, repo: Repository, bare: Path
) -> None:
    """A push to the head branch moves the open PR's head sha (as GitHub does)."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    new = gitutil.commit_tree_to_bare(bare, {"x": "1\n"}, branch="promote/a", message="more")
    assert repo.get_pull(pr.number).head.sha == new
    assert fake.pull(pr.number).head_sha == new


# -- labels, reviewers, comments -----------------------------------------------------------


def test_labels_add_list_set_remove(fake: GitHubFake, repo: Repository) -> None:
    """Labels are added ({"labels": [...]} as the description requires), listed, replaced
    and removed; unknown labels are created on the fly as GitHub does."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    issue_url = f"/repos/{OWNER}/{NAME}/issues/{pr.number}/labels"
    status, body, _ = raw_call(fake, "POST", issue_url, {"labels": ["promotion", "production"]})
    assert status == 200
    assert [lb["name"] for lb in body] == ["promotion", "production"]
    assert [lb.name for lb in pr.get_labels()] == ["promotion", "production"]
    pr.remove_from_labels("promotion")
    assert fake.pull(pr.number).labels == ("production",)
    status, body, _ = raw_call(fake, "PUT", issue_url, {"labels": ["a", "b"]})
    assert [lb["name"] for lb in body] == ["a", "b"]


def test_pygithub_add_to_labels_bare_array_breaks_the_description(
    fake: GitHubFake, repo: Repository
) -> None:
    """PyGithub's add_to_labels sends a bare JSON array; @octokit/openapi 23.0.2 only allows
    {"labels": [...]}, so the fake refuses it (422) and records the validation error."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    with pytest.raises(GithubException) as err:
        pr.add_to_labels("promotion")
    assert err.value.status == 422
    failures = fake.take_validation_errors()
    assert [f.operation for f in failures] == ["issues/add-labels"]
    # the compliant form through PyGithub's requester works
    pr._requester.requestJsonAndCheck(
        "POST", f"{pr.issue_url}/labels", input={"labels": ["promotion"]}
    )
    assert fake.pull(pr.number).labels == ("promotion",)


def test_request_reviewers_and_teams(fake: GitHubFake, repo: Repository) -> None:
    """Reviewers and team reviewers are recorded on the PR; the author cannot be asked."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    pr.create_review_request(reviewers=["alice"], team_reviewers=["oncall-approvers"])
    view = fake.pull(pr.number)
    assert view.requested_reviewers == ("alice",)
    assert view.requested_teams == ("oncall-approvers",)
    got = repo.get_pull(pr.number)
    assert [u.login for u in got.requested_reviewers] == ["alice"]
    assert [t.slug for t in got.requested_teams] == ["oncall-approvers"]
    with pytest.raises(GithubException) as err:
        pr.create_review_request(reviewers=["github-actions[bot]"])
    assert err.value.status == 422


def test_comments_create_list_update(fake: GitHubFake, repo: Repository) -> None:
    """Issue comments on a PR are created, listed and edited."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    comment = pr.create_issue_comment("first")
    pr.create_issue_comment("second")
    assert [c.body for c in pr.get_issue_comments()] == ["first", "second"]
    comment.edit("first, edited")
    assert fake.pull(pr.number).comments == ("first, edited", "second")
    assert repo.get_issue(pr.number).comments == 2


# -- checks, statuses, commits -------------------------------------------------------------


def test_check_runs_create_and_update(fake: GitHubFake, repo: Repository, bare: Path) -> None:
    """Check runs are created on a real commit and completed; a PAT (not an app) gets 403,
    an unknown sha 422."""
    sha = gitutil.rev_parse(bare, "promote/a")
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    run = repo.create_check_run(name="promotion-gate", head_sha=sha, status="in_progress")
    assert run.status == "in_progress"
    assert [p.number for p in run.pull_requests] == [pr.number]
    run.edit(
        conclusion="failure",
        output={"title": "Freeze", "summary": "production is frozen until Monday"},
    )
    stored = fake.check_runs()[0]
    assert (stored.status, stored.conclusion) == ("completed", "failure")
    assert stored.output["summary"] == "production is frozen until Monday"
    user_repo = client(fake, fake.user_token).get_repo(f"{OWNER}/{NAME}")
    with pytest.raises(GithubException) as err:
        user_repo.create_check_run(name="x", head_sha=sha)
    assert err.value.status == 403
    with pytest.raises(GithubException) as err:
        repo.create_check_run(name="x", head_sha="0" * 40)
    assert err.value.status == 422


def test_commit_status(fake: GitHubFake, repo: Repository, bare: Path) -> None:
    """Commit statuses are recorded with state, context and description."""
    sha = gitutil.rev_parse(bare, "main")
    status = repo.get_commit(sha).create_status(
        state="pending", description="soaking", context="gitops-promote/soak"
    )
    assert status.state == "pending"
    stored = fake.statuses()[0]
    assert (stored.sha, stored.context, stored.description) == (
        sha,
        "gitops-promote/soak",
        "soaking",
    )


def test_pulls_for_commit_and_merge_helper(fake: GitHubFake, repo: Repository, bare: Path) -> None:
    """merge() makes GitHub's merge commit; squash makes "<title> (#N)"; the commit's PRs
    are found through GET /commits/{sha}/pulls."""
    head_a = gitutil.rev_parse(bare, "promote/a")
    pr = repo.create_pull(base="main", head="promote/a", title="Promote a")
    assert [p.number for p in repo.get_commit(head_a).get_pulls()] == [pr.number]
    merge_sha = fake.merge(pr.number)
    top = gitutil.list_commits(bare, "main")[0]
    assert top.sha == merge_sha
    assert top.subject == f"Merge pull request #{pr.number} from {OWNER}/promote/a"
    assert len(top.parents) == 2
    got = repo.get_pull(pr.number)
    assert (got.merged, got.state, got.merge_commit_sha) == (True, "closed", merge_sha)
    assert [p.number for p in repo.get_commit(merge_sha).get_pulls()] == [pr.number]

    pr_b = repo.create_pull(base="main", head="promote/b", title="Promote b")
    squash = fake.merge(pr_b.number, "squash")
    top = gitutil.list_commits(bare, "main")[0]
    assert (top.sha, top.subject, len(top.parents)) == (squash, f"Promote b (#{pr_b.number})", 1)
    assert gitutil.read_file(bare, "main", "apps/b/prod.yaml") == b"image: b@sha256:2\n"


# -- GitHub App auth, GraphQL --------------------------------------------------------------


def test_github_app_jwt_to_installation_token(fake: GitHubFake, bare: Path) -> None:
    """An app JWT (RS256, the fixture's key) finds the installation and gets a token that
    then authenticates REST calls as the app's bot."""
    auth = Auth.AppAuth(fake.app_id, fake.app_private_key)
    integration = GithubIntegration(base_url=fake.api_url, auth=auth, **NO_THROTTLE)
    installation = integration.get_repo_installation(OWNER, NAME)
    assert installation.id == fake.installation_id
    token = integration.get_access_token(installation.id).token
    gh = Github(base_url=fake.api_url, auth=Auth.Token(token), **NO_THROTTLE)
    pr = gh.get_repo(f"{OWNER}/{NAME}").create_pull(base="main", head="promote/a", title="t")
    assert pr.user.login == "gitops-promote-test[bot]"
    # PyGithub's own installation auth works as well
    inst_auth = auth.get_installation_auth(fake.installation_id)
    gh2 = Github(base_url=fake.api_url, auth=inst_auth, **NO_THROTTLE)
    assert gh2.get_repo(f"{OWNER}/{NAME}").get_pull(pr.number).title == "t"


def test_jwt_signed_with_another_key_is_401(fake: GitHubFake) -> None:
    """A JWT not signed by the app's key, or a plain token on an app endpoint, is refused."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    now = int(datetime.now(UTC).timestamp())
    bad = jwt.encode({"iat": now - 60, "exp": now + 300, "iss": str(fake.app_id)}, pem, "RS256")
    status, body, _ = raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/installation", token=bad)
    assert status == 401
    assert "JSON web token" in body["message"]
    status, _, _ = raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/installation")
    assert status == 401


def test_graphql_enable_auto_merge(fake: GitHubFake, repo: Repository) -> None:
    """PyGithub's enable_automerge sends the enablePullRequestAutoMerge mutation; the fake
    records it and the PR shows auto_merge over REST."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    result = pr.enable_automerge(merge_method="SQUASH")
    assert result["actor"]["login"] == "github-actions[bot]"
    assert fake.graphql_calls == [
        {
            "mutation": "enablePullRequestAutoMerge",
            "input": {"pullRequestId": pr.node_id, "mergeMethod": "SQUASH"},
        }
    ]
    assert repo.get_pull(pr.number).raw_data["auto_merge"]["merge_method"] == "squash"
    assert fake.count("graphql") == 1


def test_graphql_inline_input_with_typed_variables(fake: GitHubFake, repo: Repository) -> None:
    """The input may be an inline object of variables; their declared types are checked."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    query = (
        "mutation($id: ID!, $method: PullRequestMergeMethod!) {"
        " enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method})"
        " { clientMutationId } }"
    )
    requester = client(fake).requester
    requester.graphql_query(query, {"id": pr.node_id, "method": "MERGE"})
    assert fake.graphql_calls[0]["input"] == {"pullRequestId": pr.node_id, "mergeMethod": "MERGE"}
    assert fake.pull(pr.number).auto_merge is not None
    with pytest.raises(GithubException):
        requester.graphql_query(
            query.replace("PullRequestMergeMethod!", "String!"),
            {"id": pr.node_id, "method": "MERGE"},
        )
    [failure] = fake.take_validation_errors()
    assert "mergeMethod needs PullRequestMergeMethod" in failure.errors[0]


def test_graphql_viewer_login_is_who_the_token_is(fake: GitHubFake) -> None:
    """``viewer { login }`` answers the token's identity: the Actions token is
    github-actions[bot], a person's PAT their login, an App's installation token
    <slug>[bot]."""
    for token, login in (
        (fake.token, "github-actions[bot]"),
        (fake.user_token, "release-manager"),
        (fake.installation_token(), "gitops-promote-test[bot]"),
    ):
        query = {"query": "query { viewer { login } }"}
        status, body, _ = raw_call(fake, "POST", "/graphql", query, token=token)
        assert (status, body) == (200, {"data": {"viewer": {"login": login}}})


def test_graphql_other_queries_are_refused(fake: GitHubFake) -> None:
    """Anything but the auto-merge mutation and the viewer's login is answered with
    errors and recorded."""
    query = {"query": "{ viewer { login email } }"}
    status, body, _ = raw_call(fake, "POST", "/graphql", query)
    assert status == 200
    assert body["errors"]
    assert [f.operation for f in fake.take_validation_errors()] == ["graphql"]


def test_issue_events_record_who_added_and_removed_labels(
    fake: GitHubFake, repo: Repository
) -> None:
    """Adding, replacing and removing labels record labeled/unlabeled events with the
    actor, served by issues/list-events as GitHub's OpenAPI description says."""
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    path = f"/repos/{OWNER}/{NAME}/issues/{pr.number}"
    raw_call(fake, "POST", f"{path}/labels", {"labels": ["promotion"]})
    raw_call(fake, "POST", f"{path}/labels", {"labels": ["hold"]}, token=fake.user_token)
    raw_call(fake, "DELETE", f"{path}/labels/promotion", token=fake.user_token)
    status, body, _ = raw_call(fake, "GET", f"{path}/events")
    assert status == 200
    assert [(e["event"], e["label"]["name"], e["actor"]["login"]) for e in body] == [
        ("labeled", "promotion", "github-actions[bot]"),
        ("labeled", "hold", "release-manager"),
        ("unlabeled", "promotion", "release-manager"),
    ]
    assert body[0]["actor"]["type"] == "Bot"


# -- auth, validation, counting, faults ----------------------------------------------------


def test_auth_is_required(fake: GitHubFake) -> None:
    """No Authorization header is 401 "Requires authentication"; a wrong one "Bad
    credentials"."""
    status, body, _ = raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}", token=None)
    assert (status, body["message"]) == (401, "Requires authentication")
    status, body, _ = raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}", token="ghp_wrong")
    assert (status, body["message"]) == (401, "Bad credentials")
    req = urllib.request.Request(fake.api_url + f"/repos/{OWNER}/{NAME}")
    req.add_header("Authorization", f"Bearer {fake.token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"head": "promote/a", "base": "main", "title": "t", "labels": ["x"]}, "unknown field"),
        ({"head": "promote/a", "base": "main", "title": 5}, "wrong type"),
        ({"head": "promote/a", "title": "t"}, "missing required field"),
    ],
)
def test_requests_github_would_refuse_are_422_and_recorded(
    fake: GitHubFake, body: dict[str, Any], why: str
) -> None:
    """A request body the description refuses is answered 422 and recorded as a failure."""
    status, answer, _ = raw_call(fake, "POST", f"/repos/{OWNER}/{NAME}/pulls", body)
    assert status == 422, why
    assert answer["message"].startswith("Invalid request")
    failures = fake.take_validation_errors()
    assert len(failures) == 1
    assert failures[0].direction == "request"
    assert failures[0].operation == "pulls/create"
    assert fake.pulls() == []


def test_bad_params_and_unknown_paths_are_recorded(fake: GitHubFake) -> None:
    """A malformed path parameter (404 as on GitHub), a bad query value (422), an unknown
    query parameter and an operation missing from the trimmed description are recorded."""
    assert raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/pulls/abc")[0] == 404
    assert raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/pulls?state=merged")[0] == 422
    assert raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/pulls?status=open")[0] == 422
    assert raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/branches")[0] == 404
    failures = fake.take_validation_errors()
    assert [f.operation for f in failures] == ["pulls/get", "pulls/list", "pulls/list", None]


def test_validation_errors_fail_the_fixture(bare: Path) -> None:
    """At teardown the fixture raises if a request broke the description and the test did
    not take the error."""
    fakes = iter_fakes(GitHubFake())
    fake = next(fakes)
    fake.add_repo(OWNER, NAME, bare)
    raw_call(fake, "POST", f"/repos/{OWNER}/{NAME}/pulls", {"head": 1})
    with pytest.raises(AssertionError, match="broke GitHub's OpenAPI description"):
        next(fakes)


def test_response_that_breaks_the_description_is_a_loud_500(
    fake: GitHubFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the fake answers something the description does not allow, the client gets 500
    and the failure is recorded (it is a bug in the fake)."""

    def broken(ctx: fake_operations.Ctx) -> fake_operations.Reply:
        return fake_operations.Reply(200, {"id": "not an int"})

    monkeypatch.setitem(fake_operations.HANDLERS, "repos/get", broken)
    status, body, _ = raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}")
    assert status == 500
    assert "github fake bug" in body["message"]
    failures = fake.take_validation_errors()
    assert [(f.direction, f.operation) for f in failures] == [("response", "repos/get")]


def test_new_pull_request_call_count(fake: GitHubFake, repo: Repository) -> None:
    """Calls are counted per operation (here: list, create, labels = 3 calls)."""
    start = fake.mark()
    pulls = list(repo.get_pulls(state="open", head=f"{OWNER}:promote/a", base="main"))
    assert pulls == []
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    pr._requester.requestJsonAndCheck(
        "POST", f"{pr.issue_url}/labels", input={"labels": ["promotion"]}
    )
    assert fake.count(since=start) == 3
    assert fake.count("pulls/create", since=start) == 1
    assert [c.operation for c in fake.calls[start:]] == [
        "pulls/list",
        "pulls/create",
        "issues/add-labels",
    ]


def test_fault_502_is_retried_by_pygithub(fake: GitHubFake, repo: Repository) -> None:
    """fail_next(502) fails the next matching call; PyGithub's retry gets through."""
    fake.fail_next(2, operation="pulls/create")
    pr = repo.create_pull(base="main", head="promote/a", title="t")
    assert pr.number == 1
    statuses = [c.status for c in fake.calls if c.operation == "pulls/create"]
    assert statuses == [502, 502, 201]
    assert len(fake.pulls()) == 1


def test_fault_502_after_apply_creates_the_pull(fake: GitHubFake) -> None:
    """apply=True: the PR is created but the client sees 502 (a re-run must find it)."""
    fake.fail_next(1, operation="pulls/create", apply=True)
    gh = client(fake, retry=None)
    with pytest.raises(GithubException) as err:
        gh.get_repo(f"{OWNER}/{NAME}").create_pull(base="main", head="promote/a", title="t")
    assert err.value.status == 502
    assert [p.state for p in fake.pulls()] == ["open"]


def test_fault_secondary_rate_limit(fake: GitHubFake) -> None:
    """A secondary rate limit is 403 with Retry-After and GitHub's message; PyGithub waits
    and retries."""
    fake.fail_next(1, operation="pulls/list", mode="secondary-rate-limit", retry_after=1)
    status, body, headers = raw_call(fake, "GET", f"/repos/{OWNER}/{NAME}/pulls")
    assert status == 403
    assert headers["Retry-After"] == "1"
    assert "You have exceeded a secondary rate limit" in body["message"]
    fake.fail_next(1, operation="pulls/list", mode="secondary-rate-limit", retry_after=1)
    gh = client(fake, retry=github.GithubRetry(secondary_rate_wait=1))
    assert list(gh.get_repo(f"{OWNER}/{NAME}").get_pulls()) == []


def test_fault_hang_times_out_the_client(fake: GitHubFake) -> None:
    """mode="hang" holds the answer past the client's timeout."""
    fake.fail_next(1, operation="repos/get", mode="hang", hang=30)
    gh = client(fake, retry=None, timeout=1)
    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
        gh.get_repo(f"{OWNER}/{NAME}").default_branch  # noqa: B018
    fake.release_hangs()


@pytest.fixture
def ghes(bare: Path) -> Iterator[GitHubFake]:
    fake = GitHubFake(api_prefix="/api/v3")
    fake.add_repo(OWNER, NAME, bare)
    yield from iter_fakes(fake)


def test_enterprise_server_prefix(ghes: GitHubFake) -> None:
    """With api_prefix="/api/v3" (GitHub Enterprise Server) REST lives under /api/v3 and
    GraphQL at /api/graphql, where PyGithub looks for them."""
    assert ghes.api_url.endswith("/api/v3")
    gh = Github(base_url=ghes.api_url, auth=Auth.Token(ghes.token), **NO_THROTTLE)
    pr = gh.get_repo(f"{OWNER}/{NAME}").create_pull(base="main", head="promote/a", title="t")
    pr.enable_automerge()
    assert ghes.count("graphql") == 1
    assert ghes.pull(pr.number).auto_merge is not None


def test_every_read_of_a_fully_dressed_pull_conforms(
    fake: GitHubFake, repo: Repository, bare: Path
) -> None:
    """A PR with labels, reviewers, teams, auto-merge, comments, a check run and a merged
    sibling is read back through every read operation; all answers conform (the fixture's
    teardown would fail otherwise)."""
    pr = repo.create_pull(base="main", head="promote/a", title="dressed", body="| a | b |")
    base = f"/repos/{OWNER}/{NAME}"
    raw_call(fake, "POST", f"{base}/issues/{pr.number}/labels", {"labels": ["promotion"]})
    pr.create_review_request(reviewers=["alice"], team_reviewers=["oncall-approvers"])
    pr.enable_automerge(merge_method="MERGE")
    pr.create_issue_comment("<!-- gitops-promote -->")
    sha = gitutil.rev_parse(bare, "promote/a")
    repo.create_check_run(name="gate", head_sha=sha, conclusion="success")
    other = repo.create_pull(base="main", head="promote/b", title="sibling")
    merged = fake.merge(other.number, "squash")
    for path in (
        f"{base}/pulls?state=all",
        f"{base}/pulls/{pr.number}",
        f"{base}/pulls/{other.number}",
        f"{base}/issues/{pr.number}",
        f"{base}/issues/{pr.number}/labels",
        f"{base}/issues/{pr.number}/comments",
        f"{base}/commits/{sha}/pulls",
        f"{base}/commits/{merged}/pulls",
        base,
    ):
        status, _, _ = raw_call(fake, "GET", path)
        assert status == 200, path
    assert fake.validation_errors == []
