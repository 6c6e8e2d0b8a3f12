"""A Kubernetes API fake serving Flux objects held to Flux's CRDs (pytest fixtures).

Fixtures (import them into a conftest: ``from support.kube_fake import kube_fake,
kube_pki  # noqa: F401``, or list ``support.kube_fake`` as a plugin):

- ``kube_pki`` (session): CA, server and client certificates made with openssl;
- ``kube_fake``: the session's running :class:`KubeFake`, reset for each test (no
  objects, no faults, the default user with its token allowed everywhere).

Usage::

    kube_fake.add(states.ks_ready(sha))                 # serve a Kustomization (CRD-checked)
    text = kube_fake.kubeconfig()                       # kubeconfig text (token, inline CA)
    path = kube_fake.write_kubeconfig(tmp_path / "kc")  # ... or a file
    kube_fake.fail("status", status=500, times=2)       # next 2 requests: HTTP 500
    kube_fake.fail("delay", seconds=2)                  # next request: answer after 2s
    kube_fake.fail("drop")                              # next request: connection closed
    kube_fake.add_user("ro", "tok", {"other-ns"})       # a user that gets 403 elsewhere
    kube_fake.requests                                  # what it was asked
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.kube_fake.crds import CrdViolationError
from support.kube_fake.server import KubeFake, Pki, Request, make_pki, running


@pytest.fixture(scope="session")
def kube_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates for the fake (made once per session)."""
    return make_pki(Path(tmp_path_factory.mktemp("kube-pki")))


@pytest.fixture(scope="session")
def _kube_fake_server(kube_pki: Pki) -> Iterator[KubeFake]:
    yield from running(kube_pki)


@pytest.fixture
def kube_fake(_kube_fake_server: KubeFake) -> Iterator[KubeFake]:
    """The session's Kubernetes API fake, empty for this test."""
    _kube_fake_server.reset()
    yield _kube_fake_server
    _kube_fake_server.reset()


__all__ = [
    "CrdViolationError",
    "KubeFake",
    "Pki",
    "Request",
    "kube_fake",
    "kube_pki",
    "make_pki",
    "running",
]
