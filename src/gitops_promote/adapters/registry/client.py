"""The registry client: tag -> digest, digest exists, tag lists (OCI distribution API).
It reads; it never pushes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin, urlsplit

from gitops_promote.adapters.registry.auth import Authenticator, Challenge, Credential
from gitops_promote.adapters.registry.endpoints import (
    ACCEPT_MANIFESTS,
    Endpoint,
    ImageNotFoundError,
    endpoint_for,
)
from gitops_promote.adapters.registry.transport import Transport
from gitops_promote.errors import InputError, RegistryError
from gitops_promote.images import ImageRef, is_digest

if TYPE_CHECKING:
    import requests

MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024  # the distribution spec's manifest size limit
MAX_TAG_PAGES: Final = 10_000


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
        self._transport = Transport(
            timeout=timeout, retries=retries, backoff=backoff, insecure=insecure, sleep=sleep
        )
        self._authenticator = Authenticator(
            self._transport,
            credentials=credentials,
            env=dict(os.environ if env is None else env),
            docker_config=docker_config,
        )
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
        return endpoint_for(name, insecure=self._transport.insecure)

    def close(self) -> None:
        self._transport.close()

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
        response = self._transport.send(method, url, headers, endpoint.registry, what)
        if response.status_code != 401:
            if response.status_code == 403:
                response.close()
                raise self._authenticator.denied(endpoint, what)
            return response
        challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
        response.close()
        self._auth[key] = self._authenticator.authenticate(endpoint, challenge, what)
        headers["Authorization"] = self._auth[key]
        response = self._transport.send(method, url, headers, endpoint.registry, what)
        if response.status_code in (401, 403):
            response.close()
            self._auth.pop(key, None)
            raise self._authenticator.denied(endpoint, what)
        return response

    def _raise_for_status(self, response: requests.Response, endpoint: Endpoint, what: str) -> None:
        if response.status_code < 300:
            return
        code = _registry_error_code(response) if response.request.method != "HEAD" else ""
        detail = f"HTTP {response.status_code}" + (f" {code}" if code else "")
        raise RegistryError(
            f"registry {endpoint.registry} refused reading {what}: {detail}",
            hint="check the image name and the registry address",
        )
