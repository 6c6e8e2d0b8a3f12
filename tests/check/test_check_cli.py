"""``gitops-promote check`` end to end: real repos, PR-like branches, the CLI run in process.

Soak, freeze (break-glass), promotions through several envs in one PR, rollbacks, hand
edits of production, shared bases, promotion.yaml changes, a base branch that moved on,
GitHub Actions (event defaults, annotations, job summary, outputs) and bad input.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from check.scenario import (
    API,
    NEW_API,
    NEW_WORKER,
    OLD_API,
    T0,
    WORKER,
    ConfigRepo,
    failed,
    overlay,
    result,
)
from support import gitutil
from support.inprocess import cli
from support.repos import Run
from support.tools import kustomize_argv

STAGED = T0 + timedelta(hours=3)  # NEW_API landed in staging (Monday 12:00 UTC)
NOW = T0 + timedelta(hours=28)  # Tuesday 13:00 UTC: 25h later


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()


@pytest.fixture
def repo(tmp_path: Path) -> ConfigRepo:
    """The example config repo with NEW_API promoted dev (T0+1h) -> staging (T0+3h)."""
    config = ConfigRepo(tmp_path / "config")
    config.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    config.promote("api-service", "staging", f"{API}@{NEW_API}", at=STAGED)
    return config


def production_pr(repo: ConfigRepo, ref: str = f"{API}@{NEW_API}", name: str = "pr") -> None:
    repo.branch(name)
    repo.promote("api-service", "production", ref, at=STAGED + timedelta(hours=1))


# -- soak --------------------------------------------------------------------------------------


def test_soak_not_met_says_how_long_is_left(repo: ConfigRepo) -> None:
    """2h after staging got the digest, production (soak 24h) fails with 22h left and the
    instant it is met; the plan's earliest merge is that instant."""
    production_pr(repo)
    data = repo.check_json(now=STAGED + timedelta(hours=2), code=1)
    assert failed(data) == [("soak", "api-service", "production")]
    message = result(data, "soak", "api-service", "production")["message"]
    assert "has run in staging for 2h, since Mon 2026-11-02 12:00 UTC" in message
    assert "production needs 1d: 22h left, met at Tue 2026-11-03 12:00 UTC" in message
    target = data["targets"][0]
    assert target["soak"]["met-at"] == "2026-11-03T12:00:00+00:00"
    assert target["ready-at"] == "2026-11-03T12:00:00+00:00"


def test_soak_counts_from_the_merge_commit_not_the_branch_commit(tmp_path: Path) -> None:
    """A staging promotion authored on a branch on Monday but merged on Tuesday soaks from
    Tuesday: the base branch's first-parent history says when it really ran."""
    repo = ConfigRepo(tmp_path / "config")
    repo.branch("staging-pr")
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=STAGED)
    repo.switch("main")
    merged_at = STAGED + timedelta(hours=20)
    gitutil.git(
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge pull request #7 from org/staging-pr",
        "staging-pr",
        cwd=repo.root,
        env=gitutil.identity_env(merged_at),
    )
    production_pr(repo)
    data = repo.check_json(now=STAGED + timedelta(hours=25), code=1)
    message = result(data, "soak", "api-service", "production")["message"]
    assert "for 5h, since Tue 2026-11-03 08:00 UTC" in message


# -- freeze ------------------------------------------------------------------------------------


def test_weekend_freeze_fails_says_when_it_ends_and_breaks_glass_with_the_label(
    repo: ConfigRepo,
) -> None:
    """On Saturday the weekend window (Fri 16:00 - Mon 08:00 Berlin) fails the check and says
    it ends Monday 08:00 CET; the freeze-exception label passes it, loudly."""
    production_pr(repo)
    saturday = datetime.fromisoformat("2026-11-07T12:00:00+01:00")
    data = repo.check_json(now=saturday, code=1)
    assert failed(data) == [("freeze", "api-service", "production")]
    freeze = result(data, "freeze", "api-service", "production")
    assert "window 'weekend' (no production changes over the weekend)" in freeze["message"]
    assert "until Mon 2026-11-09 08:00 CET (2026-11-09 07:00 UTC)" in freeze["message"]
    assert freeze["file"] == overlay("api-service", "production")
    assert data["targets"][0]["ready-at"] == "2026-11-09T07:00:00+00:00"

    broken = repo.check_json("--label", "freeze-exception", now=saturday, code=0)
    freeze = result(broken, "freeze", "api-service", "production")
    assert freeze["overridden"]
    assert freeze["message"].startswith("BREAK-GLASS")
    text = repo.check("--label", "freeze-exception", now=saturday, code=0).stdout
    assert "OVERRIDE freeze" in text


def test_hand_edit_of_production_is_reported_and_frozen(repo: ConfigRepo) -> None:
    """A PR that only changes production's replicas changes no pin, yet is reported as an
    edit of a gated env on its line, and the freeze applies to it."""
    repo.branch("pr")
    rel = overlay("api-service", "production")
    text = repo.text(rel).replace("count: 6", "count: 12")
    repo.commit({rel: text}, at=STAGED, message="scale production")
    data = repo.check_json(now=NOW, code=0)
    edit = result(data, "overlay", "api-service", "production")
    assert edit["severity"] == "warning"
    assert edit["line"] == text.splitlines().index("    count: 12") + 1
    assert (
        "changes the overlay of api-service in production beyond its image pin" in (edit["message"])
    )
    friday = datetime.fromisoformat("2026-11-06T17:00:00+01:00")
    data = repo.check_json(now=friday, code=1)
    assert ("freeze", "api-service", "production") in failed(data)


def test_change_to_a_shared_base_touches_every_env_built_from_it(repo: ConfigRepo) -> None:
    """Editing apps/api-service/base/deployment.yaml changes what dev, staging and production
    render (found through kustomization references, without rendering): production is
    frozen on a Friday evening, and the edit is reported for it."""
    repo.branch("pr")
    rel = "apps/api-service/base/deployment.yaml"
    repo.commit(
        {rel: repo.text(rel).replace("memory: 256Mi", "memory: 512Mi")},
        at=STAGED,
        message="more memory",
    )
    friday = datetime.fromisoformat("2026-11-06T17:00:00+01:00")
    data = repo.check_json(now=friday, code=1)
    assert failed(data) == [("freeze", "api-service", "production")]
    envs = {(t["app"], t["env"]) for t in data["targets"]}
    assert envs == {
        ("api-service", "dev"),
        ("api-service", "staging"),
        ("api-service", "production"),
    }
    edit = result(data, "overlay", "api-service", "production")
    assert "changes what api-service in production renders" in edit["message"]
    assert data["unmapped"] == []


def test_files_outside_every_env_pass_and_are_listed(repo: ConfigRepo) -> None:
    """A README change touches no environment: nothing to gate, exit 0, listed as such."""
    repo.branch("pr")
    repo.commit({"README.md": "# config\n"}, at=STAGED, message="docs")
    data = repo.check_json(now=NOW, code=0)
    assert data["targets"] == []
    assert data["unmapped"] == ["README.md"]
    assert "nothing to check" in repo.check(now=NOW, code=0).stdout


# -- several envs, rollbacks, promotion.yaml ---------------------------------------------------


def test_staging_and_production_in_one_pr_match_but_do_not_soak(tmp_path: Path) -> None:
    """A PR that pins a digest in staging and production at once passes the upstream gate
    for production (this PR pins it in staging) but not the soak: it has not run anywhere."""
    repo = ConfigRepo(tmp_path / "config")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.branch("pr")
    repo.commit(
        {
            **repo.pinned("api-service", "staging", f"{API}@{NEW_API}"),
            **repo.pinned("api-service", "production", f"{API}@{NEW_API}"),
        },
        at=NOW,
        message="skip ahead",
    )
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("soak", "api-service", "production")]
    upstream = result(data, "upstream", "api-service", "production")
    assert "which this pull request also pins in staging" in upstream["message"]
    soak = result(data, "soak", "api-service", "production")
    assert "this pull request pins it in staging too" in soak["message"]
    assert result(data, "soak", "api-service", "staging")["passed"]  # dev ran it for 27h


def test_rollback_needs_allow_rollback(tmp_path: Path) -> None:
    """Production ran OLD_API, then NEW_API; going back to OLD_API (which staging no longer
    runs) is refused as a rollback, and passes (without soak) once allow-rollback is set."""
    for allowed in (False, True):
        repo = ConfigRepo(tmp_path / f"allowed-{allowed}")
        if allowed:
            text = repo.text("promotion.yaml").replace(
                "    require-digest: true", "    require-digest: true\n    allow-rollback: true"
            )
            repo.commit({"promotion.yaml": text}, at=T0, message="allow rollbacks")
        repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
        repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=STAGED)
        repo.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
        production_pr(repo, f"{API}:v1.4.0@{OLD_API}")
        data = repo.check_json(now=NOW + timedelta(hours=1), code=0 if allowed else 1)
        upstream = result(data, "upstream", "api-service", "production")
        if allowed:
            assert upstream["message"].startswith("rollback: production would run sha256:f9811")
            assert "no soak" in result(data, "soak", "api-service", "production")["message"]
        else:
            assert failed(data) == [
                ("upstream", "api-service", "production"),
                ("soak", "api-service", "production"),
            ]
            assert "need allow-rollback: true" in upstream["message"]


def test_pr_cannot_loosen_the_rules_that_judge_it(repo: ConfigRepo) -> None:
    """A PR that drops require-digest and pins a tag is still judged by the base branch's
    promotion.yaml: pinning fails, and the config change is flagged for reviewers."""
    repo.branch("pr")
    text = repo.text("promotion.yaml").replace("    require-digest: true", "")
    repo.commit({"promotion.yaml": text}, at=STAGED, message="loosen")
    repo.promote("api-service", "production", f"{API}:v1.5.0", at=STAGED)
    data = repo.check_json(now=NOW, code=1)
    assert ("pinning", "api-service", "production") in failed(data)
    config = next(r for r in data["results"] if r["gate"] == "config" and r["env"] is None)
    assert config["severity"] == "warning"
    assert "cannot change the rules" in config["message"]
    assert "require-digest true -> false" in result(data, "config", env="production")["message"]


def test_broken_promotion_yaml_in_the_pr_fails_on_its_line(repo: ConfigRepo) -> None:
    """A PR whose promotion.yaml is invalid fails the config gate at the offending line."""
    repo.branch("pr")
    text = repo.text("promotion.yaml").replace("soak: 24h", "soak: 24 hours")
    repo.commit({"promotion.yaml": text}, at=STAGED, message="typo")
    data = repo.check_json(now=NOW, code=1)
    config = result(data, "config")
    assert not config["passed"]
    assert config["file"] == "promotion.yaml"
    assert config["line"] == text.splitlines().index("    soak: 24 hours") + 1


def test_base_branch_moved_on_after_the_pr_branched(tmp_path: Path) -> None:
    """worker's production PR branched before api-service reached production on main; the
    check judges the merged result, so the dependency is satisfied."""
    repo = ConfigRepo(tmp_path / "config")
    for app, image, digest in (("api-service", API, NEW_API), ("worker", WORKER, NEW_WORKER)):
        repo.promote(app, "dev", f"{image}@{digest}", at=T0 + timedelta(hours=1))
        repo.promote(app, "staging", f"{image}@{digest}", at=STAGED)
    repo.branch("worker-pr")
    repo.promote("worker", "production", f"{WORKER}@{NEW_WORKER}", at=NOW)
    assert failed(repo.check_json(now=NOW, code=1)) == [("dependencies", "worker", "production")]
    repo.switch("main")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=NOW)
    repo.switch("worker-pr")
    data = repo.check_json(now=NOW, code=0)
    assert [(t["app"], t["env"]) for t in data["targets"]] == [("worker", "production")]
    assert result(data, "dependencies", "worker", "production")["passed"]


# -- GitHub Actions ---------------------------------------------------------------------------


def test_actions_event_annotations_summary_and_outputs(repo: ConfigRepo, tmp_path: Path) -> None:
    """On a pull_request event, base, head and labels come from the event payload; the
    failure is an ::error annotation on the overlay line; the job summary has the gates x
    targets table; the outputs say it failed."""
    remote = gitutil.init_bare(tmp_path / "remote.git")
    gitutil.git("remote", "add", "origin", str(remote), cwd=repo.root)
    gitutil.git("push", "-q", "origin", "main", cwd=repo.root)
    production_pr(repo, f"{API}:latest")
    head = repo.head()
    pr_text = repo.text(overlay("api-service", "production"))
    tag_line = next(i for i, x in enumerate(pr_text.splitlines(), 1) if "newTag: latest" in x)
    gitutil.git("push", "-q", "origin", "pr", cwd=repo.root)
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 12,
                    "base": {"ref": "main", "sha": gitutil.rev_parse(repo.root, "main")},
                    "head": {"ref": "pr", "sha": head},
                    "labels": [{"name": "promotion"}],
                }
            }
        )
    )
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    summary.touch()
    outputs.touch()
    repo.switch("main")  # actions/checkout leaves whatever: the event decides what is checked
    run = repo_check_event(repo, event, summary, outputs, code=1)
    errors = [x for x in run.stdout.splitlines() if x.startswith("::error ")]
    assert any(
        x.startswith(
            f"::error file={overlay('api-service', 'production')},line={tag_line},"
            "title=pinning%3A api-service in production::production requires a digest"
        )
        for x in errors
    ), errors
    table = summary.read_text()
    assert "### ❌ Promotion check failed" in table
    assert "| Target | freeze | pinning | upstream | soak | dependencies |" in table
    assert "| `api-service` → `production` | ✅ | ❌ | ❌ |" in table
    assert "passed<<" in outputs.read_text()
    assert "false" in outputs.read_text()


def repo_check_event(
    repo: ConfigRepo, event: Path, summary: Path, outputs: Path, *, code: int
) -> Run:
    return cli(
        "check",
        "--repo",
        str(repo.root),
        "--base-branch",
        "main",
        "--now",
        NOW.isoformat(),
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs),
        },
        check=code,
    )


# -- bad input ---------------------------------------------------------------------------------


def test_bad_input_is_one_line_and_exit_2(repo: ConfigRepo) -> None:
    """An unknown revision or an unreadable --now exits 2 with one line naming it."""
    run = repo.check(now=NOW, head="no-such-branch", code=2)
    assert run.stderr.strip().splitlines() == [
        "error: --head 'no-such-branch': no such commit (fetch it: git fetch origin)"
    ]
    run = repo.check(now="next tuesday", code=2)
    assert "--now 'next tuesday' is not an ISO 8601 time" in run.stderr
    assert "Traceback" not in run.stderr
