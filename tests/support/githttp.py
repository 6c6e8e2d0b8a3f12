"""A git server over HTTP for tests: ``git http-backend`` behind a token check.

An in-process ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) runs ``git http-backend``
as a CGI program for the bare repositories under one root directory. Every request must
carry ``Authorization: Bearer <token>`` or ``Authorization: Basic`` with any user name and
the token as password; anything else gets ``401`` with ``WWW-Authenticate: Basic``.

Smart HTTP protocol v0/v1/v2 (the ``Git-Protocol`` header is passed on), pushes, partial
clones (``--filter=blob:none``) and lazy blob fetches work. Request bodies are streamed to
the backend as they arrive, whether sent with ``Content-Length`` or chunked; gzip bodies are
inflated by ``git http-backend`` itself (``HTTP_CONTENT_ENCODING``).

Every request is recorded (method, path, query, status, whether the token was right) and
faults can be injected for the next requests (a status such as 500, a dropped connection,
a delay). The ``git_server`` fixture gives each test its own server.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Literal
from urllib.parse import unquote

import pytest

from support import gitutil

FaultMode = Literal["status", "drop", "drop-after-backend", "delay"]

_CHUNK = 64 * 1024
REALM = "gitops-promote test git server"


@dataclass(frozen=True)
class GitRequest:
    """One HTTP request the server answered (or dropped).

    ``path`` and ``query`` are exactly as the client sent them (so a test can assert that
    a token never appears in a URL); ``authorized`` says whether the right token came in
    the ``Authorization`` header; ``auth_scheme`` is ``"bearer"``, ``"basic"``, another
    scheme in lower case, or ``None`` when no header came. ``fault`` names the injected
    fault, if any. ``status`` is ``None`` when the connection was dropped before a status.
    """

    method: str
    path: str
    query: str
    status: int | None
    authorized: bool
    auth_scheme: str | None
    basic_user: str | None
    service: str | None
    git_protocol: str | None
    content_encoding: str | None
    chunked: bool
    user_agent: str | None
    fault: str | None
    headers: tuple[tuple[str, str], ...]

    @property
    def url_path(self) -> str:
        """The request target as sent: path plus ``?query`` when there is one."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class _Fault:
    remaining: int
    mode: FaultMode
    status: int
    delay: float
    service: str | None
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str, service: str | None) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_contains is None or self.path_contains in path


@dataclass
class _State:
    root: Path
    token: str
    accept: Callable[[str], bool] | None = None  # more tokens (e.g. a GitHub App's)
    requests: list[GitRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    backend_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, method: str, path: str, service: str | None) -> _Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path, service):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
        return None


class _DropConnectionError(Exception):
    """Raised inside the handler to close the socket without an answer."""


def _drop() -> None:
    raise _DropConnectionError


def _service_of(method: str, path: str, query: str) -> str | None:
    for service in ("git-upload-pack", "git-receive-pack", "git-upload-archive"):
        if method == "POST" and path.endswith("/" + service):
            return service
        if path.endswith("/info/refs") and f"service={service}" in query:
            return service
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gitops-promote-test-git/1"
    server: _Server
    _finish: Callable[[int | None], None]
    _body_taken: bool

    # BaseHTTPRequestHandler logs every request to stderr; tests read the records instead.
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        state = self.server.state
        raw_path, _, query = self.path.partition("?")
        service = _service_of(self.command, raw_path, query)
        authorized, scheme, user = self._check_auth(state.token, state.accept)
        fault = state.take_fault(self.command, self.path, service) if authorized else None
        status: int | None = None
        recorded = False

        def finish(final: int | None) -> None:
            # Called just before the last byte goes out, so a client that has its answer
            # always finds the request in the records.
            nonlocal recorded
            if recorded:
                return
            recorded = True
            self._record(
                path=raw_path,
                query=query,
                status=final,
                authorized=authorized,
                scheme=scheme,
                user=user,
                service=service,
                fault=fault,
            )

        self._finish = finish
        self._body_taken = False
        try:
            if not authorized:
                status = 401
                self._discard_body_and_close()
                self._send_simple(
                    401,
                    b"Authentication required\n",
                    {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
                )
            elif fault is not None and fault.mode == "drop":
                _drop()
            elif fault is not None and fault.mode == "status":
                status = fault.status
                self._discard_body_and_close()
                self._send_simple(fault.status, f"injected fault {fault.status}\n".encode())
            else:
                if fault is not None and fault.mode == "delay":
                    time.sleep(fault.delay)
                drop_after = fault is not None and fault.mode == "drop-after-backend"
                status = self._run_backend(unquote(raw_path), query, user, drop_after)
        except _DropConnectionError:
            status = None
            self.close_connection = True
            finish(None)
            self._cut_off()
        finally:
            finish(status)

    def _cut_off(self) -> None:
        """Break the connection in the middle of an answer.

        Closing with no byte sent is not enough: curl retries a request once on a fresh
        connection when a reused one closes silently. A truncated answer is a real failure.
        """
        with contextlib.suppress(OSError):
            if self.command == "POST":
                self._discard_body_and_close()
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n10\r\n0008NAK"
            )
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    # -- auth -------------------------------------------------------------------------------

    def _check_auth(
        self, token: str, accept: Callable[[str], bool] | None
    ) -> tuple[bool, str | None, str | None]:
        def good(value: str) -> bool:
            if hmac.compare_digest(value.encode(), token.encode()):
                return True
            return accept is not None and accept(value)

        header = self.headers.get("Authorization")
        if header is None:
            return False, None, None
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer":
            return good(value), scheme, None
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False, scheme, None
            user, sep, password = decoded.partition(":")
            ok = bool(sep) and good(password)
            return ok, scheme, user
        return False, scheme, None

    # -- bodies -----------------------------------------------------------------------------

    def _is_chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def _iter_body(self) -> Iterator[bytes]:
        """The request body as it arrives, de-chunked (content encoding left as is).

        Read at most once per request: a second call yields nothing.
        """
        if self._body_taken:
            return
        self._body_taken = True
        if self._is_chunked():
            yield from self._iter_chunks()
            return
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            piece = self.rfile.read(min(left, _CHUNK))
            if not piece:
                raise _DropConnectionError
            left -= len(piece)
            yield piece

    def _iter_chunks(self) -> Iterator[bytes]:
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _DropConnectionError
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # trailers end with an empty line
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            left = size
            while left:
                piece = self.rfile.read(min(left, _CHUNK))
                if not piece:
                    raise _DropConnectionError
                left -= len(piece)
                yield piece
            self.rfile.readline(8)  # CRLF after each chunk

    def _discard_body_and_close(self) -> None:
        # The body is not needed: read it (so the client is not reset mid-send), then close.
        self.close_connection = True
        with contextlib.suppress(_DropConnectionError, OSError, ValueError):
            for _ in self._iter_body():
                pass

    def _send_simple(self, status: int, body: bytes, headers: Mapping[str, str] = {}) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self._finish(status)
        self.wfile.write(body)
        self.wfile.flush()

    # -- the CGI ----------------------------------------------------------------------------

    def _cgi_env(self, path_info: str, query: str, user: str | None) -> dict[str, str]:
        state = self.server.state
        env = gitutil.clean_env()
        config = list(gitutil.BARE_REPO_CONFIG)
        env.update(
            {
                "GIT_PROJECT_ROOT": str(state.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "SERVER_SOFTWARE": self.server_version,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path_info,
                "QUERY_STRING": query,
                "REMOTE_ADDR": self.client_address[0],
                "REMOTE_USER": user or "token",
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "GIT_CONFIG_COUNT": str(len(config)),
            }
        )
        for i, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        if not self._is_chunked() and self.headers.get("Content-Length"):
            env["CONTENT_LENGTH"] = self.headers["Content-Length"]
        for header, var in (
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
            ("Git-Protocol", "GIT_PROTOCOL"),
            ("User-Agent", "HTTP_USER_AGENT"),
        ):
            header_value = self.headers.get(header)
            if header_value:
                env[var] = header_value
        return env

    def _run_backend(self, path_info: str, query: str, user: str | None, drop_after: bool) -> int:
        env = self._cgi_env(path_info, query, user)
        proc = subprocess.Popen(
            ["git", "http-backend"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        body_error: list[BaseException] = []
        feeder = threading.Thread(
            target=self._feed_body, args=(proc.stdin, body_error), daemon=True
        )
        stderr_chunks: list[bytes] = []
        drainer = threading.Thread(
            target=lambda: stderr_chunks.append(proc.stderr.read() if proc.stderr else b""),
            daemon=True,
        )
        feeder.start()
        drainer.start()
        try:
            status, headers = self._read_cgi_headers(proc.stdout)
            if drop_after:
                # The backend does all its work (a push lands), the client never hears back.
                while proc.stdout.read(_CHUNK):
                    pass
                proc.wait()
                raise _DropConnectionError
            self._send_cgi_response(status, headers, proc.stdout)
        finally:
            with contextlib.suppress(OSError):
                proc.stdout.close()
            proc.wait()
            feeder.join(timeout=5)
            drainer.join(timeout=5)
            err = b"".join(stderr_chunks).decode(errors="replace").strip()
            if err:
                with self.server.state.lock:
                    self.server.state.backend_errors.append(err)
        if body_error:
            # The backend stopped reading before the body ended: the connection is unusable.
            self.close_connection = True
        return status

    def _feed_body(self, sink: IO[bytes], errors: list[BaseException]) -> None:
        try:
            try:
                for piece in self._iter_body():
                    sink.write(piece)
                    sink.flush()
            except BrokenPipeError as exc:
                errors.append(exc)
            except _DropConnectionError as exc:
                errors.append(exc)
            finally:
                with contextlib.suppress(OSError):
                    sink.close()
        except Exception as exc:  # pragma: no cover - any failure closes the connection
            errors.append(exc)

    @staticmethod
    def _read_cgi_headers(stdout: IO[bytes]) -> tuple[int, list[tuple[str, str]]]:
        status = 200
        headers: list[tuple[str, str]] = []
        while True:
            line = stdout.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").rstrip("\r\n").partition(":")
            value = value.strip()
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value))
        return status, headers

    def _send_cgi_response(
        self, status: int, headers: list[tuple[str, str]], stdout: IO[bytes]
    ) -> None:
        self.send_response(status)
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                has_length = True
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if not has_length:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        held = b""  # the last piece is held back until the request is recorded
        while True:
            piece = stdout.read1(_CHUNK) if hasattr(stdout, "read1") else stdout.read(_CHUNK)
            if not piece:
                break
            if held:
                self._write_piece(held, chunked=not has_length)
            held = piece
        self._finish(status)
        if held:
            self._write_piece(held, chunked=not has_length)
        if not has_length:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_piece(self, piece: bytes, *, chunked: bool) -> None:
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            self.wfile.write(piece)

    # -- records ----------------------------------------------------------------------------

    def _record(
        self,
        *,
        path: str,
        query: str,
        status: int | None,
        authorized: bool,
        scheme: str | None,
        user: str | None,
        service: str | None,
        fault: _Fault | None,
    ) -> None:
        headers = tuple(
            (name, "<redacted>" if name.lower() == "authorization" else value)
            for name, value in self.headers.items()
        )
        record = GitRequest(
            method=self.command,
            path=path,
            query=query,
            status=status,
            authorized=authorized,
            auth_scheme=scheme,
            basic_user=user,
            service=service,
            git_protocol=self.headers.get("Git-Protocol"),
            content_encoding=self.headers.get("Content-Encoding"),
            chunked=self._is_chunked(),
            user_agent=self.headers.get("User-Agent"),
            fault=fault.mode if fault is not None else None,
            headers=headers,
        )
        state = self.server.state
        with state.lock:
            state.requests.append(record)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State


class GitServer:
    """A running git-over-HTTP server for the bare repos under ``root``.

    Repos are addressed by name, GitHub style: ``create_bare("myorg/config")`` makes
    ``root/myorg/config.git`` served at ``url("myorg/config")``
    (``http://127.0.0.1:PORT/myorg/config.git``).
    """

    def __init__(
        self,
        root: Path,
        token: str | None = None,
        *,
        accept: Callable[[str], bool] | None = None,
    ) -> None:
        """``token``: the one token always accepted; ``accept``: a check for more (say,
        installation tokens the GitHub fake issued to a GitHub App)."""
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token or f"gitsrv_{secrets.token_hex(16)}"
        self._state = _State(root=root, token=self.token, accept=accept)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.state = self._state
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> GitServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> GitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _rel(name: str) -> str:
        name = name.strip("/")
        if not name or ".." in name.split("/"):
            raise ValueError(f"bad repository name {name!r}")
        return name if name.endswith(".git") else f"{name}.git"

    def path(self, name: str) -> Path:
        """Where the bare repo ``name`` lives on disk."""
        return self.root / self._rel(name)

    def url(self, name: str) -> str:
        """The clone URL of ``name`` (never contains the token)."""
        return f"{self.base_url}/{self._rel(name)}"

    # repos

    def create_bare(self, name: str, branch: str = "main") -> Path:
        """Create an empty bare repo ``name`` (default branch ``branch``); return its path."""
        return gitutil.init_bare(self.path(name), branch=branch)

    def seed(
        self,
        name: str,
        tree: Path | Mapping[str, gitutil.FileContent],
        *,
        branch: str = "main",
        message: str = "seed",
        date: datetime | str = gitutil.DEFAULT_DATE,
        author: tuple[str, str] = gitutil.DEFAULT_AUTHOR,
    ) -> str:
        """Commit ``tree`` (a directory or a ``{path: content}`` mapping) onto ``branch`` of
        bare repo ``name`` (created if missing) with the given date and author; return sha.
        Call it repeatedly to build a history with controlled dates.
        """
        bare = self.path(name)
        if not bare.exists():
            self.create_bare(name, branch=branch)
        return gitutil.commit_tree_to_bare(
            bare, tree, branch=branch, message=message, date=date, author=author
        )

    # auth for clients

    def auth_header(self, scheme: Literal["bearer", "basic"] = "bearer") -> str:
        """The ``Authorization`` header value a client sends."""
        if scheme == "basic":
            raw = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            return f"Basic {raw}"
        return f"Bearer {self.token}"

    def git_env(self, scheme: Literal["bearer", "basic"] = "bearer") -> dict[str, str]:
        """Environment that makes a git client send the token (``http.extraHeader`` through
        ``GIT_CONFIG_COUNT``/``KEY``/``VALUE``): never in argv, URL or ``.git/config``.
        """
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: {self.auth_header(scheme)}",
        }

    # records and faults

    @property
    def requests(self) -> list[GitRequest]:
        """A snapshot of every request so far, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def backend_errors(self) -> list[str]:
        """What ``git http-backend`` wrote to stderr (one entry per request that wrote)."""
        with self._state.lock:
            return list(self._state.backend_errors)

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    def fail_next(
        self,
        count: int = 1,
        *,
        mode: FaultMode = "status",
        status: int = 500,
        delay: float = 1.0,
        service: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Make the next ``count`` authorized requests that match misbehave.

        ``mode``: ``"status"`` answers ``status`` without running git; ``"drop"`` closes the
        connection without an answer, before git runs; ``"drop-after-backend"`` lets git do
        the whole request (a push lands) and then closes the connection without an answer;
        ``"delay"`` sleeps ``delay`` seconds, then serves normally.
        Filters (all optional, all must match): ``service`` (``"git-upload-pack"`` or
        ``"git-receive-pack"``: both its ``info/refs`` and its POST), ``method``
        (``"GET"``/``"POST"``), ``path_contains`` (substring of the request target).
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._state.lock:
            self._state.faults.append(
                _Fault(count, mode, status, delay, service, method, path_contains)
            )

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()

    @property
    def pending_faults(self) -> int:
        """How many injected faults have not fired yet."""
        with self._state.lock:
            return sum(f.remaining for f in self._state.faults)


@pytest.fixture
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """A git-over-HTTP server for this test, with its own root of bare repos."""
    if shutil.which("git") is None:
        from support.tools import missing

        missing("git", "tests/run.sh installs it with apt-get")
    root = tmp_path_factory.mktemp("git-server")
    server = GitServer(root)
    with server:
        yield server


__all__ = ["FaultMode", "GitRequest", "GitServer", "git_server"]
