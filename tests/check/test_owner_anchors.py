"""Owner, reviewer and team values in promotion.yaml are checked whole: a trailing newline
(which Python's ``$`` accepts) is bad input, so ``codeowners`` and ``codeowners --check``
never disagree about a value the generated block cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from check.scenario import T0, ConfigRepo
from check.test_codeowners import with_owners
from support.inprocess import cli


@pytest.mark.parametrize(
    "owners", ['["@myorg/sre\\n"]', '["@octocat\\n"]', '["ops@example.com\\n"]']
)
def test_owner_with_a_trailing_newline_is_bad_input(tmp_path: Path, owners: str) -> None:
    """An owners: value ending in a newline is refused by both ``codeowners`` and
    ``codeowners --check`` (exit 2, one line naming owners:), and nothing is written;
    before, ``codeowners`` wrote the block and ``--check`` then failed on it forever."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo, owners)}, at=T0, message="owners")
    write = cli("codeowners", "--repo", str(repo.root), check=2)
    assert "owners" in write.stderr
    assert "is not an owner" in write.stderr
    assert "Traceback" not in write.stderr
    assert not (repo.root / ".github/CODEOWNERS").exists()
    verify = cli("codeowners", "--repo", str(repo.root), "--check", check=2)
    assert "is not an owner" in verify.stderr


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("reviewers", '["octocat\\n"]', "is not a GitHub login"),
        ("team-reviewers", '["myorg/oncall\\n"]', "is not a team"),
    ],
)
def test_reviewers_with_a_trailing_newline_are_bad_input(
    tmp_path: Path, key: str, value: str, problem: str
) -> None:
    """A pull-request reviewers: or team-reviewers: value ending in a newline is refused
    by validate (exit 2) instead of being sent to GitHub as a login or a team slug."""
    repo = ConfigRepo(tmp_path / "config")
    text = repo.text("promotion.yaml")
    line = "      team-reviewers: [oncall-approvers]"
    assert line in text
    text = text.replace(line, f"      {key}: {value}")
    repo.commit({"promotion.yaml": text}, at=T0, message="reviewers")
    run = cli("validate", "--repo", str(repo.root), check=2)
    assert problem in run.stderr
    assert "Traceback" not in run.stderr
