"""The job summaries' Mermaid charts through Mermaid's own parser (mermaid 12 in Node,
tests/support/mermaid_parse.py): every block parses, and what the parser reads (gantt
tasks and sections, xychart labels and bars) is what we meant, for hostile app and env
names (newlines, ``:``, ``#``, ``;``, quotes, ``%%`` directives, ``-->``, unicode, 300
characters, Mermaid's own keywords) and at 2,000 apps. One Node run parses them all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, NEW_WORKER, T0, WORKER, ConfigRepo
from gitops_promote.facts.deployments import Deployment
from gitops_promote.facts.events import PinEvent
from gitops_promote.images import ImageRef
from gitops_promote.plan.metrics import Frequency, LeadTime, Metrics, Spread
from gitops_promote.plan.soak_values import Decision
from gitops_promote.report import mermaid
from gitops_promote.report.records import StatusRow as Row
from support import mermaid_parse
from support.mermaid_check import check_blocks
from support.mermaid_parse import Verdict, blocks, parse
from support.repos import cli

HOSTILE = [
    "line\nbreak",
    "a: b",
    "x#y",
    "s;t",
    "a, b",
    'say "hi"',
    "it's",
    "%% comment",
    "%%{init: {'theme': 'dark'}}%%",
    "}{",
    "a --> b",
    "ünïcødé ✓",
    "x" * 300,
    "title",
    "Section prod",
    "click me",
    "call x",
    "gantt-app",
    "2026-01-01-app",
    "topAxis-x",
    "excludes weekends",
    "weekday monday",
    "",
    "<script>alert(1)</script>",
    "`md` [x]",
    "accTitle: x",
]
NOW = datetime(2026, 2, 1, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00.000Z")


def _row(app: str, env: str, since: datetime) -> Row:
    return Row(app, env, "f", None, "c", since)


def _ref(i: int) -> ImageRef:
    return ImageRef.parse(f"{API}@sha256:{i:064x}")


def _lead(app: str, env: str, i: int) -> LeadTime:
    ref = _ref(i)
    start = START + timedelta(hours=i)
    first = Deployment(app, "dev", "c", start, None, ref)
    last = Deployment(app, env, "c", start + timedelta(hours=i % 50 + 1), None, ref)
    return LeadTime(app, ref.digest or "", first, last)


def _metrics(leads: list[LeadTime], envs: list[str]) -> Metrics:
    return Metrics(
        since=START,
        until=NOW,
        frequency=[Frequency(env, i + 1, 0.0, 0.0) for i, env in enumerate(envs)],
        lead_times=leads,
        lead_time=Spread.of([t.hours for t in leads]),
        waits=[],
        stages=[],
        changes=0,
        failures=[],
        restores=[],
        time_to_restore=Spread(0, None, None),
    )


def _decision(app: str, env: str, i: int) -> Decision:
    since = START + timedelta(minutes=i)
    event = PinEvent(app, "dev", "f", "c", since, "a", "s", None, _ref(i), None)
    return Decision(
        app,
        env,
        "dev",
        "waiting",
        "soaking",
        candidate_since=event,
        ready_at=since + timedelta(hours=1),
    )


def _summary(repo: ConfigRepo, tmp_path: Path, *args: str) -> str:
    summary = tmp_path / "summary.md"
    summary.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    cli(*args, "--repo", str(repo.root), env=env)
    return summary.read_text()


def _charts(tmp: Path) -> dict[str, str]:
    """Every chart the tests look at, by name: markdown with ```mermaid blocks."""
    n = len(HOSTILE)
    many = range(2000)
    config = ConfigRepo(tmp / "config")
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    config.promote("worker", "dev", f"{WORKER}@{NEW_WORKER}", at=T0 + timedelta(hours=4))
    soak_now = (T0 + timedelta(hours=4, minutes=30)).isoformat()
    return {
        "status-apps": mermaid.status_chart(
            [
                _row(app, "production", START + timedelta(minutes=n - i))
                for i, app in enumerate(HOSTILE)
            ],
            NOW,
            top=n,
        ),
        "status-envs": mermaid.status_chart(
            [_row("api", env, START + timedelta(minutes=n - i)) for i, env in enumerate(HOSTILE)],
            NOW,
        ),
        "status-2000": mermaid.status_chart(
            [_row(f"app-{i}", "production", START + timedelta(minutes=i)) for i in many], NOW
        ),
        "soak-apps": mermaid.soak_chart(
            [_decision(app, "staging", i) for i, app in enumerate(HOSTILE)], NOW, top=n
        ),
        "soak-envs": mermaid.soak_chart(
            [_decision("api", env, i) for i, env in enumerate(HOSTILE)], NOW, top=n
        ),
        "soak-2000": mermaid.soak_chart([_decision(f"app-{i}", "prod", i) for i in many], NOW),
        "metrics-hostile": mermaid.metrics_charts(
            _metrics([_lead(app, app, i + 1) for i, app in enumerate(HOSTILE)], HOSTILE), top=n
        ),
        "metrics-2000": mermaid.metrics_charts(
            _metrics([_lead(f"app-{i}", "production", i) for i in range(1, 2001)], ["dev"])
        ),
        "cli-status": _summary(config, tmp, "status"),
        "cli-soak": _summary(config, tmp, "soak", "--dry-run", "--now", soak_now),
        # what a task named `title` or `click` looked like before task_name(): the parser
        # must tell (a lost task, an error), else these tests prove nothing
        "unguarded": mermaid.block(
            [*mermaid.gantt("t", [])[:4], "    section s"]
            + [f"    {bad} : 2026-01-01 00:00, 2026-01-02 00:00" for bad in ("title", "x")]
        )
        + mermaid.block(
            [
                *mermaid.gantt("t", [])[:4],
                "    section s",
                "    click : 2026-01-01 00:00, 2026-01-02 00:00",
            ]
        ),
    }


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, list[Verdict]]]:
    charts = _charts(tmp_path_factory.mktemp("mermaid"))
    names = list(charts)
    sources = [(name, source) for name in names for source in blocks(charts[name])]
    verdicts = parse([source for _, source in sources])
    out: dict[str, tuple[str, list[Verdict]]] = {name: (charts[name], []) for name in names}
    for (name, _), verdict in zip(sources, verdicts, strict=True):
        out[name][1].append(verdict)
    return out


Chart = Callable[[str], tuple[str, list[Verdict]]]


@pytest.fixture
def chart(parsed: dict[str, tuple[str, list[Verdict]]]) -> Chart:
    """The markdown and the verdicts of one chart, each block accepted by Mermaid."""

    def get(name: str) -> tuple[str, list[Verdict]]:
        text, verdicts = parsed[name]
        for v in verdicts:
            assert v.ok, f"mermaid rejects {name}:\n{v.source}\n{v.error}"
        if name != "unguarded":
            assert check_blocks(text) == [v.source.split("\n")[0] for v in verdicts]
        return parsed[name]

    return get


def test_the_parser_catches_keywords_and_errors(
    parsed: dict[str, tuple[str, list[Verdict]]],
) -> None:
    """Without task_name() a task named ``title`` is read as the title (one task lost) and
    one named ``click`` is a parse error: the harness does see what breaks."""
    _, (lost, broken) = parsed["unguarded"]
    assert lost.ok
    assert lost.tasks() == ["x"]
    assert lost.data["title"] == ": 2026-01-01 00:00, 2026-01-02 00:00"
    assert not broken.ok
    assert "Parse error on line 6" in broken.error


def test_status_gantt_keeps_every_hostile_app_as_one_escaped_task(chart: Chart) -> None:
    text, (v,) = chart("status-apps")
    assert v.type == "gantt"
    assert v.sections() == ["production"]
    assert v.tasks() == [mermaid.task_name(app) for app in HOSTILE]
    assert len(set(v.tasks())) == len(HOSTILE) - 1  # "" and "}{" both read "-"
    assert v.tasks()[:4] == ["line-break", "a- b", "x-y", "s-t"]
    assert "-title" in v.tasks()
    assert "-Section prod" in v.tasks()
    assert "-click me" in v.tasks()
    assert "x" * 39 + "-" in v.tasks()
    assert all(t["end"] == iso(NOW) for t in v.data["tasks"])
    assert v.data["tasks"][0]["start"] == iso(START + timedelta(minutes=len(HOSTILE)))
    assert "%%" not in text
    assert "-->" not in text


def test_status_gantt_has_a_section_per_hostile_env(chart: Chart) -> None:
    _, (v,) = chart("status-envs")
    assert v.sections() == [mermaid.name(env) for env in HOSTILE]
    assert v.tasks() == ["api"] * len(HOSTILE)
    assert [t["section"] for t in v.data["tasks"]] == v.sections()


def test_soak_gantt_with_hostile_apps_and_envs(chart: Chart) -> None:
    _, (apps,) = chart("soak-apps")
    assert apps.tasks() == [mermaid.task_name(app) for app in HOSTILE]
    first = apps.data["tasks"][0]
    assert (first["start"], first["end"]) == (iso(START), iso(START + timedelta(hours=1)))
    _, (envs,) = chart("soak-envs")
    assert sorted(envs.sections()) == sorted(mermaid.name(env) for env in HOSTILE)
    assert len(envs.tasks()) == len(HOSTILE)


def test_metrics_bars_and_gantt_with_hostile_names(chart: Chart) -> None:
    text, (freq, lead, recent) = chart("metrics-hostile")
    assert (freq.type, lead.type, recent.type) == ("xychart", "xychart", "gantt")
    assert freq.labels() == [mermaid.name(env, 24) for env in HOSTILE]
    assert freq.bars() == [float(i + 1) for i in range(len(HOSTILE))]
    assert freq.data["title"] == "Deployments per environment"
    assert freq.data["y"]["title"] == "deployments"
    assert freq.data["y"]["max"] >= max(freq.bars())
    assert len(lead.labels()) == len(lead.bars()) == len(HOSTILE)
    assert set(lead.labels()) == {mermaid.name(app, 24) for app in HOSTILE}
    assert lead.data["title"] == f"Median lead time in hours of the slowest {len(HOSTILE)}"
    assert len(recent.tasks()) == len(recent.sections()) == len(HOSTILE)
    assert set(recent.tasks()) == {mermaid.name("to " + env) for env in HOSTILE}
    assert "not charted" not in text


def test_2000_apps_chart_the_top_10_and_say_how_many_more(chart: Chart) -> None:
    text, (v,) = chart("status-2000")
    assert v.tasks() == [f"app-{i}" for i in range(1999, 1989, -1)]
    assert "_and 1990 more pins not charted_" in text
    text, (v,) = chart("soak-2000")
    assert v.tasks() == [f"app-{i}" for i in range(10)]
    assert "_and 1990 more targets not charted_" in text
    text, (freq, lead, recent) = chart("metrics-2000")
    assert freq.labels() == ["dev"]
    assert len(lead.labels()) == len(lead.bars()) == mermaid.TOP
    assert len(recent.tasks()) == len(recent.sections()) == mermaid.TOP
    assert recent.sections()[0] == "app-2000 " + "0" * 12  # the digest's first 12
    assert "_and 1990 more apps not charted_" in text
    assert "_and 1990 more promotions not charted_" in text


def test_cli_status_and_soak_summaries_parse(chart: Chart) -> None:
    _, (status,) = chart("cli-status")
    assert set(status.tasks()) == {"api-service", "worker"}
    _, (soak,) = chart("cli-soak")
    assert soak.tasks() == ["worker"]
    assert soak.sections() == ["staging"]
    assert soak.data["tasks"][0]["end"] == "2026-11-02T14:00:00.000Z"


def test_missing_mermaid_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mermaid_parse, "TOOLS", tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="npm package mermaid is not available"):
        parse(["gantt"])
