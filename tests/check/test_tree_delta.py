"""The merged tree's entries as the base's patched with one ``git diff-tree``
(:func:`gitops_promote.facts.merged.both_trees`): exactly what listing the merged tree
again would give, for hostile trees too (symlinks out of the repository and up with
``../``, absolute link targets, a submodule, a file that becomes a directory, a mode
change, names with newlines, tabs, ``::`` and bytes that are not UTF-8), and the change
set computed from it unchanged."""

from __future__ import annotations

import os
from pathlib import Path

from gitops_promote.adapters.git import Git, Repo
from gitops_promote.facts.changeset import Tree
from gitops_promote.facts.merged import REGULAR, both_trees, ls_tree
from support import gitutil

ODD_NAME = b"apps/odd\n::error::x\tname-\xff.yaml"
CUT_NAME = b"apps/cut-\xe2\x82"  # a character cut short at the end of the name


def _commit(root: Path, message: str) -> str:
    gitutil.git("add", "-A", cwd=root)
    env = gitutil.identity_env()
    gitutil.git("commit", "-q", "--allow-empty", "-m", message, cwd=root, env=env)
    return gitutil.rev_parse(root, "HEAD")


def _repo(tmp_path: Path) -> tuple[Repo, str, str]:
    root = gitutil.init_repo(tmp_path / "repo")
    gitutil.write_files(
        root,
        {
            "promotion.yaml": "version: 1\n",
            "apps/a/base/kustomization.yaml": "resources: [deploy.yaml]\n",
            "apps/a/base/deploy.yaml": "kind: Deployment\n",
            "apps/a/overlays/dev/kustomization.yaml": "resources: [../../base]\n",
            "apps/b/run.sh": "echo hi\n",
            "apps/c/becomes-dir": "a file first\n",
            "apps/d/gone.yaml": "x: 1\n",
        },
    )
    (root / "apps/a/abs-link").symlink_to("/etc/passwd")
    (root / "apps/a/up-link").symlink_to("../../../../outside")
    (root / "apps/a/in-link").symlink_to("base")
    (root / os.fsdecode(ODD_NAME)).write_bytes(b"odd: 1\n")
    (root / os.fsdecode(CUT_NAME)).write_bytes(b"cut: 1\n")
    gitutil.git("add", "-A", cwd=root)
    gitutil.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},apps/sub", cwd=root)
    (root / "apps/sub").mkdir()  # an uninitialised submodule, as a checkout has it
    before = _commit(root, "base")

    (root / "apps/a/overlays/dev/kustomization.yaml").write_text("resources: [../../../b]\n")
    (root / "apps/b/run.sh").chmod(0o755)
    (root / "apps/c/becomes-dir").unlink()
    gitutil.write_files(root, {"apps/c/becomes-dir/kustomization.yaml": "resources: []\n"})
    (root / "apps/d/gone.yaml").unlink()
    (root / "apps/a/in-link").unlink()
    (root / "apps/a/in-link").symlink_to("../../etc")
    (root / "apps/a/abs-link").unlink()
    (root / "apps/a/abs-link").write_text("now a file\n")
    (root / os.fsdecode(ODD_NAME)).write_bytes(b"odd: 2\n")
    gitutil.write_files(root, {"kustomization.yaml": "resources: [apps/a/in-link]\n"})
    gitutil.git("add", "-A", cwd=root)
    gitutil.git("update-index", "--add", "--cacheinfo", f"160000,{'2' * 40},apps/sub", cwd=root)
    after = _commit(root, "head")
    return Repo(Git(cwd=root), root, base_branch="main"), before, after


def test_patched_entries_equal_a_second_listing(tmp_path: Path) -> None:
    repo, before, after = _repo(tmp_path)
    tree = gitutil.git("rev-parse", f"{after}^{{tree}}", cwd=repo.root)

    for new in (after, tree):  # a commit, or the tree merge-tree writes
        before_entries, after_entries, changed = both_trees(repo, before, new)

        listed_before, listed_after = ls_tree(repo, before), ls_tree(repo, new)
        assert before_entries == listed_before
        assert after_entries == listed_after
        assert changed == sorted(
            p
            for p in set(listed_before) | set(listed_after)
            if listed_before.get(p) != listed_after.get(p)
        )
    odd = ODD_NAME.decode("utf-8", "surrogateescape")
    assert odd in changed
    assert odd in before_entries  # each name decoded as it would be alone
    assert CUT_NAME.decode("utf-8", "surrogateescape") in before_entries
    assert after_entries["apps/sub"][0] == "160000"
    assert after_entries["apps/a/in-link"][0] == "120000"
    assert after_entries["apps/b/run.sh"][0] == "100755"
    assert "apps/c/becomes-dir" not in after_entries
    assert "apps/c/becomes-dir/kustomization.yaml" in after_entries
    assert "apps/d/gone.yaml" in changed
    assert "apps/d/gone.yaml" not in after_entries


def test_patched_tree_equals_the_tree_listed_again(tmp_path: Path) -> None:
    repo, before, after = _repo(tmp_path)
    before_entries, after_entries, changed = both_trees(repo, before, after)
    base = Tree.of(before, (p for p, (m, _) in before_entries.items() if m in REGULAR))

    patched = base.patched(
        after, {p: p in after_entries and after_entries[p][0] in REGULAR for p in changed}
    )
    whole = Tree.of(after, (p for p, (m, _) in after_entries.items() if m in REGULAR))
    assert (patched.files, patched.dirs, patched.texts) == (whole.files, whole.dirs, {})
    assert "apps/a/abs-link" in patched.files  # a link that became a regular file
    assert "apps/c/becomes-dir" not in patched.files
    assert patched.is_dir("apps/c/becomes-dir")

    # a pin edited in place: the same files, so the same sets, not computed again
    same = base.patched(after, {"apps/a/overlays/dev/kustomization.yaml": True})
    assert same.files is base.files
    assert same.dirs is base.dirs


def test_no_change_is_an_empty_delta(tmp_path: Path) -> None:
    repo, before, _after = _repo(tmp_path)
    before_entries, after_entries, changed = both_trees(repo, before, before)
    assert before_entries == after_entries
    assert changed == []
