"""Load: 20 dev promotions of 10 apps, started together as child processes against one HTTP
git server, several racing on the same app. Every promotion lands or is superseded by a
newer one of its app; none is lost; the final pins are the newest; history is linear."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitops_promote.adapters.git import Repo, Retry
from gitops_promote.deliver.push import push_with_retry
from reliability import children
from reliability.conftest import Figure
from reliability.fleet import APPS, NOW, Fleet, assert_sound, digest_of, kustomization, overlay

DEV_00 = overlay("app-00", "dev")
# How many promotions each app gets: 4 apps x 3, 2 x 2, 4 x 1 = 20 over 10 apps.
PER_APP = (3, 3, 3, 3, 2, 2, 1, 1, 1, 1)


@dataclass(frozen=True)
class Promotion:
    app: str
    digest: str
    now: datetime  # when it was requested: later means newer


def plan() -> list[Promotion]:
    """20 promotions; request times shuffled so that start order is not request order."""
    wanted = [(app, n) for app, count in zip(APPS, PER_APP, strict=True) for n in range(count)]
    rng = random.Random(20261125)  # noqa: S311 - a fixed, reproducible shuffle
    minutes = list(range(len(wanted)))
    rng.shuffle(minutes)
    base = datetime.fromisoformat(NOW)
    return [
        Promotion(app, digest_of(f"load-{app}-{n}"), base + timedelta(minutes=m))
        for (app, n), m in zip(wanted, minutes, strict=True)
    ]


def test_twenty_concurrent_dev_promotions_land_or_are_superseded(
    fleet: Fleet, tmp_path: Path, figure: Figure
) -> None:
    """20 child processes promote at once (10 apps, up to 3 racing per app). Each exits 0;
    each either pushed a commit that is on main or was superseded by a newer promotion of
    its app that landed; every app ends at its newest digest; main is linear and every
    commit touches exactly its own app's dev overlay."""
    promotions = plan()
    assert len(promotions) == 20
    assert len({p.app for p in promotions}) == 10
    seed_tip = fleet.sha()
    counter, log = children.install_push_counter(tmp_path)
    running = [
        children.start(
            "promote",
            "--remote",
            fleet.url,
            "--app",
            p.app,
            "--env",
            "dev",
            "--digest",
            p.digest,
            "--skip-registry-check",
            "--now",
            p.now.isoformat(),
            "--json",
            cwd=tmp_path / f"run-{i:02d}",
            env={**fleet.env, **counter},
        )
        for i, p in enumerate(promotions)
    ]
    outcomes = []
    for p, child in zip(promotions, running, strict=True):
        run = child.wait()
        assert run.returncode == 0, f"{p.app} {p.digest[:19]} failed:\n{run.stderr}"
        assert "Traceback" not in run.output
        assert fleet.token not in run.output
        outcomes.append((p, json.loads(run.stdout)))

    newest = {
        app: max((p for p in promotions if p.app == app), key=lambda p: p.now) for app in APPS
    }
    landed = {}
    superseded = []
    for p, out in outcomes:
        if out["operation"] == "pushed":
            assert [c["app"] for c in out["changes"]] == [p.app]
            assert out["commit"] in fleet.commits(), f"{p.app} {p.digest[:19]} was lost"
            landed[out["commit"]] = p
        else:
            assert out["operation"] == "unchanged", out
            assert out["notes"] == [f"{p.app}: superseded by a newer promotion"], out
            assert p is not newest[p.app], f"the newest promotion of {p.app} was dropped"
            superseded.append(p)
    # every superseded promotion was overtaken by a newer one of its app that landed
    for p in superseded:
        assert any(q.app == p.app and q.now > p.now for q in landed.values()), p

    for app in APPS:
        assert fleet.pin(app, "dev") == newest[app].digest, app
    new_commits = fleet.commits(f"{seed_tip}..main")
    assert sorted(new_commits) == sorted(landed), "main holds exactly the pushed commits"
    for commit in new_commits:
        assert fleet.files_of(commit) == [overlay(landed[commit].app, "dev")]
        assert fleet.trailer(commit, "Promoted-At") == landed[commit].now.isoformat()
    assert_sound(fleet)

    pushes = [
        r
        for r in fleet.git.requests
        if r.method == "GET" and r.service == "git-receive-pack" and r.status == 200
    ]
    figure("load.promotions", len(promotions))
    figure("load.apps", len(APPS))
    figure("load.racing_apps", sum(1 for n in PER_APP if n > 1))
    figure("load.landed", len(landed))
    figure("load.superseded", len(superseded))
    figure("load.lost", 0)
    figure("load.merge_commits", 0)
    figure("load.push_attempts", len(pushes))
    figure("load.rejected_pushes", len(pushes) - len(landed))
    attempts = children.pushes_per_checkout(log)
    assert sum(attempts.values()) == len(pushes)
    figure("load.max_pushes_one_promotion", max(attempts.values()))


def test_an_older_request_that_starts_late_does_not_overwrite_a_newer_one(
    fleet: Fleet, tmp_path: Path
) -> None:
    """Build 41's job is slow to start: build 42 (requested later) has already landed when
    41 clones. 41 is superseded and leaves main alone; dev keeps 42."""
    base = datetime.fromisoformat(NOW)
    older, newer = digest_of("build-41"), digest_of("build-42")

    def promote(digest: str, when: datetime, cwd: Path, app: str = "app-00") -> dict[str, object]:
        run = children.run(
            "promote",
            "--remote",
            fleet.url,
            "--app",
            app,
            "--env",
            "dev",
            "--digest",
            digest,
            "--skip-registry-check",
            "--now",
            when.isoformat(),
            "--json",
            cwd=cwd,
            env=fleet.env,
        )
        return dict(json.loads(run.stdout))

    assert promote(newer, base + timedelta(minutes=2), tmp_path / "42")["operation"] == "pushed"
    # someone's commit lands on top: the promotion's shallow clone must look past the tip
    fleet.git.seed(
        fleet.repo, {"docs/notes.md": "hello\n"}, message="docs: notes", date=datetime.now(UTC)
    )
    tip = fleet.sha()
    late = promote(older, base + timedelta(minutes=1), tmp_path / "41")
    assert late["operation"] == "unchanged"
    assert late["notes"] == ["app-00: superseded by a newer promotion"]
    assert fleet.sha() == tip
    assert fleet.pin("app-00", "dev") == newer

    # a newer request of ANOTHER app does not supersede an older one of app-00
    later = base + timedelta(minutes=5)
    assert promote(digest_of("web-7"), later, tmp_path / "web", "app-01")["operation"] == "pushed"
    fixed = digest_of("build-43")
    assert promote(fixed, later - timedelta(minutes=1), tmp_path / "43")["operation"] == "pushed"
    assert fleet.pin("app-00", "dev") == fixed
    assert fleet.pin("app-01", "dev") == digest_of("web-7")


def test_a_promotion_outlasts_a_long_run_of_racing_pushes(fleet: Fleet, tmp_path: Path) -> None:
    """Twelve other promotions land, one just before each of our pushes (more racers than
    the 8 attempts allowed for a failing server): every rejection means someone else made
    progress, so the promotion keeps re-applying and lands, with the default retry policy
    (no sleeping here)."""
    repo = Repo.clone(fleet.url, tmp_path / "clone", token=fleet.token, sparse_paths=[DEV_00])
    racers = iter(range(12))

    def apply() -> bool:
        racer = next(racers, None)
        if racer is not None:  # someone else's promotion lands while we edit
            other = APPS[1 + racer % 9]
            fleet.git.seed(
                fleet.repo,
                {overlay(other, "dev"): kustomization(other, "dev", digest_of(f"r{racer}"))},
                message=f"racer {racer}",
            )
        path = repo.root / DEV_00
        path.write_text(kustomization("app-00", "dev", digest_of("patient")))
        return True

    result = push_with_retry(
        repo,
        apply,
        "promote app-00",
        paths=[DEV_00],
        allow_base_push=True,
        retry=Retry(sleep=lambda _s: None),
    )
    assert result.status == "pushed"
    assert result.attempts == 13
    assert fleet.pin("app-00", "dev") == digest_of("patient")
    assert len(fleet.commits()) == 1 + 12 + 1
    assert_sound(fleet)
