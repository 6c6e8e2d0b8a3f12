"""History helpers: one ``git log`` pass for many paths with typed records, many blobs in
one process with missing ones fetched in one batch, and the small plumbing helpers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from git.gitrepo_helpers import ENVS, ArgvLog, ConfigRepo, clone, kustomization, overlay
from gitops_promote.adapters.git import FILTER_COMMITS, FILTER_HISTORY, CommitInfo, Repo
from gitops_promote.errors import GitError, UserError
from support import gitutil

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _pin(app: str, env: str, n: int) -> dict[str, str | bytes | None]:
    return {f"{overlay(app, env)}/kustomization.yaml": kustomization(app, f"{n:064x}")}


def _history(config_repo: ConfigRepo, tmp_path: Path) -> dict[str, str]:
    """On top of the seed: dev pins pushed directly, a production pin through a pull
    request branch merged with a merge commit one day after its branch commit."""
    work = tmp_path / "author"
    env = config_repo.server.git_env()
    gitutil.git("clone", "-q", config_repo.url, str(work), env=env)
    shas = {}
    shas["dev1"] = gitutil.commit_files(
        work, _pin("api", "dev", 1), message="dev api 1", date=T0 + timedelta(hours=1)
    )
    shas["dev2"] = gitutil.commit_files(
        work, _pin("web", "dev", 2), message="dev web 2", date=T0 + timedelta(hours=2)
    )
    gitutil.git("checkout", "-q", "-b", "promote/production/api", cwd=work)
    shas["branch"] = gitutil.commit_files(
        work, _pin("api", "production", 1), message="prod api 1", date=T0 + timedelta(hours=3)
    )
    gitutil.git("checkout", "-q", "main", cwd=work)
    shas["dev3"] = gitutil.commit_files(
        work, _pin("api", "dev", 3), message="dev api 3", date=T0 + timedelta(hours=4)
    )
    merged = T0 + timedelta(days=1, hours=3)
    gitutil.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #7 from org/promote/production/api",
        "promote/production/api",
        cwd=work,
        env=gitutil.identity_env(merged),
    )
    shas["merge"] = gitutil.rev_parse(work, "HEAD")
    gitutil.git("push", "-q", "origin", "main", cwd=work, env=env)
    return shas


def test_log_paths_gives_typed_first_parent_history(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """One pass over the base branch's first-parent history: a pull request appears as its
    merge commit, dated when it landed, with the files it changed; commits carry parents,
    author, aware committer dates and blob ids; only the asked paths are listed."""
    shas = _history(config_repo, tmp_path)
    repo = clone(config_repo, tmp_path / "c")
    paths = [overlay("api", "dev"), overlay("api", "production")]
    commits = repo.log_paths(paths)
    assert [c.sha for c in commits[:3]] == [shas["merge"], shas["dev3"], shas["dev1"]]
    assert commits[3].subject == "seed"
    merge = commits[0]
    assert isinstance(merge, CommitInfo)
    assert merge.is_merge
    assert merge.parents == (shas["dev3"], shas["branch"])
    assert merge.date == T0 + timedelta(days=1, hours=3)
    assert merge.date.tzinfo is not None
    assert merge.subject == "Merge pull request #7 from org/promote/production/api"
    assert merge.author == "Test Author <author@example.test>"
    assert merge.paths == (f"{overlay('api', 'production')}/kustomization.yaml",)
    change = merge.changes[0]
    assert change.status == "M"
    assert change.old_blob is not None
    assert change.new_blob is not None
    assert commits[3].changes[0].status == "A"
    assert commits[3].changes[0].old_blob is None
    assert {c.path for c in commits[3].changes} == {f"{p}/kustomization.yaml" for p in paths}
    # Following every parent instead shows the branch commit itself.
    everything = repo.log_paths([overlay("api", "production")], first_parent=False)
    assert shas["branch"] in [c.sha for c in everything]


def test_many_paths_are_one_pass_and_exact(
    config_repo: ConfigRepo, argv_log: ArgvLog, tmp_path: Path
) -> None:
    """Asking for hundreds of paths runs ONE git log (with their common parent directories,
    so git does not compare every tree entry with every path) and returns exactly what
    asking path by path returns."""
    _history(config_repo, tmp_path)
    repo = clone(config_repo, tmp_path / "c", git=argv_log.git())
    wanted = [overlay("api", "dev"), overlay("api", "production")]
    wanted += [f"apps/api/overlays/other-{i}" for i in range(300)]
    before = len([c for c in argv_log.commands() if "log" in c])
    many = repo.log_paths(wanted)
    assert len([c for c in argv_log.commands() if "log" in c]) == before + 1
    exact = repo.log_paths(wanted[:2])
    assert many == exact
    one = repo.log_paths([overlay("web", "staging")])
    assert one == repo.log_paths([overlay("web", "staging"), "apps/web/nothing"])


def test_iter_log_can_stop_early(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """iter_log yields commits as git prints them; stopping after the first one is fine
    and max_count bounds log_paths."""
    shas = _history(config_repo, tmp_path)
    repo = clone(config_repo, tmp_path / "c")
    newest = next(iter(repo.iter_log(["apps"])))
    assert newest.sha == shas["merge"]
    assert [c.sha for c in repo.log_paths(["apps"], max_count=2)] == [
        shas["merge"],
        shas["dev3"],
    ]


def test_read_blobs_fetches_history_in_one_batch(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """In a blob-less clone, reading 12 historical versions costs one fetch (not one round
    trip per blob), returns exactly the stored bytes, None for absent paths; a second
    read needs no network at all."""
    for n in range(12):
        config_repo.server.seed(config_repo.name, _pin("api", "staging", n), message=f"s{n}")
    repo = clone(config_repo, tmp_path / "c")
    commits = repo.log_paths([overlay("api", "staging")])
    path = f"{overlay('api', 'staging')}/kustomization.yaml"
    pairs = [(c.sha, path) for c in commits] + [("HEAD", "apps/none/kustomization.yaml")]
    config_repo.server.clear_requests()
    blobs = repo.read_blobs(pairs)
    fetches = [r for r in config_repo.server.requests if r.method == "POST"]
    assert len(fetches) <= 2  # one fetch (plus, at most, the protocol's ref listing)
    for sha, _ in pairs[:-1]:
        assert blobs[(sha, path)] == gitutil.read_file(config_repo.bare, sha, path)
    assert blobs[("HEAD", "apps/none/kustomization.yaml")] is None
    config_repo.server.clear_requests()
    assert repo.read_blobs(pairs) == blobs
    assert config_repo.server.requests == []
    by_id = repo.read_objects([c.changes[0].new_blob or "" for c in commits[:3]])
    assert list(by_id.values()) == [blobs[(c.sha, path)] for c in commits[:3]]


def test_show_and_plumbing(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """show() gives a file's bytes at a revision or None; rev_parse, merge_base and
    is_ancestor answer about commits; unknown revisions are None, not errors."""
    shas = _history(config_repo, tmp_path)
    repo = clone(config_repo, tmp_path / "c")
    path = f"{overlay('api', 'dev')}/kustomization.yaml"
    assert repo.show(shas["dev1"], path) == kustomization("api", f"{1:064x}").encode()
    assert repo.show(shas["dev1"], "apps/api/overlays") is None  # a directory
    assert repo.show(shas["dev1"], "nope.yaml") is None
    assert repo.rev_parse("HEAD") == shas["merge"]
    assert repo.rev_parse("no-such-branch") is None
    assert repo.rev_parse("HEAD", peel="tree") != shas["merge"]
    assert repo.merge_base(shas["branch"], shas["dev3"]) == shas["dev2"]
    assert repo.is_ancestor(shas["dev1"], shas["merge"])
    assert not repo.is_ancestor(shas["merge"], shas["dev1"])
    with pytest.raises(UserError):
        repo.rev_parse("--all")


def test_diff_names_uses_merge_base(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """diff_names(base, head) lists what the pull request changes (base...head): not
    what the base branch changed after the branch started."""
    shas = _history(config_repo, tmp_path)
    repo = clone(config_repo, tmp_path / "c")
    assert repo.diff_names(shas["dev3"], shas["branch"]) == [
        f"{overlay('api', 'production')}/kustomization.yaml"
    ]


def test_fetch_refs_and_remote_branches(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """fetch() brings branches and commit ids in one request and returns their ids;
    remote_branch_sha() reads a branch on the remote (None when absent)."""
    repo = clone(config_repo, tmp_path / "c")
    other = config_repo.server.seed(config_repo.name, {"x": "1\n"}, branch="promote/x")
    tip = config_repo.server.seed(config_repo.name, {"y": "2\n"})
    assert repo.remote_branch_sha("promote/x") == other
    assert repo.remote_branch_sha("promote/none") is None
    got = repo.fetch(["promote/x", "refs/heads/main"])
    assert got == {"promote/x": other, "refs/heads/main": tip}
    assert repo.rev_parse("refs/remotes/origin/promote/x") == other
    assert repo.fetch([tip]) == {tip: tip}
    with pytest.raises(GitError):
        repo.fetch(["promote/none"])


def test_commits_only_clone_downloads_trees_once_for_history(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A tree:0 clone (fast, for push promotions) still answers a history pass: the
    trees come in one refetch, not one request per commit, and the answer is the same."""
    for n in range(10):
        config_repo.server.seed(config_repo.name, _pin("web", "dev", n), message=f"w{n}")
    full = Repo.clone(
        config_repo.url,
        tmp_path / "full",
        token=config_repo.token,
        sparse_paths=["promotion.yaml"],
        filter=FILTER_HISTORY,
    )
    fast = Repo.clone(
        config_repo.url,
        tmp_path / "fast",
        token=config_repo.token,
        sparse_paths=["promotion.yaml"],
        filter=FILTER_COMMITS,
    )
    config_repo.server.clear_requests()
    assert fast.log_paths([overlay("web", "dev")]) == full.log_paths([overlay("web", "dev")])
    assert len(config_repo.server.requests) <= 4
    assert fast.filter == "blob:none"
    assert Repo.open(fast.root).filter == "blob:none"


def test_background_tree_download_is_waited_for_or_stopped(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """start_tree_download begins the refetch of every tree while the caller works;
    ensure_trees waits for it (no second download); a workspace that closes first stops
    it, and nothing keeps running; a history pass still answers afterwards."""
    from gitops_promote.adapters.workspace import Credentials, Location, open_workspace

    for n in range(1, 4):
        config_repo.server.seed(config_repo.name, _pin("web", "dev", n), message=f"w{n}")
    repo = Repo.clone(
        config_repo.url,
        tmp_path / "a",
        token=config_repo.token,
        sparse_paths=["promotion.yaml"],
        filter=FILTER_COMMITS,
    )
    repo.start_tree_download()
    proc = repo._download
    assert proc is not None
    repo.ensure_trees()
    assert proc.returncode == 0
    assert repo.filter == FILTER_HISTORY
    assert len(repo.log_paths([overlay("web", "dev")])) == 4  # the seed and three pins

    started: list[Any] = []

    def failing_command() -> None:
        with open_workspace(Location(remote=config_repo.url), Credentials(config_repo.token)) as ws:
            ws.repo.start_tree_download()
            started.append(ws.repo._download)
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        failing_command()
    assert started[0] is not None
    assert started[0].poll() is not None  # ended with the workspace


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_diff_links_gives_what_log_paths_gives(
    config_repo: ConfigRepo, tmp_path: Path, jobs: int
) -> None:
    """The first-parent chain read stretch by stretch with diff-tree (in parallel or
    not) yields the same commits and changes as one git log: merges as their first-parent
    diff, the root commit's additions, many paths (coarse pathspecs) as well as few."""
    from gitops_promote.adapters.git import log as gitlog

    _history(config_repo, tmp_path)
    repo = clone(config_repo, tmp_path / "c")
    repo.ensure_trees()
    chain = gitlog.first_parent_chain(repo.git, "HEAD")
    assert chain[-1].parent is None
    assert all(a.parent == b.commit for a, b in itertools.pairwise(chain))
    many = [f"{overlay(a, e)}/kustomization.yaml" for a in ("api", "web") for e in ENVS]
    many += [f"apps/x{n}/k.yaml" for n in range(40)]
    for paths in ([overlay("api", "dev")], [overlay("api", "production")], many, ["apps"]):
        whole = gitlog.diff_links(repo.git, chain, paths, jobs=jobs)
        assert whole == repo.log_paths(paths)
        split = gitlog.diff_links(repo.git, chain[:2], paths, jobs=jobs)
        split += gitlog.diff_links(repo.git, chain[2:], paths, jobs=jobs)
        assert split == whole
