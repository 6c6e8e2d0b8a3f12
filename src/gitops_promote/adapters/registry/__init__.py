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

- :mod:`.endpoints`: registry names, the endpoint serving a repository, media types, errors;
- :mod:`.auth`: credentials (argument, environment, Docker config) and the handshakes;
- :mod:`.transport`: the HTTP session, retries with backoff, redirects followed safely;
- :mod:`.client`: :class:`RegistryClient`, the three questions above.

Callers import from this package.
"""

from __future__ import annotations

from gitops_promote.adapters.registry.auth import (
    Challenge,
    Credential,
    credentials_from_docker_config,
    credentials_from_env,
    docker_config_path,
)
from gitops_promote.adapters.registry.client import RegistryClient
from gitops_promote.adapters.registry.endpoints import (
    ACCEPT_MANIFESTS,
    DOCKER_HUB,
    GHCR,
    Endpoint,
    ImageNotFoundError,
    RegistryAuthError,
    canonical_registry,
    endpoint_for,
    is_loopback,
)
from gitops_promote.adapters.registry.transport import UNREACHABLE_HINT

__all__ = [
    "ACCEPT_MANIFESTS",
    "DOCKER_HUB",
    "GHCR",
    "UNREACHABLE_HINT",
    "Challenge",
    "Credential",
    "Endpoint",
    "ImageNotFoundError",
    "RegistryAuthError",
    "RegistryClient",
    "canonical_registry",
    "credentials_from_docker_config",
    "credentials_from_env",
    "docker_config_path",
    "endpoint_for",
    "is_loopback",
]
