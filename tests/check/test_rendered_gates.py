"""Pinning and upstream judged on the images as deployed, and evaluate() over rendered
facts (pure): a swapped image with an unchanged pin, an unknown repository, a mutable tag
only the render shows, a rollback, and a reach that renders exactly as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts.changes import ChangeSet, Edit
from gitops_promote.facts.events import PinEvent
from gitops_promote.facts.judged import Deployed, Facts
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.evaluate import evaluate
from gitops_promote.plan.gates.pinning import rendered_pinning_gate
from gitops_promote.plan.gates.upstream import rendered_upstream_gate

A, B, C = ("sha256:" + c * 64 for c in "abc")
API = "ghcr.io/o/api"
NOW = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)  # a Tuesday
STAGING = Environment(name="staging", path="apps/{app}/staging", mode="pull-request")
PRODUCTION = Environment(
    name="production",
    path="apps/{app}/production",
    upstream="staging",
    mode="pull-request",
    soak=timedelta(hours=24),
    require_digest=True,
)
CONFIG = Config((STAGING, PRODUCTION), (App(name="api", image=API),))
KNOWN = {ImageRef(API).canonical_name()}
PROD_FILE = "apps/api/production/kustomization.yaml"


def test_rendered_pinning_names_the_first_unpinned_image_and_its_line() -> None:
    """Every rendered image must carry a digest in a require-digest env; the failure points
    at the line that wrote the unpinned one."""
    images = (f"{API}@{A}", "busybox:1.36", "evil.io/x")
    origins = {"busybox:1.36": ("apps/api/production/sidecar.yaml", 7)}
    result = rendered_pinning_gate("api", PRODUCTION, images, origins=origins, file=PROD_FILE)
    assert not result.passed
    assert "runs 'busybox:1.36' and 1 more image(s) without a digest" in result.message
    assert (result.file, result.line) == ("apps/api/production/sidecar.yaml", 7)
    assert rendered_pinning_gate("api", PRODUCTION, (f"{API}@{A}",)).passed
    assert rendered_pinning_gate("api", STAGING, images).passed  # no require-digest


def test_rendered_upstream_verdicts() -> None:
    """A new image passes when the upstream renders it (on the base branch or once
    merged); an unknown repository, another digest, or an unrenderable upstream fail."""

    def judge(added: tuple[str, ...], **kw: object) -> tuple[bool, str]:
        args: dict[str, object] = {
            "known": KNOWN,
            "upstream_base": (f"{API}@{B}",),
            "upstream_after": (f"{API}@{B}",),
        }
        args.update(kw)
        result = rendered_upstream_gate("api", PRODUCTION, added, **args)  # type: ignore[arg-type]
        return result.passed, result.message

    assert judge(())[0]
    assert judge((f"{API}:v2@{B}",))[0]  # the tag beside a digest is only a label
    assert judge((f"{API}@{C}",), upstream_after=(f"{API}@{C}",))[0]
    passed, message = judge((f"evil.io/api@{B}",))
    assert not passed
    assert "a repository promotion.yaml does not know" in message
    passed, message = judge((f"{API}@{C}",))
    assert not passed
    assert f"which staging does not render (it runs {API}@{B}): promote it" in message
    passed, message = judge((f"{API}@{C}",), upstream_base=None, upstream_after=None)
    assert not passed
    assert "staging cannot be rendered" in message


def test_rendered_rollback_needs_allow_rollback() -> None:
    """An image the env ran before but its upstream no longer renders is a rollback:
    refused unless allow-rollback is set."""
    event = PinEvent(
        "api", "production", PROD_FILE, "d" * 40, NOW, "x", "s", None, ImageRef(API, None, C), 5
    )
    kw = {"known": KNOWN, "upstream_base": (f"{API}@{B}",), "upstream_after": None}
    refused = rendered_upstream_gate("api", PRODUCTION, (f"{API}@{C}",), history=(event,), **kw)  # type: ignore[arg-type]
    assert not refused.passed
    assert "rollbacks need allow-rollback: true" in refused.message
    env = Environment(**{**PRODUCTION.__dict__, "allow_rollback": True})
    allowed = rendered_upstream_gate("api", env, (f"{API}@{C}",), history=(event,), **kw)  # type: ignore[arg-type]
    assert allowed.passed


def _facts(deployed: dict[tuple[str, str], Deployed], **extra: object) -> Facts:
    """A pull request that edits production's overlay without changing its pin."""
    edit = Edit("api", "production", "apps/api/production/patch.yaml", 3, "overlay")
    pin = ImageRef(API, None, A)
    return Facts(
        config=CONFIG,
        changes=ChangeSet(files=(edit.file,), pins=(), edits=(edit,), unmapped=()),
        now=NOW,
        before={("api", "production"): pin, ("api", "staging"): ImageRef(API, None, B)},
        after={("api", "production"): pin, ("api", "staging"): ImageRef(API, None, B)},
        deployed=deployed,
        **extra,  # type: ignore[arg-type]
    )


def test_an_image_swapped_behind_an_unchanged_pin_gets_every_promotion_gate() -> None:
    """Production's pin still names A, but it would run C: upstream fails (staging runs
    B), soak fails (C never ran in staging), on the line that wrote C."""
    deployed = Deployed(
        (f"{API}@{A}",),
        (f"{API}@{C}",),
        origins={f"{API}@{C}": ("apps/api/production/patch.yaml", 9)},
    )
    up = Deployed((f"{API}@{B}",), (f"{API}@{B}",), changed=False)
    result = evaluate(_facts({("api", "production"): deployed, ("api", "staging"): up}))
    blocking = {(r.gate, r.env) for r in result.blocking}
    assert blocking == {("upstream", "production"), ("soak", "production")}
    (target,) = result.targets
    assert target.new == ImageRef(API, None, C)
    upstream = next(r for r in result.blocking if r.gate == "upstream")
    assert (upstream.file, upstream.line) == ("apps/api/production/patch.yaml", 9)
    assert f"production would run {API}@{C} as rendered" in upstream.message


def test_the_promotion_of_what_staging_renders_through_a_patch_passes() -> None:
    """An image swapped in by a patch that is exactly what staging runs, soaked, passes:
    the route does not matter, what would run does."""
    event = PinEvent(
        "api", "staging", "f", "c" * 40, NOW - timedelta(days=2), "x", "s", None,
        ImageRef(API, None, B), 5,
    )  # fmt: skip
    deployed = Deployed((f"{API}@{A}",), (f"{API}@{B}",))
    up = Deployed((f"{API}@{B}",), (f"{API}@{B}",), changed=False)
    result = evaluate(
        _facts(
            {("api", "production"): deployed, ("api", "staging"): up},
            history={("api", "staging"): (event,)},
        )
    )
    assert result.passed, result.blocking


def test_a_reach_that_renders_as_before_is_not_judged() -> None:
    """A target in ``unchanged`` (reached, renders exactly as before) has no verdicts."""
    deployed = Deployed((f"{API}@{A}",), (f"{API}@{A}",), changed=False)
    result = evaluate(
        _facts({("api", "production"): deployed}, unchanged=frozenset({("api", "production")}))
    )
    assert result.targets == ()
    assert result.passed
