"""P6: ``gitops-promote metrics`` over every app's whole history, against one plain
``git log --first-parent --name-only`` pass over the same clone in the same run (the
floor: any history-based metric reads at least that much).

Part of ``python bench/run.py`` (``--only 6``); on its own, on any size:

    python -m bench.metrics --apps 200 --commits 2000 --reps 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.gen import CachedRepo
from bench.procs import child_env, run_timed
from bench.stats import Series

ROOT = Path(__file__).resolve().parent.parent
GIT_LOG = ("git", "log", "--first-parent", "--name-only", "--format=%H %ct", "HEAD")


@dataclass
class P6:
    metrics: Series
    git_log: Series
    deployments: int | None = None

    @property
    def ratio(self) -> float | None:
        a, b = self.metrics.median, self.git_log.median
        return a / b if a is not None and b else None

    @property
    def cpu_ratio(self) -> float | None:
        """CPU (user + system, git's included) over the git log pass's: what counts on a
        shared runner, where wall time follows the neighbours' load."""
        a, b = self.metrics.cpu_median, self.git_log.cpu_median
        return a / b if a is not None and b else None


def p6_metrics(
    repo: CachedRepo, run_dir: Path, reps: int, timeout: float, log: Callable[[str], None]
) -> P6:
    """Clone ``repo`` (full, local) once, then time ``metrics --json`` over its whole history
    and the plain git log pass, alternating their order each repetition."""
    work = run_dir / "work" / "p6"
    if work.exists():
        shutil.rmtree(work)
    work.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", str(repo.path), str(work)], check=True)
    home = run_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = child_env(home)
    exe = Path(sys.executable).with_name("gitops-promote")
    promote = str(exe) if exe.exists() else "gitops-promote"
    n = len(repo.apps)
    result = P6(
        Series(f"metrics --since 3650d, {n} apps x {len(repo.envs)} envs, {repo.commits} commits"),
        Series("git log --first-parent --name-only (one pass)"),
    )
    metrics_argv = [promote, "metrics", "--repo", str(work), "--since", "3650d", "--json"]
    for i in range(reps):
        sides = [(metrics_argv, result.metrics), (list(GIT_LOG), result.git_log)]
        if i % 2:
            sides.reverse()
        for argv, series in sides:
            run = run_timed(argv, cwd=work, env=env, timeout=timeout)
            if series.add(run) and series is result.metrics:
                data = json.loads(run.stdout)
                result.deployments = sum(f["deployments"] for f in data["deployment-frequency"])
            log(
                f"  P6 {series.name}: {run.wall:.2f} s"
                + ("" if run.ok else f" ({run.describe_failure()})")
            )
    return result


def section(p6: P6) -> str:
    """The report's P6 section (markdown)."""
    ratio = f"{p6.ratio:.1f}x" if p6.ratio is not None else "-"
    cpu_ratio = f"{p6.cpu_ratio:.1f}x" if p6.cpu_ratio is not None else "-"
    lines = [
        "### P6: metrics over the whole history",
        "",
        "`gitops-promote metrics --since 3650d --json` on a full local clone, against one "
        "plain `git log --first-parent --name-only` pass over the same clone in the same run "
        "(the floor of any history-based metric).",
        "",
        "| Command | Median | CPU |",
        "| --- | ---: | ---: |",
        f"| {p6.metrics.name} | {p6.metrics.cell()} | {p6.metrics.cpu_cell()} |",
        f"| {p6.git_log.name} | {p6.git_log.cell()} | {p6.git_log.cpu_cell()} |",
        "",
        f"metrics / git log: {ratio} wall, {cpu_ratio} CPU; deployments found: {p6.deployments}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.gen import cached_repo

    parser = argparse.ArgumentParser(description="P6: metrics vs one git log pass")
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    repo = cached_repo(args.apps, args.commits)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="p6-", dir=out))
    try:
        p6 = p6_metrics(repo, run_dir, args.reps, args.timeout, print)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(section(p6), end="")
    return 0 if p6.metrics.failure is None and p6.git_log.failure is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
