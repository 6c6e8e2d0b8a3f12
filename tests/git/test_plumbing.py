"""The git adapter's named read-only operations, against real git: tree listings, tracked
files, remote refs, a merged tree, a commit's text, the files a commit changed, formatted
log output, and the facts a local checkout is opened with."""

from __future__ import annotations

from pathlib import Path

from gitops_promote.adapters.git import Git, plumbing
from support import gitutil


def _repo(tmp_path: Path) -> tuple[Path, Git, str, str]:
    root = gitutil.init_repo(tmp_path / "repo")
    first = gitutil.commit_files(
        root, {"a.txt": "a\n", "dir/b.yaml": "b: 1\n", "dir/sub/ü.txt": "u\n"}, message="one"
    )
    second = gitutil.commit_files(
        root, {"dir/b.yaml": "b: 2\n"}, message="two\n\nPromoted-At: 2025-03-01T09:00:00+00:00"
    )
    return root, Git(cwd=root), first, second


def test_ls_tree_lists_files_and_with_trees_directories(tmp_path: Path) -> None:
    """Every file of the tree, path -> (mode, oid), in git's order; ``trees`` adds the
    directories; non-ASCII names come back as text."""
    root, git, _, _ = _repo(tmp_path)
    files = plumbing.ls_tree(git, "HEAD")
    assert list(files) == ["a.txt", "dir/b.yaml", "dir/sub/ü.txt"]
    assert files["a.txt"] == ("100644", gitutil.git("rev-parse", "HEAD:a.txt", cwd=root))
    with_trees = plumbing.ls_tree(git, "HEAD", trees=True)
    assert with_trees["dir"][0] == "040000"
    assert with_trees["dir/sub"][0] == "040000"
    assert set(with_trees) - set(files) == {"dir", "dir/sub"}


def test_ls_files_and_checkout_facts(tmp_path: Path) -> None:
    """Tracked files; the checkout's top level from a subdirectory, its branch, no remote."""
    root, git, _, _ = _repo(tmp_path)
    assert plumbing.ls_files(git) == ["a.txt", "dir/b.yaml", "dir/sub/ü.txt"]
    assert plumbing.toplevel(git.at(root / "dir")) == root.resolve()
    assert plumbing.toplevel(Git(cwd=tmp_path)) is None
    assert plumbing.current_branch(git) == "main"
    assert not plumbing.has_remote(git)
    gitutil.git("checkout", "-q", "--detach", cwd=root)
    assert plumbing.current_branch(git) == ""


def test_ls_remote_maps_refs_to_ids(tmp_path: Path) -> None:
    """The refs the remote has, ref -> id; a missing one is simply absent; a remote that
    does not answer raises, or gives None when not checked."""
    root, _, _, second = _repo(tmp_path)
    clone = tmp_path / "clone"
    gitutil.git("clone", "-q", str(root), str(clone))
    local = Git(cwd=clone)
    assert plumbing.has_remote(local)
    listed = plumbing.ls_remote(local, "origin", ["HEAD", "refs/heads/main", "refs/heads/gone"])
    assert listed == {"HEAD": second, "refs/heads/main": second}
    assert plumbing.ls_remote(local, str(tmp_path / "nowhere"), ["HEAD"], check=False) is None


def test_merge_tree_cat_file_diff_tree_and_log(tmp_path: Path) -> None:
    """A clean merge gives its tree id, a conflicting one None; a commit's raw text; the
    files between two commits; one formatted line per commit of a log."""
    root, git, first, second = _repo(tmp_path)
    gitutil.git("checkout", "-q", "-b", "side", first, cwd=root)
    side = gitutil.commit_files(root, {"c.txt": "c\n"}, message="side")
    merged = plumbing.merge_tree(git, second, side)
    assert merged is not None
    assert set(plumbing.ls_tree(git, merged)) == {"a.txt", "c.txt", "dir/b.yaml", "dir/sub/ü.txt"}
    clash = gitutil.commit_files(root, {"dir/b.yaml": "b: 3\n"}, message="clash")
    assert plumbing.merge_tree(git, second, clash) is None

    assert f"parent {first}" in plumbing.cat_file(git, "commit", second)
    assert plumbing.diff_tree_names(git, first, second) == ["dir/b.yaml"]

    stamps = plumbing.log_format(
        git, "%(trailers:key=Promoted-At,valueonly)", "main", options=["-1"], paths=["dir"]
    )
    assert stamps is not None
    assert stamps.strip() == "2025-03-01T09:00:00+00:00"
    assert plumbing.log_format(git, "%s", "main") == "two\none"
    assert plumbing.log_format(git, "%s", "no-such-branch") is None
