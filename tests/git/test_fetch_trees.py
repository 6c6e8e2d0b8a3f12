"""``Repo.fetch(..., trees=True)`` in a commits-only (``tree:0``) clone: the fetched commit's
trees arrive in the same request, and only those the local history does not already hold,
so reading the pull request's tree never makes git download the whole repository's
listing again; ``Repo.rev_parse_many`` resolves many names in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from git.gitrepo_helpers import ConfigRepo, clone, overlay
from gitops_promote.adapters.git import Repo
from gitops_promote.errors import UserError
from support import gitutil


def _wide(config_repo: ConfigRepo, apps: int = 40) -> None:
    """A repo whose tree holds many directories (what a fleet's config repo looks like)."""
    files: dict[str, gitutil.FileContent] = {}
    for n in range(apps):
        for env in ("dev", "staging", "prod"):
            files[f"apps/a{n:03}/overlays/{env}/kustomization.yaml"] = f"# a{n} {env}\n"
    config_repo.server.seed(config_repo.name, files, message="fleet")


def _branch(config_repo: ConfigRepo, name: str, files: dict[str, gitutil.FileContent]) -> str:
    bare = config_repo.server.path(config_repo.name)
    gitutil.git("update-ref", f"refs/heads/{name}", "refs/heads/main", cwd=bare)
    return gitutil.commit_tree_to_bare(bare, files, branch=name, message="one overlay")


def _missing_trees(repo: Repo, rev: str) -> list[str]:
    """Trees of ``rev`` not in the clone, listed without fetching them."""
    out = gitutil.git(
        "rev-list",
        "--objects",
        "--missing=print",
        "--filter=blob:none",
        "--no-walk",
        rev,
        cwd=repo.root,
    )
    return [line for line in out.splitlines() if line.startswith("?")]


def _objects(repo: Repo) -> int:
    counts = gitutil.git("count-objects", "-v", cwd=repo.root)
    return sum(
        int(line.split(":")[1])
        for line in counts.splitlines()
        if line.startswith(("count:", "in-pack:"))
    )


def test_fetch_with_trees_brings_only_the_new_trees(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    _wide(config_repo)
    head = _branch(config_repo, "promote/x", {f"{overlay('a007', 'staging')}/x.yaml": "x: 1\n"})
    repo = clone(config_repo, tmp_path / "c")  # tree:0: the checkout brought main's trees
    assert repo.filter == "tree:0"
    before = _objects(repo)

    assert repo.fetch(["promote/x"], trees=True) == {"promote/x": head}

    assert _missing_trees(repo, head) == []
    # the commit and the trees on the changed path (root, apps, a007, overlays,
    # staging): none of the 160 unchanged directories of the 40 apps came again
    assert _objects(repo) - before <= 10


def test_fetch_without_trees_leaves_them_to_a_later_read(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """The control: a plain fetch into a tree:0 clone brings the commit alone."""
    _wide(config_repo)
    head = _branch(config_repo, "promote/y", {f"{overlay('a001', 'dev')}/y.yaml": "y: 1\n"})
    repo = clone(config_repo, tmp_path / "c")
    assert repo.fetch(["promote/y"]) == {"promote/y": head}
    assert _missing_trees(repo, head) != []


def test_trees_asked_of_a_clone_that_has_them_changes_nothing(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    _wide(config_repo, apps=3)
    head = _branch(config_repo, "promote/z", {"z.yaml": "z: 1\n"})
    full = Repo.clone(config_repo.url, tmp_path / "full", token=config_repo.token, filter=None)
    assert full.fetch(["promote/z"], trees=True) == {"promote/z": head}
    assert full.rev_parse(f"{head}:z.yaml", peel=None) is not None


def test_rev_parse_many_resolves_commits_in_one_process(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    repo = clone(config_repo, tmp_path / "c")
    tip = repo.head()
    tree = repo.rev_parse("HEAD", peel="tree")
    assert tree is not None
    got = repo.rev_parse_many(["HEAD", "main", "refs/remotes/origin/main", "nope", tree, "HEAD"])
    assert got == {"HEAD": tip, "main": tip, "refs/remotes/origin/main": tip}
    assert repo.rev_parse_many([]) == {}
    for bad in ("--all", "HEAD\nmain"):
        with pytest.raises(UserError, match="is not valid"):
            repo.rev_parse_many([bad])


def test_a_head_branched_long_ago_arrives_with_every_tree(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A server may leave out trees an older local commit holds (the fork point; a server
    with reachability bitmaps counts every commit's trees as had), which a commits-only
    clone lacks: whatever it sends, every tree of the head is here after the fetch, and
    reading it asks the remote for nothing."""
    _wide(config_repo)
    head = _branch(config_repo, "promote/old", {f"{overlay('a007', 'staging')}/o.yaml": "o: 1\n"})
    for n in range(5):  # main moves on, in other apps' directories
        config_repo.server.seed(
            config_repo.name, {f"{overlay(f'a0{n}0', 'dev')}/kustomization.yaml": f"# {n}\n"}
        )
    repo = clone(config_repo, tmp_path / "c")
    config_repo.server.clear_requests()

    assert repo.fetch(["promote/old"], trees=True) == {"promote/old": head}

    assert _missing_trees(repo, head) == []
    # ls-refs, the fetch, the trees it left out
    assert len([r for r in config_repo.server.requests if "upload-pack" in r.path]) <= 3
    config_repo.server.clear_requests()
    gitutil.git("ls-tree", "-r", head, cwd=repo.root)  # reading it asks for nothing
    assert [r for r in config_repo.server.requests if "upload-pack" in r.path] == []
