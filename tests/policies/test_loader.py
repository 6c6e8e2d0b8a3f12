"""The loading rules of policy directories (gitops_promote.facts.policies), from the work
tree and from a commit's tree alike: recursion, test files, data files merged at the root
of `data`, empty YAML documents, and every hostile path refused without reading outside
the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_promote.adapters.git import Repo
from gitops_promote.facts import policies
from support import gitutil

RULE = 'package main\nimport rego.v1\ndeny contains "x" if input.bad\n'

TREE = {
    "policy/deny.rego": RULE,
    "policy/deny_test.rego": "package main\nimport rego.v1\ntest_x if true\n",
    "policy/nested/deep/lib.rego": "package lib\nx := 1\n",
    "policy/nested/other.rego": "package team.other\nimport rego.v1\nwarn contains 1 if true\n",
    "policy/registries.yaml": "# comment only\n---\n---\nallowed:\n  - ghcr.io/\n---\n# end\n",
    "policy/nested/limits.json": '{"limits": {"cpu": "1"}, "nested": {"a": 1}}',
    "policy/nested/more.yml": "nested:\n  b: 2\n",
    "policy/empty.yaml": "",
    "policy/comments.yaml": "# nothing here\n# at all\n",
    "policy/README.md": "# Our policies\n",
    "policy/notes.txt": "not read",
    "policy/production/strict.rego": 'package main\nimport rego.v1\ndeny contains "y" if true\n',
}


def make(root: Path, files: dict[str, str | bytes]) -> Path:
    gitutil.write_files(root, files)
    return root


def test_a_directory_contributes_every_file_below_it_recursively(tmp_path: Path) -> None:
    found = policies.load(policies.WorkFiles(make(tmp_path, dict(TREE))), ["policy/"])
    assert found.problems == ()
    assert [m.path for m in found.modules] == [
        "policy/deny.rego",
        "policy/nested/deep/lib.rego",
        "policy/nested/other.rego",
        "policy/production/strict.rego",
    ]
    assert [m.path for m in found.tests] == ["policy/deny_test.rego"]
    assert found.modules[0].text == RULE


def test_data_files_merge_at_the_root_of_data_and_empty_documents_are_skipped(
    tmp_path: Path,
) -> None:
    """YAML (every document), YML and JSON; mappings merge key by key; empty and
    comment-only documents and files are skipped; other files are ignored."""
    found = policies.load(policies.WorkFiles(make(tmp_path, dict(TREE))), ["policy"])
    assert found.data == {
        "allowed": ["ghcr.io/"],
        "limits": {"cpu": "1"},
        "nested": {"a": 1, "b": 2},
    }
    assert found.data_files == (
        "policy/comments.yaml",
        "policy/empty.yaml",
        "policy/nested/limits.json",
        "policy/nested/more.yml",
        "policy/registries.yaml",
    )


def test_overlapping_directories_give_each_file_once_and_a_file_may_be_named(
    tmp_path: Path,
) -> None:
    make(tmp_path, dict(TREE))
    found = policies.load(
        policies.WorkFiles(tmp_path), ["policy/production", "policy", "policy/deny.rego"]
    )
    assert found.modules[0].path == "policy/production/strict.rego"
    assert len(found.modules) == 4
    assert found.problems == ()


def test_the_repository_root_is_a_policy_path_without_its_git_directory(tmp_path: Path) -> None:
    work = gitutil.init_repo(tmp_path / "repo")
    gitutil.commit_files(work, {"x.rego": RULE})
    (work / ".git" / "hooks" / "evil.rego").write_text("package main\n")
    found = policies.load(policies.WorkFiles(work), ["."])
    assert [m.path for m in found.modules] == ["x.rego"]
    assert found.problems == ()


def test_conflicting_and_malformed_data_are_problems_naming_the_files(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "p/a.yaml": "registries: [a]\nnested: {x: 1}\n",
            "p/c.yaml": "nested: {x: 2}\n",
            "p/b.json": '{"registries": ["b"]}',
            "p/list.yaml": "- not\n- a mapping\n",
            "p/broken.json": "{nope",
            "p/tabs.yaml": "a: [unclosed\n",
            "p/x.rego": RULE,
        },
    )
    found = policies.load(policies.WorkFiles(tmp_path), ["p"])
    assert found.data == {"registries": ["a"], "nested": {"x": 1}}
    assert len(found.problems) == 5
    conflict, broken, nested, listed, tabs = found.problems
    assert nested.startswith("p/c.yaml: data key nested.x is also set by p/a.yaml")
    assert conflict == (
        "p/b.json: data key registries is also set by p/a.yaml (data files are merged at the "
        "root of data)"
    )
    assert broken.startswith("p/broken.json: not valid JSON")
    assert listed.startswith("p/list.yaml: a data document must be a mapping")
    assert tabs.startswith("p/tabs.yaml")
    assert [m.path for m in found.modules] == ["p/x.rego"]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../outside", "policy path '../outside' contains '..'"),
        ("policy/../../outside", "contains '..'"),
        ("/etc", "policy path '/etc' is absolute"),
        ("missing", "policy path missing does not exist"),
        ("policy/deny_test.rego/x", "does not exist"),
        (
            "policy/README.md",
            "policy path policy/README.md is neither a directory nor a .rego file",
        ),
        (" policy", "is empty or has surrounding spaces"),
    ],
)
def test_a_bad_policy_path_is_one_clear_problem(tmp_path: Path, path: str, problem: str) -> None:
    make(tmp_path, dict(TREE))
    found = policies.load(policies.WorkFiles(tmp_path), [path, "policy/deny.rego"])
    assert len(found.problems) == 1
    assert problem in found.problems[0]
    assert [m.path for m in found.modules] == ["policy/deny.rego"]  # the others still load


def test_symlinks_are_refused_never_followed(tmp_path: Path) -> None:
    """A linked directory out of the repo, a linked file, a link on the way to the policy
    path: each a problem naming the link; the secret it points to is never read."""
    outside = tmp_path / "outside"
    make(outside, {"secret.rego": "package main\n# SECRET\n", "data.yaml": "secret: 1\n"})
    repo = make(tmp_path / "repo", {"policy/ok.rego": RULE, "real/x.rego": RULE})
    (repo / "policy" / "linked-dir").symlink_to(outside)
    (repo / "policy" / "linked.rego").symlink_to(outside / "secret.rego")
    (repo / "via").symlink_to(repo / "real")
    found = policies.load(policies.WorkFiles(repo), ["policy", "via", "via/x.rego"])
    assert [m.path for m in found.modules] == ["policy/ok.rego"]
    assert found.data == {}
    assert found.problems == (
        "policy/linked-dir is a symlink (or submodule) in policy path policy: not followed; "
        "policies are read only from regular files",
        "policy/linked.rego is a symlink (or submodule) in policy path policy: not followed; "
        "policies are read only from regular files",
        "policy path via: via is a symlink; policies are read only from regular files and "
        "directories of the repo",
        "policy path via/x.rego: via is a symlink; policies are read only from regular files "
        "and directories of the repo",
    )
    assert "SECRET" not in repr(found)


def test_a_file_that_is_not_utf8_and_hostile_names_are_shown_escaped(tmp_path: Path) -> None:
    make(tmp_path, {"p/latin1.rego": "package main\n# caf\xe9\n".encode("latin-1")})
    (tmp_path / "p" / "evil\n::error::x.rego").write_bytes(b"package main\n\xff\n")
    found = policies.load(policies.WorkFiles(tmp_path), ["p"])
    assert found.modules == ()
    assert found.problems == (
        "p/evil\\n::error::x.rego is not UTF-8 text",
        "p/latin1.rego is not UTF-8 text",
    )


def test_a_file_over_the_size_limit_is_a_problem(tmp_path: Path) -> None:
    make(tmp_path, {"p/huge.json": '{"a": "' + "x" * (5 * 1024 * 1024) + '"}', "p/x.rego": RULE})
    found = policies.load(policies.WorkFiles(tmp_path), ["p"])
    assert found.problems == ("p/huge.json is over the 5 MiB limit",)
    assert [m.path for m in found.modules] == ["p/x.rego"]


def test_a_commit_gives_what_the_work_tree_gives_and_not_the_uncommitted_edits(
    tmp_path: Path,
) -> None:
    """The base branch's policies: read from the commit's tree (one ls-tree, one blob
    batch), the same files, data and problems as the work tree; a later uncommitted edit
    or deletion in the work tree does not change them."""
    work = gitutil.init_repo(tmp_path / "repo")
    remote = gitutil.init_bare(tmp_path / "remote.git")
    gitutil.git("remote", "add", "origin", str(remote), cwd=work)
    files: dict[str, str | bytes] = {**TREE, "policy/bad.rego": b"package main\n\xff\n"}
    gitutil.commit_files(work, files)
    (work / "policy" / "etc-link").symlink_to("/etc")
    gitutil.commit_files(work, {})
    base = gitutil.rev_parse(work, "HEAD")
    from_work = policies.load(policies.WorkFiles(work), ["policy", "../x"])
    gitutil.write_files(work, {"policy/deny.rego": None, "policy/new.rego": RULE})
    from_commit = policies.load(
        policies.at_commit(Repo.open(work, require_clean=False), base), ["policy", "../x"]
    )
    assert from_commit == from_work
    assert "policy/deny.rego" in [m.path for m in from_commit.modules]
    assert len(from_commit.problems) == 3  # bad.rego, the link, ../x
