"""A fake Argo CD API server for tests (pytest plugin): real HTTP(S) on 127.0.0.1,
Applications from an in-memory table, every body checked against Argo CD's own swagger.

Fixtures: ``argocd`` (plain HTTP) and ``argocd_tls`` (HTTPS, :attr:`ArgoCDFake.ca_file`),
one server each per session, emptied before each test. Tokens: :data:`TOKEN` is accepted,
:data:`FORBIDDEN_TOKEN` authenticates but gets 403. See server.py for the fault injection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.argocd_fake import states
from support.argocd_fake.server import ArgoCDFake, Fault, Seen, error_body
from support.argocd_fake.spec import ContractError, Spec

TOKEN = "argocd-fake-token-9f2c4e6a8b0d"
FORBIDDEN_TOKEN = "argocd-fake-forbidden-1a3b5c7d"


@pytest.fixture(scope="session")
def argocd_http_server() -> Iterator[ArgoCDFake]:
    with ArgoCDFake(tokens={TOKEN}, forbidden={FORBIDDEN_TOKEN}) as fake:
        yield fake


@pytest.fixture(scope="session")
def argocd_https_server() -> Iterator[ArgoCDFake]:
    with ArgoCDFake(tokens={TOKEN}, forbidden={FORBIDDEN_TOKEN}, tls=True) as fake:
        yield fake


def _fresh(fake: ArgoCDFake) -> Iterator[ArgoCDFake]:
    fake.reset()
    yield fake
    assert not fake.contract_errors, fake.contract_errors  # the fake served a non-Argo body


@pytest.fixture
def argocd(argocd_http_server: ArgoCDFake) -> Iterator[ArgoCDFake]:
    """The plain-HTTP fake, empty (no Applications, faults or seen requests)."""
    yield from _fresh(argocd_http_server)


@pytest.fixture
def argocd_tls(argocd_https_server: ArgoCDFake) -> Iterator[ArgoCDFake]:
    """The HTTPS fake (trust :attr:`ArgoCDFake.ca_file`), empty."""
    yield from _fresh(argocd_https_server)


__all__ = [
    "FORBIDDEN_TOKEN",
    "TOKEN",
    "ArgoCDFake",
    "ContractError",
    "Fault",
    "Seen",
    "Spec",
    "argocd",
    "argocd_http_server",
    "argocd_https_server",
    "argocd_tls",
    "error_body",
    "states",
]
