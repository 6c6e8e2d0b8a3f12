"""The soak plan: for every auto env with from:, promote / waiting / frozen / blocked /
up to date / already proposed / skipped, decided from facts alone (no git, no clock)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest

from gitops_promote.config.load import parse_config
from gitops_promote.config.model import Config
from gitops_promote.facts.events import Key, Timeline, Version, events
from gitops_promote.images import ImageRef
from gitops_promote.plan import soak as soakplan
from support.repos import digest_of

CONFIG = parse_config(
    """\
version: 1
environments:
  - {name: dev, path: 'apps/{app}/dev'}
  - name: staging
    path: 'apps/{app}/staging'
    from: dev
    mode: pull-request
    soak: 1h
    auto: true
  - name: production
    path: 'apps/{app}/production'
    from: staging
    mode: pull-request
    soak: 24h
    auto: true
    require-digest: true
    freeze:
      - {name: weekend, schedule: "0 16 * * FRI", duration: 64h, timezone: Europe/Berlin}
apps:
  api-service: {image: ghcr.io/o/api-service}
  worker: {image: ghcr.io/o/worker, depends-on: [api-service]}
  web: {image: ghcr.io/o/web, environments: [dev, staging]}
"""
)

X, Y, Z = digest_of("x"), digest_of("y"), digest_of("z")
History = Mapping[Key, Sequence[tuple[str, ImageRef | None]]]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def img(app: str, digest: str | None, tag: str | None = None) -> ImageRef:
    return ImageRef(f"ghcr.io/o/{app}", tag, digest)


def facts(
    now: str,
    history: History,
    proposals: Mapping[Key, soakplan.Proposal] | None = None,
    config: Config = CONFIG,
) -> soakplan.Facts:
    """Facts from per-target histories [(committer date, pin)], oldest first; the pin now is
    the last one. Each change is its own commit, named after the target and its index."""
    lines: dict[Key, Timeline] = {}
    pins: dict[Key, ImageRef | None] = {}
    for key, changes in history.items():
        versions = [
            Version(f"{key[0]}-{key[1]}-{i}".ljust(40, "0"), at(when), "A <a@x>", "s", ref)
            for i, (when, ref) in enumerate(changes)
        ]
        file = f"apps/{key[0]}/{key[1]}/kustomization.yaml"
        lines[key] = Timeline(key[0], key[1], file, tuple(events(key[0], key[1], file, versions)))
        pins[key] = changes[-1][1] if changes else None
    return soakplan.Facts(config, at(now), pins, lines, proposals=proposals or {})


def one(result: list[soakplan.Decision], app: str, env: str) -> soakplan.Decision:
    (found,) = [d for d in result if (d.app, d.env) == (app, env)]
    return found


OLD = "2026-11-01T09:00:00Z"
SETTLED: History = {
    ("api-service", "dev"): [(OLD, img("api-service", X))],
    ("api-service", "staging"): [(OLD, img("api-service", X))],
    ("api-service", "production"): [(OLD, img("api-service", X))],
    ("worker", "dev"): [(OLD, img("worker", X))],
    ("worker", "staging"): [(OLD, img("worker", X))],
    ("worker", "production"): [(OLD, img("worker", X))],
    ("web", "dev"): [(OLD, img("web", X))],
    ("web", "staging"): [(OLD, img("web", X))],
}
WEDNESDAY = "2026-11-25T11:00:00Z"


def test_targets_are_every_auto_env_with_from_and_every_app_deployed_to_both() -> None:
    """dev (no auto) gets no decision; web is not deployed to production; order is pipeline
    order, then the apps' order in promotion.yaml."""
    plan = soakplan.plan(facts(WEDNESDAY, SETTLED))
    assert [(d.env, d.app) for d in plan] == [
        ("staging", "api-service"),
        ("staging", "worker"),
        ("staging", "web"),
        ("production", "api-service"),
        ("production", "worker"),
    ]
    assert {d.status for d in plan} == {"up-to-date"}


def test_a_soaked_digest_is_promoted_and_says_since_when() -> None:
    """dev has run Y for 2h; staging needs 1h: promote, naming dev, since when, the soak."""
    history = {
        **SETTLED,
        ("api-service", "dev"): [
            (OLD, img("api-service", X)),
            ("2026-11-25T09:00:00Z", img("api-service", Y)),
        ],
    }
    d = one(soakplan.plan(facts(WEDNESDAY, history)), "api-service", "staging")
    assert d.status == "promote"
    assert d.candidate == img("api-service", Y)
    assert d.candidate_since is not None
    assert d.candidate_since.date == at("2026-11-25T09:00:00Z")
    assert d.reason == (f"dev runs {Y[:19]}… since Wed 2026-11-25 09:00 UTC (soak 1h met)")


def test_waiting_says_how_long_is_left_and_when_it_is_met() -> None:
    """staging has run Y for 21h 47m; production needs 24h: waiting, 2h 13m left."""
    history = {
        **SETTLED,
        ("api-service", "staging"): [
            (OLD, img("api-service", X)),
            ("2026-11-24T12:47:00Z", img("api-service", Y)),
        ],
    }
    d = one(soakplan.plan(facts("2026-11-25T10:34:00Z", history)), "api-service", "production")
    assert d.status == "waiting"
    assert d.left == timedelta(hours=2, minutes=13)
    assert d.ready_at == at("2026-11-25T12:47:00Z")
    assert d.reason.startswith("2h 13m left (staging has run ")
    assert d.reason.endswith("production needs 1d, met at Wed 2026-11-25 12:47 UTC)")


def test_a_digest_that_left_and_came_back_soaks_again_from_its_return() -> None:
    """dev ran Y yesterday, then X, then Y again 30 minutes ago: the 1h soak counts from the
    return (30m left), not from the first time."""
    history = {
        **SETTLED,
        ("api-service", "dev"): [
            (OLD, img("api-service", X)),
            ("2026-11-24T09:00:00Z", img("api-service", Y)),
            ("2026-11-24T12:00:00Z", img("api-service", X)),
            ("2026-11-25T10:30:00Z", img("api-service", Y)),
        ],
    }
    d = one(soakplan.plan(facts(WEDNESDAY, history)), "api-service", "staging")
    assert d.status == "waiting"
    assert d.left == timedelta(minutes=30)
    assert d.candidate_since is not None
    assert d.candidate_since.date == at("2026-11-25T10:30:00Z")


def test_frozen_says_until_when_and_by_which_window() -> None:
    """Friday 17:00 in Berlin is inside 'weekend' (Fri 16:00 + 64h): frozen until Monday
    08:00 local time."""
    history = {
        **SETTLED,
        ("api-service", "staging"): [
            (OLD, img("api-service", X)),
            ("2026-11-20T09:00:00Z", img("api-service", Y)),
        ],
    }
    d = one(soakplan.plan(facts("2026-11-27T16:00:00Z", history)), "api-service", "production")
    assert d.status == "frozen"
    assert d.window == "weekend"
    assert d.frozen_until == at("2026-11-30T07:00:00Z")
    assert d.reason == ("until Mon 2026-11-30 08:00 CET (2026-11-30 07:00 UTC) by window 'weekend'")


def test_waiting_and_frozen_names_both() -> None:
    """Not soaked yet and frozen: the status is the first reason (waiting), the reason says
    both."""
    history = {
        **SETTLED,
        ("api-service", "staging"): [
            (OLD, img("api-service", X)),
            ("2026-11-27T15:00:00Z", img("api-service", Y)),
        ],
    }
    d = one(soakplan.plan(facts("2026-11-27T16:00:00Z", history)), "api-service", "production")
    assert d.status == "waiting"
    assert d.reason.startswith("23h left (staging has run ")
    assert "; also frozen until Mon 2026-11-30 08:00 CET" in d.reason


def test_a_dependency_that_lags_blocks_and_says_what_to_promote_first() -> None:
    """worker may go to production only next to the api-service staging verified it with:
    blocked, naming api-service, and why api-service itself has not gone (waiting)."""
    history = {
        **SETTLED,
        ("api-service", "staging"): [
            (OLD, img("api-service", X)),
            ("2026-11-25T09:00:00Z", img("api-service", Y)),
        ],
        ("worker", "staging"): [("2026-11-02T09:00:00Z", img("worker", Y))],
    }
    plan = soakplan.plan(facts(WEDNESDAY, history))
    worker = one(plan, "worker", "production")
    assert worker.status == "blocked"
    assert worker.blocked_by == ("api-service",)
    assert worker.reason == (
        "worker needs api-service promoted to production first (api-service is still "
        "soaking: 22h left)"
    )
    assert one(plan, "api-service", "production").status == "waiting"


def test_a_dependency_promoted_in_the_same_run_is_named() -> None:
    """When api-service goes to production in this very run, worker still waits for it to
    land, and says so."""
    history = {
        **SETTLED,
        ("api-service", "staging"): [(OLD, img("api-service", Y))],
        ("worker", "staging"): [(OLD, img("worker", Y))],
    }
    plan = soakplan.plan(facts(WEDNESDAY, history))
    assert one(plan, "api-service", "production").status == "promote"
    worker = one(plan, "worker", "production")
    assert worker.status == "blocked"
    assert worker.reason == (
        "worker needs api-service promoted to production first "
        "(api-service is being promoted in this run)"
    )


def test_an_open_pr_for_the_same_digest_is_left_alone_an_older_one_is_updated() -> None:
    """Same candidate proposed in #12: already proposed. #12 proposing an older digest: the
    target is promoted (the PR gets updated), and the reason says so."""
    history = {**SETTLED, ("api-service", "dev"): [(OLD, img("api-service", Y))]}
    same = {("api-service", "staging"): soakplan.Proposal(12, "u", img("api-service", Y))}
    d = one(soakplan.plan(facts(WEDNESDAY, history, same)), "api-service", "staging")
    assert (d.status, d.reason) == ("proposed", "in #12")
    older = {("api-service", "staging"): soakplan.Proposal(12, "u", img("api-service", Z))}
    d = one(soakplan.plan(facts(WEDNESDAY, history, older)), "api-service", "staging")
    assert d.status == "promote"
    assert d.reason.endswith(f"; updates #12, which proposes {Z[:19]}…")


def test_require_digest_env_refuses_a_tag_only_candidate() -> None:
    """staging pins worker by a bare tag: production (require-digest) is blocked, saying so."""
    history = {**SETTLED, ("worker", "staging"): [(OLD, img("worker", None, "v2"))]}
    d = one(soakplan.plan(facts(WEDNESDAY, history)), "worker", "production")
    assert d.status == "blocked"
    assert d.reason == "production requires a digest and staging pins worker by tag v2 only"


def test_nothing_pinned_upstream_is_skipped() -> None:
    """No pin in dev: nothing to promote into staging."""
    history = {**SETTLED, ("web", "dev"): []}
    d = one(soakplan.plan(facts(WEDNESDAY, history)), "web", "staging")
    assert (d.status, d.reason) == ("skipped", "nothing to promote: web is not pinned in dev")


def test_a_digest_the_env_moved_away_from_is_not_re_proposed() -> None:
    """production ran Y, then was rolled back to X by hand; staging still runs Y: the cron
    does not undo the rollback."""
    history = {
        **SETTLED,
        ("api-service", "staging"): [(OLD, img("api-service", Y))],
        ("api-service", "production"): [
            (OLD, img("api-service", Y)),
            ("2026-11-24T09:00:00Z", img("api-service", X)),
        ],
    }
    d = one(soakplan.plan(facts(WEDNESDAY, history)), "api-service", "production")
    assert d.status == "skipped"
    assert d.reason.startswith(f"production ran {Y[:19]}… before and moved away from it (commit ")


def test_same_digest_with_another_tag_is_up_to_date() -> None:
    """staging runs v1.4.0@X, dev runs X: the same artifact, nothing to do."""
    history = {**SETTLED, ("web", "staging"): [(OLD, img("web", X, "v1.4.0"))]}
    d = one(soakplan.plan(facts(WEDNESDAY, history)), "web", "staging")
    assert d.status == "up-to-date"
    assert d.reason == f"runs v1.4.0 ({X[:19]}…), as dev does"


@pytest.mark.parametrize("soak", ["", "    soak: 0s\n"])
def test_an_auto_env_without_soak_promotes_at_once(soak: str) -> None:
    """auto: true with no soak (or 0s): a new upstream digest goes right away."""
    config = parse_config(
        "version: 1\nenvironments:\n  - {name: dev, path: 'a/{app}/dev'}\n"
        "  - name: qa\n    path: 'a/{app}/qa'\n    from: dev\n    auto: true\n"
        + soak
        + "apps:\n  web: {image: ghcr.io/o/web}\n"
    )
    history = {
        ("web", "dev"): [(WEDNESDAY, img("web", Y))],
        ("web", "qa"): [(OLD, img("web", X))],
    }
    (d,) = soakplan.plan(facts(WEDNESDAY, history, config=config))
    assert d.status == "promote"


def test_counts_has_every_status() -> None:
    """The tally has every status, zeros included, in a fixed order."""
    plan = soakplan.plan(facts(WEDNESDAY, SETTLED))
    assert soakplan.counts(plan) == {
        "promote": 0,
        "proposed": 0,
        "up-to-date": 5,
        "skipped": 0,
        "waiting": 0,
        "frozen": 0,
        "blocked": 0,
    }


def test_an_unreadable_overlay_blocks_its_targets_with_the_error() -> None:
    """dev's overlay of web cannot be read: staging/web is blocked with that error (not
    'nothing to promote'); the other apps are unaffected."""
    found = facts(WEDNESDAY, {**SETTLED, ("web", "dev"): []})
    broken = soakplan.Facts(
        found.config,
        found.now,
        found.pins,
        found.lines,
        unreadable={("web", "dev"): "apps/web/dev/kustomization.yaml: line 3: bad indentation"},
    )
    plan = soakplan.plan(broken)
    d = one(plan, "web", "staging")
    assert (d.status, d.reason) == (
        "blocked",
        "apps/web/dev/kustomization.yaml: line 3: bad indentation",
    )
    assert one(plan, "api-service", "staging").status == "up-to-date"
