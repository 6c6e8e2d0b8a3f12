"""``gitops-promote soak --shard K/N`` end to end: twelve apps on the HTTP git server and
the GitHub fake; four shards run at once (four processes, as a workflow matrix runs
them) against one remote, one unsharded run against an identical remote. Both end with
the same pins on main and the same promotion pull requests; the shards own disjoint sets
of targets that together are every target; their concurrent pushes to main all land
(retried, none lost, none twice)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gitops_promote.plan import shard as sharding
from support import gitutil, inprocess
from support.repos import Platform, Run, cli, digest_of

NOW = "2026-11-27T10:00:00+00:00"

PROMOTION_YAML = """\
version: 1
settings:
  base-branch: main
environments:
  - name: dev
    path: apps/{app}/dev
    mode: push
  - name: perf
    path: apps/{app}/perf
    from: dev
    mode: push
    soak: 30m
    auto: true
  - name: staging
    path: apps/{app}/staging
    from: dev
    mode: pull-request
    soak: 1h
    auto: true
apps:
"""

# twelve apps; two dependency chains (api <- worker <- mailer, auth <- gateway)
DEPENDS = {"worker": ["api"], "mailer": ["worker"], "gateway": ["auth"]}
APPS = (
    "api",
    "worker",
    "mailer",
    "auth",
    "gateway",
    "billing",
    "search",
    "frontend",
    "ledger",
    "reports",
    "notify",
    "media",
)
ENVS = ("dev", "perf", "staging")
SOAKED = [a for a in APPS if a != "media"]  # media: build 1 in dev too, nothing to promote


def _config() -> str:
    lines = []
    for app in APPS:
        deps = f", depends-on: [{', '.join(DEPENDS[app])}]" if app in DEPENDS else ""
        lines.append(f"  {app}: {{image: ghcr.io/myorg/{app}{deps}}}\n")
    return PROMOTION_YAML + "".join(lines)


def _path(app: str, env: str) -> str:
    return f"apps/{app}/{env}/kustomization.yaml"


def _overlay(app: str, build: int) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources: []\n"
        "images:\n"
        f"  - name: ghcr.io/myorg/{app}\n"
        f"    digest: {digest_of(f'{app}-{build}')}  # set by gitops-promote\n"
    )


def _build_history(bare: Path) -> None:
    """Build 1 everywhere on Nov 20; build 2 in dev for all but media on Nov 26 (soaked
    for perf's 30m and staging's 1h by Nov 27 10:00). The same commits on every remote."""
    tree: dict[str, gitutil.FileContent] = {"promotion.yaml": _config()}
    for app in APPS:
        for env in ENVS:
            tree[_path(app, env)] = _overlay(app, 1)
    gitutil.commit_tree_to_bare(
        bare, tree, message="Fleet", date="2026-11-20T10:00:00+00:00", replace=True
    )
    gitutil.commit_tree_to_bare(
        bare,
        {_path(app, "dev"): _overlay(app, 2) for app in SOAKED},
        message="dev: build 2",
        date="2026-11-26T09:00:00+00:00",
    )


def _fleet(platform: Platform, repo: str) -> str:
    """A new remote (git server and GitHub fake) holding the fleet's history."""
    owner, name = repo.split("/")
    bare = platform.git.create_bare(repo)
    platform.api.add_repo(owner, name, bare)
    _build_history(bare)
    return repo


def _race_the_first_pushes_to_main(bare: Path) -> None:
    """A pre-receive hook that holds the first push to main until a second one arrives
    (10 s at most): both were made on the same tip, one lands, the other is rejected
    (the ref moved under it) and must be retried from the new tip. Later pushes pass."""
    arrivals = bare / "arrivals"
    arrivals.mkdir()
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "main=0\n"
        'while read old new ref; do [ "$ref" = refs/heads/main ] && main=1; done\n'
        '[ "$main" = 1 ] || exit 0\n'
        f"touch '{arrivals}'/$$\n"
        "i=0\n"
        f"while [ \"$(ls '{arrivals}' | wc -l)\" -lt 2 ] && [ $i -lt 100 ]; do\n"
        "  sleep 0.1; i=$((i + 1))\n"
        "done\n"
        "exit 0\n"
    )
    hook.chmod(0o755)


def _pins(bare: Path, ref: str = "main") -> dict[tuple[str, str], str]:
    return {
        (app, env): gitutil.read_file(bare, ref, _path(app, env)).decode()
        for app in APPS
        for env in ENVS
    }


def _soak(
    platform: Platform, repo: str, cwd: Path, *args: str, run: Callable[..., Run] = cli
) -> dict[str, Any]:
    """A soak run (a child process by default: four at once, as a matrix runs them)."""
    cwd.mkdir(parents=True, exist_ok=True)
    done: Run = run(
        "soak", "--config-repo", repo, "--json", "--now", NOW, *args, cwd=cwd, env=platform.env
    )
    assert platform.api.token not in done.output
    assert "Traceback" not in done.output
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _pull_requests(platform: Platform, repo: str) -> dict[str, tuple[str, str, str]]:
    """head branch -> (base, title, the staging overlay's content on the head)."""
    bare = platform.git.path(repo)
    out = {}
    for pull in platform.api.pulls(repo, state="open"):
        app = next(a for a in APPS if pull.head.endswith(f"/{a}"))
        content = gitutil.read_file(bare, pull.head_sha, _path(app, "staging")).decode()
        out[pull.head] = (pull.base, pull.title, content)
    return out


def _first_parent_since(bare: Path, since: str) -> list[str]:
    return gitutil.git("rev-list", "--first-parent", f"{since}..main", cwd=bare).split()


def _files_of(bare: Path, commit: str) -> list[str]:
    text = gitutil.git("diff-tree", "--no-commit-id", "--name-only", "-r", commit, cwd=bare)
    return text.split()


def test_four_concurrent_shards_do_what_one_unsharded_run_does(
    platform: Platform, tmp_path: Path
) -> None:
    sharded, solo = _fleet(platform, "org/fleet"), _fleet(platform, "org/solo")
    _race_the_first_pushes_to_main(platform.git.path(sharded))
    start = gitutil.rev_parse(platform.git.path(sharded), "main")
    assert start == gitutil.rev_parse(platform.git.path(solo), "main")  # identical remotes

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(_soak, platform, sharded, tmp_path / f"shard{k}", "--shard", f"{k}/4")
            for k in range(1, 5)
        ]
        shards = [f.result() for f in futures]
    whole = _soak(platform, solo, tmp_path / "solo")

    # the shards own disjoint sets of targets, together every target, dependencies together
    owned = [{(t["env"], t["app"]) for t in s["targets"]} for s in shards]
    assert [s["shard"] for s in shards] == [
        {"index": k, "count": 4, "targets": len(o)} for k, o in zip(range(1, 5), owned, strict=True)
    ]
    everything = {(t["env"], t["app"]) for t in whole["targets"]}
    assert len(everything) == len(APPS) * 2
    assert set().union(*owned) == everything
    assert sum(len(o) for o in owned) == len(everything)
    assert sum(1 for o in owned if o) >= 2  # the split spreads twelve apps
    for chain in (("api", "worker", "mailer"), ("auth", "gateway")):
        assert len({k for k, o in enumerate(owned) for (_, a) in o if a in chain}) == 1
    assert "shard" not in whole

    # every target got the same verdict and outcome either way
    def verdicts(targets: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, str]]:
        return {(t["env"], t["app"]): (t["status"], t["outcome"]) for t in targets}

    assert verdicts([t for s in shards for t in s["targets"]]) == verdicts(whole["targets"])
    assert sum(s["failed"] for s in shards) == whole["failed"] == 0
    assert sum(s["promoted"] for s in shards) == whole["promoted"]
    pushed = [t for s in shards for t in s["targets"] if t["operation"] == "pushed"]
    assert {t["app"] for t in pushed} == set(SOAKED) - {"worker", "mailer", "gateway"}
    statuses = verdicts(whole["targets"])
    assert statuses[("perf", "worker")][0] == "blocked"  # api is promoted in this very run

    # the same pins on main, the same pull requests
    assert _pins(platform.git.path(sharded)) == _pins(platform.git.path(solo))
    assert _pull_requests(platform, sharded) == _pull_requests(platform, solo)
    assert len(_pull_requests(platform, solo)) == whole["promoted"] - len(pushed)

    # every concurrent push landed once: one first-parent commit per pushed target, each
    # touching only its overlay, the reported commit on main
    bare = platform.git.path(sharded)
    landed = _first_parent_since(bare, start)
    assert len(landed) == len(pushed)
    touched = sorted(f for c in landed for f in _files_of(bare, c))
    assert touched == sorted(_path(t["app"], "perf") for t in pushed)
    for t in pushed:
        assert t["commit"] in landed
    assert len(_first_parent_since(platform.git.path(solo), start)) == len(pushed)
    pushes = [
        r
        for r in platform.git.requests
        if r.method == "POST" and r.path.endswith("org/fleet.git/git-receive-pack")
    ]
    opened = whole["promoted"] - len(pushed)
    # one push per commit and per PR branch, and at least one more: the push to main the
    # hook raced and that was rejected, then retried from the new tip
    assert len(pushes) > len(pushed) + opened
    print(f"{len(pushes)} pushes for {len(pushed)} commits on main and {opened} PR branches")


def test_a_shard_that_owns_nothing_reports_zero_targets_and_writes_nothing(
    platform: Platform, tmp_path: Path
) -> None:
    """With more shards than apps, some shards are empty: they succeed and say so."""
    repo = _fleet(platform, "org/fleet")
    bare = platform.git.path(repo)
    start = gitutil.rev_parse(bare, "main")
    where = sharding.split(APPS, DEPENDS, 40)
    empty = next(k for k in range(1, 41) if k not in where.values())
    data = _soak(platform, repo, tmp_path, "--shard", f"{empty}/40", run=inprocess.cli)
    assert data["shard"] == {"index": empty, "count": 40, "targets": 0}
    assert data["targets"] == []
    assert gitutil.rev_parse(bare, "main") == start
    assert platform.api.pulls(repo) == []


def test_text_output_says_which_shard_and_how_many_targets(
    platform: Platform, tmp_path: Path
) -> None:
    repo = _fleet(platform, "org/fleet")
    mine = sharding.split(APPS, DEPENDS, 2)
    count = sum(2 for a in APPS if mine[a] == 2)
    run = inprocess.cli(
        "soak",
        "--config-repo",
        repo,
        "--dry-run",
        "--now",
        NOW,
        "--shard",
        "2/2",
        cwd=tmp_path,
        env=platform.env,
    )
    assert run.stdout.splitlines()[-1] == f"shard 2/2: {count} targets"
    for app in APPS:
        assert (f"perf/{app} " in run.stdout) == (mine[app] == 2)


def test_bad_shard_values_exit_2_with_one_line(platform: Platform, tmp_path: Path) -> None:
    for bad in ("0/4", "5/4", "x", "1/4\n::error::pwned"):
        run = inprocess.cli(
            "soak",
            "--config-repo",
            platform.repo,
            "--shard",
            bad,
            "--dry-run",
            cwd=tmp_path,
            env=platform.env,
            check=2,
        )
        assert "Traceback" not in run.output
        assert run.stdout == ""
        errors = [line for line in run.stderr.splitlines() if line.startswith("error")]
        assert len(errors) == 1, run.stderr
        assert not any(line.startswith("::") for line in run.output.splitlines())
