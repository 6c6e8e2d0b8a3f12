"""What the team's Rego policies add to the required check: ``gitops-promote check`` on a
one-app pull request of the large benchmark repo, without and with a few policies,
measured side by side in one run (interleaved rounds, the order alternating, so a machine
that gets busier or quieter weighs on both alike).

    python bench/policy.py                 # 2,000 apps x 3 envs, 20,000 commits, 5 rounds
    python bench/policy.py --quick         # 200 apps, 2,000 commits, 3 rounds

The two sides are the same repository and the same promotion (one app's dev digest into
staging); the policy side's base branch adds ``policies: [policy/]`` and four policies
(limits, ``:latest`` in the old ``deny[msg]`` form, a ``warn`` rule, a ``data``-driven
registry allow list). The goal (issue 15): policies add at most 20% to the check's wall
time. The generated repo is cached under ``bench/out/cache/`` (bench/gen.py).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
for entry in (ROOT / "tests", ROOT):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

NOW = "2026-06-01T12:00:00+00:00"  # a Monday noon: no freeze window in the generated config
GOAL = 1.20
_DIGEST = re.compile(r"digest:\s*(sha256:[0-9a-f]{64})")

POLICIES = {
    "policy/limits.rego": """package main

deny contains msg if {
  input.kind == "Deployment"
  some c in input.spec.template.spec.containers
  not c.resources.limits.memory
  msg := sprintf("container %s has no memory limit", [c.name])
}
""",
    "policy/latest.rego": """package main

deny[msg] {
  c := input.spec.template.spec.containers[_]
  endswith(c.image, ":latest")
  msg := sprintf("container %s runs %s: pin a version", [c.name, c.image])
}
""",
    "policy/labels.rego": """package main

warn contains msg if {
  input.kind == "Deployment"
  not input.metadata.labels.team
  msg := "Deployments should carry a team label"
}
""",
    "policy/registries.rego": """package main

deny contains msg if {
  some c in input.spec.template.spec.containers
  not allowed(c.image)
  msg := sprintf("container %s: %s is not from an allowed registry", [c.name, c.image])
}

allowed(image) if {
  some prefix in data.allowed_registries
  startswith(image, prefix)
}
""",
    "policy/registries.yaml": "allowed_registries: [ghcr.io/, registry.example/]\n",
}


def _prepare(bare: Path, work: Path, app: str) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A clone with, for each side, a base branch and a pull request branch promoting
    ``app``'s dev digest into staging (the same one-line change)."""
    from support import gitutil

    server = work / "server.git"
    shutil.copytree(bare, server, symlinks=True)
    config = gitutil.read_file(server, "main", "promotion.yaml").decode()
    gitutil.git("update-ref", "refs/heads/policies", "refs/heads/main", cwd=server)
    gitutil.commit_tree_to_bare(
        server,
        {"promotion.yaml": config + "policies: [policy/]\n", **POLICIES},
        branch="policies",
        message="chore: the team's policies",
        date=NOW.replace("12:00", "08:00"),
    )
    staging = f"apps/{app}/overlays/staging/kustomization.yaml"
    dev = gitutil.read_file(server, "main", f"apps/{app}/overlays/dev/kustomization.yaml")
    found = _DIGEST.search(dev.decode())
    text = gitutil.read_file(server, "main", staging).decode()
    current = _DIGEST.search(text)
    if found is None or current is None:
        raise SystemExit(f"error: {app} has no digest in dev or staging")
    promoted = text.replace(current.group(1), found.group(1))
    sides: dict[str, tuple[str, str]] = {}
    for side, base in (("without policies", "main"), ("with policies", "policies")):
        branch = f"pr-{base}"
        gitutil.git("update-ref", f"refs/heads/{branch}", f"refs/heads/{base}", cwd=server)
        gitutil.commit_tree_to_bare(
            server,
            {staging: promoted},
            branch=branch,
            message=f"chore(staging): promote {app}",
            date=NOW.replace("12:00", "10:00"),
        )
        sides[side] = (f"origin/{base}", f"origin/{branch}")
    clone = work / "clone"
    gitutil.git("clone", "-q", "--no-checkout", str(server), str(clone), cwd=work)
    return clone, sides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 apps, 2,000 commits")
    parser.add_argument("--apps", type=int, help="apps in the repo (default 2000)")
    parser.add_argument("--commits", type=int, help="commits in the repo (default 20000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; quick 3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    args = parser.parse_args(argv)

    from bench.gen import cached_repo
    from bench.machine import load_average
    from bench.procs import child_env, run_timed
    from bench.stats import Series

    apps = args.apps or (200 if args.quick else 2000)
    commits = args.commits or (2000 if args.quick else 20000)
    rounds = args.rounds or (3 if args.quick else 5)
    repo = cached_repo(apps, commits)
    app = repo.apps[len(repo.apps) // 2]
    tool = str(Path(sys.executable).with_name("gitops-promote"))
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="policy-", dir=out_dir))
    try:
        (work / "home").mkdir()
        clone, sides = _prepare(repo.path, work, app)
        env = child_env(work / "home")
        series = {side: Series(f"check, {len(repo.apps)} apps, {side}") for side in sides}
        verdicts: dict[str, list[str]] = {}
        print(f"{len(repo.apps)} apps, {repo.commits} commits; one PR promoting {app}")
        print(f"load before: {load_average()}")
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        for index in range(rounds + 1):  # round 0 warms the caches, not counted
            order = list(sides) if index % 2 else list(reversed(sides))
            walls: dict[str, float] = {}
            cpus: dict[str, float] = {}
            for side in order:
                base, head = sides[side]
                argv = [tool, "check", "--repo", str(clone), "--base", base, "--head", head]
                run = run_timed(
                    [*argv, "--now", NOW, "--json"], cwd=work, env=env, timeout=args.timeout
                )
                if run.returncode == 1 and not run.timed_out:  # a gate said no
                    run = run.__class__(run.argv, 0, run.wall, run.cpu, run.stdout, run.stderr)
                if not run.ok:
                    print(f"error: {side}: {run.describe_failure()}", file=sys.stderr)
                    return 1
                walls[side] = run.wall
                cpus[side] = run.cpu
                if index:
                    series[side].add(run)
                data = json.loads(run.stdout)
                verdicts[side] = [
                    f"{r['gate']}: {'ok' if r['passed'] else r['severity']}: {r['message']}"
                    for r in data["results"]
                    if r["gate"] == "policy"
                ]
            if index:
                ratios.append(walls["with policies"] / walls["without policies"])
                cpu_ratios.append(cpus["with policies"] / cpus["without policies"])
            print(
                f"  round {index}{' (warm-up)' if not index else ''}: "
                + ", ".join(f"{side} {walls[side]:.2f} s" for side in order)
            )
        print(f"load after: {load_average()}")
        for s in series.values():
            print(f"{s.name}: {s.cell()}, cpu {s.cpu_cell()}")
        paired = statistics.median(ratios)
        without = series["without policies"].median or 0.0
        with_ = series["with policies"].median or 0.0
        print(f"policy lines: {verdicts['with policies']}")
        print(
            f"with/without: median of paired ratios {paired:.3f}, ratio of medians "
            f"{with_ / without:.3f} (goal <= {GOAL:.2f}): "
            + ("met" if paired <= GOAL else "NOT met")
        )
        print(
            f"CPU time (the process tree: git, kustomize, the engine) with/without: median "
            f"of paired ratios {statistics.median(cpu_ratios):.3f}"
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
