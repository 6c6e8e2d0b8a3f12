"""evaluate(): every gate over the facts of a PR, and the plan's earliest merge time.

The earliest merge is when the soak is met and no freeze window holds, so a soak that ends
inside a window waits for its end: across a DST change, a weekend and a window that spans
midnight.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from gitops_promote.config.model import App, Config, Environment, FreezeWindow
from gitops_promote.facts.changes import ChangeSet, Edit, PinChange
from gitops_promote.facts.events import PinEvent
from gitops_promote.facts.judged import Facts, RenderFact
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.evaluate import evaluate

A, B = ("sha256:" + c * 64 for c in "ab")
IMAGE = "ghcr.io/o/api"
WEEKEND = FreezeWindow(
    name="weekend", schedule="0 16 * * FRI", duration=timedelta(hours=64), timezone="Europe/Berlin"
)
NIGHTLY = FreezeWindow(
    name="nightly", schedule="0 22 * * *", duration=timedelta(hours=10), timezone="America/New_York"
)


def config(*freeze: FreezeWindow, soak: int = 24) -> Config:
    return Config(
        (
            Environment(name="dev", path="apps/{app}/dev"),
            Environment(
                name="staging", path="apps/{app}/staging", upstream="dev", mode="pull-request"
            ),
            Environment(
                name="production",
                path="apps/{app}/production",
                upstream="staging",
                mode="pull-request",
                soak=timedelta(hours=soak),
                require_digest=True,
                freeze=freeze,
            ),
        ),
        (App(name="api", image=IMAGE),),
    )


FILE = "apps/api/production/kustomization.yaml"


def facts(cfg: Config, staged: str, now: str, **extra: object) -> Facts:
    """api: staging got B at ``staged``; this PR pins B in production (which runs A)."""
    new, old = ImageRef(IMAGE, None, B), ImageRef(IMAGE, None, A)
    event = PinEvent(
        "api", "staging", "f", "c" * 40, datetime.fromisoformat(staged), "x", "s", old, new, None
    )
    changes = ChangeSet(
        files=(FILE,),
        pins=(PinChange("api", "production", FILE, old, new, 9),),
        edits=(),
        unmapped=(),
    )
    return Facts(
        config=cfg,
        changes=changes,
        now=datetime.fromisoformat(now),
        before={("api", "staging"): new, ("api", "production"): old},
        after={("api", "staging"): new, ("api", "production"): new},
        history={("api", "staging"): (event,), ("api", "production"): ()},
        **extra,  # type: ignore[arg-type]
    )


READY_CASES = [
    # (case, windows, soak hours, staging landed, now, earliest merge or None (now))
    (
        "soak met, no window: now",
        (WEEKEND,),
        24,
        "2026-11-02T09:00:00+00:00",
        "2026-11-03T10:00:00+00:00",
        None,
    ),
    (
        "soak ends on a Tuesday: then",
        (WEEKEND,),
        24,
        "2026-11-02T09:00:00+00:00",
        "2026-11-02T20:00:00+00:00",
        "2026-11-03T09:00:00+00:00",
    ),
    (
        "soak ends in the weekend of the spring-forward: Monday 08:00 CEST",
        (WEEKEND,),
        24,
        "2026-03-28T12:00:00+01:00",
        "2026-03-29T12:00:00+02:00",
        "2026-03-30T08:00:00+02:00",
    ),
    (
        "soak met but frozen for the weekend: Monday 08:00 CET",
        (WEEKEND,),
        1,
        "2026-11-02T09:00:00+00:00",
        "2026-11-07T12:00:00+01:00",
        "2026-11-09T08:00:00+01:00",
    ),
    (
        "soak ends inside a window that spans midnight: 08:00 next morning",
        (NIGHTLY,),
        24,
        "2026-11-03T04:30:00+00:00",  # met at 23:30 New York time (EST)
        "2026-11-03T12:00:00+00:00",
        "2026-11-04T08:00:00-05:00",
    ),
    (
        "the night the clocks fall back: the window ends 08:00 EST, 11 real hours later",
        (NIGHTLY,),
        24,
        "2026-10-31T03:00:00+00:00",  # met at 23:00 EDT on Oct 31
        "2026-10-31T12:00:00+00:00",
        "2026-11-01T08:00:00-05:00",
    ),
]


@pytest.mark.parametrize(
    ("case", "windows", "soak", "staged", "now", "ready"),
    READY_CASES,
    ids=[c[0] for c in READY_CASES],
)
def test_earliest_merge(
    case: str,
    windows: tuple[FreezeWindow, ...],
    soak: int,
    staged: str,
    now: str,
    ready: str | None,
) -> None:
    """ready_at: the first instant at which soak is met and no freeze window is active."""
    result = evaluate(facts(config(*windows, soak=soak), staged, now))
    (target,) = result.targets
    expected = datetime.fromisoformat(ready) if ready else None
    assert target.ready_at == expected


def test_every_gate_of_a_promotion_runs_once() -> None:
    """A pin change gets freeze, pinning, upstream, soak and dependencies, in that order, all
    annotated on the pin's line."""
    result = evaluate(
        facts(config(WEEKEND), "2026-11-02T09:00:00+00:00", "2026-11-03T10:00:00+00:00")
    )
    (target,) = result.targets
    assert [r.gate for r in target.results] == [
        "freeze",
        "pinning",
        "upstream",
        "soak",
        "dependencies",
    ]
    assert {(r.file, r.line) for r in target.results} == {(FILE, 9)}
    assert result.passed


def test_renders_add_drift_references_and_limits() -> None:
    """Rendered overlays add drift (against staging), references and limits; a build
    failure of the env's overlay fails the check, and so does a refused render of a gated
    env (fail closed), which only warns where promotion.yaml says ``render: warn``."""
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "api"},
        "spec": {"template": {"spec": {"containers": [{"name": "api", "image": IMAGE}]}}},
    }
    overlays = {
        ("api", "production"): "apps/api/production",
        ("api", "staging"): "apps/api/staging",
    }
    ok = facts(
        config(),
        "2026-11-02T09:00:00+00:00",
        "2026-11-03T10:00:00+00:00",
        overlays=overlays,
        renders={
            "apps/api/production": RenderFact("apps/api/production", (deployment,)),
            "apps/api/staging": RenderFact("apps/api/staging", (deployment,)),
        },
    )
    gates = [r.gate for r in evaluate(ok).targets[0].results]
    assert gates[-3:] == ["drift", "references", "limits"]
    broken = facts(
        config(),
        "2026-11-02T09:00:00+00:00",
        "2026-11-03T10:00:00+00:00",
        overlays=overlays,
        renders={"apps/api/production": RenderFact("apps/api/production", error="cannot render")},
    )
    result = evaluate(broken)
    assert [(r.gate, r.blocking) for r in result.blocking] == [("render", True)]
    refused = facts(
        config(),
        "2026-11-02T09:00:00+00:00",
        "2026-11-03T10:00:00+00:00",
        overlays=overlays,
        renders={
            "apps/api/production": RenderFact("apps/api/production", error="helm", refused=True)
        },
    )
    result = evaluate(refused)
    assert [(r.gate, r.blocking) for r in result.blocking] == [("render", True)]
    production = refused.config.env("production")
    warned = replace(
        refused,
        config=replace(
            refused.config,
            environments=tuple(
                replace(e, render="warn") if e is production else e
                for e in refused.config.environments
            ),
        ),
    )
    result = evaluate(warned)
    assert result.passed
    assert [r.gate for r in result.warnings] == ["render"]


def test_edit_without_pin_change_gets_freeze_pinning_and_a_warning() -> None:
    """A hand edit of a gated env: freeze and pinning (of what stays pinned) are judged, and
    the edit is a warning on its line; no upstream or soak (nothing is promoted)."""
    cfg = config(WEEKEND)
    changes = ChangeSet(
        files=(FILE,),
        pins=(),
        edits=(Edit("api", "production", FILE, 11, "overlay"),),
        unmapped=(),
    )
    now = datetime.fromisoformat("2026-11-03T10:00:00+00:00")
    result = evaluate(
        Facts(cfg, changes, now, after={("api", "production"): ImageRef(IMAGE, "v1")})
    )
    (target,) = result.targets
    assert [(r.gate, r.passed, r.severity) for r in target.results] == [
        ("freeze", True, "error"),
        ("pinning", False, "error"),
        ("overlay", False, "warning"),
    ]
    assert target.results[-1].line == 11
