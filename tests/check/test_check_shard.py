"""``gitops-promote check --shard K/N`` and ``check --combine``, through the CLI on a real git
repository: a pull request that changes a base every overlay of twelve apps x three envs
builds from (two dependency chains among the apps), repins one app against its upstream (a
failing gate) and edits promotion.yaml (a gate of the whole pull request). Four shards
judge disjoint parts whose union is the unsharded check's; their verdicts combined are the
unsharded verdict, byte for byte, with its exit code and its text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support import gitutil
from support.inprocess import cli
from support.repos import Run, digest_of

NOW = "2026-11-27T10:00:00+00:00"
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
ENVS = ("dev", "staging", "prod")
N = 4


def _config(extra: str = "") -> str:
    apps = "".join(
        f"  {app}: {{image: ghcr.io/myorg/{app}"
        + (f", depends-on: [{', '.join(DEPENDS[app])}]" if app in DEPENDS else "")
        + "}\n"
        for app in APPS
    )
    return (
        "version: 1\n"
        "settings:\n"
        "  base-branch: main\n"
        "environments:\n"
        "  - name: dev\n"
        "    path: apps/{app}/dev\n"
        "  - name: staging\n"
        "    path: apps/{app}/staging\n"
        "    from: dev\n"
        "    soak: 1h\n"
        "  - name: prod\n"
        "    path: apps/{app}/prod\n"
        "    from: staging\n"
        "    soak: 1h\n"
        f"apps:\n{apps}{extra}"
    )


def _overlay(app: str, build: int) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - ../../../base\n"
        "images:\n"
        f"  - name: ghcr.io/myorg/{app}\n"
        f"    digest: {digest_of(f'{app}-{build}')}  # set by gitops-promote\n"
    )


def _base(level: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "configMapGenerator:\n"
        "  - name: shared\n"
        f"    literals: [LOG_LEVEL={level}]\n"
        "generatorOptions:\n"
        "  disableNameSuffixHash: true\n"
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main: build 1 everywhere; branch pr: the shared base changed, billing's staging
    repinned to a build dev never ran (upstream fails), promotion.yaml edited, a doc."""
    root = gitutil.init_repo(tmp_path_factory.mktemp("fleet") / "config")
    tree: dict[str, gitutil.FileContent] = {
        "promotion.yaml": _config(),
        "base/kustomization.yaml": _base("info"),
    }
    tree |= {f"apps/{a}/{e}/kustomization.yaml": _overlay(a, 1) for a in APPS for e in ENVS}
    gitutil.commit_files(root, tree, message="fleet", date="2026-11-20T10:00:00+00:00")
    gitutil.git("switch", "-q", "-c", "pr", cwd=root)
    gitutil.commit_files(
        root,
        {
            "base/kustomization.yaml": _base("debug"),
            "apps/billing/staging/kustomization.yaml": _overlay("billing", 9),
            "promotion.yaml": _config("# reviewed\n"),
            "docs/notes.md": "notes\n",
        },
        message="debug logging everywhere",
        date="2026-11-26T10:00:00+00:00",
    )
    gitutil.git("switch", "-q", "main", cwd=root)
    return root


def _check(repo: Path, *extra: str, code: int | None = None) -> Run:
    return cli(
        "check",
        "--repo",
        str(repo),
        "--base-branch",
        "main",
        "--base",
        "main",
        "--head",
        "pr",
        "--now",
        NOW,
        "--no-render",  # seconds, not half a minute: 36 targets x 6 runs of kustomize
        *extra,
        check=code,
    )


@pytest.fixture(scope="module")
def runs(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One unsharded check (JSON and text) and the four shards' JSON verdicts, on disk."""
    out = tmp_path_factory.mktemp("verdicts")
    whole = _check(repo, "--json")
    text = _check(repo)
    shards = []
    for k in range(1, N + 1):
        run = _check(repo, "--json", "--shard", f"{k}/{N}")
        (out / f"shard-{k}").mkdir()
        (out / f"shard-{k}" / "verdict.json").write_text(run.stdout, encoding="utf-8")
        shards.append(run)
    return {"whole": whole, "text": text, "shards": shards, "dir": out}


def _keys(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["app"], t["env"]) for t in doc["targets"]]


def test_the_shards_judge_disjoint_parts_whose_union_is_the_whole_check(
    runs: dict[str, Any],
) -> None:
    whole = json.loads(runs["whole"].stdout)
    assert runs["whole"].returncode == 1
    assert len(whole["targets"]) == len(APPS) * len(ENVS)
    parts = [json.loads(r.stdout) for r in runs["shards"]]
    seen: list[tuple[str, str]] = [k for p in parts for k in _keys(p)]
    assert len(seen) == len(set(seen))
    assert set(seen) == set(_keys(whole))
    for k, part in enumerate(parts, start=1):
        assert part["shard"]["index"] == k
        assert part["shard"]["count"] == N
        assert (part["base"], part["head"]) == (whole["base"], whole["head"])
        # a group of dependent apps is judged in one shard
        apps = {a for a, _ in _keys(part)}
        for app, deps in DEPENDS.items():
            assert (app in apps) == all(d in apps for d in deps)
    # the failing gate fails its shard only, with exit 1, as a matrix job should
    failing = [
        k
        for k, p in enumerate(parts)
        if any(r["app"] == "billing" and not r["passed"] for r in p["results"])
    ]
    assert [runs["shards"][k].returncode for k in failing] == [1]
    assert all(r.returncode in (0, 1) for r in runs["shards"])


def test_shard_1_alone_judges_what_is_not_of_one_app(runs: dict[str, Any]) -> None:
    parts = [json.loads(r.stdout) for r in runs["shards"]]
    config = [r for r in parts[0]["results"] if r["gate"] == "config"]
    assert config
    assert config[0]["app"] is None
    for part in parts[1:]:
        assert all(r["app"] is not None for r in part["results"])
        assert part["notes"] == [] or all(" in " in n for n in part["notes"])


def test_combined_shards_are_the_unsharded_verdict(runs: dict[str, Any]) -> None:
    combined = cli("check", "--combine", str(runs["dir"]), "--json", check=None)
    assert combined.returncode == runs["whole"].returncode == 1
    assert combined.stdout == runs["whole"].stdout
    text = cli("check", "--combine", str(runs["dir"]), check=None)
    assert text.returncode == 1
    assert text.stdout == runs["text"].stdout


def test_the_order_of_the_files_does_not_matter(runs: dict[str, Any]) -> None:
    files = sorted(runs["dir"].rglob("*.json"), reverse=True)
    combined = cli("check", "--combine", *map(str, files), "--json", check=None)
    assert combined.stdout == runs["whole"].stdout


def _refused(*files: Path) -> Run:
    run = cli("check", "--combine", *map(str, files), check=2)
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    return run


def test_combine_refuses_a_missing_or_duplicate_shard(runs: dict[str, Any]) -> None:
    files = sorted(runs["dir"].rglob("*.json"))
    run = _refused(*files[:3])
    assert "shard(s) 4 of 4 missing" in run.stderr
    # the same file named twice (itself and its directory) is read once
    same = cli("check", "--combine", *map(str, files), str(files[0].parent), check=1)
    assert same.stdout == runs["text"].stdout
    copy = runs["dir"].parent / "copy.json"
    copy.write_text(files[1].read_text())
    run = _refused(*files, copy)
    assert "is shard 2/4 again" in run.stderr


def test_combine_refuses_mixed_counts_and_other_commits(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    files = sorted(runs["dir"].rglob("*.json"))
    docs = [json.loads(f.read_text()) for f in files]
    other = dict(docs[3], head="0" * 40)
    (tmp_path / "other.json").write_text(json.dumps(other))
    run = _refused(*files[:3], tmp_path / "other.json")
    assert "judged another head" in run.stderr
    mixed = dict(docs[3], shard=dict(docs[3]["shard"], count=5))
    (tmp_path / "mixed.json").write_text(json.dumps(mixed))
    run = _refused(*files[:3], tmp_path / "mixed.json")
    assert "one of 4" in run.stderr or "of 5" in run.stderr


def test_shards_judged_at_different_clocks_combine_at_the_latest(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    files = sorted(runs["dir"].rglob("*.json"))
    later = dict(json.loads(files[2].read_text()), now="2026-11-27T10:03:00+00:00")
    (tmp_path / "later.json").write_text(json.dumps(later))
    combined = cli(
        "check",
        "--combine",
        *map(str, files[:2]),
        str(tmp_path / "later.json"),
        str(files[3]),
        "--json",
        check=1,
    )
    assert json.loads(combined.stdout)["now"] == "2026-11-27T10:03:00+00:00"
    later["now"] = "yesterday"
    (tmp_path / "later.json").write_text(json.dumps(later))
    run = _refused(*files[:2], tmp_path / "later.json", files[3])
    assert "'now' is not an ISO 8601 time" in run.stderr


@pytest.mark.parametrize(
    "forge",
    [
        lambda d: [d],
        lambda d: {k: v for k, v in d.items() if k != "shard"},
        lambda d: dict(d, passed=not d["passed"]),
        lambda d: dict(d, base="main\n::error::owned"),
        lambda d: dict(d, results=[dict(r, line="7") for r in d["results"]]),
        lambda d: dict(d, notes=["x" * 1_000_001]),
        lambda d: dict(d, shard=dict(d["shard"], index=0)),
        lambda d: dict(d, shard=dict(d["shard"], **{"target-results": [99]})),
        lambda d: dict(d, targets=[*d["targets"], d["targets"][0]] if d["targets"] else [1]),
    ],
)
def test_combine_refuses_a_file_that_is_not_a_shard_verdict(
    runs: dict[str, Any], tmp_path: Path, forge: Any
) -> None:
    files = sorted(runs["dir"].rglob("*.json"))
    doc = json.loads(files[0].read_text())
    (tmp_path / "forged::\nname.json").write_text(json.dumps(forge(doc)))
    run = _refused(tmp_path / "forged::\nname.json", *files[1:])
    assert "is not a check shard verdict" in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2  # the error and its hint
    assert "\n::" not in run.stderr


def test_combine_refuses_what_is_not_json_or_not_there(tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text("{nope")
    assert "is not JSON" in _refused(tmp_path / "junk.json").stderr
    assert "is not a file or directory" in _refused(tmp_path / "absent").stderr
    (tmp_path / "empty").mkdir()
    assert "holds no .json verdict file" in _refused(tmp_path / "empty").stderr


@pytest.mark.parametrize("option", ["--comment", "--set-status"])
def test_a_shard_does_not_comment_or_set_the_status(repo: Path, option: str) -> None:
    run = _check(repo, "--shard", "1/4", "--pr", "7", option, code=2)
    assert f"{option} cannot be used with --shard" in run.stderr
    assert "--combine" in run.stderr
    assert "Traceback" not in run.stderr
