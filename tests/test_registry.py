"""The registry client against a real docker-registry: digests, tags, auth, retries."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitops_promote.adapters import secrets
from gitops_promote.adapters.registry import (
    Challenge,
    Credential,
    ImageNotFoundError,
    RegistryAuthError,
    RegistryClient,
    canonical_registry,
    credentials_from_docker_config,
    credentials_from_env,
    endpoint_for,
)
from gitops_promote.errors import InputError, RegistryError, UserError
from gitops_promote.images import ImageRef
from support.oci_registry import FaultProxy, Registry

MISSING_DIGEST = "sha256:" + "e" * 64

ClientFactory = Callable[..., RegistryClient]


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the client asked for, in order (nothing really sleeps)."""
    return []


@pytest.fixture
def make_client(tmp_path: Path, sleeps: list[float]) -> Iterator[ClientFactory]:
    """Clients isolated from this machine: empty environment, HOME in tmp_path (so no
    ~/.docker/config.json), waits recorded instead of slept."""
    made: list[RegistryClient] = []

    def make(**kwargs: object) -> RegistryClient:
        kwargs.setdefault("env", {"HOME": str(tmp_path)})
        kwargs.setdefault("retries", 2)
        kwargs.setdefault("backoff", 0.01)
        kwargs.setdefault("sleep", sleeps.append)
        client = RegistryClient(**kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def ref(
    registry: Registry | FaultProxy, repo: str, tag: str | None = None, digest: str | None = None
) -> ImageRef:
    return ImageRef(registry.image(repo), tag, digest)


def creds(registry: Registry, password: str | None = None) -> dict[str, Credential]:
    assert registry.username is not None
    assert registry.password is not None
    return {registry.host: Credential(registry.username, password or registry.password)}


# -- tag -> digest --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_resolve_tag_of_single_manifest(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory, fmt: str
) -> None:
    """A tag resolves to the digest of the manifest it points to (OCI and Docker v2)."""
    digest = oci_registry.push_image(registry_repo, "v1.2.3", fmt=fmt)  # type: ignore[arg-type]
    assert make_client().resolve(ref(oci_registry, registry_repo, "v1.2.3")) == digest


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_resolve_tag_of_multi_arch_index(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory, fmt: str
) -> None:
    """A multi-arch tag resolves to the digest of the index / manifest list itself, not to
    one platform's manifest (the Accept header lists the index media types)."""
    digest = oci_registry.push_image(
        registry_repo,
        "v2.0.0",
        fmt=fmt,  # type: ignore[arg-type]
        platforms=["linux/amd64", "linux/arm64"],
    )
    assert make_client().resolve(ref(oci_registry, registry_repo, "v2.0.0")) == digest


def test_resolve_follows_a_retag(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """Resolving a mutable tag gives what it points to now: after a retag, the new digest."""
    old = oci_registry.push_image(registry_repo, "latest")
    client = make_client()
    assert client.resolve(ref(oci_registry, registry_repo, "latest")) == old
    new = oci_registry.push_image(registry_repo, "v1.1.0")
    oci_registry.retag(registry_repo, "v1.1.0", "latest")
    assert new != old
    assert client.resolve(ref(oci_registry, registry_repo, "latest")) == new


def test_resolve_without_tag_means_latest(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """A reference with neither tag nor digest resolves 'latest', as docker pull does."""
    digest = oci_registry.push_image(registry_repo, "latest")
    assert make_client().resolve(ref(oci_registry, registry_repo)) == digest


def test_missing_tag_is_the_users_error(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """A tag that does not exist: ImageNotFoundError (exit 2) naming image and tag."""
    oci_registry.push_image(registry_repo, "v1.0.0")
    with pytest.raises(ImageNotFoundError) as caught:
        make_client().resolve(ref(oci_registry, registry_repo, "v9.9.9"))
    assert caught.value.exit_code == 2
    assert f"{oci_registry.image(registry_repo)}:v9.9.9 does not exist" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_repository_is_the_users_error(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """A repository that does not exist at all is reported the same way (exit 2)."""
    with pytest.raises(ImageNotFoundError, match="does not exist"):
        make_client().resolve(ref(oci_registry, registry_repo, "v1.0.0"))


def test_digest_reference_is_checked_and_returned(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """A digest-only reference resolves to itself when the registry has it, and is refused
    (exit 2, naming the digest) when it does not."""
    digest = oci_registry.push_image(registry_repo, "v1.0.0")
    client = make_client()
    assert client.resolve(ref(oci_registry, registry_repo, digest=digest)) == digest
    with pytest.raises(ImageNotFoundError, match=MISSING_DIGEST) as caught:
        client.resolve(ref(oci_registry, registry_repo, digest=MISSING_DIGEST))
    assert caught.value.exit_code == 2


def test_tag_and_digest_must_agree(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """name:tag@digest resolves when the tag points to that digest; when the tag has moved,
    InputError names both digests (a stale pair is never pinned silently)."""
    first = oci_registry.push_image(registry_repo, "v1.0.0")
    client = make_client()
    assert client.resolve(ref(oci_registry, registry_repo, "v1.0.0", first)) == first
    second = oci_registry.push_image(registry_repo, "v1.0.1")
    oci_registry.retag(registry_repo, "v1.0.1", "v1.0.0")
    with pytest.raises(InputError) as caught:
        client.resolve(ref(oci_registry, registry_repo, "v1.0.0", first))
    assert second in str(caught.value)
    assert first in str(caught.value)


# -- exists -------------------------------------------------------------------------------


def test_exists_for_digests_and_tags(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """exists() is True for a pushed digest or tag and False for ones never pushed (also
    in a repository that does not exist): promote refuses those before committing."""
    digest = oci_registry.push_image(registry_repo, "v1.0.0", platforms=["linux/amd64"])
    client = make_client()
    assert client.exists(ref(oci_registry, registry_repo, digest=digest))
    assert client.exists(ref(oci_registry, registry_repo, "v1.0.0"))
    assert not client.exists(ref(oci_registry, registry_repo, digest=MISSING_DIGEST))
    assert not client.exists(ref(oci_registry, registry_repo, "nope"))
    assert not client.exists(ref(oci_registry, registry_repo + "-none", digest=digest))


def test_exists_prefers_the_digest_over_the_tag(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """For name:tag@digest, exists() asks about the immutable digest."""
    oci_registry.push_image(registry_repo, "v1.0.0")
    client = make_client()
    assert not client.exists(ref(oci_registry, registry_repo, "v1.0.0", MISSING_DIGEST))


# -- tag lists ------------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["relative", "absolute"])
def test_list_tags_follows_link_pagination(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory, link: str
) -> None:
    """With n=2 the registry answers in pages linked by Link: rel="next" (a relative or an
    absolute URL); list_tags follows every page and returns every tag once, in order."""
    pushed = ["v1.0.0", "v1.2.3", "v2.0.0-rc.1", "latest", "sha-abc1234"]
    digest = oci_registry.push_image(registry_repo, pushed[0])
    for tag in pushed[1:]:
        oci_registry.retag(registry_repo, digest, tag)
    proxy = FaultProxy(oci_registry, paginate_tags=link)  # type: ignore[arg-type]
    try:
        tags = make_client().list_tags(proxy.image(registry_repo), page_size=2)
    finally:
        proxy.close()
    assert tags == sorted(pushed)
    pages = [r.path for r in proxy.log if "/tags/list" in r.path]
    assert len(pages) == 3
    assert all("n=2" in page for page in pages)
    assert [page.partition("last=")[2] for page in pages] == ["", "sha-abc1234", "v1.2.3"]


def test_list_tags_refuses_a_next_page_on_another_host(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """A Link to another host is not followed (credentials would go with it): exit 3."""
    digest = oci_registry.push_image(registry_repo, "a")
    oci_registry.retag(registry_repo, digest, "b")
    proxy = FaultProxy(oci_registry, paginate_tags="foreign")
    try:
        with pytest.raises(RegistryError, match="on another host"):
            make_client().list_tags(proxy.image(registry_repo), page_size=1)
    finally:
        proxy.close()


def test_list_tags_without_page_size(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """Without page_size the registry's own page size is used; all tags come back."""
    digest = oci_registry.push_image(registry_repo, "a")
    oci_registry.retag(registry_repo, digest, "b")
    assert sorted(make_client().list_tags(oci_registry.image(registry_repo))) == ["a", "b"]


def test_list_tags_of_missing_repository(
    oci_registry: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """Listing the tags of a repository that does not exist: exit 2, naming it."""
    with pytest.raises(ImageNotFoundError, match=f"repository {oci_registry.host}/{registry_repo}"):
        make_client().list_tags(oci_registry.image(registry_repo))


# -- the world's failures: retries -----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 0])
def test_transient_failures_are_retried(
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
    sleeps: list[float],
    status: int,
) -> None:
    """5xx answers and dropped connections (status 0) are retried with growing waits; the
    answer after them is the right digest."""
    digest = registry_faults.upstream.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(status, times=2, path="/manifests/")
    client = make_client(retries=3, backoff=1.0)
    assert client.resolve(ref(registry_faults, registry_repo, "v1.0.0")) == digest
    assert registry_faults.injected() == 2
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.5  # backoff * 2**0, with jitter in [0.5, 1.5)
    assert 1.0 <= sleeps[1] <= 3.0  # backoff * 2**1


def test_429_honours_retry_after(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
    sleeps: list[float],
) -> None:
    """A 429 with Retry-After waits what the registry asked (capped at 60 s), then retries."""
    digest = oci_registry.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(429, path="/manifests/", headers={"Retry-After": "7"})
    registry_faults.inject(429, path="/manifests/", headers={"Retry-After": "3600"})
    client = make_client(retries=3)
    assert client.resolve(ref(registry_faults, registry_repo, "v1.0.0")) == digest
    assert sleeps == [7.0, 60.0]


def test_retries_are_bounded_then_registry_error(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
) -> None:
    """A registry that keeps failing gets retries + 1 attempts, then RegistryError (exit 3)
    in one line naming the registry, what was read and the last failure."""
    oci_registry.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(503, times=100, path="/manifests/")
    with pytest.raises(RegistryError) as caught:
        make_client(retries=2).resolve(ref(registry_faults, registry_repo, "v1.0.0"))
    assert registry_faults.injected() == 3
    assert caught.value.exit_code == 3
    message = str(caught.value)
    assert registry_faults.host in message
    assert "v1.0.0" in message
    assert "3 attempt(s): HTTP 503" in message
    assert "\n" not in message


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_registry_names_the_way_around_it(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
) -> None:
    """A registry that cannot be reached (connection refused) or keeps failing (503) is the
    world's error whose hint names both ways to promote without it: --skip-registry-check
    on the command line and `skip-registry-check: true` in the action."""
    oci_registry.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(503, times=100, path="/manifests/")
    unreachable = ImageRef(f"127.0.0.1:{closed_loopback_port()}/app", None, MISSING_DIGEST)
    failing = ref(registry_faults, registry_repo, None, MISSING_DIGEST)
    for image, failure in ((unreachable, "cannot reach it"), (failing, "HTTP 503")):
        with pytest.raises(RegistryError) as caught:
            make_client(retries=1).exists(image)
        assert caught.value.exit_code == 3
        assert failure in caught.value.message
        assert caught.value.hint is not None
        assert "--skip-registry-check" in caught.value.hint
        assert "`skip-registry-check: true`" in caught.value.hint


def test_client_errors_are_not_retried(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
) -> None:
    """A 400 is not transient: one attempt, then RegistryError with the status."""
    oci_registry.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(400, times=5, path="/manifests/")
    with pytest.raises(RegistryError, match="HTTP 400"):
        make_client().resolve(ref(registry_faults, registry_repo, "v1.0.0"))
    assert registry_faults.injected() == 1


def test_list_tags_pages_are_retried(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
) -> None:
    """A failure in the middle of the tag pages is retried and no tag is lost or doubled."""
    digest = oci_registry.push_image(registry_repo, "t1")
    for tag in ("t2", "t3", "t4"):
        oci_registry.retag(registry_repo, digest, tag)
    registry_faults.inject(502, path="last=")
    tags = make_client().list_tags(registry_faults.image(registry_repo), page_size=2)
    assert tags == ["t1", "t2", "t3", "t4"]
    assert registry_faults.injected() == 1


@pytest.mark.parametrize("platforms", [(), ("linux/amd64", "linux/arm64")])
def test_digest_from_body_when_header_missing(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
    platforms: tuple[str, ...],
) -> None:
    """When a registry leaves Docker-Content-Digest out, the manifest is read and its
    sha256 is the digest (equal to what the registry stored), for manifests and indexes."""
    digest = oci_registry.push_image(registry_repo, "v1.0.0", platforms=platforms)
    registry_faults.strip_digest = True
    assert make_client().resolve(ref(registry_faults, registry_repo, "v1.0.0")) == digest
    assert [r.method for r in registry_faults.log] == ["HEAD", "GET"]


def test_registry_without_head_is_read_with_get(
    registry_faults: FaultProxy, registry_repo: str, make_client: ClientFactory
) -> None:
    """A registry that answers HEAD with 405 is asked with GET instead (resolve, exists)."""
    digest = registry_faults.upstream.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(405, times=2, path="/manifests/", method="HEAD")
    client = make_client()
    assert client.resolve(ref(registry_faults, registry_repo, "v1.0.0")) == digest
    assert client.exists(ref(registry_faults, registry_repo, digest=digest))
    assert [r.method for r in registry_faults.log] == ["HEAD", "GET", "HEAD", "GET"]


def test_malformed_digest_from_registry_is_the_worlds_error(
    registry_faults: FaultProxy, registry_repo: str, make_client: ClientFactory
) -> None:
    """A Docker-Content-Digest that is not a digest is never pinned: RegistryError (3)."""
    registry_faults.inject(200, path="/manifests/", headers={"Docker-Content-Digest": "sha256:xyz"})
    with pytest.raises(RegistryError, match="malformed digest") as caught:
        make_client().resolve(ref(registry_faults, registry_repo, "v1.0.0"))
    assert caught.value.exit_code == 3


def test_401_without_challenge(
    registry_faults: FaultProxy, registry_repo: str, make_client: ClientFactory
) -> None:
    """A 401 that does not say how to authenticate ends in one clear RegistryError."""
    registry_faults.inject(401, path="/manifests/")
    with pytest.raises(RegistryError, match="authentication it does not describe"):
        make_client().resolve(ref(registry_faults, registry_repo, "v1.0.0"))


# -- basic auth -----------------------------------------------------------------------------


def test_basic_auth_with_credentials(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """Against an htpasswd registry the client answers the Basic challenge and resolves."""
    digest = oci_registry_basic.push_image(registry_repo, "v1.0.0")
    client = make_client(credentials=creds(oci_registry_basic))
    assert client.resolve(ref(oci_registry_basic, registry_repo, "v1.0.0")) == digest
    assert client.list_tags(oci_registry_basic.image(registry_repo)) == ["v1.0.0"]


def test_basic_auth_wrong_password(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """A wrong password: RegistryAuthError (exit 2) naming the registry and where the
    credentials came from, with a hint; neither the password nor its base64 appear."""
    oci_registry_basic.push_image(registry_repo, "v1.0.0")
    wrong = "wrong-password-123"
    client = make_client(credentials=creds(oci_registry_basic, wrong))
    with pytest.raises(RegistryAuthError) as caught:
        client.resolve(ref(oci_registry_basic, registry_repo, "v1.0.0"))
    error = caught.value
    assert error.exit_code == 2
    assert oci_registry_basic.host in str(error)
    assert "credentials argument" in str(error)
    assert error.hint
    assert_no_secret(str(error), oci_registry_basic.username or "", wrong)


def test_basic_auth_without_credentials(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """No credentials for a registry that needs them: exit 2 with a hint that says which
    variables to set for that registry."""
    with pytest.raises(RegistryAuthError) as caught:
        make_client().resolve(ref(oci_registry_basic, registry_repo, "v1.0.0"))
    assert "requires credentials" in str(caught.value)
    assert f"REGISTRY_HOST={oci_registry_basic.host}" in (caught.value.hint or "")


def test_credentials_from_environment(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory, tmp_path: Path
) -> None:
    """REGISTRY_HOST + REGISTRY_USERNAME + REGISTRY_PASSWORD authenticate to that registry."""
    digest = oci_registry_basic.push_image(registry_repo, "v1.0.0")
    env = {
        "HOME": str(tmp_path),
        "REGISTRY_HOST": oci_registry_basic.host,
        "REGISTRY_USERNAME": oci_registry_basic.username or "",
        "REGISTRY_PASSWORD": oci_registry_basic.password or "",
    }
    client = make_client(env=env)
    assert client.resolve(ref(oci_registry_basic, registry_repo, "v1.0.0")) == digest


def test_credentials_from_docker_config(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory, tmp_path: Path
) -> None:
    """An auths entry of ~/.docker/config.json (base64 user:password) is used."""
    digest = oci_registry_basic.push_image(registry_repo, "v1.0.0")
    pair = f"{oci_registry_basic.username}:{oci_registry_basic.password}"
    config = {"auths": {f"http://{oci_registry_basic.host}": {"auth": b64(pair)}}}
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps(config))
    client = make_client()
    assert client.resolve(ref(oci_registry_basic, registry_repo, "v1.0.0")) == digest


def test_github_token_goes_only_to_ghcr(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory, tmp_path: Path
) -> None:
    """GITHUB_TOKEN is a ghcr.io credential: it is never offered to another registry."""
    token = oci_registry_basic.password or ""
    client = make_client(env={"HOME": str(tmp_path), "GITHUB_TOKEN": token})
    with pytest.raises(RegistryAuthError, match="requires credentials"):
        client.resolve(ref(oci_registry_basic, registry_repo, "v1.0.0"))


def test_explicit_credentials_win_over_environment(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory, tmp_path: Path
) -> None:
    """The credentials argument is used before REGISTRY_* variables."""
    digest = oci_registry_basic.push_image(registry_repo, "v1.0.0")
    env = {
        "HOME": str(tmp_path),
        "REGISTRY_HOST": oci_registry_basic.host,
        "REGISTRY_USERNAME": "someone",
        "REGISTRY_PASSWORD": "not-the-password",
    }
    client = make_client(env=env, credentials=creds(oci_registry_basic))
    assert client.resolve(ref(oci_registry_basic, registry_repo, "v1.0.0")) == digest


# -- bearer tokens ------------------------------------------------------------------------------


def test_anonymous_bearer_handshake(
    oci_registry_token: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """401 + WWW-Authenticate: Bearer -> GET realm?service=&scope= without credentials ->
    token -> the request again with it, as for a public ghcr.io image."""
    digest = oci_registry_token.push_image(registry_repo, "v1.0.0")
    server = oci_registry_token.token_server
    assert server is not None
    before = len(server.requests)
    client = make_client()
    assert client.resolve(ref(oci_registry_token, registry_repo, "v1.0.0")) == digest
    calls = server.requests[before:]
    assert len(calls) == 1
    assert calls[0].username is None
    assert calls[0].params["scope"] == [f"repository:{registry_repo}:pull"]
    assert calls[0].params["service"] == ["gitops-promote-test-registry"]


def test_bearer_token_is_reused(
    oci_registry_token: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """One token serves every read of the same repository: resolve, exists and tag list."""
    digest = oci_registry_token.push_image(registry_repo, "v1.0.0")
    oci_registry_token.retag(registry_repo, digest, "v1.0.1")
    oci_registry_token.retag(registry_repo, digest, "v1.0.2")
    server = oci_registry_token.token_server
    assert server is not None
    before = len(server.requests)
    client = make_client()
    client.resolve(ref(oci_registry_token, registry_repo, "v1.0.0"))
    assert client.exists(ref(oci_registry_token, registry_repo, digest=digest))
    tags = client.list_tags(oci_registry_token.image(registry_repo))
    assert sorted(tags) == ["v1.0.0", "v1.0.1", "v1.0.2"]
    assert len(server.requests) - before == 1


def test_bearer_handshake_with_credentials(
    oci_registry_private: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """For a private registry the token endpoint gets the credentials as basic auth (as
    ghcr.io takes a GitHub token), never in the URL; the token then reads the image."""
    digest = oci_registry_private.push_image(registry_repo, "v1.0.0")
    server = oci_registry_private.token_server
    assert server is not None
    before = len(server.requests)
    client = make_client(credentials=creds(oci_registry_private))
    assert client.resolve(ref(oci_registry_private, registry_repo, "v1.0.0")) == digest
    call = server.requests[before]
    assert call.authenticated
    assert call.username == oci_registry_private.username
    assert (oci_registry_private.password or "") not in json.dumps(call.params)


def test_private_registry_without_credentials(
    oci_registry_private: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """An anonymous token that grants nothing ends in RegistryAuthError, not a loop."""
    oci_registry_private.push_image(registry_repo, "v1.0.0")
    with pytest.raises(RegistryAuthError, match="requires credentials"):
        make_client().resolve(ref(oci_registry_private, registry_repo, "v1.0.0"))


def test_bearer_wrong_password(
    oci_registry_private: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """The token endpoint refusing the credentials: exit 2, naming where they came from,
    without the secret."""
    wrong = "ghp_" + "x" * 36
    env = {
        "HOME": "/nonexistent",
        "REGISTRY_HOST": oci_registry_private.host,
        "REGISTRY_TOKEN": wrong,
    }
    with pytest.raises(RegistryAuthError) as caught:
        make_client(env=env).resolve(ref(oci_registry_private, registry_repo, "v1.0.0"))
    assert "refused the credentials from REGISTRY_TOKEN" in str(caught.value)
    assert_no_secret(str(caught.value), "token", wrong)


def test_ghcr_token_from_environment_is_used_for_ghcr() -> None:
    """GITHUB_TOKEN becomes a ghcr.io credential (user GITHUB_ACTOR); REGISTRY_TOKEN goes to
    ghcr.io too unless REGISTRY_HOST says otherwise, and wins over GITHUB_TOKEN."""
    found = credentials_from_env({"GITHUB_TOKEN": "ghs_abcdef", "GITHUB_ACTOR": "octocat"})
    assert found["ghcr.io"].username == "octocat"
    assert found["ghcr.io"].password == "ghs_abcdef"
    found = credentials_from_env({"GITHUB_TOKEN": "ghs_abcdef", "REGISTRY_TOKEN": "ghp_123456"})
    assert found["ghcr.io"].password == "ghp_123456"
    assert found["ghcr.io"].source == "REGISTRY_TOKEN"
    found = credentials_from_env(
        {"GITHUB_TOKEN": "ghs_abcdef", "REGISTRY_TOKEN": "tok_1234", "REGISTRY_HOST": "Quay.io"}
    )
    assert found["quay.io"].password == "tok_1234"
    assert found["ghcr.io"].source == "GITHUB_TOKEN"


def test_password_without_username_is_refused() -> None:
    """REGISTRY_PASSWORD alone is a configuration mistake: one line that says what to add."""
    with pytest.raises(InputError, match="REGISTRY_USERNAME is not"):
        credentials_from_env({"REGISTRY_PASSWORD": "secret-123"})


# -- secrets never leak ---------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def assert_no_secret(text: str, username: str, password: str) -> None:
    assert password not in text
    assert b64(f"{username}:{password}") not in text
    assert b64(password) not in text


def test_no_credential_in_any_failure_message(
    oci_registry_basic: Registry, registry_repo: str, make_client: ClientFactory
) -> None:
    """Whatever fails (refused credentials, missing tag, a registry that keeps failing,
    an unreachable one), the message never holds the password or the basic value."""
    oci_registry_basic.push_image(registry_repo, "v1.0.0")
    password = oci_registry_basic.password or ""
    user = oci_registry_basic.username or ""
    proxy = FaultProxy(oci_registry_basic)
    try:
        proxy.inject(503, times=100, path="/manifests/v1.0.0")
        attempts: list[tuple[RegistryClient, ImageRef]] = [
            (
                make_client(credentials=creds(oci_registry_basic, "Wr0ng!pass")),
                ref(oci_registry_basic, registry_repo, "v1.0.0"),
            ),
            (
                make_client(credentials=creds(oci_registry_basic)),
                ref(oci_registry_basic, registry_repo, "v9"),
            ),
            (
                make_client(credentials={proxy.host: Credential(user, password)}),
                ref(proxy, registry_repo, "v1.0.0"),
            ),
            (
                make_client(credentials={"127.0.0.1:9": Credential(user, password)}, retries=0),
                ImageRef("127.0.0.1:9/app", "v1"),
            ),
        ]
        for client, image in attempts:
            with pytest.raises((UserError, RegistryError)) as caught:
                client.resolve(image)
            text = f"{caught.value} {caught.value.hint} {caught.value!r}"
            assert_no_secret(text, user, password)
            assert_no_secret(text, user, "Wr0ng!pass")
    finally:
        proxy.close()


def test_netrc_is_never_used(
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ~/.netrc entry for the registry's host is not sent: only credentials the client
    was given (or found in the documented places) ever go out."""
    digest = registry_faults.upstream.push_image(registry_repo, "v1.0.0")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert make_client().resolve(ref(registry_faults, registry_repo, "v1.0.0")) == digest
    assert registry_faults.log
    assert all(r.authorization is None for r in registry_faults.log)


def test_credentials_are_registered_for_redaction() -> None:
    """A Credential registers its password and basic value with secrets.redact, and its
    repr does not show the password."""
    credential = Credential("robot", "s3cr3t-registry-pass")
    line = f"Authorization: Basic {credential.basic_value()} pw=s3cr3t-registry-pass"
    assert "s3cr3t" not in secrets.redact(line)
    assert credential.basic_value() not in secrets.redact(line)
    assert "s3cr3t" not in repr(credential)


def test_no_credentials_over_plain_http(
    oci_registry: Registry,
    registry_faults: FaultProxy,
    registry_repo: str,
    make_client: ClientFactory,
) -> None:
    """A registry that sends the client to a plain-http token realm on another machine gets
    no credentials: RegistryAuthError, and nothing is sent there."""
    oci_registry.push_image(registry_repo, "v1.0.0")
    registry_faults.inject(
        401,
        path="/manifests/",
        headers={"WWW-Authenticate": 'Bearer realm="http://registry.invalid/token",service="x"'},
    )
    client = make_client(credentials={registry_faults.host: Credential("u", "p4ssword!")})
    with pytest.raises(RegistryAuthError, match=r"plain http to registry\.invalid"):
        client.resolve(ref(registry_faults, registry_repo, "v1.0.0"))


# -- pure pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base_url", "path"),
    [
        ("nginx", "https://registry-1.docker.io", "library/nginx"),
        ("docker.io/nginx", "https://registry-1.docker.io", "library/nginx"),
        ("index.docker.io/org/app", "https://registry-1.docker.io", "org/app"),
        ("org/app", "https://registry-1.docker.io", "org/app"),
        ("ghcr.io/myorg/api", "https://ghcr.io", "myorg/api"),
        ("localhost:5000/app", "http://localhost:5000", "app"),
        ("localhost/app", "http://localhost", "app"),
        ("127.0.0.1:5000/a/b", "http://127.0.0.1:5000", "a/b"),
        ("[::1]:5000/app", "http://[::1]:5000", "app"),
        ("registry.local:5000/app", "https://registry.local:5000", "app"),
    ],
)
def test_endpoint_mapping(name: str, base_url: str, path: str) -> None:
    """Names map to API endpoints: Docker Hub with library/, http only for loopback."""
    endpoint = endpoint_for(name)
    assert (endpoint.base_url, endpoint.path) == (base_url, path)


def test_insecure_registries_use_http() -> None:
    """A registry listed as insecure is reached over http."""
    endpoint = endpoint_for("registry.local:5000/app", insecure=["registry.local:5000"])
    assert endpoint.base_url == "http://registry.local:5000"
    assert not endpoint.secure


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (None, "docker.io"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("GHCR.io", "ghcr.io"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ],
)
def test_canonical_registry(raw: str | None, key: str) -> None:
    """Credential keys ignore scheme, path and case; Docker Hub has one name."""
    assert canonical_registry(raw) == key


def test_challenge_parsing() -> None:
    """WWW-Authenticate parameters are read with quoted commas intact."""
    challenge = Challenge.parse(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"'
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params["scope"] == "repository:samalba/my-app:pull,push"
    assert challenge.params["realm"] == "https://auth.docker.io/token"
    basic = Challenge.parse('Basic realm="Registry Realm"')
    assert basic is not None
    assert basic.scheme == "basic"
    assert Challenge.parse("") is None


def test_broken_docker_config_is_one_line_without_secrets(tmp_path: Path) -> None:
    """A config.json that is not JSON, or an auth entry that is not base64 user:password,
    is an InputError naming the file and registry; the entry's content is not shown."""
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="cannot be read"):
        credentials_from_docker_config(path)
    path.write_text(json.dumps({"auths": {"ghcr.io": {"auth": b64("no-colon-secret")}}}))
    with pytest.raises(InputError, match=r"'ghcr\.io' is not base64") as caught:
        credentials_from_docker_config(path)
    assert "no-colon-secret" not in str(caught.value)
    assert credentials_from_docker_config(tmp_path / "missing.json") == {}
