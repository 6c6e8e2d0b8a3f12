"""``gitops-promote metrics`` end to end on a real git history with known answers
(metrics/history.py works them out by hand), and the definitions on hand-made deployments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from check.scenario import API, ConfigRepo
from gitops_promote.config.load import parse_config
from gitops_promote.facts.deployments import Deployment, of_events
from gitops_promote.facts.events import PinEvent
from gitops_promote.images import ImageRef
from gitops_promote.plan import metrics
from metrics.history import SINCE, UNTIL, A, B, C, at, build
from support.mermaid_check import check_blocks
from support.mermaid_parse import parse_ok
from support.repos import EXAMPLE, cli


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> ConfigRepo:
    return build(tmp_path_factory.mktemp("metrics") / "config")


def run_json(repo: ConfigRepo, *args: str) -> dict[str, Any]:
    run = cli(
        "metrics",
        "--repo",
        str(repo.root),
        "--since",
        SINCE.isoformat(),
        "--until",
        UNTIL.isoformat(),
        "--json",
        *args,
    )
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def test_deployment_frequency_counts_digest_changes_not_tag_re_pins(repo: ConfigRepo) -> None:
    """dev: A, B, C (the tag added to A is no deployment); production: A, B, A, C, A."""
    data = run_json(repo)
    freq = {f["env"]: f for f in data["deployment-frequency"]}
    assert {env: f["deployments"] for env, f in freq.items()} == {
        "dev": 3,
        "staging": 3,
        "production": 5,
    }
    assert freq["production"]["per-day"] == 0.5  # 5 in 10 days
    assert freq["production"]["per-week"] == 3.5


def test_lead_time_per_digest_from_the_merge_commit_median_and_p90_nearest_rank(
    repo: ConfigRepo,
) -> None:
    """A 27h (its production PR merged Tue 13:00, branch commit Mon 13:00), B 96h, C 27h:
    median (rank 2 of 3) 27h, p90 (rank 3 of 3) 96h."""
    lead = run_json(repo)["lead-time"]
    hours = {t["artifact"]: t["hours"] for t in lead["artifacts"]}
    assert hours == {A: 27.0, B: 96.0, C: 27.0}
    assert (lead["count"], lead["median-hours"], lead["p90-hours"]) == (3, 27.0, 96.0)
    first_a = next(t for t in lead["artifacts"] if t["artifact"] == A)
    assert first_a["last-at"] == "2026-11-03T13:00:00+00:00"


def test_stage_waits_split_into_soak_freeze_and_review(repo: ConfigRepo) -> None:
    """production: A 25h = 24 + 0 + 1; B 95h = 24 soak + 64 freeze (Fri 15:00 to Mon 07:00
    UTC) + 7 review; C as A. staging: A 2h, B 1h, C 2h (soak 1h)."""
    stages = {s["env"]: s for s in run_json(repo)["stages"]}
    prod = stages["production"]
    assert prod["from"] == "staging"
    assert (prod["total"]["median-hours"], prod["total"]["p90-hours"]) == (25.0, 95.0)
    assert (prod["soak"]["median-hours"], prod["soak"]["p90-hours"]) == (24.0, 24.0)
    assert (prod["freeze"]["median-hours"], prod["freeze"]["p90-hours"]) == (0.0, 64.0)
    assert (prod["review"]["median-hours"], prod["review"]["p90-hours"]) == (1.0, 7.0)
    staging = stages["staging"]
    assert (staging["total"]["count"], staging["total"]["median-hours"]) == (3, 2.0)
    assert staging["soak"]["p90-hours"] == 1.0


def test_rollback_and_revert_are_restores_and_their_predecessors_failures(
    repo: ConfigRepo,
) -> None:
    """The rollback to A replaced B, the revert replaced C: 2 failures over the 3 production
    deployments that are not restores; each restored in 3h."""
    data = run_json(repo)
    cfr = data["change-failure-rate"]
    assert (cfr["failures"], cfr["deployments"]) == (2, 3)
    assert cfr["rate"] == pytest.approx(2 / 3)
    ttr = data["time-to-restore"]
    assert (ttr["count"], ttr["median-hours"], ttr["p90-hours"]) == (2, 3.0, 3.0)
    pairs = [(r["failure"]["to"], r["restore"]["to"]) for r in ttr["restores"]]
    assert pairs == [(f"{API}@{B}", f"{API}@{A}"), (f"{API}@{C}", f"{API}@{A}")]
    assert ttr["restores"][1]["restore"]["date"] == "2026-11-11T15:00:00+00:00"


def test_range_app_and_env_filters(repo: ConfigRepo) -> None:
    """A range ending before B reached production holds only A's figures; --app worker has
    no deployments at all; --env limits the frequency table."""
    run = cli(
        "metrics",
        "--repo",
        str(repo.root),
        "--since",
        SINCE.isoformat(),
        "--until",
        at(9, 0).isoformat(),
        "--json",
    )
    data = json.loads(run.stdout)
    assert [t["artifact"] for t in data["lead-time"]["artifacts"]] == [A]
    assert data["change-failure-rate"]["failures"] == 0
    worker = run_json(repo, "--app", "worker")
    assert worker["apps"] == 1
    assert sum(f["deployments"] for f in worker["deployment-frequency"]) == 0
    prod = run_json(repo, "--env", "production")
    assert [f["env"] for f in prod["deployment-frequency"]] == ["production"]


def test_text_markdown_and_job_summary_with_charts(repo: ConfigRepo, tmp_path: Path) -> None:
    """Text and markdown print the same figures; in Actions the job summary carries the
    markdown and its Mermaid charts, which parse."""
    args = ["--repo", str(repo.root), "--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]
    text = cli("metrics", *args).stdout
    assert "lead time (first to last environment): median 27.0h, p90 4.0d (3)" in text
    assert "change failure rate: 66.7% (2 of 3)" in text
    assert "staging -> production  3          25.0h / 4.0d  24.0h / 24.0h  0.0h / 64.0h" in text
    summary = tmp_path / "summary.md"
    summary.touch()
    md = cli(
        "metrics",
        *args,
        "--format",
        "markdown",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    ).stdout
    assert "| Change failure rate | 66.7% (2 of 3) |" in md
    assert (
        "| staging → production | 3 | 25.0h / 4.0d | 24.0h / 24.0h | 0.0h / 64.0h | 1.0h / 7.0h |"
        in md
    )
    written = summary.read_text()
    assert "### Delivery metrics" in written
    kinds = check_blocks(written)
    assert kinds == ["xychart-beta", "xychart-beta", "gantt"]
    ((freq, lead, recent),) = parse_ok([written])  # Mermaid's own parser
    assert (freq.labels(), freq.bars()) == (["dev", "staging", "production"], [3, 3, 5])
    assert (lead.labels(), lead.bars()) == (["api-service"], [27])
    assert recent.tasks() == ["to production"] * 3
    assert recent.data["tasks"][0]["end"] == "2026-11-11T12:00:00.000Z"


def test_bad_range_is_one_line_exit_2(repo: ConfigRepo) -> None:
    run = cli("metrics", "--repo", str(repo.root), "--since", "yesterday", check=2)
    assert run.stderr.strip().splitlines() == [
        "error: --since 'yesterday' is not an ISO 8601 time (e.g. 2026-11-01T00:00:00Z or 30d)"
    ]
    run = cli(
        "metrics",
        "--repo",
        str(repo.root),
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-01",
        check=2,
    )
    assert "is not before --until" in run.stderr


# -- the definitions, on hand-made deployments -------------------------------------------------


def _event(env: str, ref: str | None, hour: int, old: str | None = None) -> PinEvent:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
    return PinEvent(
        "api-service",
        env,
        "f",
        f"c{hour}",
        when,
        "a",
        "s",
        ImageRef.parse(old) if old else None,
        ImageRef.parse(ref) if ref else None,
        None,
    )


def test_nearest_rank() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert metrics.nearest_rank(values, 50) == 35.0
    assert metrics.nearest_rank(values, 90) == 50.0
    assert metrics.nearest_rank([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # the lower middle
    assert metrics.nearest_rank(list(map(float, range(1, 11))), 90) == 9.0
    assert metrics.nearest_rank([], 50) is None


def test_a_tag_only_re_pin_and_a_removed_pin_are_not_deployments() -> None:
    a, b = f"{API}@{A}", f"{API}:v2@{A}"
    events = [
        _event("dev", a, 1),
        _event("dev", b, 2, a),  # same digest, a tag added
        _event("dev", None, 3, b),  # pin removed
        _event("dev", a, 4),  # back: what ran before the removal was a, so no change
        _event("dev", f"{API}@{B}", 5, a),
    ]
    found = of_events(events)
    assert [(d.commit, d.new.digest) for d in found] == [("c1", A), ("c5", B)]


def test_a_restore_of_a_restore_is_no_new_failure() -> None:
    """A, B (fails), A (restore), B (restore of the bad one: flapping), C: failures = [B],
    over the deployments that are not restores (A, B, C)."""
    config = parse_config((EXAMPLE / "promotion.yaml").read_text())
    prod = [
        Deployment("api-service", "production", f"p{h}", at(2, h), None, ImageRef.parse(r))
        for h, r in ((1, f"{API}@{A}"), (2, f"{API}@{B}"), (3, f"{API}@{A}"), (4, f"{API}@{B}"))
    ]
    prod.append(
        Deployment("api-service", "production", "p5", at(2, 5), None, ImageRef.parse(f"{API}@{C}"))
    )
    result = metrics.compute(config, {("api-service", "production"): prod}, at(1, 0), at(3, 0))
    assert [d.commit for d in result.failures] == ["p2"]
    assert result.changes == 3
    assert [(r.failure.commit, r.restore.commit) for r in result.restores] == [("p2", "p3")]
