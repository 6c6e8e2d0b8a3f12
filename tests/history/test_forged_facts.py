"""Facts a contributor could forge cheaply are checked against git, end to end through the
CLI over real git repositories: a state-file entry that backdates dev's ``since`` is
refused (history answers, and ``check`` / ``soak`` say so), and a commit dated before its
own parent soaks from its parent's time, in ``check`` and in ``soak --dry-run`` alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo, failed, result
from support.repos import cli

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday: no freeze
DEV = "apps/api-service/overlays/dev/kustomization.yaml"
NOTE = "state file entry for api-service in dev does not match git: history used"


def with_state_file(root: Path) -> ConfigRepo:
    text = (Path(__file__).parents[2] / "examples/config-repo/promotion.yaml").read_text()
    setting = "  base-branch: main\n"
    text = text.replace(setting, f"{setting}  state-file: versions.json\n")
    assert "state-file" in text
    return ConfigRepo(root, files={"promotion.yaml": text})


def write_state(repo: ConfigRepo, *, at: datetime) -> str:
    """The state file exactly as the tool writes it (``validate --write-state``), committed."""
    cli("validate", "--repo", str(repo.root), "--write-state", check=0)
    return repo.commit({}, at=at, message="state file")


def staging_pr(repo: ConfigRepo) -> None:
    """A pull request promoting dev's new digest to staging (soak 1h)."""
    repo.branch("promote-staging")
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=NOW - timedelta(minutes=1))


def soak_staging(repo: ConfigRepo) -> tuple[dict[str, Any], dict[str, Any]]:
    """``soak --dry-run --json`` for api-service in staging on main: the target and the run."""
    repo.switch("main")
    run = cli(
        "soak",
        "--repo",
        str(repo.root),
        "--dry-run",
        "--json",
        "--app",
        "api-service",
        "--env",
        "staging",
        "--now",
        NOW.isoformat(),
        check=0,
    )
    data: dict[str, Any] = json.loads(run.stdout)
    (target,) = [t for t in data["targets"] if t["env"] == "staging"]
    return target, data


@pytest.fixture
def forged(tmp_path: Path) -> ConfigRepo:
    """dev got NEW_API five minutes ago (an honest state file says so); then a JSON-only
    commit backdates the entry to the initial commit (on the branch, its real date)."""
    repo = with_state_file(tmp_path / "config")
    initial = repo.head()
    write_state(repo, at=T0 + timedelta(minutes=1))
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=NOW - timedelta(minutes=5))
    write_state(repo, at=NOW - timedelta(minutes=4))
    data = json.loads(repo.text("versions.json"))
    entry = data["apps"]["api-service"]["dev"]
    assert entry["since"] == (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry["commit"] = initial
    entry["since"] = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    repo.commit(
        {"versions.json": json.dumps(data, indent=2, sort_keys=True) + "\n"},
        at=NOW - timedelta(minutes=3),
        message="chore: tidy versions.json",
    )
    return repo


def test_check_refuses_a_backdated_state_file_entry(forged: ConfigRepo) -> None:
    """The forged entry names a commit on the branch with its real date, but that commit
    does not set the pin: check reads history, soak is not met (55m left), and it says the
    state file entry was not used."""
    staging_pr(forged)
    data = forged.check_json(now=NOW, code=1)
    assert failed(data) == [("soak", "api-service", "staging")]
    message = result(data, "soak", "api-service", "staging")["message"]
    assert "has run in dev for 5m" in message
    assert NOTE in data["notes"]
    text = forged.check(now=NOW, code=1).stdout
    assert NOTE in text


def test_soak_refuses_a_backdated_state_file_entry(forged: ConfigRepo) -> None:
    """soak --dry-run waits for staging (the digest has run in dev for 5 minutes, not
    since the initial commit) and notes the refused entry."""
    target, data = soak_staging(forged)
    assert target["status"] == "waiting", target
    assert target["left-seconds"] == 55 * 60
    assert NOTE in data["notes"]


def test_an_honest_state_file_is_used_without_a_note(tmp_path: Path) -> None:
    """The same history with the state file as the tool wrote it: same verdicts, no note."""
    repo = with_state_file(tmp_path / "config")
    write_state(repo, at=T0 + timedelta(minutes=1))
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=NOW - timedelta(minutes=5))
    write_state(repo, at=NOW - timedelta(minutes=4))
    staging_pr(repo)
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("soak", "api-service", "staging")]
    assert not any("state file" in n for n in data["notes"])
    target, run = soak_staging(repo)
    assert (target["status"], target["left-seconds"]) == ("waiting", 55 * 60)
    assert not any("state file" in n for n in run["notes"])


@pytest.fixture
def backdated(tmp_path: Path) -> ConfigRepo:
    """main's last commit landed ten minutes ago; then a dev push pins NEW_API with a
    committer (and author) date three days before its own parent."""
    repo = ConfigRepo(tmp_path / "config")
    repo.commit({"README.md": "notes\n"}, at=NOW - timedelta(minutes=10), message="docs")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=NOW - timedelta(days=3))
    return repo


def test_check_soaks_a_backdated_commit_from_its_parent(backdated: ConfigRepo) -> None:
    """staging (soak 1h) fails: the digest has run in dev for 10m (its parent's time),
    not the 3d its committer date claims."""
    staging_pr(backdated)
    data = backdated.check_json(now=NOW, code=1)
    assert failed(data) == [("soak", "api-service", "staging")]
    message = result(data, "soak", "api-service", "staging")["message"]
    assert "has run in dev for 10m" in message
    assert "for 3d" not in message


def test_soak_soaks_a_backdated_commit_from_its_parent(backdated: ConfigRepo) -> None:
    """soak --dry-run waits 50 more minutes for staging, not 'promote now'."""
    target, _ = soak_staging(backdated)
    assert target["status"] == "waiting", target
    assert target["left-seconds"] == 50 * 60
