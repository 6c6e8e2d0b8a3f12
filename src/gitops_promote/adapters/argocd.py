"""Argo CD's API, read only: one Application, fetched over HTTPS with a bearer token.

``GET {server}/api/v1/applications/{name}?appNamespace={namespace}&project={project}``
(Argo CD's ``ApplicationService_Get``). The answer is the Application's JSON
(:func:`get_application`), ``None`` when Argo CD says it has no such Application (404 with
Argo CD's own error body), or a :class:`~gitops_promote.errors.LiveError` whose ``kind``
says why there is no reading:

- ``unauthorized``: 401, the token is missing, expired or not a token of this Argo CD;
- ``forbidden``: 403, the token's account may not get this Application, or (asked without
  ``project``) it does not exist: since 2.6.7 Argo CD answers 403 for a missing Application
  unless the request names its project, so as not to tell who may not see it which names
  exist. With ``project``, a missing Application (or one in another project) is a 404;
- ``unreachable``: no connection, a timeout, or 429/5xx still after a few retries with
  exponential backoff and jitter inside a short total budget (:data:`BUDGET`);
- ``invalid``: an answer that is not Argo CD's: not JSON, not an Application, another
  Application's name, a redirect (followed nowhere: it would carry the token away), a 404
  that is not Argo CD's error body (a wrong server address or base path).

A configured value that cannot be right (a server that is not an https URL, plain http or
``insecure`` for a machine that is not this one, an Application or namespace name that is
not a Kubernetes name, a token with whitespace) is the user's to fix: a
:class:`~gitops_promote.errors.UserError` (exit 2), raised before any request. Names are
checked as Kubernetes names *and* percent-quoted, so no name can change the request's path.

The token is registered with :mod:`gitops_promote.adapters.secrets` and never appears in an
exception, a log line or the endpoint's ``repr``. ``requests`` is imported only when a
request is made.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode, urlsplit

from gitops_promote.adapters import net, secrets
from gitops_promote.errors import LiveError, UserError

if TYPE_CHECKING:
    import requests

RETRIES: Final = 3  # more attempts after a 429, 5xx, timeout or connection failure
BACKOFF: Final = 0.25  # seconds before the first retry; doubled each time, with jitter
BUDGET: Final = 15.0  # seconds: no retry starts after this (a request may take `timeout`)
MAX_BODY: Final = 32 * 1024 * 1024  # bytes: an Application with thousands of resources fits
RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})

# Kubernetes object names (RFC 1123 subdomain: Application names) and namespaces (label).
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# A bearer token: printable ASCII without whitespace (JWTs, Argo CD API keys).
_TOKEN = re.compile(r"[\x21-\x7e]+")

UNREACHABLE_HINT: Final = (
    "Argo CD or the network is failing; check the server address and re-run later"
)
UNAUTHORIZED_HINT: Final = (
    "the token was refused: check that the environment variable the config names holds a "
    "current Argo CD token (`argocd account generate-token`)"
)
FORBIDDEN_HINT: Final = (
    "the token's account may not get this Application, or it does not exist (asked without "
    "its project, Argo CD says 403 for both): check the name, the namespace and the "
    "account's RBAC (`applications, get`); configure the project to tell a missing "
    "Application apart"
)
INVALID_HINT: Final = "check that the server address is Argo CD's (with its base path, if any)"


@dataclass(frozen=True)
class ArgoCDEndpoint:
    """Where and how to reach one Argo CD API server.

    ``server``: ``https://argocd.example.com`` with Argo CD's base path if it has one
    (``--rootpath``); plain ``http`` only for a loopback host. ``token``: the bearer token's
    value (the caller read it from the environment variable the config names), or ``None``
    for anonymous access. ``ca_file``: a CA bundle to verify the server with (default: the
    system's trust). ``insecure``: skip TLS verification, refused unless the host is
    loopback. ``timeout``: seconds, per request."""

    server: str
    token: str | None = field(repr=False)
    ca_file: str | None = None
    insecure: bool = False
    timeout: float = 10.0

    def __post_init__(self) -> None:
        secrets.register(self.token)

    def __repr__(self) -> str:
        """Never the token, nor a user:password@ someone put in the server URL."""
        return (
            f"ArgoCDEndpoint(server={_shown(self.server)!r}, ca_file={self.ca_file!r}, "
            f"insecure={self.insecure!r}, timeout={self.timeout!r})"
        )


def name_problem(value: str, *, namespace: bool = False) -> str | None:
    """Why ``value`` is not a Kubernetes name (an Application's: RFC 1123 subdomain, at most
    253 characters; a namespace's: RFC 1123 label, at most 63), or None when it is one."""
    limit, pattern = (63, _LABEL) if namespace else (253, _SUBDOMAIN)
    what = "a namespace" if namespace else "an Application name"
    if not value:
        return f"{what} cannot be empty"
    if len(value) > limit:
        return f"{what} has at most {limit} characters"
    if not pattern.fullmatch(value):
        allowed = "-" if namespace else "'-' and '.'"
        return (
            f"{what} is lower-case letters, digits and {allowed}, starting and ending with a "
            "letter or digit"
        )
    return None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses: this machine (a bare host)."""
    return net.is_loopback_host(host)


def no_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An explicit "auth" that changes nothing: requests then skips ~/.netrc."""
    return request


def server_problem(server: str, *, insecure: bool = False) -> str | None:
    """Why ``server`` cannot be an Argo CD API address, or None when it can be."""
    try:
        parts = urlsplit(server)
        port = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return "carries credentials (user:password@); pass a token instead"
    if parts.query or parts.fragment or "?" in server or "#" in server:
        return "has a query or fragment; give the address and base path only"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in server):
        return "contains whitespace or control characters"
    del port  # parsed for its ValueError only
    loopback = is_loopback(parts.hostname)
    if parts.scheme == "http" and not loopback:
        return "is plain http on a machine that is not this one; use https"
    if insecure and not loopback:
        return "cannot skip TLS verification (insecure) on a machine that is not this one"
    return None


def application_url(
    endpoint: ArgoCDEndpoint, name: str, namespace: str | None, project: str | None = None
) -> str:
    """The GET application URL: the name percent-quoted as one path segment."""
    url = f"{endpoint.server.rstrip('/')}/api/v1/applications/{quote(name, safe='')}"
    query = {"appNamespace": namespace, "project": project}
    present = {key: value for key, value in query.items() if value}
    if present:
        url += "?" + urlencode(present)
    return url


def _check(endpoint: ArgoCDEndpoint, name: str, namespace: str | None, project: str | None) -> None:
    problem = server_problem(endpoint.server, insecure=endpoint.insecure)
    if problem:
        raise UserError(
            secrets.redact(f"Argo CD server {_shown(endpoint.server)} {problem}"),
            hint="set the live config's Argo CD server to https://<host>[/<base path>]",
        )
    for value, what in ((name, "Application"), (namespace, "namespace"), (project, "project")):
        if value is None:
            continue
        problem = name_problem(value, namespace=what == "namespace")
        if problem:
            raise UserError(
                f"Argo CD {what} {_printable(value)!r} is not a Kubernetes name: "
                + problem.replace("an Application name", f"an {what} name"),
                hint="check the live config's Argo CD application, namespace and project",
            )
    if endpoint.token is not None and not _TOKEN.fullmatch(endpoint.token):
        raise UserError(
            "the Argo CD token is empty or contains whitespace or non-ASCII characters",
            hint="check the environment variable the config names (a stray newline?)",
        )
    if not endpoint.timeout > 0:
        raise UserError("the Argo CD timeout must be more than 0 seconds")
    if endpoint.ca_file is not None and not os.path.exists(endpoint.ca_file):  # noqa: PTH110
        raise UserError(
            f"the Argo CD CA bundle {_printable(endpoint.ca_file)} does not exist",
            hint="give the path of a PEM file (or directory) of the CAs that sign Argo CD's "
            "certificate",
        )


def _shown(server: str) -> str:
    """``server`` for a message: scheme, host, port and path, never a user:password@."""
    try:
        parts = urlsplit(server)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    host = f"[{host}]" if ":" in host else host
    return _printable(
        f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(not a URL)"
    )


def _printable(text: str, limit: int = 200) -> str:
    """``text`` on one line, clipped, for a message."""
    clipped = text if len(text) <= limit else text[:limit] + "..."
    return clipped.encode("unicode_escape").decode("ascii")


def get_application(
    endpoint: ArgoCDEndpoint,
    name: str,
    namespace: str | None = None,
    *,
    project: str | None = None,
    retries: int = RETRIES,
    backoff: float = BACKOFF,
    budget: float = BUDGET,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """The Application ``name`` (in ``namespace``, when Argo CD watches more than its own) as
    Argo CD's API gives it, or None when Argo CD has no such Application. Raises
    :class:`LiveError` (see the module) or :class:`UserError` for an impossible endpoint or
    name.

    ``project``: the Application's AppProject. Only with it does Argo CD (since 2.6.7) answer
    404 for an Application that does not exist (or is in another project); without it Argo CD
    answers 403 whether the Application is missing or the token may not see it."""
    _check(endpoint, name, namespace, project)
    import requests  # noqa: PLC0415 - only commands that read live state pay for it

    url = application_url(endpoint, name, namespace, project)
    subject = f"Application {namespace + '/' if namespace else ''}{name}"
    where = f"Argo CD at {_shown(endpoint.server)}"
    headers = {"Accept": "application/json", "User-Agent": "gitops-promote"}
    if endpoint.token is not None:
        headers["Authorization"] = f"Bearer {endpoint.token}"
    verify: bool | str = False if endpoint.insecure else (endpoint.ca_file or True)

    with warnings.catch_warnings(), requests.Session() as session:
        if endpoint.insecure:  # loopback only (checked): no warning for each request
            from urllib3.exceptions import InsecureRequestWarning  # noqa: PLC0415

            warnings.simplefilter("ignore", InsecureRequestWarning)
        response = _send(
            session,
            url,
            headers,
            verify,
            endpoint.timeout,
            retries=retries,
            backoff=backoff,
            budget=budget,
            sleep=sleep,
            failure=lambda why: LiveError(
                secrets.redact(f"{where} failed reading {subject}: {why}"),
                kind="unreachable",
                hint=UNREACHABLE_HINT,
            ),
        )
        with response:
            status = response.status_code
            body = _read(response, f"{where} answered reading {subject}")
    return _answer(status, body, name, subject, where)


def _send(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    verify: bool | str,
    timeout: float,
    *,
    retries: int,
    backoff: float,
    budget: float,
    sleep: Callable[[float], None],
    failure: Callable[[str], LiveError],
) -> requests.Response:
    """One GET, retried on 429, 5xx, timeouts and connection failures while the budget
    lasts."""
    import requests  # noqa: PLC0415

    deadline = time.monotonic() + budget
    why = ""
    attempts = max(0, retries) + 1
    for attempt in range(attempts):
        wait = min(30.0, backoff * (2**attempt)) * (0.5 + random.random())  # noqa: S311
        try:
            response = session.get(
                url,
                headers=headers,
                auth=no_netrc,  # our Authorization header, never one from ~/.netrc
                verify=verify,
                timeout=timeout,
                allow_redirects=False,  # a redirect would carry the token elsewhere
                stream=True,
            )
        except requests.exceptions.SSLError:  # not retried: it will not trust itself
            raise failure(
                "the TLS handshake failed (is its certificate signed by a CA this machine "
                "trusts? give the CA bundle that signed it; or is it not https?)"
            ) from None
        except requests.Timeout:
            why = f"no answer within {timeout:g}s"
        except requests.RequestException as err:
            why = f"cannot reach it ({type(err).__name__})"
        else:
            if response.status_code not in RETRY_STATUS:
                return response
            why = f"HTTP {response.status_code}"
            after = net.retry_after(response.headers.get("Retry-After"))
            if after is not None:
                wait = after
            response.close()
        if attempt + 1 >= attempts or time.monotonic() + wait >= deadline:
            break
        sleep(wait)
    raise failure(f"{why} after {attempt + 1} attempt(s)")


def _read(response: requests.Response, what: str) -> bytes:
    """The answer's body, at most :data:`MAX_BODY` bytes (``what``: who answered what, for
    the message when it is too big or the connection breaks)."""
    import requests  # noqa: PLC0415

    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY:
                raise LiveError(
                    f"{what} with more than {MAX_BODY} bytes", kind="invalid", hint=INVALID_HINT
                )
            chunks.append(chunk)
    except requests.RequestException as err:
        raise LiveError(
            f"{what}, and the connection broke while reading it ({type(err).__name__})",
            kind="unreachable",
            hint=UNREACHABLE_HINT,
        ) from None
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
        return None


def _answer(status: int, body: bytes, name: str, subject: str, where: str) -> dict[str, Any] | None:
    if status == 200:
        data = _json(body)
        problem = application_problem(data, name)
        if problem:
            raise LiveError(
                secrets.redact(f"{where} answered reading {subject} with {problem}"),
                kind="invalid",
                hint=INVALID_HINT,
            )
        assert isinstance(data, dict)  # noqa: S101 - application_problem checked it
        return data
    if status == 404:
        if _is_argocd_error(_json(body)):
            return None
        raise LiveError(
            f"{where} answered reading {subject} with a 404 that is not Argo CD's",
            kind="invalid",
            hint=INVALID_HINT,
        )
    if status == 401:
        raise LiveError(
            f"{where} refused the token reading {subject} (HTTP 401)",
            kind="unauthorized",
            hint=UNAUTHORIZED_HINT,
        )
    if status == 403:
        raise LiveError(
            f"{where} forbade reading {subject} (HTTP 403)",
            kind="forbidden",
            hint=FORBIDDEN_HINT,
        )
    if 300 <= status < 400:
        raise LiveError(
            f"{where} redirected reading {subject} (HTTP {status}); not followed",
            kind="invalid",
            hint=INVALID_HINT + " (no SSO proxy in front of the API)",
        )
    raise LiveError(
        f"{where} answered reading {subject} with HTTP {status}",
        kind="invalid",
        hint=INVALID_HINT,
    )


def _is_argocd_error(data: Any) -> bool:
    """Argo CD's (grpc-gateway's) error body: ``{"error", "code", "message"}``."""
    return isinstance(data, dict) and isinstance(data.get("code"), int) and "message" in data


def application_problem(data: Any, name: str) -> str | None:
    """Why ``data`` is not the Application ``name``, or None when it is."""
    if not isinstance(data, dict):
        return "something that is not a JSON object"
    kind = data.get("kind")
    if kind is not None and kind != "Application":
        return "an object that is not an Application"
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return "an object without metadata"
    if metadata.get("name") != name:
        return "another object's metadata (not this Application's name)"
    for part in ("spec", "status"):
        if part in data and not isinstance(data[part], dict):
            return f"an Application whose {part} is not an object"
    return None


__all__ = [
    "BACKOFF",
    "BUDGET",
    "RETRIES",
    "ArgoCDEndpoint",
    "application_problem",
    "application_url",
    "get_application",
    "is_loopback",
    "name_problem",
    "server_problem",
]
