"""Registry credentials and the handshakes registries ask for.

Credentials come, first match wins, from the client's ``credentials`` argument, the
environment (``REGISTRY_USERNAME``/``REGISTRY_PASSWORD`` or ``REGISTRY_TOKEN`` for
``REGISTRY_HOST``, default ghcr.io), ``~/.docker/config.json`` ``auths``, and
``GITHUB_TOKEN`` for ghcr.io. :class:`Authenticator` answers a ``WWW-Authenticate``
challenge: the bearer-token handshake (anonymous or with credentials) or basic auth; no
credential is sent over plain http except to a loopback registry.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from gitops_promote.adapters import secrets
from gitops_promote.adapters.net import retry_after
from gitops_promote.adapters.registry.endpoints import (
    GHCR,
    Endpoint,
    RegistryAuthError,
    canonical_registry,
    is_loopback,
)
from gitops_promote.adapters.registry.transport import (
    MAX_RETRY_AFTER,
    RETRY_STATUS,
    UNREACHABLE_HINT,
    Transport,
    no_netrc,
)
from gitops_promote.errors import InputError, RegistryError

if TYPE_CHECKING:
    import requests

_CHALLENGE_PARAM: Final = re.compile(
    r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))'
)


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


def login_hint(registry: str) -> str:
    if canonical_registry(registry) == GHCR:
        return (
            "set GITHUB_TOKEN (with packages: read) or REGISTRY_TOKEN, or run docker login "
            "ghcr.io; ghcr.io also answers this way for an image that does not exist"
        )
    return (
        f"set REGISTRY_HOST={registry} with REGISTRY_USERNAME and REGISTRY_PASSWORD "
        f"(or REGISTRY_TOKEN), or run docker login {registry}"
    )


class Authenticator:
    """The credential for a registry and the Authorization header its challenge asks for
    (over ``transport``, with its retries)."""

    def __init__(
        self,
        transport: Transport,
        *,
        credentials: Mapping[str, Credential] | None,
        env: Mapping[str, str],
        docker_config: Path | None,
    ) -> None:
        self._transport = transport
        self._explicit = {canonical_registry(k): v for k, v in (credentials or {}).items()}
        self._env_credentials = credentials_from_env(env)
        self._docker_config = docker_config or docker_config_path(env)
        self._docker_credentials: dict[str, Credential] | None = None

    def credential(self, registry: str) -> Credential | None:
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

    def authenticate(self, endpoint: Endpoint, challenge: Challenge | None, what: str) -> str:
        """The Authorization header value the registry's challenge asks for."""
        credential = self.credential(endpoint.registry)
        if challenge is not None and challenge.scheme == "bearer" and challenge.params.get("realm"):
            return self._bearer(endpoint, challenge, credential, what)
        if challenge is not None and challenge.scheme == "basic":
            if credential is None:
                raise self.needs_credentials(endpoint, what)
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
        for attempt in range(self._transport.retries + 1):
            wait = self._transport.backoff_wait(attempt)
            try:
                response = self._transport.session.get(
                    realm,
                    params=query,
                    auth=auth or no_netrc,
                    timeout=self._transport.timeout,
                    allow_redirects=False,
                )
            except self._transport.requests.RequestException as err:
                failure = f"cannot reach it ({type(err).__name__})"
            else:
                with response:
                    if response.status_code in (401, 403):
                        if credential is None:
                            raise self.needs_credentials(endpoint, what)
                        raise self._refused(endpoint, credential, what)
                    if response.status_code == 200:
                        return f"Bearer {self._token(response, endpoint)}"
                    failure = f"HTTP {response.status_code}"
                    after = retry_after(response.headers.get("Retry-After"))
                    if after is not None:
                        wait = min(after, MAX_RETRY_AFTER)
                    if response.status_code not in RETRY_STATUS:
                        break
            if attempt < self._transport.retries:
                self._transport.sleep(wait)
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

    def needs_credentials(self, endpoint: Endpoint, what: str) -> RegistryAuthError:
        return RegistryAuthError(
            f"registry {endpoint.registry} requires credentials to read {what}",
            hint=login_hint(endpoint.registry),
        )

    def _refused(self, endpoint: Endpoint, credential: Credential, what: str) -> RegistryAuthError:
        return RegistryAuthError(
            f"registry {endpoint.registry} refused the credentials from {credential.source} "
            f"for {what}",
            hint="check the username and password or token, that it has not expired, and "
            "that it may read this repository",
        )

    def denied(self, endpoint: Endpoint, what: str) -> RegistryAuthError:
        credential = self.credential(endpoint.registry)
        if credential is None:
            return self.needs_credentials(endpoint, what)
        return RegistryAuthError(
            f"registry {endpoint.registry} denied access to {what} with the credentials from "
            f"{credential.source}",
            hint="check that the credentials may read this repository (read:packages on "
            "ghcr.io) and that the image name is right",
        )
