"""The state file confirmed from the commit list, proven only where soak would act on it.

Over real git repositories through the CLI (in process): ``status`` takes an entry whose
commit is on the branch with that commit's time, reading no tree and no history; an entry
that names a commit off the branch or another time is refused (history answers, with a
note). An entry on the branch whose commit did not set the pin is shown by ``status`` as
it is (docs/state-file.md) but never makes ``soak`` promote early: soak proves the entries
of the candidates it would promote, and only those. ``soak`` with the state file makes one
history pass at most, none when nothing asks history, and answers as history does where
the state file is right."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo
from gitops_promote.adapters.git import Repo
from gitops_promote.facts import statesince
from support import gitutil
from support.inprocess import cli

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday: no freeze
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def note(app: str, env: str) -> str:
    return f"state file entry for {app} in {env} does not match git: history used"


def with_state_file(root: Path) -> ConfigRepo:
    text = (Path(__file__).parents[2] / "examples/config-repo/promotion.yaml").read_text()
    setting = "  base-branch: main\n"
    text = text.replace(setting, f"{setting}  state-file: versions.json\n")
    return ConfigRepo(root, files={"promotion.yaml": text})


def write_state(repo: ConfigRepo, *, at: datetime) -> str:
    cli("validate", "--repo", str(repo.root), "--write-state", check=0)
    return repo.commit({}, at=at, message="state file")


def dev_moved(root: Path, *, ago: timedelta) -> tuple[ConfigRepo, str, str]:
    """dev got NEW_API ``ago`` before NOW; an honest state file is committed a minute later.
    Returns the repo, the promoting commit and the state file's commit."""
    repo = with_state_file(root)
    write_state(repo, at=T0 + timedelta(minutes=1))
    promoted = repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=NOW - ago)
    written = write_state(repo, at=NOW - ago + timedelta(minutes=1))
    return repo, promoted, written


def edit_entry(repo: ConfigRepo, app: str, env: str, **fields: Any) -> str:
    """A JSON-only commit (pushed past the check) that sets fields of one entry."""
    data = json.loads(repo.text("versions.json"))
    data["apps"][app][env].update(fields)
    return repo.commit(
        {"versions.json": json.dumps(data, indent=2, sort_keys=True) + "\n"},
        at=NOW - timedelta(seconds=30),
        message="chore: edit versions.json",
    )


def status(repo: ConfigRepo) -> tuple[dict[tuple[str, str], Any], str]:
    run = cli("status", "--repo", str(repo.root), "--json", check=0)
    return {(r["app"], r["env"]): r for r in json.loads(run.stdout)}, run.stderr


def soak(repo: ConfigRepo) -> dict[str, Any]:
    run = cli(
        "soak", "--repo", str(repo.root), "--dry-run", "--json", "--now", NOW.isoformat(), check=0
    )
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def target(data: Mapping[str, Any], app: str, env: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in data["targets"] if (t["app"], t["env"]) == (app, env))
    return found


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """Every history walk started (``Repo.path_history``) and every proof's reads
    (``statesince.pins_at``: the (commit, file) pairs read)."""
    seen: dict[str, list[Any]] = {"walks": [], "proofs": []}
    walk, pins_at = Repo.path_history, statesince.pins_at

    def walking(self: Repo, paths: Any, *args: Any, **kwargs: Any) -> Any:
        seen["walks"].append(sorted(paths))
        return walk(self, paths, *args, **kwargs)

    def proving(repo: Repo, config: Any, wanted: Any, chain: Any) -> Any:
        seen["proofs"].append(sorted(wanted))
        return pins_at(repo, config, wanted, chain)

    monkeypatch.setattr(Repo, "path_history", walking)
    monkeypatch.setattr(statesince, "pins_at", proving)
    yield seen


@contextmanager
def history_only() -> Iterator[None]:
    """The commands as they answer without the state file: history for every target."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(statesince, "read_known", lambda *_a, **_k: statesince.Verified())
        yield


def test_a_right_state_file_answers_status_without_trees_or_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every entry right: status says exactly what history says, with no history walk and
    no proof (no tree of any entry's commit read)."""
    repo, promoted, _ = dev_moved(tmp_path / "config", ago=timedelta(minutes=5))
    with history_only():
        expected = status(repo)
    with counted(monkeypatch) as seen:
        assert status(repo) == expected
    assert seen == {"walks": [], "proofs": []}
    assert expected[0][("api-service", "dev")]["since-commit"] == promoted


def test_soak_proves_only_what_it_would_promote_in_one_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dev has run NEW_API for 2h (staging's 1h soak met) and one entry is pending (history
    answers for it): soak --dry-run says what history says, proves the one entry it would
    promote on (its commit and its parent, one file) and walks history once for every
    target, not once for the pending entry and again for the others."""
    repo, promoted, _ = dev_moved(tmp_path / "config", ago=timedelta(hours=2))
    edit_entry(repo, "worker", "dev", commit=None)  # pending: history answers for it
    with history_only():
        expected = soak(repo)
    with counted(monkeypatch) as seen:
        assert soak(repo) == expected
    assert target(expected, "api-service", "staging")["status"] == "promote"
    assert len(seen["walks"]) == 1, seen["walks"]
    dev = "apps/api-service/overlays/dev/kustomization.yaml"
    assert len(seen["proofs"]) == 1
    assert {file for _, file in seen["proofs"][0]} == {dev}
    assert promoted in {commit for commit, _ in seen["proofs"][0]}


def test_soak_reads_no_history_when_nothing_asks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every target up to date and every entry right: soak walks no history at all."""
    repo = with_state_file(tmp_path / "config")
    write_state(repo, at=T0 + timedelta(minutes=1))
    with history_only():
        expected = soak(repo)
    with counted(monkeypatch) as seen:
        assert soak(repo) == expected
    assert {t["status"] for t in expected["targets"]} == {"up-to-date"}
    assert seen == {"walks": [], "proofs": []}


@pytest.mark.parametrize(
    "forge",
    [
        {"commit": "0" * 40},  # not on the branch
        {"since": (NOW - timedelta(days=2)).strftime(STAMP)},  # the right commit, backdated
    ],
    ids=["off-chain", "since-not-the-commits"],
)
def test_a_forged_entry_is_refused_by_status_and_soak(
    tmp_path: Path, forge: dict[str, str]
) -> None:
    """An entry the commit list does not confirm: status and soak answer from history and
    note it; soak waits (dev has run NEW_API for 5 minutes, not 2 days)."""
    repo, promoted, _ = dev_moved(tmp_path / "config", ago=timedelta(minutes=5))
    edit_entry(repo, "api-service", "dev", **forge)
    rows, stderr = status(repo)
    assert note("api-service", "dev") in stderr
    assert rows[("api-service", "dev")]["since-commit"] == promoted
    assert rows[("api-service", "dev")]["since"] == (NOW - timedelta(minutes=5)).isoformat()
    data = soak(repo)
    assert note("api-service", "dev") in data["notes"]
    staging = target(data, "api-service", "staging")
    assert staging["status"] == "waiting", staging
    assert staging["left-seconds"] == 55 * 60


def test_an_entry_on_the_chain_that_did_not_set_the_pin(tmp_path: Path) -> None:
    """The entry names the initial commit with its real time (on the branch, but that
    commit did not set the pin): status shows it as the file says (the documented limit),
    but soak, about to promote on it, proves it, refuses it and waits; validate reports
    it. Naming a later commit (the state file's own) only makes soak wait longer."""
    repo, promoted, written = dev_moved(tmp_path / "config", ago=timedelta(minutes=5))
    edit_entry(repo, "api-service", "dev", commit=_root(repo), since=T0.strftime(STAMP))
    rows, stderr = status(repo)
    assert note("api-service", "dev") not in stderr
    assert rows[("api-service", "dev")]["since"] == T0.isoformat()
    data = soak(repo)
    staging = target(data, "api-service", "staging")
    assert staging["status"] == "waiting", staging
    assert staging["left-seconds"] == 55 * 60
    assert note("api-service", "dev") in data["notes"]
    problems = cli("validate", "--repo", str(repo.root), check=None)
    assert "wrong since: records api-service in dev" in problems.stdout + problems.stderr
    assert promoted != _root(repo)

    later = (NOW - timedelta(minutes=4)).strftime(STAMP)
    edit_entry(repo, "api-service", "dev", commit=written, since=later)
    rows, _ = status(repo)
    assert rows[("api-service", "dev")]["since-commit"] == written
    staging = target(soak(repo), "api-service", "staging")
    assert staging["status"] == "waiting", staging
    assert staging["left-seconds"] == 56 * 60  # late, never early


def _root(repo: ConfigRepo) -> str:
    return gitutil.git("rev-list", "--max-parents=0", "HEAD", cwd=repo.root).strip()


def test_soak_proves_in_a_commits_only_clone(tmp_path: Path) -> None:
    """soak --remote (a clone that has commits only; the state file's check read no tree)
    fetches the trees of just the commits it proves: the backdated entry is refused there
    too and staging waits, while status --remote shows the entry as the file says."""
    repo, _, _ = dev_moved(tmp_path / "config", ago=timedelta(minutes=5))
    edit_entry(repo, "api-service", "dev", commit=_root(repo), since=T0.strftime(STAMP))
    for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant"):
        gitutil.git("config", key, "true", cwd=repo.root)
    url = f"file://{repo.root}"
    args = ("--remote", url, "--dry-run", "--json", "--now", NOW.isoformat())
    data = json.loads(cli("soak", *args, check=0).stdout)
    staging = target(data, "api-service", "staging")
    assert staging["status"] == "waiting", staging
    assert staging["left-seconds"] == 55 * 60
    assert note("api-service", "dev") in data["notes"]
    shown = json.loads(cli("status", "--remote", url, "--json", check=0).stdout)
    dev = next(r for r in shown if (r["app"], r["env"]) == ("api-service", "dev"))
    assert dev["since"] == T0.isoformat()
