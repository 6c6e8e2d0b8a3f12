"""Where an image lives: registry names (Docker Hub's aliases made one), the API
endpoint serving a repository (http only for loopback registries or those listed as
insecure), the manifest media types asked for, and the user's errors (exit 2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from gitops_promote.adapters.net import is_loopback_host
from gitops_promote.errors import UserError
from gitops_promote.images import ImageRef

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


class ImageNotFoundError(UserError):
    """The tag, digest or repository does not exist in the registry (exit 2)."""


class RegistryAuthError(UserError):
    """The registry wants credentials that are missing, refused, or unsafe to send (exit 2)."""


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
    return is_loopback_host(host)


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
