"""The live gate and soak counted from the sync (pure): the one composition that check,
promote and soak call, judged over live states built directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gitops_promote.config.load import parse_config
from gitops_promote.config.model import Config
from gitops_promote.facts.events import PinEvent, Timeline
from gitops_promote.facts.live.model import LiveFailure, LiveReading, LiveState
from gitops_promote.facts.live.verdict import RevisionPin, judge
from gitops_promote.images import ImageRef
from gitops_promote.plan import soak as soakplan
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.soak_values import Facts
from gitops_promote.plan.verdicts import Promoted, defer, preflight

DIGEST = "sha256:" + "ab" * 32
OLD = "sha256:" + "cd" * 32
NEW = ImageRef.parse(f"ghcr.io/o/web@{DIGEST}")
BEFORE = ImageRef.parse(f"ghcr.io/o/web@{OLD}")
REV = "1a2b3c4d5e6f" + "0" * 28
MERGED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SYNCED = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
SUBJECT = "Application argocd/web-staging"


def config(*, on_error: str = "fail", soak: str = "", gate: bool = True) -> Config:
    return parse_config(
        f"""version: 1
environments:
  - name: staging
    path: apps/{{app}}/staging
    mode: push
    live:
      argocd: {{server: https://argocd.example.com, namespace: argocd}}
      on-error: {on_error}
      gate: {str(gate).lower()}
  - name: production
    path: apps/{{app}}/production
    from: staging
{soak}apps:
  web:
    image: ghcr.io/o/web
"""
    )


def state(**changes: object) -> LiveState:
    values: dict[str, object] = {
        "controller": "argocd",
        "subject": SUBJECT,
        "sync": "Synced",
        "health": "Healthy",
        "revision": REV,
        "phase": "Succeeded",
        "synced_at": SYNCED,
    }
    values.update(changes)
    return judge(LiveReading(**values), RevisionPin(REV, NEW))  # type: ignore[arg-type]


def event() -> PinEvent:
    return PinEvent("web", "staging", "f", "c" * 40, MERGED, "a", "s", BEFORE, NEW, None)


def gates(cfg: Config, live: LiveState | None, *, now: datetime = NOW) -> list[GateResult]:
    before = {("web", "staging"): NEW, ("web", "production"): BEFORE}
    return preflight(
        cfg,
        cfg.env("production"),
        [Promoted("web", NEW)],
        now,
        before=before,
        after={**before, ("web", "production"): NEW},
        history={("web", "staging"): [event()], ("web", "production"): []},
        live={} if live is None else {("web", "staging"): live},
    )


def live_gate(results: list[GateResult]) -> GateResult:
    (found,) = [r for r in results if r.gate == "live"]
    return found


def test_a_healthy_upstream_running_the_candidate_passes() -> None:
    result = live_gate(gates(config(), state()))
    assert result.passed
    assert result.message.startswith("staging runs sha256:abababababab… live: ")


def test_each_unhealthy_state_refuses_saying_what_the_controller_reports() -> None:
    cases = {
        "degraded": state(health="Degraded", error="CrashLoopBackOff"),
        "progressing": state(health="Progressing"),
        "out-of-sync": state(sync="OutOfSync"),
        "stale": state(stale="reconciledAt before finishedAt"),
        "missing": state(health="Missing", sync="Unknown"),
    }
    for name, live in cases.items():
        result = live_gate(gates(config(), live))
        assert result.blocking, name
        assert "\n" not in result.message
        assert result.message.startswith("staging is "), result.message
        assert SUBJECT in result.message
        assert "production gets it once staging runs it Synced and Healthy" in result.message
    degraded = live_gate(gates(config(), cases["degraded"])).message
    assert "Synced/Degraded, last sync Succeeded at 1a2b3c4d5e6f since Thu 2026-12-03" in degraded
    assert "CrashLoopBackOff" in degraded


def test_a_different_digest_live_refuses() -> None:
    other = judge(
        LiveReading("argocd", SUBJECT, "Synced", "Healthy", REV, synced_at=SYNCED),
        RevisionPin(REV, BEFORE),
    )
    result = live_gate(gates(config(), other))
    assert result.blocking
    assert result.message.startswith("staging does not run sha256:abababababab… live")
    assert "promote and sync sha256:abababababab… in staging first" in result.message


def test_an_unreachable_controller_fails_or_warns_by_on_error() -> None:
    failure = judge(LiveFailure("argocd", SUBJECT, "unreachable", "no answer within 10s"))
    failed = live_gate(gates(config(), failure))
    assert failed.blocking
    assert "set on-error: warn" in failed.message
    warned = live_gate(gates(config(on_error="warn"), failure))
    assert not warned.passed
    assert not warned.blocking
    assert warned.severity == "warning"
    assert "not checked (on-error: warn)" in warned.message


def test_gate_false_or_no_live_block_says_nothing() -> None:
    assert not [r for r in gates(config(gate=False), state(health="Degraded")) if r.gate == "live"]
    no_live = parse_config(
        """version: 1
environments:
  - {name: staging, path: 'apps/{app}/staging', mode: push}
  - {name: production, path: 'apps/{app}/production', from: staging}
apps: {web: {image: ghcr.io/o/web}}
"""
    )
    assert not [r for r in gates(no_live, None) if r.gate == "live"]


def test_the_live_gate_is_deferrable() -> None:
    result = defer(live_gate(gates(config(), state(health="Degraded"))))
    assert result.severity == "warning"
    assert "deferred" in result.message


SYNC_SOAK = "    soak: 1h\n    soak-from: sync\n"


def soak_gate(results: list[GateResult]) -> GateResult:
    (found,) = [r for r in results if r.gate == "soak"]
    return found


def test_soak_from_sync_counts_from_the_sync_finish() -> None:
    cfg = config(soak=SYNC_SOAK)
    waiting = soak_gate(gates(cfg, state(), now=SYNCED + timedelta(minutes=20)))
    assert waiting.blocking
    assert "has run live in staging for 20m, since the sync of 1a2b3c4d5e6f finished" in (
        waiting.message
    )
    assert "40m left" in waiting.message
    met = soak_gate(gates(cfg, state(), now=SYNCED + timedelta(hours=2)))
    assert met.passed
    assert "soak met" in met.message
    # counted from the merge (days ago) it would be met already
    merged = soak_gate(gates(config(soak="    soak: 1h\n"), state(), now=SYNCED))
    assert merged.passed


def test_soak_from_sync_does_not_start_before_it_runs_live() -> None:
    result = soak_gate(gates(config(soak=SYNC_SOAK), state(health="Progressing")))
    assert result.blocking
    assert "does not run live in staging yet" in result.message
    assert "counts from the sync's finish (soak-from: sync)" in result.message


def test_the_soak_plan_skips_a_degraded_upstream_saying_why() -> None:
    cfg = parse_config(
        """version: 1
environments:
  - name: staging
    path: apps/{app}/staging
    mode: push
    live: {argocd: {server: https://argocd.example.com}}
  - {name: production, path: 'apps/{app}/production', from: staging, auto: true}
apps: {web: {image: ghcr.io/o/web}}
"""
    )
    pins = {("web", "staging"): NEW, ("web", "production"): BEFORE}
    lines = {("web", "staging"): Timeline("web", "staging", "f", [event()])}
    facts = Facts(cfg, NOW, pins, lines, live={("web", "staging"): state(health="Degraded")})
    (decision,) = soakplan.plan(facts)
    assert decision.status == "skipped"
    assert decision.reason.startswith("staging is degraded live, so it is no source")
    healthy = Facts(cfg, NOW, pins, lines, live={("web", "staging"): state()})
    (decision,) = soakplan.plan(healthy)
    assert decision.status == "promote", decision.reason
    progressing = Facts(cfg, NOW, pins, lines, live={("web", "staging"): state(phase="Running")})
    (decision,) = soakplan.plan(progressing)
    assert decision.status == "blocked"
    assert "staging is progressing" in decision.reason
