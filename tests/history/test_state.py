"""The optional state file (settings.state-file: versions.json + VERSIONS.md beside it):
byte-stable rendering, kept current by every promotion commit (push and pull request),
checked by ``validate`` against the overlays."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitops_promote.config.load import parse_config
from gitops_promote.facts import statefile as state
from gitops_promote.facts.events import Timeline, Version, events
from gitops_promote.images import ImageRef
from support import gitutil
from support.inprocess import cli
from support.repos import ConfigRepo, Platform, digest_of

CONFIG = parse_config(
    """\
version: 1
settings: {state-file: state/versions.json}
environments:
  - {name: dev, path: 'apps/{app}/dev'}
  - {name: staging, path: 'apps/{app}/staging', from: dev, mode: pull-request}
apps:
  web: {image: ghcr.io/o/web}
  api: {image: ghcr.io/o/api}
"""
)
A, B = digest_of("a"), digest_of("b")
T1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)


def ref(digest: str, tag: str | None = None, name: str = "ghcr.io/o/web") -> ImageRef:
    return ImageRef(name, tag, digest)


def timeline(app: str, env: str, *changes: tuple[str, datetime, ImageRef]) -> Timeline:
    versions = [Version(sha, when, "A <a@x>", "s", r) for sha, when, r in changes]
    return Timeline(app, env, "f", tuple(events(app, env, "f", versions)))


ENTRIES = [
    state.Entry("web", "staging", ref(A, "v1"), T1, "1" * 40),
    state.Entry("web", "dev", ref(B), NOW, None),
    state.Entry("api", "dev", ref(A, name="ghcr.io/o/api"), T2, "2" * 40),
]


def test_json_is_byte_stable_sorted_and_round_trips() -> None:
    """Same entries in any order -> the same bytes: sorted keys, 2-space indent, one
    trailing newline; parse() reads back exactly the entries."""
    text = state.render_json(ENTRIES)
    assert text == state.render_json(list(reversed(ENTRIES)))
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    data = json.loads(text)
    assert list(data) == ["apps", "version"]
    assert list(data["apps"]) == ["api", "web"]
    assert list(data["apps"]["web"]) == ["dev", "staging"]
    assert data["apps"]["web"]["staging"] == {
        "commit": "1" * 40,
        "digest": A,
        "image": f"ghcr.io/o/web:v1@{A}",
        "since": "2026-03-01T09:00:00Z",
        "tag": "v1",
    }
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert sorted(state.parse(text), key=lambda e: (e.app, e.env)) == sorted(
        ENTRIES, key=lambda e: (e.app, e.env)
    )


def test_markdown_lists_envs_in_pipeline_order() -> None:
    """VERSIONS.md: a section per app (sorted), one line per env in pipeline order with tag,
    full digest, since and commit ('this commit' for a pin the commit itself makes), every
    entry between blank lines; one trailing newline."""
    md = state.render_markdown(ENTRIES, "state/versions.json", ["dev", "staging"])
    body = md.split("\n## ", 1)[1]
    assert body.split("\n") == [
        "api",
        "",
        f"- **dev**: `{A}` since 2026-03-02 09:00 UTC (commit `222222222222`)",
        "",
        "## web",
        "",
        f"- **dev**: `{B}` since 2026-03-03 12:30 UTC (this commit)",
        "",
        f"- **staging**: `v1` `{A}` since 2026-03-01 09:00 UTC (commit `111111111111`)",
        "",
    ]
    assert "`versions.json`" in md
    assert md == state.render_markdown(
        list(reversed(ENTRIES)), "state/versions.json", ["dev", "staging"]
    )


def test_build_takes_since_from_history_and_marks_new_pins() -> None:
    """An unchanged pin gets the commit and date since which it has held (a tag added to
    the same digest does not move them); a pin this commit makes gets the promotion time
    and no commit yet; unpinned targets get no entry."""
    lines = {
        ("web", "dev"): timeline("web", "dev", ("c1", T1, ref(A)), ("c2", T2, ref(A, "v1"))),
        ("web", "staging"): timeline("web", "staging", ("c1", T1, ref(A))),
    }
    pins = {("web", "dev"): ref(A, "v1"), ("web", "staging"): ref(B), ("api", "dev"): None}
    built = state.build(CONFIG, pins, lines, {("web", "staging"): NOW})
    assert built == [
        state.Entry("web", "dev", ref(A, "v1"), T1, "c1"),
        state.Entry("web", "staging", ref(B), NOW, None),
    ]


@pytest.mark.parametrize(
    ("pins", "fragment"),
    [
        ({("web", "dev"): ref(A)}, "stale: records web in dev as ghcr.io/o/web@sha256:"),
        ({("web", "dev"): ref(B), ("api", "dev"): None}, "stale: records api in dev"),
        (
            {
                ("web", "dev"): ref(B),
                ("api", "dev"): ref(A, name="ghcr.io/o/api"),
                ("web", "staging"): ref(A, "v1"),
                ("api", "staging"): ref(B, name="ghcr.io/o/api"),
            },
            "stale: no entry for api in staging",
        ),
    ],
)
def test_check_finds_stale_entries(
    pins: dict[tuple[str, str], ImageRef | None], fragment: str
) -> None:
    """Every difference from the overlays is a problem that says how to fix it."""
    base = {
        ("web", "dev"): ref(B),
        ("web", "staging"): ref(A, "v1"),
        ("api", "dev"): ref(A, name="ghcr.io/o/api"),
    }
    text = state.render_json(ENTRIES)
    md = state.render_markdown(ENTRIES, "state/versions.json", ["dev", "staging"])
    assert state.check(CONFIG, text, md, base) == []
    problems = state.check(CONFIG, text, md, {**base, **pins})
    assert len(problems) == 1
    assert problems[0].file == "state/versions.json"
    assert fragment in problems[0].message
    assert problems[0].message.endswith(
        "run gitops-promote validate --write-state and commit both files"
    )


def test_check_reports_missing_malformed_and_hand_edited_files() -> None:
    """No file, broken JSON, a non-canonical layout and a VERSIONS.md that does not match
    are each one problem naming the file."""
    pins = {("web", "dev"): ref(B)}
    entries = [state.Entry("web", "dev", ref(B), NOW, None)]
    good = state.render_json(entries)
    md = state.render_markdown(entries, "state/versions.json", ["dev", "staging"])
    assert "missing" in state.check(CONFIG, None, md, pins)[0].message
    assert "not valid JSON" in state.check(CONFIG, "{", md, pins)[0].message
    compact = json.dumps(json.loads(good)) + "\n"
    assert "canonical" in state.check(CONFIG, compact, md, pins)[0].message
    edited = state.check(CONFIG, good, md.replace("## web", "## WEB"), pins)
    assert [(p.file, "does not match" in p.message) for p in edited] == [
        ("state/VERSIONS.md", True)
    ]


# -- through the CLI ------------------------------------------------------------------------

DEV = "apps/api-service/overlays/dev/kustomization.yaml"
STAGING = "apps/api-service/overlays/staging/kustomization.yaml"


def enable_state_file(bare: Path) -> str:
    """Commit settings.state-file: state/versions.json into the example repo's main."""
    text = gitutil.read_file(bare, "main", "promotion.yaml").decode()
    text = text.replace(
        "settings:\n  base-branch: main\n",
        "settings:\n  base-branch: main\n  state-file: state/versions.json\n",
    )
    assert "state-file" in text
    return gitutil.commit_tree_to_bare(
        bare,
        {"promotion.yaml": text},
        message="Keep a state file",
        date="2026-11-21T10:00:00+00:00",
    )


def test_push_promotion_keeps_state_file_current_in_the_same_commit(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """The dev promotion's one commit changes the overlay, versions.json and VERSIONS.md;
    the new pin has the promotion time and no commit yet, the others their history; then
    validate is happy."""
    enable_state_file(config_repo.bare)
    digest = digest_of("build-9")
    cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest,
        "--skip-registry-check",
        "--now",
        "2026-11-22T08:15:00+00:00",
        cwd=tmp_path,
        env=config_repo.env,
    )
    files = gitutil.git("show", "--name-only", "--format=", "main", cwd=config_repo.bare).split()
    assert sorted(files) == [DEV, "state/VERSIONS.md", "state/versions.json"]
    data = json.loads(gitutil.read_file(config_repo.bare, "main", "state/versions.json"))
    dev = data["apps"]["api-service"]["dev"]
    assert dev == {
        "commit": None,
        "digest": digest,
        "image": f"ghcr.io/myorg/api-service@{digest}",
        "since": "2026-11-22T08:15:00Z",
        "tag": None,
    }
    seed = gitutil.list_commits(config_repo.bare, "main")[-1].sha
    assert data["apps"]["worker"]["production"]["commit"] == seed
    assert data["apps"]["worker"]["production"]["since"] == "2026-11-20T10:00:00Z"
    md = gitutil.read_file(config_repo.bare, "main", "state/VERSIONS.md").decode()
    assert f"- **dev**: `{digest}` since 2026-11-22 08:15 UTC (this commit)\n" in md
    run = cli("validate", "--remote", config_repo.url, cwd=tmp_path, env=config_repo.env)
    assert "valid" in run.stdout


def test_validate_flags_a_stale_state_file_and_write_state_fixes_it(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """A hand edit of an overlay that leaves versions.json behind fails validate (exit 2,
    the stale entry and the fix named); validate --write-state rewrites both files, the
    same bytes every time, and validate passes again."""
    enable_state_file(config_repo.bare)
    cli(
        "promote",
        "--remote",
        config_repo.url,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest_of("one"),
        "--skip-registry-check",
        cwd=tmp_path,
        env=config_repo.env,
    )
    text = gitutil.read_file(config_repo.bare, "main", DEV).decode()
    gitutil.commit_tree_to_bare(
        config_repo.bare,
        {DEV: text.replace(digest_of("one"), digest_of("two"))},
        message="hand edit",
        date="2026-11-23T10:00:00+00:00",
    )
    run = cli("validate", "--remote", config_repo.url, cwd=tmp_path, env=config_repo.env, check=2)
    assert "state/versions.json: stale: records api-service in dev as" in run.stderr
    assert "validate --write-state" in run.stderr
    clone = tmp_path / "clone"
    gitutil.git("clone", "-q", config_repo.url, str(clone), env=config_repo.server.git_env())
    cli("validate", "--repo", str(clone), "--write-state", cwd=tmp_path)
    first = (clone / "state" / "versions.json").read_bytes()
    md = (clone / "state" / "VERSIONS.md").read_bytes()
    cli("validate", "--repo", str(clone), "--write-state", cwd=tmp_path)
    assert (clone / "state" / "versions.json").read_bytes() == first
    assert (clone / "state" / "VERSIONS.md").read_bytes() == md
    data = json.loads(first)
    assert data["apps"]["api-service"]["dev"]["digest"] == digest_of("two")
    hand = gitutil.rev_parse(config_repo.bare, "main")
    assert data["apps"]["api-service"]["dev"]["commit"] == hand
    assert "valid" in cli("validate", "--repo", str(clone), cwd=tmp_path).stdout


def test_write_state_without_a_state_file_setting_is_refused(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    """--write-state when promotion.yaml sets no state-file: exit 2 with the setting to add."""
    run = cli(
        "validate",
        "--remote",
        config_repo.url,
        "--write-state",
        cwd=tmp_path,
        env=config_repo.env,
        check=2,
    )
    assert run.stderr.splitlines() == [
        "error: --write-state: promotion.yaml sets no settings.state-file "
        "(add settings: {state-file: versions.json})"
    ]


def test_pull_request_promotion_carries_the_state_file(platform: Platform, tmp_path: Path) -> None:
    """A gated env's PR commit carries the overlay and both state files (staging's new pin
    with no commit yet); main does not move until the PR is merged; after the squash merge
    validate passes."""
    enable_state_file(platform.bare)
    digest = digest_of("build-12")
    common = ("--config-repo", platform.repo, "--skip-registry-check", "--json")
    cli(
        "promote",
        *common,
        "--app",
        "api-service",
        "--env",
        "dev",
        "--digest",
        digest,
        "--now",
        "2026-11-24T10:00:00+00:00",
        cwd=tmp_path,
        env=platform.env,
    )
    before = gitutil.rev_parse(platform.bare, "main")
    # dev's commit is dated by the clock (the tool never takes a date from the
    # environment), and a promotion may not be requested in the future: staging's 1h
    # soak is left to the pull request's check
    requested = datetime.now(UTC).replace(microsecond=0)
    run = cli(
        "promote",
        *common,
        "--app",
        "api-service",
        "--env",
        "staging",
        "--defer-gates",
        "--now",
        requested.isoformat(),
        cwd=tmp_path,
        env=platform.env,
    )
    out = json.loads(run.stdout)
    assert out["operation"] == "pr-created"
    branch = out["branch"]
    files = gitutil.git("show", "--name-only", "--format=", branch, cwd=platform.bare).split()
    assert sorted(files) == [STAGING, "state/VERSIONS.md", "state/versions.json"]
    data = json.loads(gitutil.read_file(platform.bare, branch, "state/versions.json"))
    staging = data["apps"]["api-service"]["staging"]
    assert (staging["digest"], staging["commit"]) == (digest, None)
    assert staging["since"] == requested.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["apps"]["api-service"]["dev"]["commit"] == before
    assert gitutil.rev_parse(platform.bare, "main") == before
    platform.api.merge(out["pr-number"], "squash")
    assert (
        "valid"
        in cli("validate", "--config-repo", platform.repo, cwd=tmp_path, env=platform.env).stdout
    )


def test_two_open_promotion_prs_both_merge_cleanly(platform: Platform, tmp_path: Path) -> None:
    """api-service to staging and to production proposed at the same time: each PR rewrites
    the state files, yet after one is merged the other still merges without conflict (the
    entries never sit on adjacent lines), and the result is valid."""
    enable_state_file(platform.bare)
    digest = digest_of("build-21")
    common = ("--config-repo", platform.repo, "--skip-registry-check", "--json")
    cli(
        "promote",
        *common,
        "--app",
        "api-service,worker",
        "--env",
        "dev",
        "--digest",
        digest,
        "--now",
        "2026-11-24T10:00:00+00:00",
        cwd=tmp_path,
        env=platform.env,
    )
    numbers = []
    for env in ("staging", "production"):
        run = cli(
            "promote",
            *common,
            "--app",
            "api-service",
            "--env",
            env,
            "--digest",
            digest,
            "--defer-gates",  # production's staging soak has not started: the check holds it
            "--now",
            "2026-11-25T10:00:00+00:00",
            cwd=tmp_path,
            env=platform.env,
        )
        numbers.append(json.loads(run.stdout)["pr-number"])
    platform.api.merge(numbers[0], "merge")
    platform.api.merge(numbers[1], "merge")  # raises on a conflict
    data = json.loads(gitutil.read_file(platform.bare, "main", "state/versions.json"))
    assert data["apps"]["api-service"]["staging"]["digest"] == digest
    assert data["apps"]["api-service"]["production"]["digest"] == digest
    assert (
        "valid"
        in cli("validate", "--config-repo", platform.repo, cwd=tmp_path, env=platform.env).stdout
    )
