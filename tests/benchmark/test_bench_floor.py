"""The benchmark's own pieces that a wrong result would go unnoticed in: the plain-git
floor of a dev promotion really is one sparse, blob-less, depth-1 clone whose one commit
lands on the remote (and nothing else); the floor goal compares against it; the load
sample names no process of the benchmark's own tree. Speed itself is measured only by
``bench/run.py``, never here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import others_busy  # noqa: E402 - the repo root is on the path from here
from bench.report import goals  # noqa: E402
from bench.scenarios import FLOOR_SCRIPT, P1, P2, P3, P4, P5  # noqa: E402
from bench.stats import Series  # noqa: E402

from support import gitutil  # noqa: E402
from support.githttp import GitServer  # noqa: E402
from support.repos import child_env, digest_of  # noqa: E402

APPS = [f"app-{i:03d}" for i in range(30)]


def _overlay(app: str, n: int) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
        f"images:\n  - name: ghcr.io/myorg/{app}\n    digest: {digest_of(f'{app}-{n}')}\n"
    )


def test_the_floor_script_makes_one_commit_of_one_overlay_from_a_sparse_clone(
    git_server: GitServer, tmp_path: Path
) -> None:
    bare = git_server.create_bare("org/config")
    tree: dict[str, gitutil.FileContent] = {"promotion.yaml": "version: 1\n"}
    for app in APPS:
        for name in ("dev", "staging"):
            tree[f"apps/{app}/overlays/{name}/kustomization.yaml"] = _overlay(app, 1)
    start = gitutil.commit_tree_to_bare(bare, tree, message="fleet", replace=True)
    url = git_server.url("org/config").replace("http://", f"http://x:{git_server.token}@", 1)
    digest = digest_of("new")
    env = child_env(
        tmp_path,
        {"CONFIG_REPO_URL": url, "APP": "app-007", "IMAGE_DIGEST": digest},
    )
    proc = subprocess.run(
        ["bash", "-c", FLOOR_SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert git_server.token not in proc.stdout + proc.stderr
    tip = gitutil.rev_parse(bare, "main")
    assert gitutil.git("rev-parse", f"{tip}^", cwd=bare).strip() == start
    changed = gitutil.git("diff", "--name-only", start, tip, cwd=bare).split()
    assert changed == ["apps/app-007/overlays/dev/kustomization.yaml"]
    assert digest in gitutil.read_file(bare, "main", changed[0]).decode()
    clone = tmp_path / "floor"
    assert gitutil.git("rev-parse", "--is-shallow-repository", cwd=clone).strip() == "true"
    checked_out = sorted(
        str(p.relative_to(clone)) for p in clone.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    assert checked_out == ["apps/app-007/overlays/dev/kustomization.yaml", "promotion.yaml"]
    # blob-less: the local object store holds a handful of blobs, not the fleet's sixty
    blobs = gitutil.git(
        "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)", cwd=clone
    ).split()
    assert 0 < blobs.count("blob") <= 3


def _series(name: str, *walls: float) -> Series:
    s = Series(name)
    s.walls, s.cpus = list(walls), list(walls)
    return s


def _goals(ours: Series, guide: Series, floor: Series) -> list[tuple[str, bool | None]]:
    skip = Series("", failure="not run")
    out = goals(
        P1(ours, guide, floor),
        P2(skip, skip, skip, skip),
        [P3(skip, skip, skip, skip)],
        P4(),
        P5(skip, skip, skip),
    )
    return [(g.ratio, g.met) for g in out if g.key == "P1"]


def test_the_floor_goal_is_our_median_over_the_floors() -> None:
    got = _goals(
        _series("ours", 1.0, 1.2, 1.1),
        _series("guide", 15, 14, 16),
        _series("floor", 0.6, 0.5, 0.7),
    )
    end_to_end, floor = got
    assert floor == ("1.83x the floor", True)
    assert end_to_end[1] is True
    assert "slowest repetition 11.7x" in end_to_end[0]
    slow = _goals(_series("ours", 2.0), _series("guide", 30.0), _series("floor", 0.5))
    assert slow[1] == ("4.00x the floor", False)


def test_ten_times_faster_must_hold_in_every_repetition() -> None:
    got = _goals(_series("ours", 1.0, 1.0, 1.4), _series("guide", 15, 15, 12), _series("f", 0.6))
    assert got[0][1] is False  # median 15x, but 12/1.4 < 10 in one repetition


def test_a_floor_that_did_not_run_is_not_measured_not_met() -> None:
    got = _goals(_series("ours", 1.0), _series("guide", 15), Series("f", failure="exit 128"))
    assert got[1] == ("-", None)


def test_the_load_sample_leaves_out_the_benchmarks_own_children() -> None:
    """A busy child of this process (as the measured commands are) is not 'another
    process'; the sample still reads the rest of the machine."""
    marker = "benchspin"
    spin = subprocess.Popen(
        ["bash", "-c", f"exec -a {marker} bash -c 'while :; do :; done'"],
        env={"PATH": os.environ["PATH"]},
    )
    try:
        busy = others_busy(0.5)
    finally:
        spin.kill()
        spin.wait()
    assert busy is not None
    assert busy.cores >= 0
    assert all(name != marker for name, _ in busy.top)
    assert "cores" in busy.describe()
