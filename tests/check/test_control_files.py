"""Control files are changes to what they control: a promotion.yaml change is judged per
environment whose rules it alters (``config`` gate), through ``gitops-promote check``, and
the comparison itself (:mod:`gitops_promote.plan.gates.config`) on a table of changes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import T0, ConfigRepo, failed, result
from gitops_promote.config.load import parse_config
from support.inprocess import cli
from support.repos import EXAMPLE

NOW = T0 + timedelta(hours=28)  # a Tuesday: no freeze window is open
OWNERS = "@myorg/oncall-approvers"
BASE = (EXAMPLE / "promotion.yaml").read_text(encoding="utf-8")


def _prod(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new`` in the production entry only."""
    head, sep, tail = text.partition("  - name: production\n")
    assert sep, text
    assert old in tail, old
    return head + sep + tail.replace(old, new, 1)


def _no_freeze(text: str) -> str:
    return re.sub(
        r"(?s)    freeze:\n.*?(?=    pull-request:\n      labels: \[promotion, production\])",
        "",
        text,
    )


def loosened(text: str) -> str:
    """PR 1 of the attack: production pushed to directly, no soak, no freeze windows."""
    return _no_freeze(
        _prod(text, "    mode: pull-request\n    soak: 24h", "    mode: push\n    soak: 0s")
    )


def with_owners(text: str, owners: str = OWNERS) -> str:
    return _prod(
        text, "    require-digest: true", f'    require-digest: true\n    owners: ["{owners}"]'
    )


def attack_pr(repo: ConfigRepo) -> None:
    """Branch ``pr`` off main whose only change is the loosened promotion.yaml."""
    repo.branch("pr")
    repo.commit({"promotion.yaml": loosened(repo.text("promotion.yaml"))}, at=NOW, message="x")


def test_loosening_production_fails_at_the_first_pr(tmp_path: Path) -> None:
    """PR 1 of the two-PR attack (production: mode push, soak 0, freeze windows removed)
    fails the check: the config gate of production lists every loosening, and no code owner
    of promotion.yaml guards it, so it can never merge under the required check (and PR 2,
    a direct push to production, never happens)."""
    repo = ConfigRepo(tmp_path / "config")
    attack_pr(repo)
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("config", None, "production")]
    verdict = result(data, "config", env="production")
    assert verdict["file"] == "promotion.yaml"
    assert verdict["message"].startswith(
        "promotion.yaml loosens production: mode pull-request -> push; soak 1d -> none; "
        "freeze window 'weekend' removed; freeze window 'year-end' removed; "
        "no CODEOWNERS rule on the base branch gives promotion.yaml an owner"
    )
    text = repo.check(now=NOW, code=1).stdout
    assert "promotion.yaml loosens production" in text


def test_loosening_guarded_by_the_block_passes_naming_the_reviewers(tmp_path: Path) -> None:
    """With production's owners in promotion.yaml and the generated CODEOWNERS block
    (which covers promotion.yaml) on the base branch, the same PR passes with a warning
    that names the required reviewers."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo.text("promotion.yaml"))}, at=T0, message="o")
    cli("codeowners", "--repo", str(repo.root))
    assert f"/promotion.yaml {OWNERS}" in repo.text(".github/CODEOWNERS").splitlines()
    repo.commit({}, at=T0, message="codeowners")
    attack_pr(repo)
    data = repo.check_json(now=NOW, code=0)
    verdict = result(data, "config", env="production")
    assert verdict["severity"] == "warning"
    assert (
        f"CODEOWNERS on the base branch makes {OWNERS} (production's owners) the required "
        "reviewers of promotion.yaml: they must approve this pull request"
    ) in verdict["message"]
    assert result(data, "ownership")["passed"]


def test_a_later_codeowners_rule_on_promotion_yaml_does_not_guard(tmp_path: Path) -> None:
    """The block is there, but a rule after it gives promotion.yaml to another team: that
    team alone could approve, so the loosening fails (and so does ownership)."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo.text("promotion.yaml"))}, at=T0, message="o")
    cli("codeowners", "--repo", str(repo.root))
    text = repo.text(".github/CODEOWNERS") + "*.yaml @myorg/devs\n"
    repo.commit({".github/CODEOWNERS": text}, at=T0, message="codeowners")
    attack_pr(repo)
    data = repo.check_json(now=NOW, code=1)
    assert ("config", None, "production") in failed(data)
    assert ("ownership", None, None) in failed(data)
    assert (
        "CODEOWNERS on the base branch lets @myorg/devs approve promotion.yaml, not only "
        f"production's owners ({OWNERS})"
    ) in result(data, "config", env="production")["message"]


def test_the_base_branch_codeowners_decides_not_the_prs(tmp_path: Path) -> None:
    """A PR that adds the block and loosens production at once is not guarded: GitHub asks
    the code owners of the base branch's CODEOWNERS, which has none for promotion.yaml."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo.text("promotion.yaml"))}, at=T0, message="o")
    repo.branch("pr")
    cli("codeowners", "--repo", str(repo.root))
    repo.commit(
        {"promotion.yaml": loosened(repo.text("promotion.yaml"))}, at=NOW, message="block+loosen"
    )
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("config", None, "production")]


def test_tightening_passes_with_a_note(tmp_path: Path) -> None:
    """Raising production's soak and adding a label passes; the config result says what
    tightened."""
    repo = ConfigRepo(tmp_path / "config")
    repo.branch("pr")
    text = _prod(repo.text("promotion.yaml"), "soak: 24h", "soak: 48h")
    text = _prod(text, "labels: [promotion, production]", "labels: [promotion, production, sre]")
    repo.commit({"promotion.yaml": text}, at=NOW, message="tighten")
    data = repo.check_json(now=NOW, code=0)
    verdict = result(data, "config", env="production")
    assert verdict["passed"]
    assert verdict["message"] == (
        "promotion.yaml tightens production: soak 1d -> 2d; pull-request labels added: sre"
    )


def test_staging_loosening_is_guarded_by_production_owners(tmp_path: Path) -> None:
    """The block gives promotion.yaml to the most protected environment's owners, so a
    staging loosening (staging has no owners) is guarded by production's owners."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo.text("promotion.yaml"))}, at=T0, message="o")
    cli("codeowners", "--repo", str(repo.root))
    repo.commit({}, at=T0, message="codeowners")
    repo.branch("pr")
    text = repo.text("promotion.yaml").replace("    soak: 1h", "    soak: 1m", 1)
    repo.commit({"promotion.yaml": text}, at=NOW, message="staging")
    data = repo.check_json(now=NOW, code=0)
    verdict = result(data, "config", env="staging")
    assert verdict["severity"] == "warning"
    assert "loosens staging: soak 1h -> 1m" in verdict["message"]
    assert f"makes {OWNERS} (production's owners) the required reviewers" in verdict["message"]


# (what, the production entry's change or a whole-text edit, loosened items, tightened items)
PROD_CASES: list[tuple[str, tuple[str, str], tuple[str, ...], tuple[str, ...]]] = [
    ("mode", ("mode: pull-request", "mode: push"), ("mode pull-request -> push",), ()),
    ("soak lowered", ("soak: 24h", "soak: 2h"), ("soak 1d -> 2h",), ()),
    ("soak raised", ("soak: 24h", "soak: 25h"), (), ("soak 1d -> 1d 1h",)),
    (
        "freeze shortened",
        ("duration: 64h", "duration: 1h"),
        ("freeze window 'weekend' changed (it may freeze less)",),
        (),
    ),
    (
        "freeze lengthened",
        ("duration: 64h", "duration: 70h"),
        (),
        ("freeze window 'weekend' lengthened",),
    ),
    (
        "require-digest off",
        ("require-digest: true", "require-digest: false"),
        ("require-digest true -> false",),
        (),
    ),
    ("from changed", ("from: staging", "from: dev"), ("from staging -> dev",), ()),
    (
        "label removed",
        ("labels: [promotion, production]", "labels: [promotion]"),
        ("pull-request labels removed: production",),
        (),
    ),
    (
        "team-reviewers removed",
        ("team-reviewers: [oncall-approvers]", "team-reviewers: []"),
        ("pull-request team-reviewers removed: oncall-approvers",),
        (),
    ),
    (
        "drift severity lowered",
        ("drift: {severity: fail}", "drift: {severity: warn}"),
        ("drift severity fail -> warn",),
        (),
    ),
    (
        "limits no longer required",
        ("require-limits: true", "require-limits: false"),
        ("require-limits true -> false",),
        (),
    ),
    ("render fail -> warn", ("render: fail", "render: warn"), ("render fail -> warn",), ()),
    (
        "owners replaced",
        ('owners: ["@myorg/oncall-approvers"]', 'owners: ["@myorg/devs"]'),
        ("owners @myorg/oncall-approvers -> @myorg/devs",),
        (),
    ),
    (
        "owners removed",
        ('owners: ["@myorg/oncall-approvers"]', ""),
        ("owners @myorg/oncall-approvers -> none",),
        (),
    ),
]


def _base_for_table() -> str:
    """The example with production's drift failing, limits required, render failing and
    owners set, so each can be loosened."""
    text = with_owners(BASE)
    return _prod(
        text,
        "    require-digest: true",
        "    require-digest: true\n    drift: {severity: fail}\n    require-limits: true\n"
        "    render: fail",
    )


@pytest.mark.parametrize(
    ("what", "edit", "loose", "tight"), PROD_CASES, ids=[c[0] for c in PROD_CASES]
)
def test_each_change_of_production(
    what: str, edit: tuple[str, str], loose: tuple[str, ...], tight: tuple[str, ...]
) -> None:
    """Each kind of change to production's rules is a loosening or a tightening, exactly."""
    from gitops_promote.plan.gates.config import compare

    base_text = _base_for_table()
    head_text = _prod(base_text, *edit)
    changes = compare(parse_config(base_text), parse_config(head_text))
    assert [(c.env, c.loosened, c.tightened) for c in changes] == [("production", loose, tight)]


def test_repository_wide_changes_loosen_the_envs_they_govern() -> None:
    """Renaming the break-glass label loosens every env with freeze windows (production);
    removing an environment loosens it; both fail without code owners."""
    from gitops_promote.plan.gates.config import config_gates

    head = BASE.replace(
        "settings:\n  base-branch: main",
        "settings:\n  base-branch: main\n  freeze-exception-label: ok",
    )
    head = head.replace("  - name: staging\n", "  - name: qa\n", 1).replace(
        "from: staging", "from: qa"
    )
    results = config_gates(parse_config(BASE), parse_config(head), None)
    by_env = {r.env: r for r in results}
    assert set(by_env) == {"staging", "production"}
    assert by_env["staging"].message.startswith("promotion.yaml loosens staging: removed from")
    assert "break-glass label 'freeze-exception' -> 'ok'" in by_env["production"].message
    assert "from staging -> qa" in by_env["production"].message
    assert all(r.blocking for r in results)


def test_removing_owners_and_the_block_at_once_needs_the_owners(tmp_path: Path) -> None:
    """A PR that drops production's owners: and the CODEOWNERS block together passes the
    ownership gate (nothing left to enforce), but the config gate names the loosening; it
    is a warning only because the base branch's block makes production's owners review it."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"promotion.yaml": with_owners(repo.text("promotion.yaml"))}, at=T0, message="o")
    cli("codeowners", "--repo", str(repo.root))
    repo.commit({}, at=T0, message="codeowners")
    repo.branch("pr")
    text = repo.text("promotion.yaml").replace(f'    owners: ["{OWNERS}"]', "")
    repo.commit({"promotion.yaml": text, ".github/CODEOWNERS": None}, at=NOW, message="drop")
    data = repo.check_json(now=NOW, code=0)
    verdict = result(data, "config", env="production")
    assert verdict["severity"] == "warning"
    assert f"loosens production: owners {OWNERS} -> none" in verdict["message"]
    assert f"makes {OWNERS} (production's owners) the required reviewers" in verdict["message"]
