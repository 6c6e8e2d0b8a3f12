"""``gitops-promote codeowners`` writes the owners block; ``check`` holds PRs to it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from check.scenario import API, NEW_API, T0, ConfigRepo, failed, result
from support.inprocess import cli

NOW = T0 + timedelta(hours=28)
BLOCK_LINE = "/apps/*/overlays/production/ @myorg/oncall-approvers"


def with_owners(repo: ConfigRepo, owners: str = '["@myorg/oncall-approvers"]') -> str:
    """promotion.yaml with production's owners: set to ``owners``."""
    text = repo.text("promotion.yaml")
    if "    owners: " in text:
        return re.sub(r"(?m)^    owners: .*$", f"    owners: {owners}", text)
    return text.replace(
        "    require-digest: true", f"    require-digest: true\n    owners: {owners}"
    )


def test_codeowners_writes_the_block_once(tmp_path: Path) -> None:
    """The command creates .github/CODEOWNERS with the block, keeps other rules on later
    runs, and --check agrees; a changed owners: makes --check fail until it is re-run."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    run = cli("codeowners", "--repo", str(repo.root))
    assert f"+{BLOCK_LINE}" in run.stdout
    text = repo.text(".github/CODEOWNERS")
    assert BLOCK_LINE in text.splitlines()
    assert "up to date" in cli("codeowners", "--repo", str(repo.root)).stdout
    assert cli("codeowners", "--repo", str(repo.root), "--check").stdout.startswith("ok: ")

    (repo.root / ".github/CODEOWNERS").write_text("* @myorg/everyone\n" + text)
    cli("codeowners", "--repo", str(repo.root))
    assert repo.text(".github/CODEOWNERS") == "* @myorg/everyone\n" + text

    (repo.root / "promotion.yaml").write_text(with_owners(repo, '["@myorg/sre"]'))
    stale = cli("codeowners", "--repo", str(repo.root), "--check", check=1)
    assert "should read '/apps/*/overlays/production/ @myorg/sre'" in stale.stdout
    cli("codeowners", "--repo", str(repo.root))
    assert "/apps/*/overlays/production/ @myorg/sre" in repo.text(".github/CODEOWNERS")


def test_check_fails_when_owners_change_without_codeowners(tmp_path: Path) -> None:
    """With the block committed, a PR that changes production's owners in promotion.yaml
    but not CODEOWNERS fails the ownership gate on the stale line; updating the file in the
    same PR passes."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    cli("codeowners", "--repo", str(repo.root))
    repo.commit({}, at=T0, message="codeowners")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.branch("pr")
    repo.commit({"promotion.yaml": with_owners(repo, '["@myorg/sre"]')}, at=NOW, message="sre")
    data = repo.check_json(now=NOW, code=1)
    assert ("ownership", None, None) in failed(data)
    owners = result(data, "ownership")
    assert (owners["file"], owners["line"]) == (".github/CODEOWNERS", 2)
    cli("codeowners", "--repo", str(repo.root))
    repo.commit({}, at=NOW, message="codeowners")
    data = repo.check_json(now=NOW, code=0)
    assert result(data, "ownership")["passed"]


def test_check_fails_without_the_block(tmp_path: Path) -> None:
    """owners: configured on the base branch but no CODEOWNERS block: every PR fails."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    repo.branch("pr")
    repo.commit({"README.md": "x\n"}, at=NOW, message="docs")
    data = repo.check_json(now=NOW, code=1)
    assert (
        "does not exist, so the owners of production (@myorg/oncall-approvers)"
        in (result(data, "ownership")["message"])
    )


def test_codeowners_refuses_a_clone(tmp_path: Path) -> None:
    """Writing needs a checkout: with --remote it says so (exit 2)."""
    run = cli("codeowners", "--remote", "https://example.invalid/x.git", check=2)
    assert "needs --repo (or --check)" in run.stderr


TAKE_BACK = [
    "*.yaml @myorg/devs",
    "/apps/** @myorg/devs",
    "**/production/ @myorg/devs",
    "/apps/api-service/overlays/production/",
    "/promotion.yaml @myorg/devs",
]


def test_codeowners_check_sees_rules_after_the_block(tmp_path: Path) -> None:
    """``codeowners --check`` evaluates the whole file as GitHub does: each rule after the
    block that takes a production file or a control file from production's owners (or
    leaves it with none) fails, naming its line."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    cli("codeowners", "--repo", str(repo.root))
    text = repo.text(".github/CODEOWNERS")
    line = text.count("\n") + 1
    for rule in TAKE_BACK:
        (repo.root / ".github/CODEOWNERS").write_text(text + rule + "\n")
        run = cli("codeowners", "--repo", str(repo.root), "--check", check=1)
        assert run.stdout.startswith(
            f"FAIL: .github/CODEOWNERS:{line} '{rule.split(maxsplit=1)[0]}' comes after"
        ), (rule, run.stdout)
    (repo.root / ".github/CODEOWNERS").write_text(text + "/docs/handbook/ @myorg/writers\n")
    assert cli("codeowners", "--repo", str(repo.root), "--check").stdout.startswith("ok: ")


def test_codeowners_only_pr_that_takes_production_fails(tmp_path: Path) -> None:
    """A pull request that only appends ``**/production/ @myorg/devs`` (or a rule for
    promotion.yaml) to CODEOWNERS fails the ownership gate on that line; one that only adds
    an unrelated rule passes."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    cli("codeowners", "--repo", str(repo.root))
    repo.commit({}, at=T0, message="codeowners")
    text = repo.text(".github/CODEOWNERS")
    repo.branch("pr")
    repo.commit({".github/CODEOWNERS": text + "**/production/ @myorg/devs\n"}, at=NOW, message="x")
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("ownership", None, None)]
    owners = result(data, "ownership")
    assert owners["line"] == text.count("\n") + 1
    assert "giving it to @myorg/devs" in owners["message"]
    repo.switch("main")
    repo.branch("pr2")
    repo.commit({".github/CODEOWNERS": text + "/promotion.yaml @myorg/devs\n"}, at=NOW, message="z")
    owners = result(repo.check_json(now=NOW, code=1), "ownership")
    assert "takes control file 'promotion.yaml' from @myorg/oncall-approvers" in owners["message"]
    repo.switch("main")
    repo.branch("pr3")
    repo.commit({".github/CODEOWNERS": text + "/handbook/ @myorg/devs\n"}, at=NOW, message="y")
    assert result(repo.check_json(now=NOW, code=0), "ownership")["passed"]


def test_codeowners_check_judges_every_file_of_a_clone(tmp_path: Path) -> None:
    """``codeowners --check --remote`` (a sparse clone) still judges every tracked file: a
    production JSON patch that ``/apps/**/*.json @x`` takes after the block fails."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    cli("codeowners", "--repo", str(repo.root))
    text = repo.text(".github/CODEOWNERS") + "/apps/**/*.json @x\n"
    patch = "apps/api-service/overlays/production/patch.json"
    repo.commit({".github/CODEOWNERS": text, patch: "{}\n"}, at=T0, message="json")
    run = cli("codeowners", "--check", "--remote", f"file://{repo.root}", check=1)
    assert (
        f"takes '{patch}' (production) from @myorg/oncall-approvers, giving it to @x" in run.stdout
    )


def test_a_hostile_file_name_stays_on_one_line(tmp_path: Path) -> None:
    """A pull request adds a production file whose name holds a newline and ``::`` (a
    forged workflow command) under a later ``*.txt @x`` rule: the ownership gate fails
    and names the file quoted on one line, so nothing it holds becomes a command."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo)}, at=T0, message="owners")
    cli("codeowners", "--repo", str(repo.root))
    repo.commit(
        {".github/CODEOWNERS": repo.text(".github/CODEOWNERS") + "*.txt @x\n"},
        at=T0,
        message="codeowners",
    )
    repo.branch("pr")
    name = "apps/api-service/overlays/production/a\n::error::forged.txt"
    repo.commit({name: "x\n"}, at=NOW, message="hostile")
    data = repo.check_json(now=NOW, code=1)
    message = result(data, "ownership")["message"]
    assert "takes 'apps/api-service/overlays/production/a\\n::error::forged.txt'" in message
    assert "\n" not in message
    text = repo.check(now=NOW, code=1, env={"GITHUB_ACTIONS": "true"}).stdout
    assert "\n::error::forged" not in text
