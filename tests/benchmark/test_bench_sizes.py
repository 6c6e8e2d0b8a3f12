"""The benchmark's sizes, P3's floors and verdicts, and the peak memory it reports: pieces
whose mistakes would go unnoticed in a report. Speed itself is measured only by
``bench/run.py``, never here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.metrics import STATE_FLOOR  # noqa: E402 - the repo root is on the path from here
from bench.procs import Timed, _peak_kb, run_timed  # noqa: E402
from bench.report import P3_PEAK_MB, p3_goals, peak_goals  # noqa: E402
from bench.scenarios import P3, P3_FLOOR_SCRIPT, P3_STATE_FLOOR_SCRIPT  # noqa: E402
from bench.sizes import BIG_REPS, SizeError, parse_sizes, plan  # noqa: E402
from bench.stats import Series  # noqa: E402

from support import gitutil  # noqa: E402
from support.githttp import GitServer  # noqa: E402
from support.repos import child_env, digest_of  # noqa: E402


def test_sizes_are_app_counts_in_the_order_given() -> None:
    assert parse_sizes("2000,10000") == (2000, 10_000)
    assert parse_sizes(" 10_000 ") == (10_000,)
    assert parse_sizes("200,200,2000") == (200, 2000)
    for bad in ("", "2000,", "ten", "-5", "5", "1e4", "2000;rm -rf /"):
        with pytest.raises(SizeError, match="--sizes takes app counts"):
            parse_sizes(bad)


def test_the_ten_thousand_app_size_runs_fewer_repetitions_with_more_time() -> None:
    small, big = plan((2000, 10_000), reps=5, timeout=300.0)
    assert (small.apps, small.commits, small.reps, small.timeout) == (2000, 20_000, 5, 300.0)
    assert (big.apps, big.commits, big.reps, big.timeout) == (10_000, 100_000, BIG_REPS, 1500.0)
    assert big.label == "10,000 apps x 100,000 commits"
    assert small.p6_fleet
    assert not big.p6_fleet
    only = plan((10_000,), reps=1, timeout=300.0)
    assert [(s.apps, s.reps) for s in only] == [(10_000, 1)]
    # --commits applies to the first size only
    assert [s.commits for s in plan((200, 2000), reps=2, timeout=1, commits=50)] == [50, 20_000]


def _series(name: str, walls: list[float], cpus: list[float], peaks_mb: int = 0) -> Series:
    s = Series(name)
    s.walls, s.cpus = walls, cpus
    s.peaks_kb = [peaks_mb * 1000 * 1000 // 1024] if peaks_mb else []
    return s


def _p3(apps: int, ours: tuple[float, float], floor: tuple[float, float], peak: int = 0) -> P3:
    def mine(name: str) -> Series:
        return _series(name, [ours[0]], [ours[1]], peak)

    return P3(
        mine("status"),
        mine("soak"),
        mine("status-state"),
        mine("soak-state"),
        _series("floor", [floor[0]], [floor[1]]),
        _series("floor-state", [floor[0] / 2], [floor[1] / 2]),
        apps,
        apps * 10,
    )


def test_p3_is_met_within_twice_its_own_floor_in_wall_and_cpu() -> None:
    got = [(g.what.split(",")[0], g.ratio, g.met) for g in p3_goals(_p3(2000, (3, 2), (2, 1.5)))]
    assert got[0] == ("status", "1.50x wall, 1.33x CPU", True)
    # the state-file rows compare with the state-file floor (here half the other)
    assert got[2] == ("status", "3.00x wall, 2.67x CPU", False)
    # within 2x in wall but not in CPU: not met
    cpu_heavy = p3_goals(_p3(2000, (3.0, 4.0), (2.0, 1.5)))[0]
    assert (cpu_heavy.ratio, cpu_heavy.met) == ("1.50x wall, 2.67x CPU", False)
    p3 = _p3(2000, (3, 2), (2, 1.5))
    assert p3.floor_of(p3.floor_state) is p3.floor_state
    assert p3.floor_of(p3.soak_state) is p3.floor_state
    assert p3.floor_of(p3.soak) is p3.floor
    failed = _p3(2000, (3, 2), (2, 1.5))
    failed.floor.failure = "exit 128: fatal"
    assert p3_goals(failed)[0].met is None


def test_peak_memory_is_judged_at_ten_thousand_apps_only() -> None:
    assert [g.met for g in peak_goals([_p3(2000, (1, 1), (1, 1), peak=900)])] == [None, None]
    light = peak_goals([_p3(2000, (1, 1), (1, 1), 900), _p3(10_000, (1, 1), (1, 1), 250)])
    assert [(g.ours, g.met) for g in light] == [("250 MB / 250 MB", True)] * 2
    heavy = peak_goals([_p3(10_000, (1, 1), (1, 1), int(P3_PEAK_MB) + 1)])
    assert [g.met for g in heavy] == [False, False]
    assert "10,000 apps" in heavy[0].what
    half = _p3(10_000, (1, 1), (1, 1), int(P3_PEAK_MB) + 1)
    half.status_state.failure = "timed out after 9 s"
    assert peak_goals([half])[0].met is False  # a known peak over the limit: missed


def test_the_peak_is_the_largest_process_not_this_ones_size(tmp_path: Path) -> None:
    env = child_env(tmp_path)
    small = run_timed(["git", "--version"], cwd=tmp_path, env=env, timeout=30)
    assert small.ok
    assert 0 < small.peak_kb < 30_000  # git alone: a few MB, not the forking Python's size
    big = run_timed(
        [sys.executable, "-c", "b = bytearray(120 * 2**20); b[::4096] = b'x' * len(b[::4096])"],
        cwd=tmp_path,
        env=env,
        timeout=30,
    )
    assert big.ok
    assert big.peak_kb > 120 * 1024
    s = Series("x")
    s.add(big)
    s.add(Timed(("y",), 0, 1.0, 1.0, "", "", peak_kb=1024))
    assert s.peak_mb == pytest.approx(big.peak_kb * 1024 / 1e6)
    (tmp_path / "m").write_text("Command exited with non-zero status 3\n2048\n")
    assert _peak_kb(tmp_path / "m") == 2048
    assert _peak_kb(tmp_path / "absent") == 0


def _fleet(bare: Path) -> None:
    tree: dict[str, gitutil.FileContent] = {
        "promotion.yaml": "version: 1\n",
        "versions.json": "{}\n",
        "VERSIONS.md": "# versions\n",
    }
    for i in range(5):
        app = f"app-{i}"
        tree[f"apps/{app}/base/kustomization.yaml"] = "resources: [deployment.yaml]\n"
        for env in ("dev", "staging"):
            tree[f"apps/{app}/overlays/{env}/kustomization.yaml"] = f"digest: {digest_of(app)}\n"
    gitutil.commit_tree_to_bare(bare, tree, message="fleet", replace=True)


def test_the_state_floor_reads_the_state_file_and_every_overlay_and_nothing_else(
    tmp_path: Path,
) -> None:
    bare = tmp_path / "r.git"
    gitutil.git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    _fleet(bare)
    traced = STATE_FLOOR[-1].replace(">/dev/null", "| grep -c ' blob '")
    proc = subprocess.run(
        [*STATE_FLOOR[:-1], traced], cwd=bare, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "11"  # versions.json and 5 apps x 2 overlays


def test_the_p3_floors_clone_from_the_server_and_succeed(
    git_server: GitServer, tmp_path: Path
) -> None:
    _fleet(git_server.create_bare("org/p3"))
    url = git_server.url("org/p3").replace("http://", f"http://x:{git_server.token}@", 1)
    for i, script in enumerate((P3_FLOOR_SCRIPT, P3_STATE_FLOOR_SCRIPT)):
        cwd = tmp_path / str(i)
        cwd.mkdir()
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=cwd,
            env=child_env(tmp_path, {"CONFIG_REPO_URL": url}),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert git_server.token not in proc.stdout + proc.stderr
        shallow = gitutil.git("rev-parse", "--is-shallow-repository", cwd=cwd / "floor.git")
        assert shallow.strip() == ("true" if script is P3_STATE_FLOOR_SCRIPT else "false")


def test_our_own_peak_leaves_out_the_children_and_judges_the_goal(tmp_path: Path) -> None:
    # a "console script" that stays small itself while a child grows to ~150 MB, and
    # checks that the child does not inherit the wrapper's variable
    script = tmp_path / "tool"
    script.write_text(
        "import os, subprocess, sys\n"
        "assert 'BENCH_OWN_PEAK' not in os.environ\n"
        "code = 'import os; b = bytearray(150 * 1024 * 1024); "
        'assert "BENCH_OWN_PEAK" not in os.environ\'\n'
        "subprocess.run([sys.executable, '-c', code], check=True)\n"
        "sys.exit(0)\n"
    )
    run = run_timed([str(script)], cwd=tmp_path, env=child_env(tmp_path), timeout=60, own_peak=True)
    assert run.ok, run.stderr
    assert run.peak_kb > 150 * 1024  # the tree: the child's bytearray
    assert 0 < run.own_peak_kb < 60 * 1024  # ours alone: an interpreter, no bytearray
    s = Series("status")
    assert s.add(run)
    assert s.peak_cell() == f"{s.peak_mb:.0f} MB (ours {s.own_peak_mb:.0f} MB)"
    # the goal is judged on our own process: a 600 MB git child does not miss it
    p3 = _p3(10_000, (1, 1), (1, 1), peak=600)
    for series in (p3.status, p3.status_state, p3.soak, p3.soak_state):
        series.own_peaks_kb = [200 * 1000 * 1000 // 1024]
    assert [g.met for g in peak_goals([p3])] == [True, True]
    p3.soak_state.own_peaks_kb = [int(P3_PEAK_MB + 1) * 1000 * 1000 // 1024]
    assert [g.met for g in peak_goals([p3])] == [True, False]
