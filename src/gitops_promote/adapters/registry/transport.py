"""The registry client's HTTP: one session, each request retried on 429, 5xx and
connection errors with exponential backoff and jitter (honouring ``Retry-After``), and
redirects followed by hand, so that a hop to another origin carries no credentials and a
hop to plain http on another machine is refused."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin, urlsplit

from gitops_promote.adapters import secrets
from gitops_promote.adapters.net import retry_after
from gitops_promote.adapters.registry.endpoints import canonical_registry, is_loopback
from gitops_promote.errors import RegistryError

if TYPE_CHECKING:
    import requests

MAX_RETRY_AFTER: Final = 60.0  # seconds; a longer Retry-After is waited for this long
MAX_BACKOFF: Final = 30.0
RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUS: Final = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS: Final = 10
# What the world's failures (no connection, 5xx after retries) tell the user to do: promote
# can go on without the registry when the digest is known good, so say how.
UNREACHABLE_HINT: Final = (
    "the registry or the network is failing; re-run later, or, when the registry cannot be "
    "reached from here and the digest is known good, pass --skip-registry-check "
    "(`skip-registry-check: true` in the action)"
)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit: a change of any is another
    origin, which gets none of the credentials meant for this one."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def no_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An explicit "auth" that changes nothing: requests then skips ~/.netrc (proxy and CA
    settings from the environment still apply)."""
    return request


class Transport:
    """One HTTP session to registries: ``retries`` more attempts after a 429, 5xx or
    connection failure, waiting ``backoff * 2**n`` seconds with jitter (``sleep``);
    ``insecure`` lists registries that may be reached over plain http."""

    def __init__(
        self,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        insecure: Iterable[str],
        sleep: Callable[[float], None],
    ) -> None:
        import requests  # noqa: PLC0415 - only commands that reach a registry pay for it

        self.requests = requests
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "gitops-promote"
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self.insecure = tuple(insecure)
        self.sleep = sleep

    def backoff_wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based): exponential, capped,
        with jitter."""
        wait: float = min(MAX_BACKOFF, self.backoff * (2**attempt))
        return wait * (0.5 + random.random())  # noqa: S311 - jitter, not crypto

    def close(self) -> None:
        self.session.close()

    def send(
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
            if response.status_code not in REDIRECT_STATUS or not target:
                return response
            response.close()
            following = urljoin(url, target)
            self.check_redirect(url, following, registry, what)
            if origin(following) != origin(url):
                current.pop("Authorization", None)
            url = following
        raise RegistryError(
            f"registry {registry} redirected reading {what} more than {MAX_REDIRECTS} times",
            hint="check the registry address",
        )

    def check_redirect(self, source: str, target: str, registry: str, what: str) -> None:
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
        plain = {canonical_registry(h) for h in self.insecure}
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
        for attempt in range(self.retries + 1):
            wait = self.backoff_wait(attempt)
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers),
                    auth=no_netrc,  # our Authorization header, never one from ~/.netrc
                    timeout=self.timeout,
                    allow_redirects=False,  # followed by _send, which knows whose they are
                    stream=True,
                )
            except self.requests.RequestException as err:
                failure = f"cannot reach it ({type(err).__name__})"
            else:
                if response.status_code not in RETRY_STATUS:
                    return response
                failure = f"HTTP {response.status_code}"
                after = retry_after(response.headers.get("Retry-After"))
                if after is not None:
                    wait = min(after, MAX_RETRY_AFTER)
                response.close()
            if attempt < self.retries:
                self.sleep(wait)
        raise RegistryError(
            secrets.redact(
                f"registry {registry} failed reading {what} after "
                f"{self.retries + 1} attempt(s): {failure}"
            ),
            hint=UNREACHABLE_HINT,
        )
