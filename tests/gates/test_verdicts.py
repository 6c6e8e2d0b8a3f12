"""One gate composition (plan/verdicts.py) that check, promote and soak all call.

The same facts give the same verdicts through ``evaluate`` (check), ``preflight``
(promote, and soak's delivery re-check) and the soak plan; a gate added to the composition
shows in all three, and ``--defer-gates`` follows its ``deferrable`` flag.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gitops_promote.config.model import App, Config, Environment, FreezeWindow
from gitops_promote.facts.changes import ChangeSet, PinChange
from gitops_promote.facts.events import PinEvent
from gitops_promote.facts.judged import Facts
from gitops_promote.facts.timelines import Timeline
from gitops_promote.images import ImageRef
from gitops_promote.plan import soak as soakplan
from gitops_promote.plan import verdicts
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import evaluate
from gitops_promote.plan.verdicts import Gate, Promoted, Target, defer, preflight

A, B = ("sha256:" + c * 64 for c in "ab")
IMAGE = "ghcr.io/o/api"
FILE = "apps/api/production/kustomization.yaml"
ALWAYS = FreezeWindow(name="always", schedule="0 0 * * *", duration=timedelta(hours=24))
STAGED = datetime.fromisoformat("2026-11-02T09:00:00+00:00")


def config(*, freeze: bool = False, soak: int = 24, depends: bool = False) -> Config:
    envs = (
        Environment(name="dev", path="apps/{app}/dev"),
        Environment(name="staging", path="apps/{app}/staging", upstream="dev"),
        Environment(
            name="production",
            path="apps/{app}/production",
            upstream="staging",
            mode="pull-request",
            soak=timedelta(hours=soak),
            require_digest=True,
            freeze=(ALWAYS,) if freeze else (),
        ),
    )
    apps = (App(name="api", image=IMAGE, depends_on=("db",) if depends else ()),)
    return Config(envs, (*apps, App(name="db", image="ghcr.io/o/db")))


def ref(digest: str | None, tag: str | None = None) -> ImageRef:
    return ImageRef(IMAGE, tag, digest)


class Case:
    """staging got ``new`` at STAGED; production (runs A) is promoted to ``new`` at ``now``."""

    def __init__(self, cfg: Config, new: ImageRef, now: datetime) -> None:
        old = ref(A)
        self.cfg, self.new, self.now = cfg, new, now
        event = PinEvent("api", "staging", "f", "c" * 40, STAGED, "x", "s", old, new, None)
        self.before = {
            ("api", "staging"): new,
            ("api", "production"): old,
            ("db", "staging"): ImageRef("ghcr.io/o/db", None, B),
            ("db", "production"): ImageRef("ghcr.io/o/db", None, A),
        }
        self.after = {**self.before, ("api", "production"): new}
        self.history = {("api", "staging"): (event,), ("api", "production"): ()}

    def check(self) -> list[GateResult]:
        changes = ChangeSet(
            files=(FILE,),
            pins=(PinChange("api", "production", FILE, ref(A), self.new, 9),),
            edits=(),
            unmapped=(),
        )
        facts = Facts(
            self.cfg,
            changes,
            self.now,
            before=self.before,
            after=self.after,
            history=self.history,
        )
        (target,) = evaluate(facts).targets
        return list(target.results)

    def promote(self, *, deferred: bool = False) -> list[GateResult]:
        return preflight(
            self.cfg,
            self.cfg.env("production"),
            [Promoted("api", self.new, FILE, 9)],
            self.now,
            before=self.before,
            after=self.after,
            history=self.history,
            deferred=deferred,
        )

    def soak(self) -> soakplan.Decision:
        lines = {
            key: Timeline(key[0], key[1], FILE, events) for key, events in self.history.items()
        }
        facts = soakplan.Facts(self.cfg, self.now, self.before, lines, files={})
        return soakplan.decide(facts, self.cfg.app("api"), self.cfg.env("production"))

    def soak_gates(self) -> list[GateResult]:
        facts = soakplan.Facts(
            self.cfg,
            self.now,
            self.before,
            {k: Timeline(k[0], k[1], FILE, e) for k, e in self.history.items()},
        )
        app, env = self.cfg.app("api"), self.cfg.env("production")
        return list(soakplan.gates(facts, app, env, self.new, FILE).results)


def verdict(results: list[GateResult]) -> list[tuple[str, bool, str, str]]:
    """What a gate says, whoever asked: gate, passed, severity, message."""
    return [(r.gate, r.passed, r.severity, r.message) for r in results]


CASES = [
    ("soaked, not frozen", config(), ref(B), STAGED + timedelta(hours=30)),
    ("soak not met", config(), ref(B), STAGED + timedelta(hours=2)),
    ("frozen", config(freeze=True), ref(B), STAGED + timedelta(hours=30)),
    ("tag only", config(), ref(None, "v2"), STAGED + timedelta(hours=30)),
    ("dependency lags", config(depends=True), ref(B), STAGED + timedelta(hours=30)),
]


@pytest.mark.parametrize(("name", "cfg", "new", "now"), CASES, ids=[c[0] for c in CASES])
def test_the_same_facts_give_the_same_verdicts_in_check_promote_and_soak(
    name: str, cfg: Config, new: ImageRef, now: datetime
) -> None:
    case = Case(cfg, new, now)
    # the live gate says something only where the upstream has a live: block (tests/live)
    names = [g.name for g in verdicts.GATES if g.name != "live"]
    check = verdict([r for r in case.check() if r.gate in names])
    assert [g for g, *_ in check] == names
    assert verdict(case.promote()) == check
    assert verdict(case.soak_gates()) == check


def test_a_gate_added_to_the_composition_applies_to_check_promote_and_soak(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def probe(t: Target) -> GateResult | None:
        if t.app is None:
            return None
        return GateResult("probe", t.app.name, t.env.name, False, "the probe says no")

    added = (*verdicts.GATES, Gate("probe", "target", True, probe))
    monkeypatch.setattr(verdicts, "GATES", added)
    case = Case(config(), ref(B), STAGED + timedelta(hours=30))
    judging = [g.name for g in added if g.name != "live"]  # no live: block here
    for results in (case.check(), case.promote(), case.soak_gates()):
        assert [r.gate for r in results][: len(judging)] == judging
        assert [r for r in results if r.blocking] == [results[len(judging) - 1]]
    decision = case.soak()
    assert (decision.status, decision.reason) == ("blocked", "the probe says no")
    (deferred,) = [r for r in case.promote(deferred=True) if r.gate == "probe"]
    assert deferred.severity == "warning"
    assert deferred.message.startswith("the probe says no; deferred to the pull request's")


def test_only_deferrable_gates_are_deferred() -> None:
    case = Case(config(freeze=True), ref(None, "v2"), STAGED + timedelta(hours=2))
    plain = {r.gate: r for r in case.promote()}
    deferred = {r.gate: r for r in case.promote(deferred=True)}
    assert {g for g, r in plain.items() if r.blocking} == {"freeze", "pinning", "soak"}
    assert {g for g, r in deferred.items() if r.blocking} == {"pinning"}
    assert defer(plain["pinning"]) == plain["pinning"]


def test_preflight_judges_the_env_once_and_every_app() -> None:
    """Freeze is the env's (once, no app); each promoted app gets its target gates."""
    cfg = config(freeze=True)
    case = Case(cfg, ref(B), STAGED + timedelta(hours=30))
    two = [Promoted("api", ref(B)), Promoted("api", ref(B))]
    results = preflight(cfg, cfg.env("production"), two, case.now)
    assert [(r.gate, r.app) for r in results] == [
        ("freeze", None),
        ("pinning", "api"),
        ("pinning", "api"),
    ]  # without pins and history, only the gates that need none
    assert preflight(cfg, cfg.env("production"), [], case.now) == []
