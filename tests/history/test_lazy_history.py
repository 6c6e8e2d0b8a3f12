"""Timelines read on demand give exactly the events of a whole-history pass: since when a
pin has held, the current pin and every event, whatever stretch of history each question
needs, across merges, broken versions, deletions and a digest that comes back. In a
commits-only clone, a question answered by recent history downloads only the trees of
those commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitops_promote.adapters.git import FILTER_COMMITS, Git, Repo
from gitops_promote.config.load import parse_config
from gitops_promote.config.model import Config
from gitops_promote.facts import events as history
from gitops_promote.facts import timelines as facts
from gitops_promote.images import ImageRef
from support import gitutil
from support.githttp import GitServer
from support.repos import digest_of

CONFIG = parse_config(
    """\
version: 1
environments:
  - {name: dev, path: 'apps/{app}/dev'}
  - {name: prod, path: 'apps/{app}/prod', from: dev}
apps:
  web: {image: ghcr.io/o/web}
  api: {image: ghcr.io/o/api}
"""
)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
A, B, C = digest_of("a"), digest_of("b"), digest_of("c")
WEB = "apps/web/prod/kustomization.yaml"
API = "apps/api/dev/kustomization.yaml"


def pin(image: str, digest: str, tag: str | None = None) -> str:
    extra = f"    newTag: {tag}\n" if tag else ""
    return f"images:\n  - name: {image}\n{extra}    digest: {digest}\n"


def build(work: Path) -> None:
    """web/prod: A, A re-pinned with a tag, broken, B, a side branch merged (C), A again,
    deleted, A re-added, A with another tag; api/dev changes in between."""
    gitutil.init_repo(work)
    steps: list[dict[str, gitutil.FileContent]] = [
        {
            "promotion.yaml": "version: 1\n",
            WEB: pin("ghcr.io/o/web", A),
            API: pin("ghcr.io/o/api", A),
        },
        {WEB: pin("ghcr.io/o/web", A, "v1")},
        {API: pin("ghcr.io/o/api", B)},
        {WEB: "images: [\n"},
        {WEB: pin("ghcr.io/o/web", B)},
    ]
    when = T0
    for n, files in enumerate(steps):
        when += timedelta(hours=1)
        gitutil.commit_files(work, files, message=f"step {n}", date=when)
    gitutil.git("checkout", "-q", "-b", "side", cwd=work)
    gitutil.commit_files(work, {WEB: pin("ghcr.io/o/web", C)}, message="side", date=when)
    gitutil.git("checkout", "-q", "main", cwd=work)
    when += timedelta(hours=1)
    gitutil.commit_files(work, {API: pin("ghcr.io/o/api", C)}, message="api c", date=when)
    when += timedelta(hours=1)
    gitutil.git(
        "merge", "-q", "--no-ff", "-m", "Merge pull request #9 from o/side", "side",
        cwd=work, env=gitutil.identity_env(when),
    )  # fmt: skip
    later: list[dict[str, gitutil.FileContent]] = [
        {WEB: pin("ghcr.io/o/web", A)},
        {API: pin("ghcr.io/o/api", A)},
        {WEB: None},
        {WEB: pin("ghcr.io/o/web", A)},
        {WEB: pin("ghcr.io/o/web", A, "v2"), "other.txt": "x\n"},
        {"other.txt": "y\n"},
    ]
    for n, files in enumerate(later):
        when += timedelta(hours=1)
        gitutil.commit_files(work, files, message=f"later {n} (#{n + 20})", date=when)


def timelines(repo: Repo, config: Config, *, lazy: bool) -> dict[facts.Key, facts.Timeline]:
    targets = [(a, e) for a in config.apps for e in config.envs_of(a)]
    files = {("web", "prod"): WEB, ("api", "dev"): API}
    return facts.timelines(repo, config, targets, files=files, lazy=lazy)


def answers(line: facts.Timeline) -> dict[str, Any]:
    """Every question the commands ask, answered (lazily first, the whole list last)."""
    refs = [None, ImageRef("ghcr.io/o/web", None, A), ImageRef("ghcr.io/o/web", "v9", B)]
    refs += [ImageRef("ghcr.io/o/api", None, d) for d in (A, B, C)]
    out: dict[str, Any] = {"current": line.current, "truthy": bool(line.events)}
    out["since"] = [line.held_since(r) for r in refs]
    out["since-current"] = line.held_since()
    out["newest-two"] = list(reversed(line.events))[:2]
    out["last"] = line.events[-1] if line.events else None
    out["all"] = list(line.events)
    out["len"] = len(line.events)
    return out


@pytest.mark.parametrize("windows", [(), (1,), (2, 3), (1, 1, 1, 1)])
def test_lazy_timelines_answer_exactly_like_a_whole_history_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, windows: tuple[int, ...]
) -> None:
    """Whatever stretches history is read in, lazy timelines give the eager pass's
    current pin, 'since' for any pin (a digest that left and came back restarts the
    clock; a tag re-pin and a broken version do not), newest events and full event list."""
    build(tmp_path / "config")
    repo = Repo(Git(cwd=tmp_path / "config"), tmp_path / "config", base_branch="main")
    eager = {key: answers(line) for key, line in timelines(repo, CONFIG, lazy=False).items()}
    monkeypatch.setattr(facts, "WINDOWS", windows)
    lazy = {key: answers(line) for key, line in timelines(repo, CONFIG, lazy=True).items()}
    assert lazy == eager
    web = eager[("web", "prod")]
    assert web["current"] == ImageRef("ghcr.io/o/web", "v2", A)
    since = web["since-current"]
    assert since is not None
    assert since.subject == "later 3 (#23)"  # re-added after deletion
    assert [e.new.digest if e.new else None for e in web["all"]] == [A, A, B, C, A, None, A, A]
    assert web["all"][3].subject == "Merge pull request #9 from o/side"
    assert web["all"][3].pr == 9


@pytest.mark.parametrize(("windows", "recent"), [(facts.WINDOWS, True), ((2, 3), False)])
def test_a_recent_answer_downloads_only_recent_trees(
    git_server: GitServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    windows: tuple[int, ...],
    recent: bool,
) -> None:
    """In a commits-only clone, 'since when' for a pin set a few commits ago is answered
    from the trees of those commits alone (no download of every tree); reading on (here
    through small windows, then every tree at once) agrees with a whole-history pass."""
    monkeypatch.setattr(facts, "WINDOWS", windows)
    build(tmp_path / "work")
    bare = git_server.path("org/config")
    gitutil.git("clone", "-q", "--bare", str(tmp_path / "work"), str(bare))
    for key, value in gitutil.BARE_REPO_CONFIG:
        gitutil.git("config", key, value, cwd=bare)
    repo = Repo.clone(
        git_server.url("org/config"),
        tmp_path / "clone",
        token=git_server.token,
        sparse_paths=["promotion.yaml"],
        filter=FILTER_COMMITS,
    )
    lines = timelines(repo, CONFIG, lazy=True)
    web = lines[("web", "prod")]
    since = web.held_since()
    assert since is not None
    assert since.subject == "later 3 (#23)"
    if recent:
        assert repo.filter == FILTER_COMMITS  # no refetch of every tree happened
    local = Repo(Git(cwd=tmp_path / "work"), tmp_path / "work", base_branch="main")
    assert answers(web) == answers(timelines(local, CONFIG, lazy=False)[("web", "prod")])


def test_since_when_stops_at_the_pin_it_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Since when' reads history only back to the change that set the current pin: what
    the version before pinned comes from the blob that change replaced. The next event,
    known then only by its pin, reads the rest of itself when looked at, and is then
    equal to, hashed and printed like the event of a whole-history pass."""
    work = gitutil.init_repo(tmp_path / "config")
    when = T0
    shas = [gitutil.commit_files(work, {WEB: pin("ghcr.io/o/web", A)}, date=when)]
    for n in range(30):
        when += timedelta(hours=1)
        if n == 20:
            shas.append(gitutil.commit_files(work, {WEB: pin("ghcr.io/o/web", B)}, date=when))
        else:
            gitutil.commit_files(work, {"noise.txt": f"{n}\n"}, message=f"noise {n}", date=when)
    repo = Repo(Git(cwd=work), work, base_branch="main")
    targets = [(CONFIG.app("web"), CONFIG.env("prod"))]
    eager = facts.timelines(repo, CONFIG, targets, files={("web", "prod"): WEB})
    monkeypatch.setattr(facts, "WINDOWS", (12,))
    lazy = facts.timelines(repo, CONFIG, targets, files={("web", "prod"): WEB}, lazy=True)
    line = lazy[("web", "prod")]
    since = line.held_since()
    assert since == eager[("web", "prod")].held_since()
    assert since is not None
    assert since.commit == shas[1]
    assert since.old == ImageRef("ghcr.io/o/web", None, A)
    walk = line.events._walk  # type: ignore[attr-defined]
    assert not walk.done  # only the newest 12 commits were read
    newest = iter(reversed(line.events))
    assert next(newest) == since
    later = next(newest)
    assert isinstance(later, history.PinEvent)
    assert "commit" not in later.__dict__  # known by its pin only, so far
    assert later.new == ImageRef("ghcr.io/o/web", None, A)
    first = eager[("web", "prod")].events[0]
    assert later.commit == shas[0]  # reads the rest of itself
    assert later == first
    assert first == later
    assert hash(later) == hash(first)
    assert repr(later) == repr(first)
    assert list(line.events) == list(eager[("web", "prod")].events)
