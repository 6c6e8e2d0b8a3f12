"""Container registry client (OCI distribution API): tag -> digest, digest exists, tag lists.

The only module that talks to registries. It reads; it never pushes. Three questions:

- :meth:`RegistryClient.resolve`: which digest does ``name:tag`` point to now?
  (``HEAD /v2/<name>/manifests/<tag>``, ``Docker-Content-Digest``; GET + sha256 of the
  body when a registry leaves the header out.)
- :meth:`RegistryClient.exists`: is ``name@digest`` in the registry? (``promote`` refuses a
  digest that is not, before it commits anything.)
- :meth:`RegistryClient.list_tags`: every tag of a repository, following ``Link`` pages.

Authentication follows what registries ask for in ``WWW-Authenticate``: the bearer-token
handshake (anonymous or with credentials, as ghcr.io and Docker Hub do) or basic auth.
Credentials come, first match wins, from the ``credentials`` argument, the environment
(``REGISTRY_USERNAME``/``REGISTRY_PASSWORD`` or ``REGISTRY_TOKEN`` for ``REGISTRY_HOST``,
default ghcr.io), ``~/.docker/config.json`` ``auths``, and ``GITHUB_TOKEN`` for ghcr.io.
Every secret is registered with :mod:`gitops_promote.adapters.secrets`; none is ever put in a URL
or a message, and none is sent over plain http except to a loopback registry.

The world's failures (429, 5xx, connection errors) are retried with exponential backoff
and jitter, honouring ``Retry-After``, then reported as :class:`RegistryError` (exit 3).
A tag or digest that does not exist is the user's input problem (:class:`ImageNotFoundError`,
exit 2), and so are credentials the registry refuses (:class:`RegistryAuthError`, exit 2).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import ipaddress
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin, urlsplit

from gitops_promote.adapters import secrets
from gitops_promote.errors import InputError, RegistryError, UserError
from gitops_promote.images import ImageRef, is_digest

if TYPE_CHECKING:
    import requests

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_MEDIA_TYPES: Final = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)
ACCEPT_MANIFESTS: Final = ", ".join(MANIFEST_MEDIA_TYPES)

DOCKER_HUB: Final = "docker.io"
DOCKER_HUB_API: Final = "registry-1.docker.io"
_DOCKER_HUB_ALIASES: Final = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
GHCR: Final = "ghcr.io"
MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024  # the distribution spec's manifest size limit
MAX_RETRY_AFTER: Final = 60.0  # seconds; a longer Retry-After is waited for this long
MAX_BACKOFF: Final = 30.0
MAX_TAG_PAGES: Final = 10_000
_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUS: Final = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS: Final = 10
# What the world's failures (no connection, 5xx after retries) tell the user to do: promote
# can go on without the registry when the digest is known good, so say how.
UNREACHABLE_HINT: Final = (
    "the registry or the network is failing; re-run later, or, when the registry cannot be "
    "reached from here and the digest is known good, pass --skip-registry-check "
    "(`skip-registry-check: true` in the action)"
)
_CHALLENGE_PARAM: Final = re.compile(
    r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))'
)


class ImageNotFoundError(UserError):
    """The tag, digest or repository does not exist in the registry (exit 2)."""


class RegistryAuthError(UserError):
    """The registry wants credentials that are missing, refused, or unsafe to send (exit 2)."""


@dataclass(frozen=True)
class Credential:
    """A username and password (or token used as password) for one registry.

    ``source`` says where it came from (``REGISTRY_TOKEN``, ``~/.docker/config.json``...),
    so that a refusal names the place to fix. The password never appears in ``repr``.
    """

    username: str
    password: str = field(repr=False)
    source: str = "credentials argument"

    def __post_init__(self) -> None:
        secrets.register(self.password)
        secrets.register(self.basic_value())

    def basic_value(self) -> str:
        """The base64 ``user:password`` that follows ``Basic`` in an Authorization header."""
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass(frozen=True)
class Endpoint:
    """Where a repository lives: ``base_url`` (scheme + API host) and ``path`` in it."""

    registry: str  # as the user wrote it, docker.io for Docker Hub: used in messages
    base_url: str  # https://ghcr.io, http://127.0.0.1:5000, https://registry-1.docker.io
    path: str  # myorg/api, library/nginx

    @property
    def scope(self) -> str:
        return f"repository:{self.path}:pull"

    def url(self, suffix: str) -> str:
        return f"{self.base_url}/v2/{self.path}/{suffix}"

    @property
    def secure(self) -> bool:
        """True when credentials may be sent: https, or a registry on this machine."""
        return self.base_url.startswith("https://") or is_loopback(self.registry)


def canonical_registry(registry: str | None) -> str:
    """The key a registry's credentials are stored under: lowercase host[:port];
    Docker Hub's names (none, docker.io, index.docker.io...) all become ``docker.io``."""
    if registry is None:
        return DOCKER_HUB
    host = registry.strip().lower()
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def is_loopback(registry: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``[::1]``, with or without a port."""
    host = registry.lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_for(name: str, *, insecure: Iterable[str] = ()) -> Endpoint:
    """Map a repository name to the API endpoint that serves it.

    ``nginx`` and ``docker.io/nginx`` -> ``https://registry-1.docker.io``, path
    ``library/nginx``; loopback registries and those listed in ``insecure`` use http.
    """
    ref = ImageRef(name)
    registry = canonical_registry(ref.registry)
    path = ref.path
    if registry == DOCKER_HUB:
        if "/" not in path:
            path = f"library/{path}"
        return Endpoint(DOCKER_HUB, f"https://{DOCKER_HUB_API}", path)
    plain = {canonical_registry(h) for h in insecure}
    scheme = "http" if is_loopback(registry) or registry in plain else "https"
    return Endpoint(registry, f"{scheme}://{registry}", path)


def credentials_from_env(env: Mapping[str, str]) -> dict[str, Credential]:
    """Credentials the environment gives, keyed by registry.

    ``REGISTRY_USERNAME`` + ``REGISTRY_PASSWORD``, or ``REGISTRY_TOKEN`` (with an optional
    ``REGISTRY_USERNAME``), go to ``REGISTRY_HOST`` (default ghcr.io). ``GITHUB_TOKEN`` goes
    to ghcr.io when nothing else does (username ``GITHUB_ACTOR``).
    """
    found: dict[str, Credential] = {}
    host = canonical_registry(env.get("REGISTRY_HOST") or GHCR)
    user = env.get("REGISTRY_USERNAME", "").strip()
    password = env.get("REGISTRY_PASSWORD", "")
    token = env.get("REGISTRY_TOKEN", "")
    if password:
        if not user:
            raise InputError(
                "REGISTRY_PASSWORD is set but REGISTRY_USERNAME is not",
                hint="set REGISTRY_USERNAME too, or use REGISTRY_TOKEN for a token",
            )
        found[host] = Credential(user, password, "REGISTRY_USERNAME/REGISTRY_PASSWORD")
    elif token:
        found[host] = Credential(user or "token", token, "REGISTRY_TOKEN")
    github_token = env.get("GITHUB_TOKEN", "")
    if github_token and GHCR not in found:
        actor = env.get("GITHUB_ACTOR", "").strip() or "token"
        found[GHCR] = Credential(actor, github_token, "GITHUB_TOKEN")
    return found


def docker_config_path(env: Mapping[str, str]) -> Path | None:
    """``$DOCKER_CONFIG/config.json``, else ``$HOME/.docker/config.json``."""
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    if env.get("HOME"):
        return Path(env["HOME"]) / ".docker" / "config.json"
    return None


def credentials_from_docker_config(path: Path) -> dict[str, Credential]:
    """The ``auths`` entries of a Docker ``config.json`` (base64 ``user:password``).

    A missing file gives nothing; entries that use a credential helper, or an identity
    token only, are skipped (the helper programs are not run).
    """
    if not path.is_file():
        return {}
    what = f"Docker config {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(
            f"{what} cannot be read: {type(err).__name__}",
            hint="fix or remove the file (docker login rewrites it)",
        ) from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return {}
    found: dict[str, Credential] = {}
    for key, entry in auths.items():
        if not isinstance(key, str) or not isinstance(entry, dict):
            continue
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                user, sep, password = (
                    base64.b64decode(encoded, validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                sep, user, password = "", "", ""
            if not sep or not user or not password:
                raise InputError(
                    f"{what}: the auth entry for {canonical_registry(key)!r} is not "
                    "base64 of user:password",
                    hint=f"run docker login {canonical_registry(key)} again",
                )
        elif isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            user, password = entry["username"], entry["password"]
        else:
            continue
        found[canonical_registry(key)] = Credential(user, password, str(path))
    return found


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: ``Bearer realm=...,service=...,scope=...``."""

    scheme: str
    params: Mapping[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge | None:
        scheme, _, rest = header.strip().partition(" ")
        if not scheme:
            return None
        params: dict[str, str] = {}
        for match in _CHALLENGE_PARAM.finditer(rest):
            value = match.group(2) if match.group(2) is not None else match.group(3)
            params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        return cls(scheme.lower(), params)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _registry_error_code(response: requests.Response) -> str:
    """The first ``errors[].code`` of a registry's JSON error body, or ''."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
        if isinstance(code, str) and re.fullmatch(r"[A-Z_]{1,64}", code):
            return code
    return ""


class RegistryClient:
    """Reads tags, digests and manifests from OCI registries.

    ``credentials`` maps a registry (``ghcr.io``, ``localhost:5000``, ``docker.io``) to a
    :class:`Credential`; ``env`` (default ``os.environ``) and ``docker_config`` (default
    ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``) add more, see the module
    docstring. ``retries`` is how many times a 429/5xx/connection failure is retried
    (``retries + 1`` attempts in all), waiting ``backoff * 2**n`` seconds with jitter.
    ``insecure`` lists registries to reach over plain http (loopback ones always are).
    """

    def __init__(
        self,
        *,
        credentials: Mapping[str, Credential] | None = None,
        timeout: float = 10,
        retries: int = 4,
        backoff: float = 0.5,
        insecure: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        docker_config: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests  # noqa: PLC0415 - only commands that reach a registry pay for it

        self._requests = requests
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "gitops-promote"
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = max(0.0, backoff)
        self._insecure = tuple(insecure)
        self._sleep = sleep
        self._explicit = {canonical_registry(k): v for k, v in (credentials or {}).items()}
        self._env = dict(os.environ if env is None else env)
        self._env_credentials = credentials_from_env(self._env)
        self._docker_config = docker_config or docker_config_path(self._env)
        self._docker_credentials: dict[str, Credential] | None = None
        self._auth: dict[tuple[str, str], str] = {}  # (base_url, scope) -> Authorization

    # -- public API -------------------------------------------------------------------

    def resolve(self, ref: ImageRef) -> str:
        """The digest ``ref`` points to now.

        A tag (``latest`` when the reference has neither tag nor digest) is looked up; a
        digest-only reference is checked to exist and returned. When the reference carries
        both, the tag must point to that digest, else :class:`InputError`.
        """
        endpoint = self.endpoint(ref.name)
        if ref.tag is None and ref.digest is not None:
            if not self._manifest_exists(endpoint, ref.digest, ref):
                raise self._not_found(ref, endpoint)
            return ref.digest
        tag = ref.tag or "latest"
        digest = self._tag_digest(endpoint, tag, ref)
        if ref.digest is not None and ref.digest != digest:
            raise InputError(
                f"image {ref}: tag {tag!r} points to {digest}, not {ref.digest}",
                hint="the tag has moved; pass only the digest you mean, or only the tag",
            )
        return digest

    def exists(self, ref: ImageRef) -> bool:
        """True when the manifest ``ref`` names (its digest, else its tag) is in the registry."""
        endpoint = self.endpoint(ref.name)
        reference = ref.digest or ref.tag or "latest"
        return self._manifest_exists(endpoint, reference, ref)

    def list_tags(self, name: str, *, page_size: int | None = None) -> list[str]:
        """Every tag of repository ``name``, in the registry's order, following ``Link``
        pagination (``page_size`` asks for that many tags per page with ``n=``)."""
        endpoint = self.endpoint(name)
        url = endpoint.url("tags/list")
        if page_size is not None:
            url += f"?n={int(page_size)}"
        tags: list[str] = []
        seen: set[str] = set()
        what = f"tags of {name}"
        while url:
            if url in seen or len(seen) >= MAX_TAG_PAGES:
                raise RegistryError(
                    f"registry {endpoint.registry} paginates the {what} in a loop",
                    hint="report this to the registry operator",
                )
            seen.add(url)
            response = self._request("GET", url, endpoint, what=what, accept="application/json")
            with response:
                if response.status_code == 404:
                    raise ImageNotFoundError(
                        f"repository {name} does not exist in registry {endpoint.registry}",
                        hint="check the image name (and the credentials, for private images)",
                    )
                self._raise_for_status(response, endpoint, what)
                page = self._json(response, endpoint, what)
                url = self._next_page(response, endpoint, what)
            page_tags = page.get("tags") if isinstance(page, dict) else None
            if page_tags is None:
                continue
            if not isinstance(page_tags, list) or not all(isinstance(t, str) for t in page_tags):
                raise RegistryError(
                    f"registry {endpoint.registry} sent a malformed tag list for {name}",
                    hint="report this to the registry operator",
                )
            tags.extend(page_tags)
        return tags

    def endpoint(self, name: str) -> Endpoint:
        """The API endpoint serving repository ``name`` (see :func:`endpoint_for`)."""
        return endpoint_for(name, insecure=self._insecure)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- manifests ----------------------------------------------------------------------

    def _tag_digest(self, endpoint: Endpoint, tag: str, ref: ImageRef) -> str:
        what = f"{ref.name}:{tag}"
        url = endpoint.url(f"manifests/{tag}")
        response = self._request("HEAD", url, endpoint, what=what, accept=ACCEPT_MANIFESTS)
        with response:
            if response.status_code == 404:
                raise self._not_found(ref.with_digest(None).with_tag(tag), endpoint)
            header = response.headers.get("Docker-Content-Digest")
            if response.status_code != 405:
                self._raise_for_status(response, endpoint, what)
                if header:
                    return self._checked_digest(header, endpoint, what)
        # The registry left the digest out (or does not do HEAD): read the manifest.
        response = self._request("GET", url, endpoint, what=what, accept=ACCEPT_MANIFESTS)
        with response:
            if response.status_code == 404:
                raise self._not_found(ref.with_digest(None).with_tag(tag), endpoint)
            self._raise_for_status(response, endpoint, what)
            header = response.headers.get("Docker-Content-Digest")
            body = self._read_limited(response, endpoint, what)
        if header:
            return self._checked_digest(header, endpoint, what)
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def _manifest_exists(self, endpoint: Endpoint, reference: str, ref: ImageRef) -> bool:
        what = f"{ref.name}{'@' if is_digest(reference) else ':'}{reference}"
        url = endpoint.url(f"manifests/{reference}")
        response = self._request("HEAD", url, endpoint, what=what, accept=ACCEPT_MANIFESTS)
        with response:
            if response.status_code == 404:
                return False
            if response.status_code != 405:
                self._raise_for_status(response, endpoint, what)
                return True
        response = self._request("GET", url, endpoint, what=what, accept=ACCEPT_MANIFESTS)
        with response:
            if response.status_code == 404:
                return False
            self._raise_for_status(response, endpoint, what)
            return True

    def _not_found(self, ref: ImageRef, endpoint: Endpoint) -> ImageNotFoundError:
        if ref.digest is not None:
            return ImageNotFoundError(
                f"image {ref} does not exist in registry {endpoint.registry}",
                hint="check the digest (and that it was pushed to this repository)",
            )
        return ImageNotFoundError(
            f"image {ref} does not exist in registry {endpoint.registry}",
            hint="check the tag and the image name (tags are case-sensitive)",
        )

    def _checked_digest(self, value: str, endpoint: Endpoint, what: str) -> str:
        digest = value.strip()
        if not is_digest(digest):
            raise RegistryError(
                f"registry {endpoint.registry} returned a malformed digest for {what}",
                hint="report this to the registry operator",
            )
        return digest

    def _read_limited(self, response: requests.Response, endpoint: Endpoint, what: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > MAX_MANIFEST_BYTES:
                raise RegistryError(
                    f"registry {endpoint.registry} sent a manifest over 4 MiB for {what}",
                    hint="registries limit manifests to 4 MiB; check the image",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _json(self, response: requests.Response, endpoint: Endpoint, what: str) -> object:
        try:
            return json.loads(self._read_limited(response, endpoint, what))
        except ValueError:
            raise RegistryError(
                f"registry {endpoint.registry} sent a response that is not JSON for {what}",
                hint="check the registry address",
            ) from None

    def _next_page(self, response: requests.Response, endpoint: Endpoint, what: str) -> str:
        link = response.links.get("next", {}).get("url")
        if not link:
            return ""
        target = urljoin(response.url, link)
        base = urlsplit(endpoint.base_url)
        parts = urlsplit(target)
        if (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
            raise RegistryError(
                f"registry {endpoint.registry} sent a next page for the {what} on another host",
                hint="report this to the registry operator",
            )
        return target

    # -- HTTP, authentication, retries ---------------------------------------------------

    def _request(
        self, method: str, url: str, endpoint: Endpoint, *, what: str, accept: str
    ) -> requests.Response:
        """Send one request with the cached authorization; on 401 do the handshake the
        registry asks for, once, and send it again."""
        key = (endpoint.base_url, endpoint.scope)
        headers = {"Accept": accept}
        if key in self._auth:
            headers["Authorization"] = self._auth[key]
        response = self._send(method, url, headers, endpoint.registry, what)
        if response.status_code != 401:
            if response.status_code == 403:
                response.close()
                raise self._denied(endpoint, what)
            return response
        challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
        response.close()
        self._auth[key] = self._authenticate(endpoint, challenge, what)
        headers["Authorization"] = self._auth[key]
        response = self._send(method, url, headers, endpoint.registry, what)
        if response.status_code in (401, 403):
            response.close()
            self._auth.pop(key, None)
            raise self._denied(endpoint, what)
        return response

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], registry: str, what: str
    ) -> requests.Response:
        """One request and the redirects it is answered with (a registry sends blobs and
        manifests to a storage host): followed here, not by requests, so that a hop to
        another origin (scheme, host or port) carries no Authorization (nor ~/.netrc
        credentials: requests would add those for the new host), and a hop to plain http
        on a machine that is not this one is refused."""
        current = dict(headers)
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_once(method, url, current, registry, what)
            target = response.headers.get("Location")
            if response.status_code not in _REDIRECT_STATUS or not target:
                return response
            response.close()
            following = urljoin(url, target)
            self._check_redirect(url, following, registry, what)
            if _origin(following) != _origin(url):
                current.pop("Authorization", None)
            url = following
        raise RegistryError(
            f"registry {registry} redirected reading {what} more than {MAX_REDIRECTS} times",
            hint="check the registry address",
        )

    def _check_redirect(self, source: str, target: str, registry: str, what: str) -> None:
        """Refuse a redirect that is not http(s), or that leaves for plain http on another
        machine (from https never; from http only to a host listed as insecure)."""
        parts = urlsplit(target)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise RegistryError(
                f"registry {registry} redirected reading {what} to a URL that is not http(s)",
                hint="check the registry address",
            )
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        host = f"{host}:{port}" if port else host  # never the URL's user:password@
        if parts.scheme == "https" or is_loopback(host):
            return
        plain = {canonical_registry(h) for h in self._insecure}
        if urlsplit(source).scheme == "https" or canonical_registry(host) not in plain:
            raise RegistryError(
                f"registry {registry} redirected reading {what} to plain http on "
                f"{host}; refusing to follow it",
                hint="the registry or its storage should redirect to https; report this to the "
                "registry operator",
            )

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], registry: str, what: str
    ) -> requests.Response:
        """One request, retried on 429, 5xx and connection errors with backoff + jitter."""
        failure = ""
        for attempt in range(self._retries + 1):
            wait = min(MAX_BACKOFF, self._backoff * (2**attempt)) * (0.5 + random.random())  # noqa: S311 - jitter, not crypto
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=dict(headers),
                    auth=_no_netrc,  # our Authorization header, never one from ~/.netrc
                    timeout=self._timeout,
                    allow_redirects=False,  # followed by _send, which knows whose they are
                    stream=True,
                )
            except self._requests.RequestException as err:
                failure = f"cannot reach it ({type(err).__name__})"
            else:
                if response.status_code not in _RETRY_STATUS:
                    return response
                failure = f"HTTP {response.status_code}"
                after = _retry_after(response.headers.get("Retry-After"))
                if after is not None:
                    wait = min(after, MAX_RETRY_AFTER)
                response.close()
            if attempt < self._retries:
                self._sleep(wait)
        raise RegistryError(
            secrets.redact(
                f"registry {registry} failed reading {what} after "
                f"{self._retries + 1} attempt(s): {failure}"
            ),
            hint=UNREACHABLE_HINT,
        )

    def _credential(self, registry: str) -> Credential | None:
        """The credential for ``registry``: the argument, then REGISTRY_* from the
        environment, then the Docker config, then GITHUB_TOKEN (ghcr.io only)."""
        key = canonical_registry(registry)
        if key in self._explicit:
            return self._explicit[key]
        env_credential = self._env_credentials.get(key)
        if env_credential is not None and env_credential.source != "GITHUB_TOKEN":
            return env_credential
        if self._docker_credentials is None:
            path = self._docker_config
            self._docker_credentials = credentials_from_docker_config(path) if path else {}
        return self._docker_credentials.get(key, env_credential)

    def _authenticate(self, endpoint: Endpoint, challenge: Challenge | None, what: str) -> str:
        """The Authorization header value the registry's challenge asks for."""
        credential = self._credential(endpoint.registry)
        if challenge is not None and challenge.scheme == "bearer" and challenge.params.get("realm"):
            return self._bearer(endpoint, challenge, credential, what)
        if challenge is not None and challenge.scheme == "basic":
            if credential is None:
                raise self._needs_credentials(endpoint, what)
            self._check_safe(endpoint.registry, endpoint.secure)
            return f"Basic {credential.basic_value()}"
        raise RegistryError(
            f"registry {endpoint.registry} asked for authentication it does not describe "
            f"while reading {what}",
            hint="the registry sent no usable WWW-Authenticate header; check its address",
        )

    def _bearer(
        self, endpoint: Endpoint, challenge: Challenge, credential: Credential | None, what: str
    ) -> str:
        realm = challenge.params["realm"]
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryError(
                f"registry {endpoint.registry} sent a token realm that is not an http(s) URL",
                hint="check the registry address",
            )
        query: dict[str, str] = {"scope": challenge.params.get("scope") or endpoint.scope}
        if challenge.params.get("service"):
            query["service"] = challenge.params["service"]
        auth: tuple[str, str] | None = None
        if credential is not None:
            self._check_safe(parts.netloc, parts.scheme == "https" or is_loopback(parts.netloc))
            auth = (credential.username, credential.password)
            query["account"] = credential.username
        failure = ""
        for attempt in range(self._retries + 1):
            wait = min(MAX_BACKOFF, self._backoff * (2**attempt)) * (0.5 + random.random())  # noqa: S311 - jitter, not crypto
            try:
                response = self._session.get(
                    realm,
                    params=query,
                    auth=auth or _no_netrc,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except self._requests.RequestException as err:
                failure = f"cannot reach it ({type(err).__name__})"
            else:
                with response:
                    if response.status_code in (401, 403):
                        if credential is None:
                            raise self._needs_credentials(endpoint, what)
                        raise self._refused(endpoint, credential, what)
                    if response.status_code == 200:
                        return f"Bearer {self._token(response, endpoint)}"
                    failure = f"HTTP {response.status_code}"
                    after = _retry_after(response.headers.get("Retry-After"))
                    if after is not None:
                        wait = min(after, MAX_RETRY_AFTER)
                    if response.status_code not in _RETRY_STATUS:
                        break
            if attempt < self._retries:
                self._sleep(wait)
        raise RegistryError(
            f"the token service of registry {endpoint.registry} ({parts.netloc}) failed "
            f"while reading {what}: {failure}",
            hint=UNREACHABLE_HINT,
        )

    def _token(self, response: requests.Response, endpoint: Endpoint) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        token = None
        if isinstance(body, dict):
            token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise RegistryError(
                f"the token service of registry {endpoint.registry} sent no usable token",
                hint="check the registry address",
            )
        secrets.register(token)
        return token

    def _check_safe(self, host: str, secure: bool) -> None:
        if not secure:
            raise RegistryAuthError(
                f"refusing to send registry credentials over plain http to {host}",
                hint="use https for this registry (plain http is only for localhost)",
            )

    def _needs_credentials(self, endpoint: Endpoint, what: str) -> RegistryAuthError:
        return RegistryAuthError(
            f"registry {endpoint.registry} requires credentials to read {what}",
            hint=_login_hint(endpoint.registry),
        )

    def _refused(self, endpoint: Endpoint, credential: Credential, what: str) -> RegistryAuthError:
        return RegistryAuthError(
            f"registry {endpoint.registry} refused the credentials from {credential.source} "
            f"for {what}",
            hint="check the username and password or token, that it has not expired, and "
            "that it may read this repository",
        )

    def _denied(self, endpoint: Endpoint, what: str) -> RegistryAuthError:
        credential = self._credential(endpoint.registry)
        if credential is None:
            return self._needs_credentials(endpoint, what)
        return RegistryAuthError(
            f"registry {endpoint.registry} denied access to {what} with the credentials from "
            f"{credential.source}",
            hint="check that the credentials may read this repository (read:packages on "
            "ghcr.io) and that the image name is right",
        )

    def _raise_for_status(self, response: requests.Response, endpoint: Endpoint, what: str) -> None:
        if response.status_code < 300:
            return
        code = _registry_error_code(response) if response.request.method != "HEAD" else ""
        detail = f"HTTP {response.status_code}" + (f" {code}" if code else "")
        raise RegistryError(
            f"registry {endpoint.registry} refused reading {what}: {detail}",
            hint="check the image name and the registry address",
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit: a change of any is another
    origin, which gets none of the credentials meant for this one."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _no_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An explicit "auth" that changes nothing: requests then skips ~/.netrc (proxy and CA
    settings from the environment still apply)."""
    return request


def _login_hint(registry: str) -> str:
    if canonical_registry(registry) == GHCR:
        return (
            "set GITHUB_TOKEN (with packages: read) or REGISTRY_TOKEN, or run docker login "
            "ghcr.io; ghcr.io also answers this way for an image that does not exist"
        )
    return (
        f"set REGISTRY_HOST={registry} with REGISTRY_USERNAME and REGISTRY_PASSWORD "
        f"(or REGISTRY_TOKEN), or run docker login {registry}"
    )
