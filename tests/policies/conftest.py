"""Fixtures of the policy tests: the policy library and real-world overlays, rendered by
the real kustomize (or kubectl kustomize) through the product's hermetic renderer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.adapters import kustomize
from support.tools import missing

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "library"
FIXTURES = HERE.parent / "fixtures"

# name -> (tree root, overlay directory in it)
OVERLAYS: dict[str, tuple[Path, str]] = {
    "sock-shop": (FIXTURES / "argocd-sock-shop" / "original", "."),
    "guestbook-prod-west": (FIXTURES / "kargo-all-envs" / "original", "env/prod-west"),
    "api-production": (FIXTURES / "init-containers-render" / "expected", "overlays/production"),
    "node-agent": (HERE / "overlays", "node-agent"),
}

Rendered = tuple[Mapping[str, Any], ...]


@pytest.fixture(scope="session")
def rendered() -> Callable[[str], Rendered]:
    """The documents an overlay of :data:`OVERLAYS` renders to (memoised)."""
    renderer = kustomize.find_renderer()
    if renderer is None:
        missing("kustomize", "tests/run.sh installs kubectl from .ci/kubectl.lock")
        raise AssertionError("unreachable")
    seen: dict[str, Rendered] = {}

    def render(name: str) -> Rendered:
        if name not in seen:
            root, overlay = OVERLAYS[name]
            done = kustomize.render(renderer, root, overlay)
            assert done.ok, done.error
            seen[name] = done.objects
        return seen[name]

    return render
