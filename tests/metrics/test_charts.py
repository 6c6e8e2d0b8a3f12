"""The Mermaid charts of the job summaries (status, soak, metrics): they parse (strict
checker, tests/support/mermaid_check.py), and stay small at 2,000 apps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, NEW_WORKER, T0, WORKER, ConfigRepo
from gitops_promote.facts.deployments import Deployment
from gitops_promote.images import ImageRef
from gitops_promote.plan.metrics import LeadTime, Metrics, Spread
from gitops_promote.report import mermaid
from gitops_promote.report.records import StatusRow as Row
from support.mermaid_check import MermaidError, check, check_blocks
from support.repos import cli


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> ConfigRepo:
    config = ConfigRepo(tmp_path_factory.mktemp("charts") / "config")
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    config.promote("worker", "dev", f"{WORKER}@{NEW_WORKER}", at=T0 + timedelta(hours=4))
    return config


def summary_of(repo: ConfigRepo, tmp_path: Path, *args: str) -> str:
    summary = tmp_path / "summary.md"
    summary.write_text("")
    cli(
        *args,
        "--repo",
        str(repo.root),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    return summary.read_text()


def test_status_summary_has_a_gantt_of_the_newest_pins(repo: ConfigRepo, tmp_path: Path) -> None:
    text = summary_of(repo, tmp_path, "status")
    assert "### Promotion status" in text
    assert check_blocks(text) == ["gantt"]
    assert "    section staging\n    api-service : 2026-11-02 12:00, " in text


def test_soak_summary_has_a_gantt_of_the_targets_soaking(repo: ConfigRepo, tmp_path: Path) -> None:
    """staging (auto) waits for NEW_WORKER's 1h in dev: from Mon 13:00 to 14:00 UTC."""
    now = (T0 + timedelta(hours=4, minutes=30)).isoformat()
    text = summary_of(repo, tmp_path, "soak", "--dry-run", "--now", now)
    assert check_blocks(text) == ["gantt"]
    assert "    section staging\n    worker : 2026-11-02 13:00, 2026-11-02 14:00" in text


def _lead(i: int) -> LeadTime:
    ref = ImageRef.parse(f"{API}@sha256:{i:064x}")
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)
    first = Deployment(f"app-{i}", "dev", "c", start, None, ref)
    last = Deployment(f"app-{i}", "production", "c", start + timedelta(hours=i % 50), None, ref)
    return LeadTime(f"app-{i}", ref.digest or "", first, last)


def test_charts_stay_small_at_2000_apps() -> None:
    leads = [_lead(i) for i in range(1, 2001)]
    m = Metrics(
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=datetime(2026, 6, 1, tzinfo=UTC),
        frequency=[],
        lead_times=leads,
        lead_time=Spread.of([t.hours for t in leads]),
        waits=[],
        stages=[],
        changes=0,
        failures=[],
        restores=[],
        time_to_restore=Spread(0, None, None),
    )
    text = mermaid.metrics_charts(m)
    assert check_blocks(text) == ["xychart-beta", "gantt"]
    assert text.count("\n    section ") == mermaid.TOP
    assert "_and 1990 more apps not charted_" in text
    assert "_and 1990 more promotions not charted_" in text
    assert len(text) < 4000
    rows = [
        Row(
            f"app-{i}",
            "production",
            "f",
            None,
            "c",
            datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        )
        for i in range(2000)
    ]
    chart = mermaid.status_chart(rows, datetime(2026, 2, 1, tzinfo=UTC))
    assert check_blocks(chart) == ["gantt"]
    assert "app-1999 :" in chart
    assert "_and 1990 more pins not charted_" in chart


def test_names_are_reduced_to_safe_characters_and_the_checker_is_strict() -> None:
    lines = mermaid.gantt(
        "x: y", [("a:b, c#d", [("t;1 %% e\nf", datetime(2026, 1, 1), datetime(2026, 1, 2))])]
    )
    check("\n".join(lines))
    assert lines[4] == "    section a-b- c-d"
    with pytest.raises(MermaidError):
        check(
            "gantt\n    title x\n    dateFormat YYYY-MM-DD HH:mm\n    axisFormat %m-%d\n"
            "    section s\n    a: b : 2026-01-01 00:00, 2026-01-02 00:00"
        )
    with pytest.raises(MermaidError):
        check(
            'xychart-beta\n    title "t"\n    x-axis ["a", "b"]\n    y-axis "h" 0 --> 10\n'
            "    bar [1]"
        )
