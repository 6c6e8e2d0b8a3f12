"""A real OCI registry for tests: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1.

Fixtures (per xdist worker, one registry process each, stopped at teardown):

- ``oci_registry``: anonymous read and write.
- ``oci_registry_basic``: htpasswd basic auth (bcrypt entry made with apache2-utils'
  ``htpasswd``); ``.username`` / ``.password``.
- ``oci_registry_token``: bearer-token auth, as ghcr.io and Docker Hub do: the registry
  sends clients to a small token endpoint run here, which checks basic credentials
  (or serves anonymous pull tokens) and signs JWTs with a generated key and certificate.
- ``registry_repo``: a fresh repository name per test (registries are shared per worker).
- ``registry_faults``: a :class:`FaultProxy` in front of ``oci_registry`` that injects
  429/5xx answers, dropped connections, or strips ``Docker-Content-Digest``.

Images are pushed through the API by :meth:`Registry.push_image` (random layer and config
blobs, an OCI or Docker manifest, optionally a multi-arch index) and retagged by
:meth:`Registry.retag`; both return the manifest digest.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import http.client
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from support.tools import missing

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ACCEPT_ALL = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

TOKEN_SERVICE = "gitops-promote-test-registry"
TOKEN_ISSUER = "gitops-promote-test-token-issuer"

AuthKind = Literal["none", "basic", "token"]
Format = Literal["oci", "docker"]


def registry_binary() -> str:
    """Path of Debian's docker-registry, or fail (CI) / skip loudly (developer machine)."""
    path = "/usr/bin/docker-registry"
    found = path if os.access(path, os.X_OK) else shutil.which("docker-registry")
    if found is None:
        missing("docker-registry", "tests/run.sh installs Debian's docker-registry package")
        raise AssertionError("unreachable")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- token service ------------------------------------------------------------------------


class TokenIssuer:
    """An EC P-256 key and self-signed certificate; signs registry JWTs with ``x5c``."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TOKEN_ISSUER)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self._x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()

    def mint(self, subject: str, access: list[dict[str, Any]], *, ttl: int = 300) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": TOKEN_SERVICE,
            "exp": now + ttl,
            "nbf": now - 30,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [self._x5c]})


@dataclass
class TokenRequest:
    """What one call to the token endpoint carried (for assertions)."""

    params: dict[str, list[str]]
    username: str | None
    authenticated: bool
    status: int


@dataclass
class TokenServer:
    """The token endpoint (``realm``) of the token-auth registry."""

    issuer: TokenIssuer
    username: str
    password: str
    anonymous_pull: bool = True
    requests: list[TokenRequest] = field(default_factory=list)
    url: str = ""
    _server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._handle(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = parse_qs(parts.query)
        header = handler.headers.get("Authorization", "")
        user: str | None = None
        ok = False
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "?", ""
            ok = secrets.compare_digest(
                f"{user}:{password}".encode(), f"{self.username}:{self.password}".encode()
            )
        status = 200
        if parts.path != "/token" or params.get("service") != [TOKEN_SERVICE]:
            status = 400
        elif header and not ok:
            status = 401
        self.requests.append(TokenRequest(params, user, ok, status))
        if status != 200:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        access = []
        for scope in params.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            allowed = wanted if ok else [a for a in wanted if a == "pull" and self.anonymous_pull]
            if kind == "repository" and name and allowed:
                access.append({"type": "repository", "name": name, "actions": allowed})
        token = self.issuer.mint(user if ok and user else "", access)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


# -- the registry ---------------------------------------------------------------------------


@dataclass
class Registry:
    """A running docker-registry and what a test needs to use it."""

    host: str  # 127.0.0.1:PORT, the registry part of image names
    auth: AuthKind = "none"
    username: str | None = None
    password: str | None = None
    token_server: TokenServer | None = None
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    _session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def image(self, repo: str) -> str:
        """The image name of ``repo`` in this registry (``127.0.0.1:PORT/repo``)."""
        return f"{self.host}/{repo}"

    # -- pushing through the API --------------------------------------------------------

    def _auth_headers(self, repo: str) -> dict[str, str]:
        if self.auth == "basic":
            assert self.username is not None
            assert self.password is not None
            value = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {value}"}
        if self.auth == "token":
            assert self.token_server is not None
            access = [{"type": "repository", "name": repo, "actions": ["pull", "push"]}]
            token = self.token_server.issuer.mint(self.username or "pusher", access)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        headers = self._auth_headers(repo)
        start = self._session.post(f"{self.url}/v2/{repo}/blobs/uploads/", headers=headers)
        assert start.status_code == 202, (start.status_code, start.text)
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        sep = "&" if "?" in location else "?"
        done = self._session.put(
            f"{location}{sep}digest={digest}",
            data=data,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, (done.status_code, done.text)
        return digest

    def put_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        response = self._session.put(
            f"{self.url}/v2/{repo}/manifests/{reference}",
            data=body,
            headers={**self._auth_headers(repo), "Content-Type": media_type},
        )
        assert response.status_code == 201, (response.status_code, response.text)
        digest = response.headers["Docker-Content-Digest"]
        assert digest == digest_of(body)
        return digest

    def _push_single(
        self, repo: str, tag: str | None, fmt: Format, os_name: str, arch: str
    ) -> tuple[str, int, str]:
        config = json.dumps(
            {
                "architecture": arch,
                "os": os_name,
                "created": "2026-01-01T00:00:00Z",
                "rootfs": {"type": "layers", "diff_ids": [digest_of(secrets.token_bytes(8))]},
                "config": {"Labels": {"test.nonce": secrets.token_hex(8)}},
            },
            sort_keys=True,
        ).encode()
        layer = secrets.token_bytes(256)
        config_type, layer_type, manifest_type = (
            (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST)
            if fmt == "oci"
            else (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST)
        )
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": {
                    "mediaType": config_type,
                    "digest": self.push_blob(repo, config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": layer_type,
                        "digest": self.push_blob(repo, layer),
                        "size": len(layer),
                    }
                ],
            },
            indent=2,
        ).encode()
        digest = self.put_manifest(repo, tag or digest_of(manifest), manifest, manifest_type)
        return digest, len(manifest), manifest_type

    def push_image(
        self,
        repo: str,
        tag: str | None = None,
        *,
        fmt: Format = "oci",
        platforms: Sequence[str] = (),
    ) -> str:
        """Push a new, unique image to ``repo`` (tagged ``tag`` when given) and return the
        digest of its manifest, or of its index/manifest list when ``platforms``
        (``["linux/amd64", "linux/arm64"]``) are given."""
        if not platforms:
            return self._push_single(repo, tag, fmt, "linux", "amd64")[0]
        entries = []
        for platform in platforms:
            os_name, _, arch = platform.partition("/")
            digest, size, media = self._push_single(repo, None, fmt, os_name, arch)
            entries.append(
                {
                    "mediaType": media,
                    "digest": digest,
                    "size": size,
                    "platform": {"architecture": arch, "os": os_name},
                }
            )
        index_type = OCI_INDEX if fmt == "oci" else DOCKER_LIST
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": index_type, "manifests": entries}, indent=2
        ).encode()
        return self.put_manifest(repo, tag or digest_of(index), index, index_type)

    def retag(self, repo: str, source: str, tag: str) -> str:
        """Point ``tag`` at the manifest ``source`` (a tag or digest) names; return its digest."""
        got = self._session.get(
            f"{self.url}/v2/{repo}/manifests/{source}",
            headers={**self._auth_headers(repo), "Accept": ACCEPT_ALL},
        )
        assert got.status_code == 200, (got.status_code, got.text)
        return self.put_manifest(repo, tag, got.content, got.headers["Content-Type"])

    # -- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.token_server is not None:
            self.token_server.stop()
        self._session.close()


def _htpasswd_line(username: str, password: str) -> str:
    binary = shutil.which("htpasswd")
    if binary is None:
        missing("htpasswd", "tests/run.sh installs Debian's apache2-utils package")
        raise AssertionError("unreachable")
    # -i: password on stdin (never in argv); -B: bcrypt, the only hash distribution reads.
    done = subprocess.run(
        [binary, "-niB", "-C", "4", username],
        input=password,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _config(root: Path, port: int, auth: dict[str, Any] | None) -> str:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if auth:
        config["auth"] = auth
    return json.dumps(config, indent=2)  # JSON is YAML


def start_registry(root: Path, *, auth: AuthKind = "none", anonymous_pull: bool = True) -> Registry:
    """Start docker-registry on a free 127.0.0.1 port with storage under ``root``."""
    binary = registry_binary()
    root.mkdir(parents=True, exist_ok=True)
    username = password = None
    token_server = None
    auth_config: dict[str, Any] | None = None
    if auth == "basic":
        username, password = "ci-reader", "pw-" + secrets.token_urlsafe(12)
        htpasswd = root / "htpasswd"
        htpasswd.write_text(_htpasswd_line(username, password) + "\n")
        auth_config = {"htpasswd": {"realm": "gitops-promote-test", "path": str(htpasswd)}}
    elif auth == "token":
        username, password = "ci-reader", "tok-" + secrets.token_urlsafe(12)
        issuer = TokenIssuer()
        (root / "token-ca.pem").write_bytes(issuer.cert_pem)
        token_server = TokenServer(issuer, username, password, anonymous_pull=anonymous_pull)
        token_server.start()
        auth_config = {
            "token": {
                "realm": token_server.url,
                "service": TOKEN_SERVICE,
                "issuer": TOKEN_ISSUER,
                "rootcertbundle": str(root / "token-ca.pem"),
            }
        }
    last_log = ""
    for _attempt in range(5):
        port = free_port()
        config = root / "config.yml"
        config.write_text(_config(root, port, auth_config))
        log = root / "registry.log"
        with log.open("wb") as out:
            # A clean environment: distribution reads REGISTRY_* variables as config.
            process = subprocess.Popen(
                [binary, "serve", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                cwd=root,
            )
        registry = Registry(
            f"127.0.0.1:{port}", auth, username, password, token_server, process, log
        )
        if _wait_ready(registry):
            return registry
        process.kill()
        process.wait(timeout=10)
        last_log = log.read_text(errors="replace")[-2000:]
        if "address already in use" not in last_log:
            break
    if token_server is not None:
        token_server.stop()
    pytest.fail(f"docker-registry did not start:\n{last_log}", pytrace=False)


def _wait_ready(registry: Registry) -> bool:
    assert registry.process is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", int(registry.host.split(":")[1]), 2)
            try:
                conn.request("GET", "/v2/")
                if conn.getresponse().status in (200, 401):
                    return True
            finally:
                conn.close()
        time.sleep(0.05)
    return False


# -- fault injection ---------------------------------------------------------------------


@dataclass
class Fault:
    """One scripted misbehaviour: answer ``status`` (with ``headers``) or drop the
    connection (``status=0``), for requests whose path contains ``path`` (and whose
    method is ``method``, when given)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/v2/"
    times: int = 1
    method: str | None = None


@dataclass
class ProxiedRequest:
    method: str
    path: str
    status: int  # what the client got (0: connection dropped)
    injected: bool
    authorization: str | None


class FaultProxy:
    """An HTTP proxy in front of a registry that misbehaves as scripted, then forwards.

    ``paginate_tags``: distribution 2.8 ignores ``n=`` on tag lists (only its catalog
    pages), so the proxy pages them itself as ghcr.io, Docker Hub and distribution 3 do:
    lexical order, ``n`` and ``last``, a ``Link: <...>; rel="next"`` header that is a
    relative URL (``"relative"``), an absolute one on the proxy's host (``"absolute"``), or
    one on another host (``"foreign"``, which clients must refuse to follow).
    """

    def __init__(
        self,
        upstream: Registry,
        *,
        paginate_tags: Literal["relative", "absolute", "foreign"] | None = None,
    ) -> None:
        self.upstream = upstream
        self.paginate_tags = paginate_tags
        self.faults: list[Fault] = []
        self.strip_digest = False
        self.log: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._handle(self)

            def do_HEAD(self) -> None:
                owner._handle(self)

            def do_PUT(self) -> None:
                owner._handle(self)

            def do_POST(self) -> None:
                owner._handle(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def image(self, repo: str) -> str:
        return f"{self.host}/{repo}"

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        path: str = "/v2/",
        headers: dict[str, str] | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (0 drops the connection)."""
        with self._lock:
            self.faults.append(Fault(status, dict(headers or {}), path, times, method))

    def injected(self) -> int:
        return sum(1 for r in self.log if r.injected)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path in path and fault.method in (None, method):
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        auth = handler.headers.get("Authorization")
        fault = self._take_fault(handler.command, handler.path)
        if fault is not None:
            self.log.append(ProxiedRequest(handler.command, handler.path, fault.status, True, auth))
            if fault.status == 0:
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
                return
            handler.send_response(fault.status)
            for key, value in fault.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        parts = urlsplit(handler.path)
        paginate = bool(self.paginate_tags) and parts.path.endswith("/tags/list")
        host, port = self.upstream.host.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
            upstream_path = parts.path if paginate else handler.path
            conn.request(handler.command, upstream_path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            link = ""
            if paginate and response.status == 200:
                data, link = self._page(parts.path, parse_qs(parts.query), data)
            self.log.append(
                ProxiedRequest(handler.command, handler.path, response.status, False, auth)
            )
            handler.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() in {"connection", "transfer-encoding", "content-length"}:
                    continue
                if self.strip_digest and key.lower() == "docker-content-digest":
                    continue
                handler.send_header(key, value)
            if link:
                handler.send_header("Link", link)
            length_header = response.getheader("Content-Length")
            if handler.command == "HEAD":
                handler.send_header("Content-Length", length_header or "0")
            else:
                handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        finally:
            conn.close()

    def _page(self, path: str, query: dict[str, list[str]], data: bytes) -> tuple[bytes, str]:
        listing = json.loads(data)
        tags = sorted(listing.get("tags") or [])
        last = query.get("last", [""])[0]
        if last:
            tags = [t for t in tags if t > last]
        size = int(query.get("n", ["0"])[0] or 0)
        link = ""
        if size and len(tags) > size:
            tags = tags[:size]
            target = f"{path}?n={size}&last={tags[-1]}"
            if self.paginate_tags == "absolute":
                target = f"http://{self.host}{target}"
            elif self.paginate_tags == "foreign":
                target = f"http://registry.invalid{target}"
            link = f'<{target}>; rel="next"'
        return json.dumps({"name": listing.get("name"), "tags": tags}).encode(), link


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous docker-registry on 127.0.0.1 (one per test worker)."""
    registry = start_registry(tmp_path_factory.mktemp("oci-registry"))
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def oci_registry_basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A docker-registry with htpasswd basic auth: ``.username`` / ``.password``."""
    registry = start_registry(tmp_path_factory.mktemp("oci-registry-basic"), auth="basic")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def oci_registry_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A docker-registry with bearer-token auth and a token endpoint that grants anonymous
    pulls and authenticated pushes (``.username`` / ``.password``), as ghcr.io does."""
    registry = start_registry(tmp_path_factory.mktemp("oci-registry-token"), auth="token")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def oci_registry_private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A bearer-token registry whose token endpoint grants nothing to anonymous clients."""
    registry = start_registry(
        tmp_path_factory.mktemp("oci-registry-private"), auth="token", anonymous_pull=False
    )
    yield registry
    registry.stop()


@pytest.fixture
def registry_repo() -> str:
    """A repository name no other test uses."""
    return f"test/app-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def registry_faults(oci_registry: Registry) -> Iterator[FaultProxy]:
    """A :class:`FaultProxy` in front of ``oci_registry`` that pages tag lists."""
    proxy = FaultProxy(oci_registry, paginate_tags="relative")
    yield proxy
    proxy.close()
