"""The state file as the fast source of "since when".

status, soak and check read it (one blob) where it agrees with the overlays, and history
for everything else: over generated histories, with a correct state file or one whose
entries are missing, stale, pending or broken, every output is exactly the one the history
pass gives without a state file; a state file that answers every target reads no history.
A promotion's rewrite keeps the entries that hold and reads history only for the rest, with
the bytes of a full rewrite; validate catches a since or commit that history contradicts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_promote.adapters.git import Git, Repo
from gitops_promote.adapters.git.log import Link
from gitops_promote.config.load import parse_config
from gitops_promote.config.model import Config
from gitops_promote.facts import check as checkfacts
from gitops_promote.facts import merged, since, statesince
from gitops_promote.facts import statefile as state
from gitops_promote.plan import soak as soakplan
from gitops_promote.plan.gates.evaluate import evaluate
from gitops_promote.report import check as checkreport
from gitops_promote.report import status as statusview
from gitops_promote.report.records import StatusReport
from gitops_promote.report.soak import Outcome, outcome_json
from support import gitutil
from support.inprocess import cli
from support.repos import digest_of

YAML = """\
version: 1
settings:
  base-branch: main
{state}environments:
  - {{name: dev, path: 'apps/{{app}}/dev'}}
  - {{name: staging, path: 'apps/{{app}}/staging', from: dev, soak: 1h, auto: true}}
  - name: prod
    path: 'apps/{{app}}/prod'
    from: staging
    soak: 24h
    auto: true
    allow-rollback: true
apps:
  web: {{image: ghcr.io/o/web}}
  api: {{image: ghcr.io/o/api, depends-on: [web]}}
"""
WITH = YAML.format(state="  state-file: state/versions.json\n")
WITHOUT = YAML.format(state="")
APPS = ("web", "api")
ENVS = ("dev", "staging", "prod")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))


def overlay(app: str, digest: str, tag: str | None) -> str:
    extra = f"    newTag: {tag}\n" if tag else ""
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n"
        f"  - name: ghcr.io/o/{app}\n{extra}    digest: {digest}\n"
    )


def path(app: str, env: str) -> str:
    return f"apps/{app}/{env}/kustomization.yaml"


Pin = tuple[int, str | None]  # build number, tag
Step = tuple[int, int, dict[tuple[str, str], Pin]]  # hours later, zone, pins

targets = st.sampled_from([(a, e) for a in APPS for e in ENVS])
pin_values = st.tuples(st.integers(0, 2), st.sampled_from([None, "v1", "v2"]))
steps = st.lists(
    st.tuples(
        st.integers(1, 30),
        st.integers(0, len(ZONES) - 1),
        st.dictionaries(targets, pin_values, min_size=0, max_size=3),
    ),
    min_size=1,
    max_size=6,
)
DAMAGE = ("none", "drop", "pending", "stale", "moved", "malformed", "absent")
damages = st.dictionaries(targets, st.sampled_from(DAMAGE[:5]), max_size=3)
whole = st.sampled_from(("none", "none", "malformed", "absent"))


@dataclass
class Built:
    repo: Repo
    root: Path
    now: datetime
    head: str


def build(
    root: Path, history: list[Step], damage: Mapping[tuple[str, str], str], whole_file: str
) -> Built:
    """Every app at build 0 everywhere, then the steps; then versions.json written by a
    full refresh (as validate --write-state does) and damaged as asked, in one commit."""
    if root.exists():
        shutil.rmtree(root)
    gitutil.init_repo(root)
    first = {path(a, e): overlay(a, digest_of(f"{a}-0"), None) for a in APPS for e in ENVS}
    when = T0
    gitutil.commit_files(root, {"promotion.yaml": WITH, **first}, message="seed", date=when)
    for hours, zone, pins in history:
        when += timedelta(hours=hours)
        files = {
            path(a, e): overlay(a, digest_of(f"{a}-{n}"), t) for (a, e), (n, t) in pins.items()
        }
        gitutil.commit_files(
            root, files, message="pins", date=when.astimezone(ZONES[zone]), allow_empty=True
        )
    repo = Repo(Git(cwd=root), root, base_branch="main")
    state.refresh(repo, parse_config(WITH), full=True)
    versions = root / "state" / "versions.json"
    data = json.loads(versions.read_text())
    for (app, env), how in damage.items():
        entry = data["apps"][app][env]
        if how == "drop":
            del data["apps"][app][env]
        elif how == "pending":
            entry["commit"] = None
        elif how == "stale":
            entry["digest"] = digest_of("never")
            entry["image"] = f"ghcr.io/o/{app}@{entry['digest']}"
            entry["tag"] = None
        elif how == "moved":  # names a commit that is not on the branch
            entry["commit"] = "0" * 40
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if whole_file == "malformed":
        text = "{not json"
    versions.write_text(text)
    if whole_file == "absent":
        versions.unlink()
    when += timedelta(hours=1)
    head = gitutil.commit_files(root, {}, message="state", date=when, allow_empty=True)
    return Built(repo, root, when + timedelta(hours=3), head)


def status(built: Built, config: Config) -> tuple[Any, str]:
    all_targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
    rows = statusview.gather(built.repo, config, all_targets, rev="HEAD")
    report = StatusReport(tuple(rows))
    return statusview.to_json(report), statusview.table(report)


def soak(built: Built, config: Config) -> list[dict[str, Any]]:
    wanted = soakplan.fact_targets(config)
    held = since.read(built.repo, config, wanted, rev="HEAD")
    now_pinned, lines = held.current, held.lines
    found = soakplan.Facts(
        config,
        built.now,
        {key: c.ref for key, c in now_pinned.items()},
        lines,
        files={key: c.file for key, c in now_pinned.items() if c.file},
    )
    return [outcome_json(Outcome(d)) for d in soakplan.plan(found)]


def check(built: Built, app: str, env: str) -> dict[str, Any]:
    """check of a branch that pins in ``env`` what its upstream runs (or build 1)."""
    config = parse_config(WITH)
    upstream = config.env(env).upstream
    source = (built.root / path(app, upstream or env)).read_text()
    if upstream is None:
        source = overlay(app, digest_of(f"{app}-1"), None)
    gitutil.git("checkout", "-q", "-B", "pr", "main", cwd=built.root)
    head = gitutil.commit_files(
        built.root, {path(app, env): source}, message="promote", date=built.now, allow_empty=True
    )
    gitutil.git("checkout", "-q", "main", cwd=built.root)
    revs = merged.revisions(built.repo, "main", head)
    found, _ = checkfacts.gather(
        built.repo, revs, config_path="promotion.yaml", now=built.now, render_overlays=False
    )
    return checkreport.to_json(evaluate(found))


@contextmanager
def counting_history(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls = [0]
    original = Repo.path_history

    def counted(self: Repo, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Repo, "path_history", counted)
    yield calls


@contextmanager
def no_state_file() -> Iterator[None]:
    """check as it is without a state file: the base's state file answers nothing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checkfacts, "known_since", lambda *_a, **_k: statesince.Verified())
        yield


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, damage=damages, whole_file=whole, touched=targets)
def test_outputs_are_the_history_passes_whatever_the_state_file_says(
    tmp_path: Path,
    history: list[Step],
    damage: dict[tuple[str, str], str],
    whole_file: str,
    touched: tuple[str, str],
) -> None:
    """status (table and JSON), the soak plan (every target's JSON) and check (every
    verdict) are the same with the state file as without one: agreeing entries answer
    exactly as history does (commit, committer date and its offset), and dropped, pending,
    stale, off-branch, malformed or absent entries fall back to history."""
    built = build(tmp_path / "config", history, damage, whole_file)
    with_state, without = parse_config(WITH), parse_config(WITHOUT)
    assert status(built, with_state) == status(built, without)
    assert soak(built, with_state) == soak(built, without)
    app, env = touched
    checked = check(built, app, env)
    with no_state_file():
        assert checked == check(built, app, env)


@pytest.mark.parametrize(("zone", "offset"), [(0, "+00:00"), (1, "+02:00"), (2, "-05:00")])
def test_a_correct_state_file_answers_status_without_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: int, offset: str
) -> None:
    """With every entry agreeing, status reads no history (not one path walk), yet says
    what history says; with one entry stale, history is walked for that target only."""
    built = build(
        tmp_path / "config",
        [(5, zone, {("web", "dev"): (1, "v1")}), (2, 1, {("web", "dev"): (1, "v2")})],
        {},
        "none",
    )
    expected = status(built, parse_config(WITHOUT))
    with counting_history(monkeypatch) as calls:
        assert status(built, parse_config(WITH)) == expected
    assert calls == [0]
    rows = {(r["app"], r["env"]): r for r in expected[0]}
    assert rows[("web", "dev")]["since"].endswith(offset)  # the committer's, as history's

    pending = build(tmp_path / "again", [(5, 0, {("api", "prod"): (2, None)})], {}, "none")
    versions = pending.root / "state" / "versions.json"
    data = json.loads(versions.read_text())
    data["apps"]["api"]["prod"]["commit"] = None
    versions.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    gitutil.commit_files(pending.root, {}, message="pending", date=pending.now)
    config = parse_config(WITH)
    every = [(a, e) for a in config.apps for e in config.envs_of(a)]
    held = since.read(pending.repo, config, every, rev="HEAD")
    now_pinned, lines, notes = held.current, held.lines, held.notes
    assert notes == []  # a pending entry is not a mismatch
    assert all(line.held_since(now_pinned[key].ref) for key, line in lines.items())
    walked = lines[("api", "prod")].events._walk  # type: ignore[attr-defined]
    assert walked.paths == [path("api", "prod")]  # only the pending entry's file
    anchored = lines[("web", "dev")].events.events._walk  # type: ignore[attr-defined]
    assert anchored._steps is None  # never started


def test_known_trusts_only_agreeing_entries_on_the_branch() -> None:
    """An entry answers when it records the overlay's artifact (a tag added to the same
    digest still agrees), names a commit on the branch and its committer date; a pending,
    disagreeing, off-branch or mis-dated entry does not (the last two are refused: they
    claim the current artifact and git does not confirm them)."""
    when = datetime(2026, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    a, b = digest_of("a"), digest_of("b")
    from gitops_promote.images import ImageRef

    def entry(app: str, digest: str, commit: str | None, since: datetime) -> state.Entry:
        return state.Entry(app, "dev", ImageRef(f"ghcr.io/o/{app}", None, digest), since, commit)

    entries = [
        entry("web", a, "c1", when.astimezone(UTC)),
        entry("api", a, None, when),
        entry("one", b, "c1", when),
        entry("two", a, "c9", when),
        entry("six", a, "c1", when + timedelta(seconds=1)),
    ]
    current: Mapping[tuple[str, str], ImageRef | None] = {
        (e.app, "dev"): ImageRef(f"ghcr.io/o/{e.app}", "v1", a) for e in entries
    }
    files = {key: f"{key[0]}.yaml" for key in current}
    chain = {"c1": Link("c1", "t1", ("c0",), when)}
    pins_at = {(("c1", f"{e.app}.yaml")): current[(e.app, "dev")] for e in entries}
    pins_at |= {("c0", f"{e.app}.yaml"): None for e in entries}
    verified = statesince.known(entries, current, files, chain, pins_at)
    found = verified.events
    assert list(found) == [("web", "dev")]
    assert verified.refused == (("six", "dev"), ("two", "dev"))  # one: stale, api: pending
    event = found[("web", "dev")]
    assert (event.commit, event.date, event.date.utcoffset()) == ("c1", when, timedelta(hours=2))
    assert (event.new, event.file, event.author, event.pr) == (
        current[("web", "dev")],
        "web.yaml",
        "",
        None,
    )


# -- rewriting the state file with a promotion commit ---------------------------------------

PROMOTED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def rewrite(built: Built, changed: Mapping[tuple[str, str], datetime], *, full: bool) -> bytes:
    state.refresh(built.repo, parse_config(WITH), changed, full=full)
    return b"".join(
        (built.root / "state" / name).read_bytes() for name in ("versions.json", "VERSIONS.md")
    )


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=steps,
    damage=st.dictionaries(targets, st.sampled_from(("drop", "pending", "stale")), max_size=3),
    whole_file=whole,
    edits=st.dictionaries(targets, pin_values, min_size=1, max_size=3),
)
def test_a_promotion_rewrite_gives_the_bytes_of_a_full_rewrite(
    tmp_path: Path,
    history: list[Step],
    damage: dict[tuple[str, str], str],
    whole_file: str,
    edits: dict[tuple[str, str], Pin],
) -> None:
    """A promotion's rewrite (the changed pins from the work tree, the others from HEAD,
    the entries that hold kept, history only for the rest) writes exactly the bytes of a
    full rewrite from every overlay and the whole history, whether the old file is right,
    has missing, pending or stale entries, is malformed or absent."""
    built = build(tmp_path / "config", history, damage, whole_file)
    gitutil.write_files(
        built.root,
        {path(a, e): overlay(a, digest_of(f"{a}-{n}"), t) for (a, e), (n, t) in edits.items()},
    )
    changed = dict.fromkeys(edits, PROMOTED)
    assert rewrite(built, changed, full=False) == rewrite(built, changed, full=True)


def test_a_promotion_rewrite_reads_history_only_for_what_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a right state file, promoting api to prod walks the history of api/prod's
    overlay alone; the other entries are kept from the file, their pins read from HEAD."""
    built = build(tmp_path / "config", [(3, 0, {("web", "staging"): (1, "v1")})], {}, "none")
    gitutil.write_files(built.root, {path("api", "prod"): overlay("api", digest_of("api-2"), None)})
    walked: list[list[str]] = []
    original = Repo.path_history

    def recorded(self: Repo, paths: Any, *args: Any, **kwargs: Any) -> Any:
        walked.append(list(paths))
        return original(self, paths, *args, **kwargs)

    monkeypatch.setattr(Repo, "path_history", recorded)
    incremental = rewrite(built, {("api", "prod"): PROMOTED}, full=False)
    assert walked == [[path("api", "prod")]]
    monkeypatch.undo()
    assert incremental == rewrite(built, {("api", "prod"): PROMOTED}, full=True)
    data = json.loads((built.root / "state" / "versions.json").read_text())
    assert data["apps"]["api"]["prod"]["commit"] is None
    assert data["apps"]["api"]["prod"]["since"] == "2026-06-01T12:00:00Z"


def test_validate_catches_a_since_that_history_contradicts(tmp_path: Path) -> None:
    """A since or commit that is not history's fails validate (exit 2, one line naming the
    entry, what history says and the fix); validate --write-state restores it."""
    built = build(tmp_path / "config", [(3, 1, {("web", "staging"): (1, "v1")})], {}, "none")
    assert "valid" in cli("validate", "--repo", str(built.root), cwd=tmp_path).stdout
    versions = built.root / "state" / "versions.json"
    right = versions.read_bytes()
    data = json.loads(right)
    truth = dict(data["apps"]["web"]["staging"])
    data["apps"]["web"]["staging"]["since"] = "2026-05-01T00:00:00Z"
    data["apps"]["api"]["dev"]["commit"] = built.head
    versions.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    run = cli("validate", "--repo", str(built.root), cwd=tmp_path, check=2)
    wrong = [line for line in run.stderr.splitlines() if "wrong since" in line]
    assert len(wrong) == 2
    assert wrong[1].endswith(
        f"state/versions.json: wrong since: records web in staging since 2026-05-01T00:00:00Z "
        f"(commit {truth['commit'][:12]}), history says since {truth['since']} (commit "
        f"{truth['commit'][:12]}); run gitops-promote validate --write-state and commit both "
        "files"
    )
    assert "records api in dev since" in wrong[0]
    cli("validate", "--repo", str(built.root), "--write-state", cwd=tmp_path)
    assert versions.read_bytes() == right
