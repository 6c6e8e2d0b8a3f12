"""P6: ``gitops-promote metrics``, ``status`` and ``soak --dry-run`` over every app's whole
history (no state file), against the least plain git needs for the same facts in the same
run: one ``git log --first-parent --name-only`` pass and one ``git ls-tree -r`` (the
floor: any history-based answer reads at least that much).

Part of ``python bench/run.py`` (``--only 6``); on its own, on any size:

    python -m bench.metrics --apps 200 --commits 2000 --reps 2
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.gen import CachedRepo
from bench.procs import PEAK_SOURCE, child_env, run_timed
from bench.stats import Series

ROOT = Path(__file__).resolve().parent.parent
GIT_LOG = ("git", "log", "--first-parent", "--name-only", "--format=%H %ct", "HEAD")
GIT_LS_TREE = ("git", "ls-tree", "-r", "HEAD")
# The least plain git needs for the facts of metrics, status and soak without the state
# file (issue 16): one first-parent history pass with file names, and the tree's listing.
FLOOR_PASS = f"{shlex.join(GIT_LOG)} && {shlex.join(GIT_LS_TREE)}"
FLOOR = ("sh", "-c", FLOOR_PASS)
# With the state file (issue 16): the state file's blob and every overlay's blob, read in
# one `git cat-file --batch` (the tip's listing picks them; no history at all).
STATE_FILE = "versions.json"
_STATE_FILE_RE = STATE_FILE.replace(".", "[.]")
STATE_FLOOR_PASS = (
    f"git ls-tree -r HEAD -- {STATE_FILE} apps"
    f" | grep -E '\t({_STATE_FILE_RE}|apps/[^/]+/overlays/.*)$'"
    " | cut -f1 | cut -d' ' -f3 | git cat-file --batch >/dev/null"
)
STATE_FLOOR = ("bash", "-o", "pipefail", "-c", STATE_FLOOR_PASS)


@dataclass
class P6:
    metrics: Series
    floor: Series
    deployments: int | None = None
    status: Series | None = None
    soak: Series | None = None
    apps: int = 0
    commits: int = 0

    def ratios(self, series: Series) -> tuple[float | None, float | None]:
        """``series`` over the floor: (wall, CPU). CPU (user + system, git's included)
        counts on a shared runner, where wall time follows the neighbours' load."""
        wall, cpu = series.median, series.cpu_median
        base_wall, base_cpu = self.floor.median, self.floor.cpu_median
        return (
            wall / base_wall if wall is not None and base_wall else None,
            cpu / base_cpu if cpu is not None and base_cpu else None,
        )

    @property
    def ratio(self) -> float | None:
        return self.ratios(self.metrics)[0]

    @property
    def cpu_ratio(self) -> float | None:
        return self.ratios(self.metrics)[1]

    def measured(self) -> list[Series]:
        return [s for s in (self.metrics, self.status, self.soak) if s is not None]


def p6_metrics(
    repo: CachedRepo,
    run_dir: Path,
    reps: int,
    timeout: float,
    log: Callable[[str], None],
    *,
    fleet: bool = True,
) -> P6:
    """Clone ``repo`` (full, local) once, then time ``metrics --json`` over its whole history,
    ``status --json`` and ``soak --dry-run --json`` (``fleet``; the clone has no state file)
    and the plain-git floor, in interleaved rounds (the order turns each round)."""
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
    shape = f"{n} apps x {len(repo.envs)} envs, {repo.commits} commits"
    result = P6(
        Series(f"metrics --since 3650d, {shape}"),
        Series(f"floor: git log --first-parent --name-only, then git ls-tree -r, {n} apps"),
        apps=n,
        commits=repo.commits,
    )
    where = ["--repo", str(work)]
    sides: list[tuple[list[str], Series]] = [
        ([promote, "metrics", *where, "--since", "3650d", "--json"], result.metrics),
        (list(FLOOR), result.floor),
    ]
    if fleet:
        result.status = Series(f"status --json (no state file), {shape}")
        result.soak = Series(f"soak --dry-run --json (no state file), {shape}")
        sides += [
            ([promote, "status", "--json", *where], result.status),
            ([promote, "soak", "--dry-run", "--json", *where], result.soak),
        ]
    for i in range(reps):
        turn = i % len(sides)
        order = sides[turn:] + sides[:turn]
        for argv, series in order:
            run = run_timed(argv, cwd=work, env=env, timeout=timeout)
            if series.add(run) and series is result.metrics:
                data = json.loads(run.stdout)
                result.deployments = sum(f["deployments"] for f in data["deployment-frequency"])
            log(
                f"  P6 {series.name}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, "
                f"{run.peak_kb / 1024:.0f} MiB peak"
                + ("" if run.ok else f" ({run.describe_failure()})")
            )
    return result


def _x(value: float | None) -> str:
    return f"{value:.1f}x" if value is not None else "-"


def section(p6s: Sequence[P6]) -> str:
    """The report's P6 section (markdown): one table per size."""
    lines = [
        "### P6: metrics, status and soak over the whole history, against the plain-git floor",
        "",
        "`gitops-promote metrics --since 3650d --json`, `status --json` and "
        "`soak --dry-run --json` (no state file: every answer comes from history) on a full "
        "local clone, against the least plain git needs for the same facts: one "
        "`git log --first-parent --name-only` pass and one `git ls-tree -r`, timed in the "
        "same rounds, in turn. Peak memory: the largest process of the tree, read with "
        f"{PEAK_SOURCE}.",
    ]
    for p6 in p6s:
        lines += [
            "",
            f"**{p6.apps:,} apps x {p6.commits:,} commits**:",
            "",
            "| Command | Median | CPU | Peak memory | / floor (wall) | / floor (CPU) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for series in p6.measured():
            wall, cpu = p6.ratios(series)
            lines.append(
                f"| {series.name} | {series.cell()} | {series.cpu_cell()} "
                f"| {series.peak_cell()} | {_x(wall)} | {_x(cpu)} |"
            )
        floor = p6.floor
        lines += [
            f"| {floor.name} | {floor.cell()} | {floor.cpu_cell()} | {floor.peak_cell()} "
            "| 1.0x | 1.0x |",
            "",
            f"metrics / floor: {_x(p6.ratio)} wall, {_x(p6.cpu_ratio)} CPU; "
            f"deployments found: {p6.deployments}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.gen import cached_repo

    parser = argparse.ArgumentParser(description="P6: metrics vs one git log pass")
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=2, help="rounds (each runs every command)")
    parser.add_argument(
        "--metrics-only", action="store_true", help="time metrics and the floor, not status/soak"
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    repo = cached_repo(args.apps, args.commits)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="p6-", dir=out))
    try:
        p6 = p6_metrics(repo, run_dir, args.reps, args.timeout, print, fleet=not args.metrics_only)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(section([p6]), end="")
    return 0 if all(s.failure is None for s in (*p6.measured(), p6.floor)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
