"""A sharded check on a fleet with a state file: the pull request hand-edits an entry of
versions.json (a gate of the whole pull request, judged from every touched target's pins),
besides a base all overlays build from. Shard 1 alone reports the state file's problems,
judged as the unsharded check judges them; the four verdicts combine into its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from check.test_check_shard import APPS, ENVS, _base, _config, _overlay
from support import gitutil
from support.inprocess import cli
from support.repos import digest_of

NOW = "2026-11-27T10:00:00+00:00"


def test_shard_1_alone_judges_the_state_file_as_the_unsharded_check(tmp_path: Path) -> None:
    root = gitutil.init_repo(tmp_path / "config")
    config = _config().replace(
        "  base-branch: main\n", "  base-branch: main\n  state-file: versions.json\n"
    )
    tree: dict[str, gitutil.FileContent] = {
        "promotion.yaml": config,
        "base/kustomization.yaml": _base("info"),
    }
    tree |= {f"apps/{a}/{e}/kustomization.yaml": _overlay(a, 1) for a in APPS for e in ENVS}
    gitutil.commit_files(root, tree, message="fleet", date="2026-11-20T10:00:00+00:00")
    cli("validate", "--repo", str(root), "--write-state")
    gitutil.commit_files(root, {}, message="state", date="2026-11-20T11:00:00+00:00")
    gitutil.git("switch", "-q", "-c", "pr", cwd=root)
    state = (root / "versions.json").read_text()
    assert digest_of("ledger-1") in state
    gitutil.commit_files(
        root,
        {
            "base/kustomization.yaml": _base("debug"),
            "versions.json": state.replace(digest_of("ledger-1"), digest_of("ledger-7"), 1),
        },
        message="debug logging, and a hand edit",
        date="2026-11-26T10:00:00+00:00",
    )
    gitutil.git("switch", "-q", "main", cwd=root)
    args = (
        "check",
        "--repo",
        str(root),
        "--base-branch",
        "main",
        "--base",
        "main",
        "--head",
        "pr",
        "--now",
        NOW,
        "--no-render",
        "--json",
    )
    whole = cli(*args, check=None)
    doc = json.loads(whole.stdout)
    assert any(r["gate"] == "state" and not r["passed"] for r in doc["results"]), doc["results"]
    out = tmp_path / "verdicts"
    out.mkdir()
    for k in range(1, 5):
        run = cli(*args, "--shard", f"{k}/4", check=None)
        part = json.loads(run.stdout)
        has_state = any(r["gate"] == "state" for r in part["results"])
        assert has_state == (k == 1)
        (out / f"{k}.json").write_text(run.stdout)
    combined = cli("check", "--combine", str(out), "--json", check=None)
    assert combined.returncode == whole.returncode
    assert combined.stdout == whole.stdout
