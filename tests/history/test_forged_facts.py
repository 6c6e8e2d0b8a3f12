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
from support import gitutil
from support.inprocess import cli

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


# -- a pull request that changes the state file ------------------------------------------------


def promoted_state(repo: ConfigRepo) -> None:
    """The state file rewritten as a promotion of the work tree's pins writes it
    (:func:`gitops_promote.facts.statefile.refresh`: the pin this commit makes is pending)."""
    from gitops_promote.adapters.git import Git, Repo
    from gitops_promote.config.load import parse_config
    from gitops_promote.facts import statefile as state

    config = parse_config(repo.text("promotion.yaml"))
    local = Repo(Git(cwd=repo.root), repo.root, base_branch="main")
    state.refresh(local, config, {("api-service", "staging"): NOW - timedelta(minutes=1)})


def soaked(tmp_path: Path) -> ConfigRepo:
    """dev has run NEW_API for two hours, recorded honestly in the state file."""
    repo = with_state_file(tmp_path / "config")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=NOW - timedelta(hours=2))
    write_state(repo, at=NOW - timedelta(hours=2) + timedelta(minutes=1))
    return repo


def test_a_promotion_pr_with_the_state_file_the_tool_writes_passes(tmp_path: Path) -> None:
    """A staging promotion whose state file is exactly what the promotion writes: no
    state gate, the check passes."""
    repo = soaked(tmp_path)
    repo.branch("promote-staging")
    files = repo.pinned("api-service", "staging", f"{API}@{NEW_API}")
    gitutil.write_files(repo.root, files)
    promoted_state(repo)
    repo.commit({}, at=NOW - timedelta(minutes=1), message="promote api-service to staging")
    data = repo.check_json(now=NOW, code=0)
    assert [r for r in data["results"] if r["gate"] == "state"] == []


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (
            lambda d, initial: d["apps"]["api-service"]["dev"].update(
                commit=initial, since=T0.strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            "changes the entry for api-service in dev (since 2026-11-02T09:00:00Z",
        ),
        (
            lambda d, _initial: d["apps"]["api-service"].pop("production"),
            "removes the entry for api-service in production",
        ),
        (
            lambda d, initial: d["apps"]["api-service"]["staging"].update(
                commit=initial, since=T0.strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            "but this pull request is what pins it",
        ),
    ],
    ids=["backdated-dev", "removed-entry", "staging-claims-history"],
)
def test_a_pr_whose_state_file_is_not_the_tools_fails_the_state_gate(
    tmp_path: Path, edit: Any, fragment: str
) -> None:
    """A pull request whose state file differs from what the tool writes for its pin
    changes (a backdated entry it does not promote, a removed entry, a promoted entry
    that claims old history) fails the state gate, naming the entry; before, the check
    passed ("no environment changes" for a JSON-only PR, soak met for the promotion)."""
    repo = soaked(tmp_path)
    initial = gitutil.git("rev-list", "--max-parents=0", "HEAD", cwd=repo.root)
    repo.branch("edit-state")
    gitutil.write_files(repo.root, repo.pinned("api-service", "staging", f"{API}@{NEW_API}"))
    promoted_state(repo)
    data = json.loads(repo.text("versions.json"))
    edit(data, initial)
    from gitops_promote.facts import statefile as state

    entries = state.parse(json.dumps(data))
    order = ["dev", "staging", "production"]
    repo.commit(
        {
            "versions.json": state.render_json(entries),
            "VERSIONS.md": state.render_markdown(entries, "versions.json", order),
        },
        at=NOW - timedelta(minutes=1),
        message="promote api-service to staging",
    )
    out = repo.check_json(now=NOW, code=1)
    gates = [r for r in out["results"] if r["gate"] == "state"]
    assert len(gates) == 1, gates
    assert not gates[0]["passed"]
    assert gates[0]["file"] == "versions.json"
    assert fragment in gates[0]["message"]
    assert "never by hand" in gates[0]["message"]


def test_a_json_only_pr_that_backdates_dev_fails_the_state_gate(tmp_path: Path) -> None:
    """The attack's first step: a PR that only edits versions.json (and VERSIONS.md to
    match) to backdate dev's since fails the check instead of passing it."""
    from gitops_promote.facts import statefile as state

    repo = with_state_file(tmp_path / "config")
    initial = repo.head()
    write_state(repo, at=T0 + timedelta(minutes=1))
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=NOW - timedelta(minutes=5))
    write_state(repo, at=NOW - timedelta(minutes=4))
    repo.branch("tidy")
    data = json.loads(repo.text("versions.json"))
    data["apps"]["api-service"]["dev"].update(
        commit=initial, since=T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    entries = state.parse(json.dumps(data))
    repo.commit(
        {
            "versions.json": state.render_json(entries),
            "VERSIONS.md": state.render_markdown(
                entries, "versions.json", ["dev", "staging", "production"]
            ),
        },
        at=NOW - timedelta(minutes=3),
        message="chore: tidy versions.json",
    )
    out = repo.check_json(now=NOW, code=1)
    assert failed(out) == [("state", None, None)]
    assert "api-service in dev" in result(out, "state")["message"]


def test_a_later_promotion_does_not_keep_a_forged_entry(forged: ConfigRepo) -> None:
    """The forged entry merged on main: the next promotion's rewrite of the state file
    does not carry it forward; it writes what history says (dev since five minutes ago)."""
    forged.switch("main")
    gitutil.write_files(forged.root, forged.pinned("api-service", "staging", f"{API}@{NEW_API}"))
    promoted_state(forged)
    entry = json.loads(forged.text("versions.json"))["apps"]["api-service"]["dev"]
    assert entry["since"] == (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entry["commit"] != gitutil.git("rev-list", "--max-parents=0", "HEAD", cwd=forged.root)


def test_status_in_a_commits_only_clone_shows_an_entry_on_the_chain(forged: ConfigRepo) -> None:
    """status --remote (a partial clone that has commits only) confirms entries from the
    commit list alone, reading no tree: the backdated entry names a commit of the branch
    with that commit's time, so status shows it as the file says (documented in
    docs/state-file.md; validate reports it, and soak proves it before acting: see
    test_soak_refuses_a_backdated_state_file_entry), and the honest entries' answers."""
    forged.switch("main")
    for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant"):
        gitutil.git("config", key, "true", cwd=forged.root)
    run = cli("status", "--remote", f"file://{forged.root}", "--json", check=0)
    assert NOTE not in run.stderr
    rows = {(r["app"], r["env"]): r for r in json.loads(run.stdout)}
    dev = rows[("api-service", "dev")]
    assert dev["since"] == T0.isoformat()
    assert rows[("worker", "dev")]["since"] == T0.isoformat()
    problems = cli("validate", "--repo", str(forged.root), check=None)
    assert problems.returncode != 0
    assert "wrong since: records api-service in dev" in problems.stdout + problems.stderr
