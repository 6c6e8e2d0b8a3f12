"""The HTTP side of the GitHub fake: auth, validation against the OpenAPI description, call
counting, fault injection, GraphQL (auto-merge only) and the test-facing ``GitHubFake``."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support import gitutil
from support.github_fake import model, operations
from support.github_fake.model import Actor, ApiError, Urls
from support.github_fake.operations import App, Ctx, Principal, Reply, State
from support.github_fake.spec import Spec

FaultMode = Literal["status", "secondary-rate-limit", "hang"]
GRAPHQL = "graphql"
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)

_SPEC: Spec | None = None
_SPEC_LOCK = threading.Lock()
_KEY: tuple[str, str] | None = None


def shared_spec() -> Spec:
    """The parsed description, loaded once per process (it is read-only)."""
    global _SPEC  # noqa: PLW0603 - a process-wide cache of an immutable object
    with _SPEC_LOCK:
        if _SPEC is None:
            _SPEC = Spec()
        return _SPEC


def test_app_key() -> tuple[str, str]:
    """(private PEM, public PEM) of an RSA key for the fake's GitHub App, made once."""
    global _KEY  # noqa: PLW0603 - generating RSA keys is slow; one per process is enough
    with _SPEC_LOCK:
        if _KEY is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            public = (
                key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            _KEY = (private, public)
        return _KEY


@dataclass(frozen=True)
class ApiCall:
    """One request the fake received. ``operation`` is the OpenAPI operationId, ``"graphql"``,
    or ``None`` when nothing matched. ``body`` is the parsed JSON request body (or None)."""

    operation: str | None
    method: str
    path: str
    query: str
    status: int
    actor: str | None
    fault: str | None
    body: Any


@dataclass(frozen=True)
class ValidationFailure:
    """A request the real GitHub would refuse, or a response that breaks the description."""

    direction: Literal["request", "response"]
    operation: str | None
    method: str
    path: str
    status: int
    errors: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.direction} {self.method} {self.path} ({self.operation}) -> {self.status}: "
            + "; ".join(self.errors)
        )


@dataclass
class _Fault:
    remaining: int
    mode: FaultMode
    operation: str | None
    status: int
    retry_after: int
    hang: float
    apply: bool


@dataclass(frozen=True)
class PullView:
    """A pull request as a test sees it (plain values, a snapshot)."""

    number: int
    title: str
    body: str | None
    state: str
    head: str
    base: str
    head_sha: str
    base_sha: str
    draft: bool
    merged: bool
    merge_commit_sha: str | None
    labels: tuple[str, ...]
    requested_reviewers: tuple[str, ...]
    requested_teams: tuple[str, ...]
    auto_merge: dict[str, Any] | None
    comments: tuple[str, ...]
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class _Shared:
    state: State
    spec: Spec
    prefix: str
    calls: list[ApiCall] = field(default_factory=list)
    failures: list[ValidationFailure] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    rate_remaining: int = 5000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gitops-promote-github-fake/1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- the pipeline -----------------------------------------------------------------------

    def _handle(self) -> None:
        shared = self.server.shared
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = parts.path
        query_text = parts.query
        if shared.prefix and path.startswith(shared.prefix + "/"):
            rel = path[len(shared.prefix) :]
        elif shared.prefix and path == shared.prefix.removesuffix("/v3") + "/graphql":
            rel = "/graphql"
        else:
            rel = path
        is_graphql = self.command == "POST" and rel == "/graphql"
        match = None if is_graphql else shared.spec.match(self.command, unquote(rel))
        operation = GRAPHQL if is_graphql else (match[0].operation_id if match else None)

        reply, actor, fault_mode, body = self._serve(
            rel=rel, query_text=query_text, raw=raw, operation=operation, match=match
        )
        with shared.state.lock:
            shared.calls.append(
                ApiCall(
                    operation=operation,
                    method=self.command,
                    path=path,
                    query=query_text,
                    status=reply.status,
                    actor=actor,
                    fault=fault_mode,
                    body=body,
                )
            )
        self._send(reply)

    def _serve(
        self,
        *,
        rel: str,
        query_text: str,
        raw: bytes,
        operation: str | None,
        match: Any,
    ) -> tuple[Reply, str | None, str | None, Any]:
        shared = self.server.shared
        state = shared.state
        body: Any = None
        with state.lock:
            principal, auth_error = self._authenticate(operation)
        if auth_error is not None:
            return self._error_reply(operation, auth_error), None, None, None
        assert principal is not None
        actor = principal.actor.login

        if operation is None:
            known = shared.spec.path_known(unquote(rel))
            message = (
                f"no operation for {self.command} {rel} in the trimmed OpenAPI description"
                " (add it to tests/support/openapi/regenerate.py OPERATIONS)"
            )
            self._fail_request(None, 405 if known else 404, [message])
            return (
                self._error_reply(None, ApiError(404, "Not Found")),
                actor,
                None,
                None,
            )

        fault = self._take_fault(operation)
        if fault is not None and not fault.apply:
            return self._fault_reply(operation, fault), actor, fault.mode, _try_json(raw)

        if operation == GRAPHQL:
            reply, body = self._graphql(raw, principal)
        else:
            reply, body = self._rest(match, query_text, raw, principal)
        if fault is not None:
            return self._fault_reply(operation, fault), actor, fault.mode, body
        return reply, actor, None, body

    def _rest(
        self, match: Any, query_text: str, raw: bytes, principal: Principal
    ) -> tuple[Reply, Any]:
        shared = self.server.shared
        op, path_params = match
        path_params = {k: unquote(v) for k, v in path_params.items()}
        query = parse_qs(query_text, keep_blank_values=True)
        params, problem = shared.spec.check_params(op, path_params, query)
        body: Any = None
        if problem is None:
            body, problem = shared.spec.check_body(op, raw)
        else:
            body = _try_json(raw)
        if problem is not None:
            self._fail_request(op.operation_id, problem.status, problem.errors)
            return self._error_reply(
                op.operation_id, ApiError(problem.status, problem.message)
            ), body
        request_url = shared.state.urls.api + self.path[len(shared.prefix) :]
        ctx = Ctx(
            state=shared.state,
            operation=op.operation_id,
            params=params,
            body=body,
            principal=principal,
            request_url=request_url,
        )
        handler = operations.HANDLERS[op.operation_id]
        with shared.state.lock:
            shared.state.forget_git()
            try:
                reply = handler(ctx)
            except ApiError as err:
                return self._error_reply(op.operation_id, err), body
        errors = shared.spec.check_response(op, reply.status, reply.body)
        if errors:
            failure = ValidationFailure(
                "response", op.operation_id, self.command, self.path, reply.status, tuple(errors)
            )
            with shared.state.lock:
                shared.failures.append(failure)
            return Reply(500, {"message": f"github fake bug: {failure}"}), body
        return reply, body

    # -- auth -------------------------------------------------------------------------------

    def _authenticate(self, operation: str | None) -> tuple[Principal | None, ApiError | None]:
        state = self.server.shared.state
        header = self.headers.get("Authorization", "")
        scheme, _, credential = header.strip().partition(" ")
        credential = credential.strip()
        if not header or scheme.lower() not in ("token", "bearer") or not credential:
            return None, ApiError(401, "Requires authentication")
        wants_jwt = operation in operations.JWT_OPERATIONS
        if credential.count(".") == 2 and credential.startswith("eyJ"):
            principal, error = self._verify_jwt(credential)
            if error is not None:
                return None, error
            if not wants_jwt:
                return None, ApiError(
                    401, "A JSON web token could not be used for this endpoint: Bad credentials"
                )
            return principal, None
        principal = state.principals.get(credential)
        if principal is None:
            return None, ApiError(401, "Bad credentials")
        if wants_jwt:
            return None, ApiError(
                401,
                "A JSON web token could not be decoded",
            )
        return principal, None

    def _verify_jwt(self, token: str) -> tuple[Principal | None, ApiError | None]:
        state = self.server.shared.state
        app = state.app
        if app is None:
            return None, ApiError(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token,
                app.public_key_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            return None, ApiError(401, f"A JSON web token could not be decoded ({exc})")
        if str(claims["iss"]) != str(app.id):
            return None, ApiError(401, "'Issuer' claim ('iss') must be the app id")
        if int(claims["exp"]) - int(claims["iat"]) > 660:
            return None, ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
        return Principal(Actor(app.slug, app.id, "Bot"), "app"), None

    # -- faults -----------------------------------------------------------------------------

    def _take_fault(self, operation: str) -> _Fault | None:
        shared = self.server.shared
        with shared.state.lock:
            for fault in shared.faults:
                if fault.operation in (None, operation):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        shared.faults.remove(fault)
                    return fault
        return None

    def _fault_reply(self, operation: str, fault: _Fault) -> Reply:
        if fault.mode == "secondary-rate-limit":
            body = {
                "message": SECONDARY_RATE_LIMIT_MESSAGE,
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            }
            return Reply(403, body, {"Retry-After": str(fault.retry_after)})
        if fault.mode == "hang":
            self.server.shared.release.wait(fault.hang)
            return self._error_reply(operation, ApiError(504, "Gateway Timeout"))
        return self._error_reply(operation, ApiError(fault.status, "Server Error"))

    # -- errors and sending -----------------------------------------------------------------

    def _fail_request(self, operation: str | None, status: int, errors: list[str]) -> None:
        shared = self.server.shared
        with shared.state.lock:
            shared.failures.append(
                ValidationFailure(
                    "request", operation, self.command, self.path, status, tuple(errors)
                )
            )

    def _error_reply(self, operation: str | None, err: ApiError) -> Reply:
        shared = self.server.shared
        body = err.body()
        op = shared.spec.operations.get(operation or "")
        if op is not None and str(err.status) in op.responses:
            problems = shared.spec.check_response(op, err.status, body)
        else:
            problems = shared.spec.check_generic_error(body)
        if problems:
            failure = ValidationFailure(
                "response", operation, self.command, self.path, err.status, tuple(problems)
            )
            with shared.state.lock:
                shared.failures.append(failure)
        headers = dict(err.headers)
        if err.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="GitHub"')
        return Reply(err.status, body, headers)

    def _send(self, reply: Reply) -> None:
        shared = self.server.shared
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        with shared.state.lock:
            shared.rate_remaining = max(shared.rate_remaining - 1, 0)
            remaining = shared.rate_remaining
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
            self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
            self.send_header("X-GitHub-Request-Id", secrets.token_hex(8).upper())
            self.send_header("X-RateLimit-Limit", "5000")
            self.send_header("X-RateLimit-Remaining", str(remaining))
            self.send_header("X-RateLimit-Used", str(5000 - remaining))
            self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            self.send_header("X-RateLimit-Resource", "core")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (e.g. its timeout fired)

    # -- GraphQL ----------------------------------------------------------------------------

    def _graphql(self, raw: bytes, principal: Principal) -> tuple[Reply, Any]:
        shared = self.server.shared
        payload: Any = _try_json(raw)
        if isinstance(payload, dict) and _VIEWER_QUERY.fullmatch(str(payload.get("query"))):
            with shared.state.lock:
                shared.state.graphql_calls.append({"query": "viewer"})
            return Reply(200, {"data": {"viewer": {"login": principal.actor.login}}}), payload
        data, errors = _graphql_input(payload)
        if errors:
            self._fail_request(GRAPHQL, 200, errors)
            return Reply(200, {"errors": [{"message": e} for e in errors]}), payload
        with shared.state.lock:
            found = shared.state.pull_by_node_id(data["pullRequestId"])
            if found is None:
                return (
                    Reply(
                        200,
                        {
                            "data": {"enablePullRequestAutoMerge": None},
                            "errors": [
                                {
                                    "type": "NOT_FOUND",
                                    "path": ["enablePullRequestAutoMerge"],
                                    "message": "Could not resolve to a node with the global id "
                                    f"of '{data['pullRequestId']}'",
                                }
                            ],
                        },
                    ),
                    payload,
                )
            repo, issue = found
            if not repo.allow_auto_merge:
                return (
                    Reply(
                        200,
                        {
                            "data": {"enablePullRequestAutoMerge": None},
                            "errors": [
                                {
                                    "type": "UNPROCESSABLE",
                                    "path": ["enablePullRequestAutoMerge"],
                                    "message": "Auto merge is not allowed for this repository",
                                }
                            ],
                        },
                    ),
                    payload,
                )
            assert issue.pull is not None
            method = data.get("mergeMethod", "MERGE").lower()
            issue.pull.auto_merge = {
                "enabled_by": model.user_json(shared.state.urls, principal.actor),
                "merge_method": method,
                "commit_title": data.get("commitHeadline", issue.title),
                "commit_message": data.get("commitBody", ""),
            }
            shared.state.graphql_calls.append(
                {"mutation": "enablePullRequestAutoMerge", "input": dict(data)}
            )
            actor = principal.actor
            result = {
                "actor": {
                    "login": actor.login,
                    "avatarUrl": f"{shared.state.urls.web}/avatars/{actor.id}",
                    "resourcePath": f"/{actor.login}",
                    "url": f"{shared.state.urls.web}/{actor.login}",
                },
                "clientMutationId": data.get("clientMutationId"),
                "pullRequest": {
                    "id": data["pullRequestId"],
                    "number": issue.number,
                    "autoMergeRequest": {"mergeMethod": method.upper()},
                },
            }
        return Reply(200, {"data": {"enablePullRequestAutoMerge": result}}), payload


# The one GraphQL query the fake answers: who the token is (``viewer { login }``).
_VIEWER_QUERY = re.compile(r"\s*(query\s*\w*\s*)?\{\s*viewer\s*\{\s*login\s*\}\s*\}\s*")

# EnablePullRequestAutoMergeInput in GitHub's GraphQL schema: field -> GraphQL type.
_AUTO_MERGE_INPUT = {
    "authorEmail": "String",
    "clientMutationId": "String",
    "commitBody": "String",
    "commitHeadline": "String",
    "expectedHeadOid": "GitObjectID",
    "mergeMethod": "PullRequestMergeMethod",
    "pullRequestId": "ID!",
}
_MERGE_METHODS = ("MERGE", "SQUASH", "REBASE")


def _graphql_input(payload: Any) -> tuple[dict[str, Any], list[str]]:
    """The ``enablePullRequestAutoMerge`` input of a GraphQL request, or what is wrong.

    Accepts the input as one variable (``input: $input`` declared
    ``EnablePullRequestAutoMergeInput!``, as PyGithub sends it) or as an inline object whose
    fields are variables (declared with the field's type) or literals.
    """
    if not isinstance(payload, dict):
        return {}, ["GraphQL request body must be a JSON object with 'query' and 'variables'"]
    extra = set(payload) - {"query", "variables", "operationName"}
    if extra:
        return {}, [f"unknown GraphQL request keys {sorted(extra)}"]
    query = payload.get("query")
    if not isinstance(query, str) or not re.match(r"\s*mutation\b", query):
        return {}, ["GraphQL 'query' must be a mutation (only enablePullRequestAutoMerge is faked)"]
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict):
        return {}, ["GraphQL 'variables' must be an object"]
    if len(re.findall(r"\b\w+\s*\(\s*input\s*:", query)) != 1:
        return {}, ["exactly one mutation per request (enablePullRequestAutoMerge)"]
    call = re.search(
        r"\benablePullRequestAutoMerge\s*\(\s*input\s*:\s*(\$\w+|\{[^{}]*\})\s*\)", query
    )
    if call is None:
        return {}, ["only enablePullRequestAutoMerge(input: ...) is supported by the fake"]
    header = re.match(r"\s*mutation\b\s*\w*\s*(\(([^)]*)\))?", query)
    declared = dict(
        re.findall(r"\$(\w+)\s*:\s*([\w!\[\]]+)", header.group(2) or "")
        if header is not None
        else []
    )
    used = set(re.findall(r"\$(\w+)", query[header.end() if header else 0 :]))
    errors = [f"variable ${v} is used but not declared" for v in sorted(used - set(declared))]
    errors += [f"variable ${v} is declared but not used" for v in sorted(set(declared) - used)]
    errors += [
        f"variable ${v} is not given"
        for v, kind in declared.items()
        if kind.endswith("!") and v not in variables
    ]
    arg = call.group(1)
    data: dict[str, Any] = {}
    if arg.startswith("$"):
        name = arg[1:]
        if declared.get(name) != "EnablePullRequestAutoMergeInput!":
            errors.append(f"${name} must be declared as EnablePullRequestAutoMergeInput!")
        value = variables.get(name)
        if not isinstance(value, dict):
            errors.append(f"variables.{name} must be an object")
        else:
            data = dict(value)
    else:
        fields = re.findall(r'(\w+)\s*:\s*(\$\w+|"(?:[^"\\]|\\.)*"|\w+)', arg[1:-1])
        for key, raw in fields:
            if raw.startswith("$"):
                want = _AUTO_MERGE_INPUT.get(key, "").rstrip("!")
                got = declared.get(raw[1:], "").rstrip("!")
                if want and got != want:
                    errors.append(f"${raw[1:]} is {got or 'undeclared'}, {key} needs {want}")
                data[key] = variables.get(raw[1:])
            elif raw.startswith('"'):
                data[key] = json.loads(raw)
            else:
                data[key] = raw  # an enum value, e.g. SQUASH
    for key, value in data.items():
        if key not in _AUTO_MERGE_INPUT:
            errors.append(f"EnablePullRequestAutoMergeInput has no field {key!r}")
        elif not isinstance(value, str):
            errors.append(f"{key} must be a string")
    if "pullRequestId" not in data:
        errors.append("pullRequestId is required")
    method = data.get("mergeMethod")
    if method is not None and method not in _MERGE_METHODS:
        errors.append(f"mergeMethod {method!r} is not one of MERGE, SQUASH, REBASE")
    return data, errors


def _try_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    shared: _Shared


class GitHubFake:
    """A stateful GitHub REST API on 127.0.0.1, held to GitHub's OpenAPI description.

    ``api_prefix=""`` serves like api.github.com (GraphQL at ``/graphql``); ``"/api/v3"``
    like GitHub Enterprise Server (GraphQL at ``/api/graphql``).
    """

    def __init__(self, *, api_prefix: str = "", now: Any = None) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        port = self._httpd.server_address[1]
        self.api_prefix = api_prefix.rstrip("/")
        self.web_url = f"http://127.0.0.1:{port}"
        self.api_url = f"http://127.0.0.1:{port}{self.api_prefix}"
        self.graphql_url = (
            f"{self.web_url}{self.api_prefix.removesuffix('/v3')}/graphql"
            if self.api_prefix
            else f"{self.api_url}/graphql"
        )
        state = State(Urls(self.api_url, self.web_url), now or (lambda: datetime.now(UTC)))
        self._state = state
        self._shared = _Shared(state=state, spec=shared_spec(), prefix=self.api_prefix)
        self._httpd.shared = self._shared
        private, public = test_app_key()
        state.app = App(
            id=424242,
            slug="gitops-promote-test",
            name="gitops-promote test app",
            installation_id=777001,
            private_key_pem=private,
            public_key_pem=public,
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        # GITHUB_TOKEN in Actions is an installation token of the github-actions app.
        self.token = f"ghs_{secrets.token_urlsafe(27)}"
        state.principals[self.token] = Principal(
            Actor("github-actions[bot]", 41898282, "Bot"), "installation", 1
        )
        # A personal access token of a human (cannot create check runs).
        self.user_token = f"ghp_{secrets.token_urlsafe(27)}"
        state.principals[self.user_token] = Principal(Actor("release-manager", 4242), "user")
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> GitHubFake:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._shared.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> GitHubFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- set-up -----------------------------------------------------------------------------

    def add_repo(
        self,
        owner: str,
        name: str,
        bare_path: Path,
        *,
        private: bool = False,
        allow_auto_merge: bool = True,
    ) -> None:
        """Serve ``owner/name``, its branches and commits read from the bare repo."""
        with self._state.lock:
            self._state.add_repo(owner, name, bare_path, private=private, auto=allow_auto_merge)

    @property
    def app_id(self) -> int:
        assert self._state.app is not None
        return self._state.app.id

    @property
    def app_private_key(self) -> str:
        """PEM of the test GitHub App's RSA private key (JWTs signed with it are accepted)."""
        assert self._state.app is not None
        return self._state.app.private_key_pem

    @property
    def installation_id(self) -> int:
        assert self._state.app is not None
        return self._state.app.installation_id

    def knows_token(self, value: str) -> bool:
        """Whether ``value`` is a token this fake issued (its own, a user's, or an App
        installation's): for a git server that should accept the same credentials."""
        with self._state.lock:
            return value in self._state.principals

    def installation_token(self) -> str:
        """A fresh installation token (as if exchanged from a JWT), without an API call."""
        with self._state.lock:
            return operations.issue_installation_token(self._state)

    # -- calls ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every request so far, oldest first (a snapshot)."""
        with self._state.lock:
            return list(self._shared.calls)

    def count(self, operation: str | None = None, *, since: int = 0) -> int:
        """How many calls (of ``operation``, if given) since call index ``since``."""
        calls = self.calls[since:]
        return sum(1 for c in calls if operation is None or c.operation == operation)

    def mark(self) -> int:
        """The current call index, for ``count(since=...)``."""
        return len(self.calls)

    def reset_calls(self) -> None:
        with self._state.lock:
            self._shared.calls.clear()

    @property
    def graphql_calls(self) -> list[dict[str, Any]]:
        """Recorded GraphQL mutations: ``{"mutation": name, "input": {...}}``."""
        with self._state.lock:
            return list(self._state.graphql_calls)

    @property
    def warnings(self) -> list[str]:
        """Requests GitHub accepts but that probably do not do what the caller meant."""
        with self._state.lock:
            return list(self._state.warnings)

    # -- validation -------------------------------------------------------------------------

    @property
    def validation_errors(self) -> list[ValidationFailure]:
        with self._state.lock:
            return list(self._shared.failures)

    def take_validation_errors(self) -> list[ValidationFailure]:
        """Return and forget the validation failures so far (for tests that expect some)."""
        with self._state.lock:
            out = list(self._shared.failures)
            self._shared.failures.clear()
            return out

    def assert_no_validation_errors(self) -> None:
        failures = self.validation_errors
        if failures:
            lines = "\n  ".join(str(f) for f in failures)
            raise AssertionError(
                f"GitHub fake: {len(failures)} request(s)/response(s) broke GitHub's OpenAPI "
                f"description:\n  {lines}"
            )

    # -- faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        operation: str | None = None,
        mode: FaultMode = "status",
        status: int = 502,
        retry_after: int = 1,
        hang: float = 30.0,
        apply: bool = False,
    ) -> None:
        """Make the next ``count`` authenticated calls (of ``operation``, an operationId such
        as ``"pulls/create"`` or ``"graphql"``) fail.

        ``mode``: ``"status"`` answers ``status`` (502 by default); ``"secondary-rate-limit"``
        answers 403 with ``Retry-After: retry_after`` and GitHub's secondary-rate-limit
        message; ``"hang"`` holds the request ``hang`` seconds (or until the fake stops),
        then answers 504. With ``apply=True`` the operation takes effect first and only the
        answer is lost (GitHub created the PR, the client saw a 502 or a timeout).
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        known = operation in (None, GRAPHQL) or operation in self._shared.spec.operations
        if not known:
            raise ValueError(f"unknown operation {operation!r}")
        with self._state.lock:
            self._shared.faults.append(
                _Fault(count, mode, operation, status, retry_after, hang, apply)
            )

    def release_hangs(self) -> None:
        """Let every hanging request finish now."""
        self._shared.release.set()

    # -- state for assertions ---------------------------------------------------------------

    def _repo(self, repo: str | None) -> model.Repo:
        if repo is None:
            if len(self._state.repos) != 1:
                raise ValueError("several repos: pass repo='owner/name'")
            return next(iter(self._state.repos.values()))
        owner, _, name = repo.partition("/")
        return self._state.repo(owner, name)

    def _view(self, repo: model.Repo, issue: model.Issue) -> PullView:
        pull = issue.pull
        assert pull is not None
        head, base = model.current_shas(repo, issue)
        return PullView(
            number=issue.number,
            title=issue.title,
            body=issue.body,
            state=issue.state,
            head=pull.head_ref,
            base=pull.base_ref,
            head_sha=head,
            base_sha=base,
            draft=pull.draft,
            merged=pull.merged,
            merge_commit_sha=pull.merge_commit_sha,
            labels=tuple(issue.labels),
            requested_reviewers=tuple(pull.requested_reviewers),
            requested_teams=tuple(pull.requested_teams),
            auto_merge=pull.auto_merge,
            comments=tuple(repo.comments[c].body for c in issue.comment_ids),
            user=issue.user.login,
            created_at=issue.created_at,
            updated_at=issue.updated_at,
        )

    def pulls(
        self, repo: str | None = None, *, state: str = "all", head: str | None = None
    ) -> list[PullView]:
        """Pull requests of ``repo`` ("owner/name"; optional with one repo), oldest first,
        filtered by ``state`` ("open", "closed", "all") and head branch name."""
        with self._state.lock:
            self._state.forget_git()
            r = self._repo(repo)
            return [
                self._view(r, i)
                for i in sorted(r.issues.values(), key=lambda i: i.number)
                if i.pull is not None
                and state in ("all", i.state)
                and (head is None or i.pull.head_ref == head)
            ]

    def pull(self, number: int, repo: str | None = None) -> PullView:
        with self._state.lock:
            self._state.forget_git()
            r = self._repo(repo)
            issue = r.issues.get(number)
            if issue is None or issue.pull is None:
                raise KeyError(f"no pull request #{number}")
            return self._view(r, issue)

    def check_runs(self, repo: str | None = None) -> list[model.CheckRun]:
        with self._state.lock:
            return list(self._repo(repo).check_runs.values())

    def statuses(self, repo: str | None = None) -> list[model.Status]:
        with self._state.lock:
            return list(self._repo(repo).statuses)

    # -- a human on the website -------------------------------------------------------------

    def merge(
        self,
        pr_number: int,
        method: Literal["merge", "squash"] = "merge",
        *,
        repo: str | None = None,
        by: str = "release-manager",
        when: datetime | None = None,
        delete_branch: bool = False,
    ) -> str:
        """Merge PR ``pr_number`` in the bare repo as a person clicking the button would;
        return the new commit on the base branch.

        ``merge``: a merge commit "Merge pull request #N from owner/branch" (body: title);
        ``squash``: one commit "<title> (#N)" on top of the base. The PR becomes merged and
        closed. Raises ValueError if the PR is not open or has conflicts.
        """
        with self._state.lock:
            self._state.forget_git()
            r = self._repo(repo)
            issue = r.issues.get(pr_number)
            if issue is None or issue.pull is None or issue.state != "open":
                raise ValueError(f"pull request #{pr_number} is not open")
            pull = issue.pull
            head, base = model.current_shas(r, issue)
            tree = gitutil.git("merge-tree", "--write-tree", base, head, cwd=r.bare, check=False)
            if not re.fullmatch(r"[0-9a-f]{40,64}", tree.strip()):
                raise ValueError(f"pull request #{pr_number} has conflicts")
            now = when or self._state.now()
            actor = Actor(by, 4242)
            env = gitutil.identity_env(
                now,
                (by, f"{by}@users.noreply.example"),
                ("GitHub", "noreply@github.com"),
            )
            if method == "merge":
                message = (
                    f"Merge pull request #{pr_number} from {r.owner}/{pull.head_ref}"
                    f"\n\n{issue.title}"
                )
                parents = ["-p", base, "-p", head]
            else:
                message = f"{issue.title} (#{pr_number})"
                if issue.body:
                    message += f"\n\n{issue.body}"
                parents = ["-p", base]
            sha = gitutil.git(
                "commit-tree", tree.strip(), *parents, "-m", message, cwd=r.bare, env=env
            )
            gitutil.git("update-ref", f"refs/heads/{pull.base_ref}", sha, base, cwd=r.bare)
            pull.merged = True
            pull.merged_at = now
            pull.merged_by = actor
            pull.merge_commit_sha = sha
            pull.base_sha = base
            pull.head_sha = head
            issue.state = "closed"
            issue.closed_at = now
            issue.updated_at = now
            if delete_branch:
                gitutil.git("update-ref", "-d", f"refs/heads/{pull.head_ref}", cwd=r.bare)
            r.forget_git()
            return sha


def iter_fakes(fake: GitHubFake) -> Iterator[GitHubFake]:
    """Run ``fake`` for the duration of a fixture, asserting no validation errors after."""
    with fake:
        yield fake
        fake.release_hangs()
        fake.assert_no_validation_errors()
