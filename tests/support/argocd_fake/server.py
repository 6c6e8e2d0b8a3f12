"""A small real Argo CD API server: ``GET /api/v1/applications/{name}`` over HTTP or HTTPS.

Serves Applications from an in-memory table keyed by (namespace, name), answers as Argo CD
does (grpc-gateway error bodies: 401 code 16, 403 code 7, 404 code 5), requires
``Authorization: Bearer <token>``, and can be told to fail: an HTTP status ``n`` times, an
answer delayed past the client's timeout, a dropped connection. Every body it serves is
checked against Argo CD's own swagger (:mod:`.spec`): a fixture that is not a valid
Application makes :meth:`ArgoCDFake.add` raise, and so would a body the fake built wrong.

    with ArgoCDFake(tokens={"t0k3n-ok"}) as argocd:          # or ArgoCDFake(tls=True)
        argocd.add(states.synced_healthy("web-staging"))
        argocd.fail(500, times=2)                             # then "drop" / "delay"
        endpoint = ArgoCDEndpoint(argocd.url, "t0k3n-ok", ca_file=argocd.ca_file)
"""

from __future__ import annotations

import copy
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from support.argocd_fake.spec import ContractError, Spec
from support.argocd_fake.tls import Certificates

API = "/api/v1/applications/"
DEFAULT_NAMESPACE = "argocd"  # Argo CD's control-plane namespace: no appNamespace given
_SPEC: Spec | None = None


def spec() -> Spec:
    """The parsed swagger, once per process."""
    global _SPEC  # noqa: PLW0603 - a cache
    if _SPEC is None:
        _SPEC = Spec()
    return _SPEC


@dataclass
class Fault:
    """What to do instead of answering, ``times`` more times: ``status`` (an HTTP status
    with Argo CD's error body), ``delay`` (seconds before answering normally) or ``drop``
    (close the connection without an answer) or ``raw`` (``body`` as is: not Argo CD's)."""

    kind: str  # "status" | "delay" | "drop" | "raw"
    times: int
    status: int = 500
    seconds: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    path: str
    query: dict[str, list[str]]
    authorization: str | None


class ArgoCDFake:
    """The fake server; a context manager. ``tokens``: accepted bearer tokens;
    ``forbidden``: tokens that authenticate but may not get Applications (403);
    ``base_path``: Argo CD's ``--rootpath`` (e.g. ``/argo-cd``); ``tls``: serve HTTPS with a
    certificate from a throwaway CA (:attr:`ca_file`); ``hide_missing``: answer a request
    without ``project`` for a missing Application with 403, as Argo CD has since 2.6.7
    (False: 404, as before)."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("argocd-test-token",),
        forbidden: Iterable[str] = (),
        base_path: str = "",
        tls: bool = False,
        hide_missing: bool = True,
        workdir: Path | None = None,
    ) -> None:
        self.tokens = set(tokens)
        self.forbidden = set(forbidden)
        self.base_path = base_path.rstrip("/")
        self.hide_missing = hide_missing
        self.apps: dict[tuple[str, str], dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        # Bodies the fake refused to serve (a bug in the fake): the fixtures fail on any.
        self.contract_errors: list[str] = []
        self.lock = threading.Lock()
        self.tls = tls
        self.certificates = Certificates(workdir) if tls else None
        self.ca_file: str | None = str(self.certificates.ca_file) if self.certificates else None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        if self.certificates is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certificates.cert_file, self.certificates.key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server address to configure (with the base path)."""
        port = self.server.server_address[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}{self.base_path}"

    def __enter__(self) -> ArgoCDFake:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.certificates is not None:
            self.certificates.cleanup()

    # --- the table -------------------------------------------------------------------

    def add(self, app: Mapping[str, Any]) -> dict[str, Any]:
        """Serve ``app`` (keyed by its metadata.namespace or ``argocd``, and name) from now
        on, replacing one with the same key. Raises ContractError if it is not a valid
        Application."""
        body = copy.deepcopy(dict(app))
        spec().check(body, status=200)
        metadata = body.get("metadata") or {}
        key = (metadata.get("namespace") or DEFAULT_NAMESPACE, metadata.get("name") or "")
        with self.lock:
            self.apps[key] = body
        return body

    def remove(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        with self.lock:
            self.apps.pop((namespace, name), None)

    def reset(self) -> None:
        """Forget every Application, fault and seen request (between tests)."""
        with self.lock:
            self.apps.clear()
            self.faults.clear()
            self.seen.clear()
            self.contract_errors.clear()

    # --- faults ----------------------------------------------------------------------

    def fail(self, status: int = 500, *, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (Argo CD's error body)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self.faults.append(Fault("status", times, status=status, headers=headers))

    def delay(self, seconds: float, *, times: int = 1) -> None:
        """Wait ``seconds`` before answering the next ``times`` requests."""
        with self.lock:
            self.faults.append(Fault("delay", times, seconds=seconds))

    def drop(self, *, times: int = 1) -> None:
        """Close the next ``times`` connections without answering."""
        with self.lock:
            self.faults.append(Fault("drop", times))

    def raw(
        self,
        status: int,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with ``body`` as is, NOT checked against the
        contract: what something that is not Argo CD (a proxy, a login page, a wrong base
        path) would answer, to test the client's handling of it."""
        with self.lock:
            self.faults.append(
                Fault("raw", times, status=status, headers=dict(headers or {}), body=body)
            )

    def next_fault(self) -> Fault | None:
        with self.lock:
            while self.faults and self.faults[0].times <= 0:
                self.faults.pop(0)
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            return fault


# grpc codes Argo CD's gateway puts in its error bodies.
_GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 501: 12, 502: 14, 503: 14, 504: 4}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Argo CD's (grpc-gateway's) error body for ``status``."""
    return {"error": message, "code": _GRPC.get(status, 2), "message": message, "details": []}


def _get_answer(
    fake: ArgoCDFake, token: str, project: str, name: str, app: Mapping[str, Any] | None
) -> tuple[int, Mapping[str, Any]]:
    """What Argo CD's ``getAppEnforceRBAC`` answers (server/application/application.go at
    the pinned commit), for a token allowed every Application or (``forbidden``) none:
    no access is a 403; asked with a project, a missing Application, or one in another
    project, is a 404; asked without one, a missing Application is a 403 too
    (``hide_missing``; Argo CD before 2.6.7 answered 404)."""
    denied = (403, error_body(403, "permission denied"))
    not_found = (404, error_body(404, f'applications.argoproj.io "{name}" not found'))
    if token in fake.forbidden:
        return denied
    if app is None:
        return not_found if project or not fake.hide_missing else denied
    actual = (app.get("spec") or {}).get("project") or "default"
    if project and project != actual:
        return not_found
    return 200, app


def _handler(fake: ArgoCDFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read :attr:`ArgoCDFake.seen`."""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake.seen.append(
                Seen(parts.path, parse_qs(parts.query), self.headers.get("Authorization"))
            )
            fault = fake.next_fault()
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "raw":
                self.close_connection = True  # a Content-Length beyond the body: cut short
                self.send_response(fault.status)
                if "Content-Length" not in fault.headers:
                    self.send_header("Content-Length", str(len(fault.body)))
                for key, value in fault.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(fault.body)
                return
            if fault is not None and fault.kind == "status":
                self.answer(
                    fault.status, error_body(fault.status, "injected failure"), fault.headers
                )
                return
            self.route(parts.path, parse_qs(parts.query, keep_blank_values=True))

        def route(self, path: str, query: dict[str, list[str]]) -> None:
            prefix = fake.base_path + API
            if not path.startswith(prefix) or "/" in path[len(prefix) :]:
                self.answer(404, None)  # not Argo CD's API: a plain 404, no JSON
                return
            name = unquote(path[len(prefix) :])
            auth = self.headers.get("Authorization") or ""
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
            if token is None or token not in fake.tokens | fake.forbidden:
                self.answer(401, error_body(401, "no session information"))
                return
            known = {"appNamespace", "refresh", "resourceVersion", "project", "projects"}
            unknown = set(query) - known
            if unknown:
                self.answer(400, error_body(400, f"unknown query parameter(s) {sorted(unknown)}"))
                return
            projects = query.get("project") or query.get("projects") or []
            if len(projects) > 1:
                message = (
                    "multiple projects specified - the get endpoint accepts either zero or one "
                    "project"
                )
                self.answer(400, error_body(400, message))
                return
            project = projects[0] if projects else ""
            namespace = (query.get("appNamespace") or [DEFAULT_NAMESPACE])[0] or DEFAULT_NAMESPACE
            with fake.lock:
                app = fake.apps.get((namespace, name))
            self.answer(*_get_answer(fake, token, project, name, app))

        def answer(
            self, status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str] = {}
        ) -> None:
            if body is None:
                data = b"404 page not found\n"
                kind = "text/plain; charset=utf-8"
            else:
                try:
                    spec().check(body, status=status)
                except ContractError as err:  # loud: the fixtures fail the test on it
                    fake.contract_errors.append(str(err))
                    raise
                data = json.dumps(body).encode()
                kind = "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
