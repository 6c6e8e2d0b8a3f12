"""Templates: fixed placeholders only, validated on load, branch names always valid refs."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.config.templates import (
    BRANCH_PLACEHOLDERS,
    PLACEHOLDERS,
    TemplateError,
    render_branch,
    render_template,
    sanitize_ref,
    template_values,
    validate_template,
)

D = "sha256:" + "0123456789abcdef" * 4


def test_default_commit_message_renders() -> None:
    """The default commit message carries env, app and the 19-character digest."""
    values = template_values(app="api", env="production", digest=D, from_env="staging")
    text = render_template("chore({env}): promote {app} to {short}", values)
    assert text == "chore(production): promote api to sha256:0123456789ab"


def test_every_placeholder_has_a_value() -> None:
    """template_values fills every placeholder, missing ones as empty text."""
    values = template_values(env="dev")
    assert set(values) == set(PLACEHOLDERS)
    assert render_template("{app}|{tag}|{short}|{env}", values) == "|||dev"


def test_batch_joins_apps() -> None:
    """A batch fills {apps} (and {app}, unless given) with the apps, comma separated."""
    values = template_values(env="staging", apps=["api", "worker"])
    assert render_template("promote {apps} ({app})", values) == (
        "promote api, worker (api, worker)"
    )


def test_double_braces_are_literal() -> None:
    """{{ and }} render as single literal braces."""
    assert render_template("{{app}} {app}", template_values(env="e", app="a")) == "{app} a"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{ap}", "did you mean {app}"),
        ("{app.__class__}", "attribute access"),
        ("{app[0]}", "attribute access or indexing"),
        ("{app!r}", "a conversion"),
        ("{app:>30}", "a format spec"),
        ("{}", "empty placeholder"),
        ("promote {app", "unmatched '{'"),
        ("promote app}", "unmatched '}'"),
        ("{nope}", "unknown placeholder {nope}"),
    ],
)
def test_validate_reports_each_problem_with_fix(template: str, fragment: str) -> None:
    """Each kind of bad template yields a one-line problem that says how to fix it."""
    problems = validate_template(template, PLACEHOLDERS)
    assert any(fragment in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_validate_accepts_good_templates() -> None:
    """Plain placeholders from the allowed set and escaped braces are fine."""
    assert validate_template("chore({env}): promote {app} to {short} {{x}}", PLACEHOLDERS) == []


def test_branch_templates_refuse_digest_specific_placeholders() -> None:
    """A branch must stay stable per app/env, so {short}/{digest}/{tag} are not available."""
    problems = validate_template("promote/{env}/{app}/{short}", BRANCH_PLACEHOLDERS)
    assert problems == [
        "{short} at column 21 is not available here (a branch stays the same for an app "
        "and env, so re-runs update one PR); use one of: "
        "{app}, {apps}, {env}, {from_env}"
    ]


def test_render_never_evaluates_fields() -> None:
    """Rendering refuses attribute access instead of evaluating it."""
    with pytest.raises(TemplateError, match="no value"):
        render_template("{app.__class__}", template_values(env="e", app="a"))
    with pytest.raises(TemplateError, match="unmatched"):
        render_template("{app", template_values(env="e", app="a"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("promote/production/api", "promote/production/api"),
        ("promote/prod/a b", "promote/prod/a-b"),
        ("promote//x/", "promote/x"),
        ("promote/.hidden/x.lock", "promote/hidden/x"),
        ("a..b", "a.b"),
        ("-x", "x"),
        ("a@{b}", "a-b-"),
        ("~^:?*[\\", "promote"),
        ("HEAD", "promote"),
    ],
)
def test_sanitize_ref_makes_valid_branch_names(name: str, expected: str) -> None:
    """Invalid ref characters and forms are replaced or removed."""
    assert sanitize_ref(name) == expected


def test_render_branch_sanitises_values() -> None:
    """Values are made ref-safe (no '/', ':' or spaces from a value) before rendering."""
    values = template_values(env="prod", apps=["api", "worker"])
    assert render_branch("promote/{env}/{apps}", values) == "promote/prod/api-worker"


def test_long_branch_names_are_cut_with_stable_suffix() -> None:
    """A branch over 200 characters is cut and given a hash suffix, the same every time."""
    name = "promote/" + "x" * 300
    first = sanitize_ref(name)
    assert len(first) <= 200
    assert first == sanitize_ref(name)
    assert first != sanitize_ref(name + "y")


@given(st.text(max_size=80))
def test_sanitized_names_pass_git_check_ref_format(name: str) -> None:
    """Whatever the input, the sanitised name is accepted by git as a branch name."""
    git = shutil.which("git")
    assert git is not None
    result = sanitize_ref(name)
    check = subprocess.run(
        [git, "check-ref-format", "--branch", result], capture_output=True, check=False
    )
    assert check.returncode == 0, (name, result, check.stderr)
