"""promotion.yaml loading: the model built from valid files, every problem of invalid ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from config.fixtures import DATA, EXAMPLE, INVALID, VALID, expected
from gitops_promote.config.load import load_config, parse_config
from gitops_promote.config.model import Config
from gitops_promote.errors import ConfigError, UserError


def load_fixture(path: Path) -> Config:
    return load_config(path.parent, path.name)


@pytest.mark.parametrize("path", [*VALID, EXAMPLE], ids=lambda p: p.name)
def test_valid_files_load(path: Path) -> None:
    """Every valid fixture and the shipped example load without problems."""
    config = load_fixture(path)
    assert config.environments
    assert config.apps
    assert config.file == path.name


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_files_report_every_problem_on_its_line(path: Path) -> None:
    """Each invalid fixture yields exactly the problems its #! markers expect, each on the
    marked line, with file name and a one-line message; nothing else."""
    want = expected(path)
    with pytest.raises(ConfigError) as err:
        load_fixture(path)
    problems = list(err.value.problems)
    assert all(p.file == path.name for p in problems)
    assert all("\n" not in p.message for p in problems)
    unmatched = list(want.problems)
    for problem in problems:
        line = problem.line or 1
        match = next((w for w in unmatched if w[0] == line and w[1] in problem.message), None)
        assert match is not None, f"unexpected problem {problem}; expected: {unmatched}"
        unmatched.remove(match)
    assert not unmatched, f"missing problems {unmatched}; got: {[str(p) for p in problems]}"


def test_config_error_lists_all_problems_with_file_and_line() -> None:
    """The error's text has one line per problem, each starting file:line."""
    path = DATA / "invalid" / "references.yaml"
    with pytest.raises(ConfigError) as err:
        load_fixture(path)
    text = str(err.value)
    assert len(text.splitlines()) == len(err.value.problems) > 1
    assert all(line.startswith("references.yaml:") for line in text.splitlines())
    assert err.value.exit_code == 2
    assert "more problem" in err.value.message


def test_design_example_model() -> None:
    """DESIGN.md's example becomes the model its comments describe."""
    config = load_fixture(DATA / "valid" / "design-example.yaml")
    assert [e.name for e in config.environments] == ["dev", "staging", "production"]
    dev, staging, production = config.environments
    assert (dev.mode, dev.gated, dev.upstream) == ("push", False, None)
    assert (staging.upstream, staging.soak, staging.auto) == ("dev", timedelta(hours=1), True)
    assert staging.pull_request.labels == ("promotion",)
    assert staging.pull_request.team_reviewers == ("senior-engineers",)
    assert production.require_digest
    assert production.soak == timedelta(hours=24)
    weekend, year_end = production.freeze
    assert (weekend.name, weekend.schedule, weekend.duration, weekend.timezone) == (
        "weekend",
        "0 16 * * FRI",
        timedelta(hours=64),
        "Europe/Berlin",
    )
    assert weekend.line == 21
    assert year_end.start == datetime.fromisoformat("2026-12-20T00:00:00+01:00")
    assert year_end.end == datetime.fromisoformat("2027-01-04T08:00:00+01:00")
    assert config.app("worker").depends_on == ("api-service",)
    assert config.overlay_path(config.app("worker"), production) == (
        "apps/worker/overlays/production"
    )


def test_full_example_model() -> None:
    """Every key of the full fixture lands in its model field, normalised."""
    config = load_fixture(DATA / "valid" / "full.yaml")
    settings = config.settings
    assert settings.base_branch == "release/main"
    assert settings.author.email == "promote-bot@example.com"
    assert settings.freeze_exception_label == "break-glass"
    assert settings.state_file == "versions.json"
    staging = config.env("staging")
    assert staging.soak == timedelta(hours=1, minutes=30)
    # merge key from an x- extension anchor
    assert staging.pull_request.labels == ("promotion",)
    assert staging.pull_request.reviewers == ("alice", "bob")  # '@' dropped
    assert staging.pull_request.team_reviewers == ("senior-engineers", "platform")  # slugs
    assert staging.pull_request.auto_merge == "squash"
    production = config.env("production")
    assert (production.allow_rollback, production.require_limits) == (True, True)
    assert production.owners == ("@myorg/oncall-approvers", "@carol", "sre@example.com")
    assert production.drift.severity == "fail"
    assert production.drift.ignore == ("/metadata/annotations/deployed-at",)
    assert production.external == ("database-credentials", "feature-flags")
    assert production.track == ">=1.0.0 <2"
    assert production.pull_request.auto_merge is None
    assert production.pull_request.draft
    weekend, nights, year_end, launch = production.freeze
    assert weekend.timezone == "Europe/Berlin"
    assert (nights.start_cron, nights.end_cron, nights.timezone) == (
        "0 22 * * *",
        "0 6 * * *",
        "America/New_York",  # settings.timezone
    )
    # unquoted YAML timestamps keep their offset
    assert year_end.start == datetime.fromisoformat("2026-12-20T00:00:00+01:00")
    # offset-less timestamps are read in the window's zone (EDT in September)
    assert launch.start == datetime.fromisoformat("2026-09-01T09:00:00-04:00")
    assert launch.end == datetime.fromisoformat("2026-09-02T00:00:00-04:00")
    worker = config.app("worker")
    assert (worker.editor, worker.key, worker.environments) == (
        "helm",
        "worker.image",
        ("staging", "production"),
    )
    assert config.overlay_path(worker, production) == "charts/worker/values-production.yaml"
    assert config.app("legacy").setter == "legacy-web"
    assert config.app("web").kustomize_name == "web-placeholder"
    assert config.app("api-service").track == "~1.4"


def test_mode_defaults_to_pull_request() -> None:
    """An environment without mode is gated: nothing is pushed unless the file says so."""
    config = parse_config(
        "version: 1\nenvironments: [{name: prod, path: 'p/{app}'}]\napps: {a: {image: x/a}}\n"
    )
    assert config.env("prod").mode == "pull-request"
    assert config.env("prod").gated


def test_shared_overlay_via_app_paths() -> None:
    """Apps that set their own path may share one overlay per environment."""
    config = load_fixture(DATA / "valid" / "shared-overlay.yaml")
    production = config.env("production")
    assert {config.overlay_path(a, production) for a in config.apps} == {"overlays/production"}


def test_freeze_exception_label_can_be_disabled() -> None:
    """An empty break-glass label disables break-glass."""
    config = parse_config(
        "version: 1\nsettings: {freeze-exception-label: null}\n"
        "environments: [{name: p, path: 'p/{app}'}]\napps: {a: {image: x/a}}\n"
    )
    assert config.settings.freeze_exception_label == ""


def test_empty_file_says_how_to_start() -> None:
    """An empty promotion.yaml is one problem that says what to write."""
    with pytest.raises(ConfigError) as err:
        parse_config("# nothing yet\n", "promotion.yaml")
    assert [str(p) for p in err.value.problems] == [
        "promotion.yaml:1: is empty; start with 'version: 1', an 'environments:' list and an "
        "'apps:' mapping ('gitops-promote schema' prints the reference)"
    ]


def test_missing_file_names_path_and_how_to_create_it(tmp_path: Path) -> None:
    """A missing promotion.yaml is a UserError naming the path and how to create one."""
    with pytest.raises(UserError) as err:
        load_config(tmp_path)
    assert not isinstance(err.value, ConfigError)
    assert err.value.exit_code == 2
    assert err.value.message == f"promotion.yaml: no such file in {tmp_path}"
    assert err.value.hint is not None
    assert "create promotion.yaml at the root of the config repo" in err.value.hint


def test_custom_path_and_directory(tmp_path: Path) -> None:
    """The path is overridable; a directory in its place is refused in one line."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "pipeline.yaml").write_text(EXAMPLE.read_text())
    assert load_config(tmp_path, "deploy/pipeline.yaml").file == "deploy/pipeline.yaml"
    with pytest.raises(UserError, match="is not a file"):
        load_config(tmp_path, "deploy")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    """A file over the size limit is refused without being parsed."""
    big = tmp_path / "promotion.yaml"
    with big.open("wb") as handle:
        handle.truncate(6 * 1024 * 1024)
    with pytest.raises(UserError, match="MiB limit"):
        load_config(tmp_path)


def test_non_utf8_file_is_one_problem(tmp_path: Path) -> None:
    """A file that is not UTF-8 is one problem with its line and the fix."""
    (tmp_path / "promotion.yaml").write_bytes(b"version: 1\nenvironments:\n  - name: caf\xe9\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    (problem,) = err.value.problems
    assert (problem.file, problem.line) == ("promotion.yaml", 3)
    assert "not valid UTF-8" in problem.message
    assert "iconv" in problem.message


@pytest.mark.parametrize(
    "field",
    [
        "environments:\n  - name: dev\n    path: apps/{app}/{env}\n    mode: {LONG}\n",
        "environments:\n  - name: dev\n    path: apps/{app}/{env}\n    freeze:\n"
        "      - {name: w, schedule: '0 1 * * *', duration: 1h, timezone: {LONG}}\n",
        "environments:\n  - name: dev\n    path: apps/{app}/{env}\n    from: {LONG}\n",
        "environments:\n  - name: dev\n    path: apps/{app}/{env}\n    {LONG}: 1\n",
    ],
    ids=["mode", "timezone", "from", "unknown-key"],
)
def test_a_long_bad_value_is_quoted_in_at_most_80_characters(field: str) -> None:
    """A promotion.yaml value of 300 characters is quoted in its problem cut to its first
    80 characters, with its length said: one readable line, not the whole value."""
    long = "x" * 300
    text = "version: 1\n" + field.replace("{LONG}", long) + "apps:\n  a: {image: r/a}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    messages = [p.message for p in info.value.problems]
    assert any("(300 characters)" in m for m in messages), messages
    assert all("x" * 81 not in m for m in messages), messages
