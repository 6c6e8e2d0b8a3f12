"""``status``, ``soak`` and ``metrics`` build their job summary (markdown tables, Mermaid
charts) only when they write it, i.e. under GitHub Actions with ``GITHUB_STEP_SUMMARY``
set; and ``soak`` builds each target's JSON once, the ``results`` output only when
``GITHUB_OUTPUT`` is set. Run in process over examples/config-repo, counting the calls of
the real renderers (wrapped, not replaced)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.commands import soak as soak_command
from gitops_promote.report import mermaid
from gitops_promote.report import metrics as metrics_view
from gitops_promote.report import status as status_view
from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE

NOW = "2026-11-27T16:30:00+00:00"
RENDERERS: list[tuple[Any, str]] = [
    (status_view, "markdown"),
    (status_view, "chart"),
    (soak_command, "summary"),
    (mermaid, "soak_chart"),
    (metrics_view, "markdown"),
    (soak_command, "outcome_json"),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("summary") / "config"
    shutil.copytree(EXAMPLE, root)
    gitutil.init_repo(root)
    gitutil.commit_files(root, {}, message="the example config")
    return root


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each renderer ran (``module.name``); each still does its work."""
    counted: Counter[str] = Counter()
    # the CLI must run in this process for the counts to see it
    monkeypatch.delenv("GITOPS_PROMOTE_TEST_CLI", raising=False)

    def wrap(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def counting(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return real(*args, **kwargs)

        return counting

    for module, attr in RENDERERS:
        name = f"{module.__name__.rsplit('.', 1)[-1]}.{attr}"
        monkeypatch.setattr(module, attr, wrap(name, getattr(module, attr)))
    return counted


COMMANDS = {
    "status": (("status",), {"status.markdown", "status.chart"}),
    "soak": (("soak", "--dry-run", "--now", NOW), {"soak.summary", "mermaid.soak_chart"}),
    "metrics": (("metrics", "--now", NOW, "--since", "3650d"), {"metrics.markdown"}),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_summary_is_built_outside_actions(repo: Path, calls: Counter[str], command: str) -> None:
    args, renderers = COMMANDS[command]
    cli(*args, "--repo", str(repo), env={})
    assert not {name for name in renderers if calls[name]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_summary_is_built_and_written_under_actions(
    repo: Path, calls: Counter[str], command: str, tmp_path: Path
) -> None:
    args, renderers = COMMANDS[command]
    summary = tmp_path / "summary.md"
    summary.write_text("")
    cli(
        *args,
        "--repo",
        str(repo),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert {name: calls[name] for name in renderers} == dict.fromkeys(renderers, 1)
    assert summary.read_text().strip()


def output_value(text: str, name: str) -> str:
    """The value of ``name`` in a GITHUB_OUTPUT file (``name<<DELIMITER`` heredocs)."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith(f"{name}<<"))
    delimiter = lines[head].split("<<", 1)[1]
    end = lines.index(delimiter, head + 1)
    return "\n".join(lines[head + 1 : end])


def test_soak_builds_each_target_json_once(repo: Path, calls: Counter[str], tmp_path: Path) -> None:
    run = cli("soak", "--dry-run", "--json", "--now", NOW, "--repo", str(repo), env={})
    alone = json.loads(run.stdout)["targets"]
    assert alone
    assert calls["soak.outcome_json"] == len(alone)

    calls.clear()
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    run = cli("soak", "--dry-run", "--json", "--now", NOW, "--repo", str(repo), env=env)
    # --json and the `results` output are built from the same objects, once
    targets = json.loads(run.stdout)["targets"]
    assert calls["soak.outcome_json"] == len(targets)
    assert targets == alone
    assert json.loads(output_value(outputs.read_text(), "results")) == targets
    assert output_value(outputs.read_text(), "promoted") == "0"
    assert not calls["soak.summary"]  # no GITHUB_STEP_SUMMARY: outputs only


def test_soak_results_output_without_the_json_flag(
    repo: Path, calls: Counter[str], tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    cli("soak", "--dry-run", "--now", NOW, "--repo", str(repo), env=env)
    results = json.loads(output_value(outputs.read_text(), "results"))
    assert calls["soak.outcome_json"] == len(results) > 0
    assert {r["app"] for r in results} == {"api-service", "worker"}
