"""``command: metrics`` and ``command: calendar`` through action.yml, run the way a runner
runs a composite action, against the test git server: the inputs become the command's
arguments (shown in the log), metrics lands in the job summary, the calendar in a file."""

from __future__ import annotations

from pathlib import Path

from icalendar import Calendar

from action.conftest import ActionHarness
from action.test_runner_contract import CONFIG, WEDNESDAY, assert_no_leak


def test_metrics_goes_to_the_job_summary(action: ActionHarness) -> None:
    run = action.run(
        {
            "command": "metrics",
            "config-repo": CONFIG,
            "token": action.token,
            "since": "30d",
            "environment": "dev,production",
            "now": WEDNESDAY,
        }
    )
    assert run.exit_code == 0, run.stderr
    shown = [line for line in run.log.lines if line.startswith("gitops-promote metrics")]
    assert shown == [
        "gitops-promote metrics --since 30d --now 2026-11-25T10:00:00+00:00 --env dev "
        f"--env production --format markdown --config-repo {CONFIG} --config promotion.yaml"
    ]
    assert run.summary.startswith("### Delivery metrics, 2026-10-26 10:00 UTC to 2026-11-25")
    assert "| dev | 2 |" in run.summary
    assert "| production | 2 |" in run.summary
    assert "| staging |" not in run.summary  # environment: dev,production
    assert "```mermaid" in run.summary
    assert_no_leak(run, action.token)


def test_calendar_is_written_where_output_says(action: ActionHarness, tmp_path: Path) -> None:
    ics = tmp_path / "freezes.ics"
    run = action.run(
        {
            "command": "calendar",
            "config-repo": CONFIG,
            "token": action.token,
            "days": "14",
            "output": str(ics),
            "now": WEDNESDAY,
        }
    )
    assert run.exit_code == 0, run.stderr
    cal = Calendar.from_ical(ics.read_bytes())
    summaries = {str(e["SUMMARY"]) for e in cal.walk("VEVENT")}
    assert "Freeze: production (weekend)" in summaries
    assert_no_leak(run, action.token)


def test_a_bad_days_input_is_refused_with_exit_2(action: ActionHarness) -> None:
    run = action.run(
        {
            "command": "calendar",
            "config-repo": CONFIG,
            "token": action.token,
            "days": "many",
            "now": WEDNESDAY,
        }
    )
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert_no_leak(run, action.token)
