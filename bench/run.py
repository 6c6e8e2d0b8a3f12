"""Benchmark gitops-promote against the guide's flow; write docs/benchmarks.md.

    python bench/run.py            # the full benchmark (about 25 minutes, repos cached)
    python bench/run.py --quick    # a smaller repo and fewer repetitions: under 2 minutes
    python bench/run.py --sizes 10000 --only 36   # P3 and P6 at 10,000 apps only

The full run measures every goal at 2,000 apps x 3 envs with 20,000 commits (5
repetitions), and P3 (status, soak) and P6 (metrics) also at 10,000 apps x 100,000
commits (3 repetitions there, and P6 times ``metrics`` alone: bench/sizes.py).
``--sizes`` picks the sizes (app counts; 10 commits per app); the first one is where
P1, P2, P4 and P5 run.

P3 times ``status`` and ``soak --dry-run`` (with and without the state file) against the
least plain git needs for the same facts from the same server, in the same repetitions
(bench/scenarios.py); P6 ``metrics`` against one history pass (bench/metrics.py). Every
measured command's peak memory is its process tree's largest resident set
(``/usr/bin/time -f %M``: bench/procs.py).

P1 times, in the same repetitions, gitops-promote's dev promotion, the guide's flow and
the plain-git floor (a depth-1, blob-less, sparse clone of the one overlay, the edit, one
commit, one push); the report gives our ratio to both. It states the machine (CPU, cores,
memory) and its load: the load average and the busiest other processes at the start and
the end of the run.

Run it from the project's virtualenv (``. .venv/bin/activate``): it uses the installed
``gitops-promote`` and the test suite's git server and GitHub fake. Not part of the test
run. The generated repos are cached under ``bench/out/cache/``; scratch work goes to
a directory ``bench/out/run-*`` of its own (removed afterwards unless ``--keep``); the raw
figures to
``bench/out/results.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.gen import CachedRepo
    from bench.sizes import Size

ROOT = Path(__file__).resolve().parent.parent
QUICK_BUDGET_S = 120.0  # --quick must finish within two minutes (generated repos cached)
# `python bench/run.py` puts bench/ itself first on the path: its modules are bench.*
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
for entry in (ROOT / "tests", ROOT):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))


def _check_environment() -> str | None:
    """A one-line reason the benchmark cannot run here, or None."""
    try:
        import pytest  # noqa: F401

        import gitops_promote  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not importable: activate the virtualenv (. .venv/bin/activate)"
    if shutil.which("git") is None:
        return "git is not on PATH"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small repo, few repetitions")
    parser.add_argument(
        "--sizes",
        help="app counts to measure, comma-separated (default 2000,10000; quick 200); "
        "P1, P2, P4 and P5 run at the first",
    )
    parser.add_argument("--apps", type=int, help="one size only: apps in the large repo")
    parser.add_argument(
        "--commits", type=int, help="commits in the first size's repo (default 10 per app)"
    )
    parser.add_argument(
        "--reps", type=int, help="repetitions (default 5, at most 3 at 10,000 apps; quick 2)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds one run may take (default 300, grown with the apps past 2,000; quick 120)",
    )
    parser.add_argument(
        "--only", default="123456", help="which goals to measure, e.g. --only 15 (default all)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (git traces)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="where to write the report (default docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    args.reps_given = args.reps is not None
    problem = _check_environment()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    import compileall

    # measured runs use bytecode, as an installed package does (procs.child_env)
    compileall.compile_dir(ROOT / "src" / "gitops_promote", quiet=1)

    from bench.gen import cached_repo, with_state_file
    from bench.machine import load_average, others_busy
    from bench.sizes import FULL_SIZES, QUICK_SIZES, SizeError, parse_sizes, plan

    try:
        apps = (
            (args.apps,)
            if args.apps
            else parse_sizes(args.sizes)
            if args.sizes
            else (QUICK_SIZES if args.quick else FULL_SIZES)
        )
    except SizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.reps = args.reps or (2 if args.quick else 5)
    args.timeout = args.timeout or (120.0 if args.quick else 300.0)
    if min(apps) < 10 or (args.commits is not None and args.commits < 10) or args.reps < 1:
        print("error: --apps and --commits must be >= 10, --reps >= 1", file=sys.stderr)
        return 2
    sizes = plan(apps, reps=args.reps, timeout=args.timeout, commits=args.commits)

    started = time.perf_counter()
    load_before = load_average()
    busy = others_busy()
    busy_before = busy.describe() if busy else "unknown"
    repos = [cached_repo(size.apps, size.commits) for size in sizes]
    fleets = [
        Fleet(size, repo, with_state_file(repo)) for size, repo in zip(sizes, repos, strict=True)
    ]
    small: tuple[CachedRepo, CachedRepo] | None = None
    if "2" in args.only or "4" in args.only:  # the 10x smaller repo: only P2 and P4 use it
        first = sizes[0]
        tiny = cached_repo(max(10, first.apps // 10), max(10, first.commits // 10))
        small = (tiny, with_state_file(tiny))
    # A directory of its own: two runs at once (or a test) never pull each other's repos.
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=out_dir))
    (run_dir / "home").mkdir(parents=True)
    try:
        return _measure(args, run_dir, started, (load_before, busy_before), fleets, small)
    finally:
        if args.keep:
            print(f"kept {run_dir} (git traces under trace/)")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@dataclass(frozen=True)
class Fleet:
    """One size of the run: its generated repo and that repo with the state file on."""

    size: Size
    repo: CachedRepo
    state: CachedRepo

    def names(self, primary: bool) -> tuple[str, str]:
        """Where the server serves it: the primary size as P1-P5 expect it."""
        from bench.scenarios import Bench

        if primary:
            return Bench.BIG, Bench.BIG_STATE
        return f"org/config-{self.size.apps}", f"org/config-{self.size.apps}-state"


def _measure(
    args: argparse.Namespace,
    run_dir: Path,
    started: float,
    before: tuple[str, str],
    fleets: list[Fleet],
    smalls: tuple[CachedRepo, CachedRepo] | None,
) -> int:
    from bench.machine import describe, load_average, others_busy
    from bench.metrics import P6, p6_metrics
    from bench.metrics import section as p6_section
    from bench.report import all_series, goals, markdown
    from bench.scenarios import (
        P1,
        P2,
        P3,
        P4,
        P5,
        Bench,
        p1_dev_promotion,
        p2_check,
        p3_fleet,
        p4_api_calls,
        p5_set_image,
    )
    from bench.stats import Series
    from support.githttp import GitServer
    from support.github_fake import GitHubFake

    first = fleets[0]
    big = first.repo
    reps = first.size.reps
    timeout = first.size.timeout
    kustomize = shutil.which("kustomize")
    kubectl = shutil.which("kubectl")
    notes: list[str] = []
    if not kustomize:
        notes.append(
            "No `kustomize` binary here: the guide flow's `kustomize edit set image` is the "
            "same one-line edit made with `sed`."
        )

    def log(text: str) -> None:
        print(text, flush=True)

    with GitHubFake() as api, GitServer(run_dir / "server", token=api.token) as git:
        served: list[tuple[str, CachedRepo]] = []
        for i, fleet in enumerate(fleets):
            plain, stateful = fleet.names(primary=i == 0)
            served += [(plain, fleet.repo), (stateful, fleet.state)]
        if smalls is not None:
            served += [(Bench.SMALL, smalls[0]), (Bench.SMALL_STATE, smalls[1])]
        for name, repo in served:
            shutil.copytree(repo.path, git.path(name), symlinks=True)
            owner, short = name.split("/")
            api.add_repo(owner, short, git.path(name))
        bench = Bench(
            quick=args.quick,
            reps=reps,
            timeout=timeout,
            run_dir=run_dir,
            git=git,
            api=api,
            big=big,
            small=smalls[0] if smalls else big,
            log=log,
            edit_with="kustomize" if kustomize else "sed",
            kubectl=kubectl,
        )
        for fleet in fleets:
            log(f"config repo: {fleet.size.label}, {fleet.size.reps} repetitions")
        skipped = Series("", failure="not run (--only)")
        p1 = P1(skipped, skipped)
        p2 = P2(skipped, skipped, skipped, skipped)
        p3s: list[P3] = []
        p4 = P4(failure="not run (--only)")
        p5 = P5(skipped, skipped, skipped)
        if "1" in args.only:
            log("P1: dev promotion, gitops-promote vs the guide's flow")
            p1 = p1_dev_promotion(bench)
        if "2" in args.only:
            log("P2: check on a one-overlay PR, small vs large repo")
            p2 = p2_check(bench)
        if "4" in args.only:
            log("P4: GitHub API calls per promotion PR")
            p4 = p4_api_calls(bench)
        if "5" in args.only:
            log("P5: set-image vs kubectl kustomize")
            p5 = p5_set_image(bench)
        p6s: list[P6] = []
        for i, fleet in enumerate(fleets):
            size = fleet.size
            if "3" in args.only:
                log(f"P3: status and soak --dry-run across every app, {size.label}")
                p3s.append(
                    p3_fleet(bench, fleet.repo, fleet.names(i == 0), size.reps, size.timeout)
                )
            if "6" in args.only:
                log(f"P6: metrics over the whole history vs one git log pass, {size.label}")
                p6s.append(
                    p6_metrics(
                        fleet.repo, run_dir, size.reps, size.timeout, log, fleet=size.p6_fleet
                    )
                )
        edit_with = bench.edit_with

    machine = describe(ROOT)
    load_after = load_average()
    busy = others_busy()
    results = (p1, p2, p3s, p4, p5)
    gaps = ROOT / "bench" / "gaps.md"
    elapsed = time.perf_counter() - started
    text = markdown(
        machine=machine,
        load_before=before[0],
        load_after=load_after,
        busy_before=before[1],
        busy_after=busy.describe() if busy else "unknown",
        elapsed=elapsed,
        quick=args.quick,
        reps=reps,
        fewer_reps=_fewer(fleets),
        repos=_repos(fleets, smalls[0] if smalls else None),
        edit_with=edit_with,
        results=results,
        notes=notes,
        command=_command(args),
    )
    if p6s:
        text += "\n" + p6_section(p6s)
    if gaps.is_file() and not args.quick:
        text += "\n" + gaps.read_text()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    raw = {
        "machine": asdict(machine),
        "load": {
            "before": before[0],
            "after": load_after,
            "others_before": before[1],
            "others_after": busy.describe() if busy else "unknown",
            "seconds": round(elapsed, 1),
        },
        "goals": [asdict(g) for g in goals(*results)],
        "series": [s.to_json() for s in all_series(results)],
        "p4": asdict(p4),
        "p6": [asdict(p6) for p6 in p6s],
    }
    out = ROOT / "bench" / "out" / "results.json"
    out.write_text(json.dumps(raw, indent=2, default=str))
    log("")
    for goal in goals(*results):
        log(
            f"{goal.key} {goal.what}: {goal.ours} vs {goal.baseline}: {goal.ratio}"
            f" -> {goal.verdict}"
        )
    log(f"\nwrote {args.output} and {out} in {time.perf_counter() - started:.0f} s")
    log(f"load average before {before[0]}, after {load_after}; other processes used")
    log(f"  {before[1]} at the start, {busy.describe() if busy else 'unknown'} at the end")
    if args.quick and elapsed > QUICK_BUDGET_S:
        print(
            f"warning: --quick took {elapsed:.0f} s, over its {QUICK_BUDGET_S:.0f} s budget",
            file=sys.stderr,
        )
    # the baselines' own failures (kubectl, the interpreter) are not ours to warn about
    baselines = {id(p5.kustomize), id(p5.python_floor)}
    everything = [s for s in all_series(results) if id(s) not in baselines]
    broken = [s.name for s in everything if s.failure and not s.timed_out and s.name]
    if p4.failure and "--only" not in p4.failure:
        broken.append("P4")
    if broken:
        print(f"warning: measurements failed: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


def _fewer(fleets: list[Fleet]) -> str:
    """`` (3 at 10,000 apps)``: the sizes that ran fewer repetitions than the first."""
    first = fleets[0].size.reps
    fewer = [f"{f.size.reps} at {f.size.apps:,} apps" for f in fleets if f.size.reps != first]
    return f" ({', '.join(fewer)})" if fewer else ""


def _repos(fleets: list[Fleet], small: CachedRepo | None) -> list[tuple[str, CachedRepo]]:
    """The repo table's rows: every size, with and without the state file, and the small."""
    rows: list[tuple[str, CachedRepo]] = []
    for i, fleet in enumerate(fleets):
        what = "P1-P6" if i == 0 else "P3, P6"
        rows += [(f"{fleet.size.apps:,} apps ({what})", fleet.repo)]
        rows += [(f"{fleet.size.apps:,} apps, state file on (P3)", fleet.state)]
    if small is not None:
        rows.append(("small (P2, P4)", small))
    return rows


def _command(args: argparse.Namespace) -> str:
    """The command line that made the report, as far as it changes what was measured."""
    words = ["python", "bench/run.py"]
    if args.quick:
        words.append("--quick")
    for flag in ("sizes", "apps", "commits", "reps"):
        value = getattr(args, flag)
        if value is not None and (flag != "reps" or args.reps_given):
            words += [f"--{flag}", str(value)]
    if args.only != "123456":
        words += ["--only", args.only]
    return " ".join(words)


if __name__ == "__main__":
    raise SystemExit(main())
