"""A small Kubernetes API server for tests: HTTPS on 127.0.0.1, serving Flux objects.

What it emulates (the paths and answers of kube-apiserver that a GET of a namespaced
custom resource meets):

- ``GET /apis/{group}/{version}/namespaces/{ns}/{plural}/{name}`` for
  ``kustomize.toolkit.fluxcd.io/v1`` ``kustomizations`` and ``helm.toolkit.fluxcd.io/v2``
  ``helmreleases``: the object (200), or a ``Status`` 404 naming it (``details.name``);
- any other path: the API server's ``Status`` 404 "the server could not find the
  requested resource" (no ``details.name``: the API itself is not there);
- authentication: ``Authorization: Bearer <token>`` or a client certificate signed by the
  fake's CA (its CN the user); neither: 401 ``Unauthorized``; a user without access to
  the namespace: 403 with kube-apiserver's RBAC message; non-GET: 405;
- failures on demand (:meth:`KubeFake.fail`): an HTTP status (e.g. 500) for the next
  ``times`` requests, a delay (past the client's timeout), or a dropped connection.

Every object is checked against Flux's CRD (``crds.py``) when added and again when served;
an invalid one is refused (:class:`~support.kube_fake.crds.CrdViolationError`).

TLS: :func:`make_pki` makes a CA, a server certificate for 127.0.0.1/localhost and a
client certificate with the ``openssl`` CLI; :meth:`KubeFake.kubeconfig` writes kubeconfig
text (or a file, :meth:`KubeFake.write_kubeconfig`) that reaches the fake with them.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import http.server
import json
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from support.kube_fake.crds import CrdSchema, by_plural, load
from support.tools import require_binary

FaultKind = Literal["status", "delay", "drop", "body"]
NOT_SERVED = "the server could not find the requested resource"


@dataclass(frozen=True)
class Pki:
    """Files made by :func:`make_pki` (PEM)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here: a kubeconfig trusting it must fail

    def data(self, path: Path) -> str:
        """``path``'s content base64-encoded, as ``*-data`` kubeconfig fields hold it."""
        return base64.b64encode(path.read_bytes()).decode()


def make_pki(directory: Path, client_cn: str = "promoter") -> Pki:
    """A CA, a server certificate (127.0.0.1, localhost) and a client certificate
    (CN ``client_cn``), made with the openssl CLI in ``directory``."""
    openssl = require_binary("openssl", "install Debian's openssl package")
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=directory)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    for ca in ("ca", "other-ca"):
        run(
            "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "3",
            "-subj", f"/CN=kube-fake {ca}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
    leaves = {
        "server": ("/CN=kube-fake", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "extendedKeyUsage=serverAuth\n"),
        "client": (f"/CN={client_cn}", "extendedKeyUsage=clientAuth\n"),
    }  # fmt: skip
    for leaf, (subject, ext) in leaves.items():
        (directory / f"{leaf}.ext").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n" + ext
        )
        run("req", *ec, "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr", "-subj", subject)
        run(
            "x509", "-req", "-in", f"{leaf}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{leaf}.crt", "-days", "3", "-extfile", f"{leaf}.ext",
        )  # fmt: skip
    return Pki(
        ca=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.crt",
    )


@dataclass
class Fault:
    kind: FaultKind
    times: int
    status: int = 500
    seconds: float = 0.0
    body: bytes = b""


@dataclass(frozen=True)
class Request:
    """One request the fake received: who asked (the token's or certificate's user, or
    "" when anonymous) and whether an Authorization header came."""

    method: str
    path: str
    user: str
    authorization: bool


@dataclass
class _State:
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    access: dict[str, set[str]] = field(default_factory=dict)  # user -> namespaces ("*": all)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)  # kinds whose API is not served


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``meta/v1`` ``Status`` as kube-apiserver answers errors."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: KubeFake, context: ssl.SSLContext) -> None:
        self.fake = fake
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that gave up (timeout, dropped connection) is not an error here

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the connection's own thread, not in accept().
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _user(self) -> tuple[str, bool]:
        header = self.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer":
                return self.server.fake.user_of(token.strip()), True
            return "", True
        cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        subject: Any = cert.get("subject", ()) if cert else ()
        for rdn in subject:
            for attribute in rdn:
                if attribute[0] == "commonName":
                    return str(attribute[1]), False
        return "", False

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        user, authorization = self._user()
        fake.record(Request(method, self.path, user, authorization))
        fault = fake.take_fault()
        if fault is not None:
            if fault.kind == "drop":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            if fault.kind == "body":
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                self.wfile.write(fault.body)
                return
            if fault.kind == "status":
                self._send(
                    fault.status,
                    status_body(fault.status, "InternalError", "an error on the server (injected)"),
                )
                return
        if not user:
            self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
            return
        parts = self.path.split("?", 1)[0].split("/")
        # ['', 'apis', group, version, 'namespaces', ns, plural, name]
        crd: CrdSchema | None = None
        if len(parts) == 8 and parts[1] == "apis" and parts[4] == "namespaces":
            crd = by_plural(parts[2], parts[3], parts[6])
            if crd is not None and fake.hidden(crd.kind):
                crd = None
        if crd is None:
            self._send(
                404,
                status_body(
                    404, "NotFound", "the server could not find the requested resource", {}
                ),
            )
            return
        namespace, name = parts[5], parts[7]
        resource = f"{crd.plural}.{crd.group}"
        if method != "GET":
            self._send(405, status_body(405, "MethodNotAllowed", f"{method} is not served here"))
            return
        if not fake.may_read(user, namespace):
            self._send(
                403,
                status_body(
                    403,
                    "Forbidden",
                    f'{resource} "{name}" is forbidden: User "{user}" cannot get resource '
                    f'"{crd.plural}" in API group "{crd.group}" in the namespace "{namespace}"',
                    {"name": name, "group": crd.group, "kind": crd.plural},
                ),
            )
            return
        obj = fake.get(crd.kind, namespace, name)
        if obj is None:
            self._send(
                404,
                status_body(
                    404,
                    "NotFound",
                    f'{resource} "{name}" not found',
                    {"name": name, "group": crd.group, "kind": crd.plural},
                ),
            )
            return
        crd.check(obj)  # every object served is held to Flux's CRD
        self._send(200, obj)


class KubeFake:
    """The fake API server (start with :meth:`start`, or use :func:`running`)."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.token = "kf-" + secrets.token_urlsafe(24)  # the default user's token
        self.user = "system:serviceaccount:ci:promoter"
        self._lock = threading.Lock()
        self._state = _State()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> KubeFake:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        context.load_verify_locations(self.pki.ca)
        context.verify_mode = ssl.CERT_OPTIONAL  # a client certificate is one way in
        self._server = _Server(self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget objects, faults, requests and extra users (between tests)."""
        with self._lock:
            self._state = _State(
                tokens={self.token: self.user},
                access={self.user: {"*"}, "promoter": {"*"}},
            )

    # -- content --------------------------------------------------------------------------

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Serve ``obj`` (a Kustomization or HelmRelease); refused with CrdViolationError when it
        breaks Flux's CRD. Replaces an object of the same kind, namespace and name."""
        kind = obj.get("kind") if isinstance(obj, dict) else None
        crd = load(str(kind)) if kind in ("Kustomization", "HelmRelease") else None
        if crd is None:
            raise ValueError(f"the fake serves Kustomization and HelmRelease, not {kind!r}")
        crd.check(obj)
        meta = obj["metadata"]
        with self._lock:
            self._state.objects[(crd.kind, meta["namespace"], meta["name"])] = copy.deepcopy(obj)
        return obj

    def put_unchecked(self, obj: dict[str, Any]) -> None:
        """Store ``obj`` without checking it (for the test proving that serving checks)."""
        meta = obj["metadata"]
        with self._lock:
            self._state.objects[(obj["kind"], meta["namespace"], meta["name"])] = obj

    def remove(self, kind: str, namespace: str, name: str) -> None:
        with self._lock:
            self._state.objects.pop((kind, namespace, name), None)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            obj = self._state.objects.get((kind, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def hide_api(self, kind: str) -> None:
        """Serve no API for ``kind`` (as a cluster without that Flux controller's CRD):
        every path under it is the API server's bare 404."""
        with self._lock:
            self._state.hidden.add(kind)

    def hidden(self, kind: str) -> bool:
        with self._lock:
            return kind in self._state.hidden

    # -- identities -----------------------------------------------------------------------

    def add_user(self, user: str, token: str, namespaces: set[str]) -> None:
        """A user with a bearer token, allowed to read in ``namespaces`` (``{"*"}``: all;
        empty: none, every read is 403)."""
        with self._lock:
            self._state.tokens[token] = user
            self._state.access[user] = set(namespaces)

    def user_of(self, token: str) -> str:
        with self._lock:
            return self._state.tokens.get(token, "")

    def may_read(self, user: str, namespace: str) -> bool:
        with self._lock:
            allowed = self._state.access.get(user, set())
        return "*" in allowed or namespace in allowed

    # -- failures -------------------------------------------------------------------------

    def fail(
        self,
        kind: FaultKind = "status",
        *,
        times: int = 1,
        status: int = 500,
        seconds: float = 0.0,
        body: bytes = b"",
    ) -> None:
        """The next ``times`` requests fail: ``status`` (answer that HTTP status), ``delay``
        (wait ``seconds`` first, then answer normally), ``drop`` (close the connection
        without an answer), ``body`` (answer ``status`` with these raw bytes: an API
        server that is not one, or a proxy in the way). Faults queue in order."""
        with self._lock:
            self._state.faults.append(Fault(kind, times, status, seconds, body))

    def take_fault(self) -> Fault | None:
        with self._lock:
            while self._state.faults:
                fault = self._state.faults[0]
                if fault.times <= 0:
                    self._state.faults.pop(0)
                    continue
                fault.times -= 1
                return fault
            return None

    def record(self, request: Request) -> None:
        with self._lock:
            self._state.requests.append(request)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._state.requests)

    # -- kubeconfig -----------------------------------------------------------------------

    def kubeconfig(
        self,
        *,
        token: str | None = None,
        auth: Literal["token", "cert", "none"] = "token",
        context: str = "fake",
        ca: Literal["data", "file", "other", "none"] = "data",
        insecure: bool = False,
        server: str | None = None,
    ) -> str:
        """Kubeconfig text reaching the fake: context ``context`` (the current one) with
        the fake's CA (``data``: inline, ``file``: a path, ``other``: a CA that did not
        sign the server's certificate, ``none``: the system's), and the default user's
        token (``auth="token"``), the client certificate (``cert``), or nothing."""
        cluster: dict[str, Any] = {"server": server or self.url}
        if ca == "data":
            cluster["certificate-authority-data"] = self.pki.data(self.pki.ca)
        elif ca == "file":
            cluster["certificate-authority"] = str(self.pki.ca)
        elif ca == "other":
            cluster["certificate-authority-data"] = self.pki.data(self.pki.other_ca)
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        user: dict[str, Any] = {}
        if auth == "token":
            user["token"] = token if token is not None else self.token
        elif auth == "cert":
            user["client-certificate-data"] = self.pki.data(self.pki.client_cert)
            user["client-key-data"] = self.pki.data(self.pki.client_key)
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [{"name": f"{context}-cluster", "cluster": cluster}],
            "users": [{"name": f"{context}-user", "user": user}],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": f"{context}-cluster",
                        "user": f"{context}-user",
                        "namespace": "flux-system",
                    },
                }
            ],
        }
        return json.dumps(doc, indent=2) + "\n"  # JSON is YAML

    def write_kubeconfig(self, path: Path, **options: Any) -> Path:
        """:meth:`kubeconfig` written to ``path`` (mode 0600)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.kubeconfig(**options), encoding="utf-8")
        path.chmod(0o600)
        return path


def running(pki: Pki) -> Iterator[KubeFake]:
    """A started fake, stopped after the ``yield`` (for fixtures)."""
    fake = KubeFake(pki).start()
    try:
        yield fake
    finally:
        fake.stop()
