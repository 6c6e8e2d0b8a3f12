"""Registry redirects (a registry sends manifests and blobs to a storage host) never take
credentials along: a hop to another origin (scheme, host or port) gets no Authorization
header and no ~/.netrc login, and a hop to plain http on another machine is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_promote.adapters.registry import Credential, RegistryClient
from gitops_promote.errors import RegistryError
from gitops_promote.images import ImageRef
from support.oci_registry import FaultProxy, Registry

PASSWORD = "s3cret-redirect-pw"
NETRC_PASSWORD = "netrc-redirect-pw"


@pytest.fixture
def origin(oci_registry: Registry) -> Iterator[FaultProxy]:
    """The registry the client asks (it answers with scripted 401s and redirects)."""
    proxy = FaultProxy(oci_registry)
    yield proxy
    proxy.close()


@pytest.fixture
def storage(oci_registry: Registry) -> Iterator[FaultProxy]:
    """The redirect target: another port, so another origin; it records the
    Authorization header of every request it gets."""
    proxy = FaultProxy(oci_registry)
    yield proxy
    proxy.close()


@pytest.fixture
def home_with_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in tmp_path, with a ~/.netrc that has a login for 127.0.0.1 (every port)."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login netrc-user password {NETRC_PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    return home


def client_for(origin: FaultProxy, home: Path, **kwargs: object) -> RegistryClient:
    return RegistryClient(
        credentials={origin.host: Credential("robot", PASSWORD)},
        env={"HOME": str(home)},
        retries=0,
        sleep=lambda _: None,
        **kwargs,  # type: ignore[arg-type]
    )


def test_redirect_to_another_port_carries_no_credentials(
    origin: FaultProxy, storage: FaultProxy, registry_repo: str, home_with_netrc: Path
) -> None:
    """The registry asks for basic auth, gets it, then 307s the manifest request to a
    storage server on another port: the digest is read there, and the storage server
    receives neither the registry's credentials nor the ~/.netrc login for its host."""
    digest = origin.upstream.push_image(registry_repo, "v1.0.0")
    path = f"/v2/{registry_repo}/manifests/v1.0.0"
    origin.inject(401, path="/manifests/", headers={"WWW-Authenticate": 'Basic realm="r"'})
    origin.inject(
        307, path="/manifests/", times=5, headers={"Location": f"http://{storage.host}{path}"}
    )
    with client_for(origin, home_with_netrc) as client:
        assert client.resolve(ImageRef(origin.image(registry_repo), "v1.0.0")) == digest
    assert any((r.authorization or "").startswith("Basic ") for r in origin.log)
    assert storage.log, "the redirect was not followed"
    assert [r.authorization for r in storage.log] == [None] * len(storage.log)


def test_redirect_with_an_absolute_path_on_the_same_origin_keeps_credentials(
    origin: FaultProxy, registry_repo: str, home_with_netrc: Path
) -> None:
    """A redirect to the same scheme, host and port (another path of the registry itself)
    is the registry's own: the credentials it asked for go along, the netrc login never."""
    digest = origin.upstream.push_image(registry_repo, "v1.0.0")
    path = f"/v2/{registry_repo}/manifests/v1.0.0"
    origin.inject(401, path="/manifests/", headers={"WWW-Authenticate": 'Basic realm="r"'})
    origin.inject(307, path="/manifests/", headers={"Location": f"{path}?hop=1"})
    with client_for(origin, home_with_netrc) as client:
        assert client.resolve(ImageRef(origin.image(registry_repo), "v1.0.0")) == digest
    hop = [r for r in origin.log if "hop=1" in r.path]
    assert hop
    assert all((r.authorization or "").startswith("Basic ") for r in hop)
    assert all(NETRC_PASSWORD not in (r.authorization or "") for r in origin.log)


def test_redirect_to_plain_http_on_another_machine_is_refused(
    origin: FaultProxy, registry_repo: str, home_with_netrc: Path
) -> None:
    """A redirect to http:// on a host that is not this machine is not followed: one
    RegistryError naming the host (no user:password from the URL), nothing sent there."""
    origin.upstream.push_image(registry_repo, "v1.0.0")
    origin.inject(
        307,
        path="/manifests/",
        headers={"Location": "http://user:pw@blobs.invalid:8080/v2/x/manifests/v1.0.0"},
    )
    with client_for(origin, home_with_netrc) as client, pytest.raises(RegistryError) as caught:
        client.resolve(ImageRef(origin.image(registry_repo), "v1.0.0"))
    message = str(caught.value)
    assert "plain http on blobs.invalid:8080" in message
    assert "pw" not in message


def test_https_to_plain_http_is_refused_even_for_an_insecure_host(home_with_netrc: Path) -> None:
    """From an https registry, a redirect to plain http is never followed, even to a host
    listed as insecure; from a plain-http (insecure) registry it may go to another insecure
    host; loopback targets are this machine and always allowed."""
    client = RegistryClient(env={"HOME": str(home_with_netrc)}, insecure=["blobs.example:5000"])
    with client:
        with pytest.raises(RegistryError, match=r"plain http on blobs\.example:5000"):
            client._transport.check_redirect(
                "https://registry.example/v2/a/manifests/1",
                "http://blobs.example:5000/b",
                "registry.example",
                "x",
            )
        client._transport.check_redirect(
            "http://other.example:5000/v2/a", "http://blobs.example:5000/b", "other.example", "x"
        )
        client._transport.check_redirect(
            "https://registry.example/v2/a", "http://127.0.0.1:9/b", "r", "x"
        )
        with pytest.raises(RegistryError, match="not http"):
            client._transport.check_redirect(
                "https://registry.example/v2/a", "file:///etc/passwd", "r", "x"
            )
