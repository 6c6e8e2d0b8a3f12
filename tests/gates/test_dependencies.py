"""Dependencies: an app moves into an env only beside what its upstream verified it with."""

from __future__ import annotations

import pytest

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.dependencies import dependencies_gate

OLD, NEW, OTHER = ("sha256:" + c * 64 for c in "abc")
DEV = Environment(name="dev", path="d")
STAGING = Environment(name="staging", path="s", upstream="dev")
PROD = Environment(name="production", path="p", upstream="staging")
API = App(name="api", image="ghcr.io/o/api")
DB = App(name="db", image="ghcr.io/o/db")
WORKER = App(name="worker", image="ghcr.io/o/worker", depends_on=("api", "db"))
ONLY_DEV = App(name="cache", image="ghcr.io/o/cache", environments=("dev",))
UI = App(name="ui", image="ghcr.io/o/ui", depends_on=("cache",))
CONFIG = Config((DEV, STAGING, PROD), (API, DB, WORKER, ONLY_DEV, UI))


def pin(digest: str | None, image: str = "ghcr.io/o/api") -> ImageRef | None:
    return ImageRef(image, None, digest) if digest else None


def pins(**by_env: dict[str, str | None]) -> dict[tuple[str, str], ImageRef | None]:
    out: dict[tuple[str, str], ImageRef | None] = {}
    for env, apps in by_env.items():
        for app, digest in apps.items():
            out[(app, env)] = pin(digest, f"ghcr.io/o/{app}")
    return out


CASES = [
    # (case, app, env, pins after the PR, passes, words)
    (
        "dependency still old in production",
        WORKER,
        PROD,
        pins(production={"api": OLD, "db": OLD}, staging={"api": NEW, "db": OLD}),
        False,
        "api runs sha256:aaaaaaaaaaaa… in production but sha256:bbbbbbbbbbbb… in staging, "
        "where worker was verified with it. Promote api to production first (or in this pull "
        "request), then worker",
    ),
    (
        "two dependencies behind",
        WORKER,
        PROD,
        pins(production={"api": OLD, "db": OLD}, staging={"api": NEW, "db": NEW}),
        False,
        "Promote api, db to production first",
    ),
    (
        "promoted together (or before)",
        WORKER,
        PROD,
        pins(production={"api": NEW, "db": OLD}, staging={"api": NEW, "db": OLD}),
        True,
        "run in production what they run in staging: api sha256:bbbbbbbbbbbb…, db sha256:aaaa",
    ),
    (
        "production ahead of staging also differs",
        WORKER,
        PROD,
        pins(production={"api": OTHER, "db": OLD}, staging={"api": NEW, "db": OLD}),
        False,
        "api runs sha256:cccccccccccc… in production",
    ),
    ("no dependencies", API, PROD, {}, True, "api has no dependencies"),
    ("no upstream", WORKER, DEV, {}, True, "dev has no upstream"),
    ("dependency not deployed there", UI, PROD, {}, True, "no dependency of ui is deployed"),
]


@pytest.mark.parametrize(
    ("case", "app", "env", "after", "passes", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_dependencies(
    case: str,
    app: App,
    env: Environment,
    after: dict[tuple[str, str], ImageRef | None],
    passes: bool,
    words: str,
) -> None:
    """Every dependency must run in the env what it runs upstream, once the PR is merged."""
    result = dependencies_gate(app, env, CONFIG, after)
    assert result.passed is passes, result.message
    assert words in result.message
