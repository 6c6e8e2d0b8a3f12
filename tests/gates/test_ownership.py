"""Ownership: the marked CODEOWNERS block follows promotion.yaml's owners:."""

from __future__ import annotations

import pytest

from gitops_promote.config.model import App, Config, Environment
from gitops_promote.plan.gates.ownership import (
    BEGIN,
    END,
    BlockError,
    find_block,
    ownership_gate,
    path_pattern,
    render_block,
    update,
)

DEV = Environment(name="dev", path="apps/{app}/overlays/dev")
STAGING = Environment(name="staging", path="apps/{app}/overlays/staging", owners=("@o/seniors",))
PROD = Environment(
    name="production",
    path="apps/{app}/overlays/production",
    owners=("@o/oncall", "sre@example.com"),
)
APPS = (App(name="api", image="ghcr.io/o/api"),)
CONFIG = Config((DEV, STAGING, PROD), APPS)
BLOCK = "\n".join(
    [
        BEGIN,
        "/apps/*/overlays/staging/ @o/seniors",
        "/apps/*/overlays/production/ @o/oncall sre@example.com",
        "/promotion.yaml @o/oncall sre@example.com",
        "/.github/CODEOWNERS @o/oncall sre@example.com",
        "/CODEOWNERS @o/oncall sre@example.com",
        "/docs/CODEOWNERS @o/oncall sre@example.com",
        END,
    ]
)


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("apps/{app}/overlays/production", "/apps/*/overlays/production/"),
        ("apps/{app}/values-production.yaml", "/apps/*/values-production.yaml"),
        ("envs/production/", "/envs/production/"),
        ("my apps/{app}", "/my\\ apps/*/"),
    ],
)
def test_path_pattern(path: str, pattern: str) -> None:
    """Directories own everything under them, files themselves; {app} is any app."""
    assert path_pattern(path) == pattern


def test_render_block_adds_app_path_overrides() -> None:
    """An app with its own path gets its own rule in each env with owners."""
    odd = App(name="legacy", image="ghcr.io/o/legacy", path="legacy/{env}/values.yaml")
    lines = render_block(Config((DEV, STAGING, PROD), (*APPS, odd)))
    assert "/legacy/production/values.yaml @o/oncall sre@example.com" in lines
    assert "/legacy/dev/values.yaml" not in "\n".join(lines)


UPDATE_CASES = [
    ("no file", None, BLOCK + "\n"),
    ("appended after the file's own rules", "* @o/everyone\n", "* @o/everyone\n\n" + BLOCK + "\n"),
    (
        "replaced in place, the rest kept",
        "* @o/everyone\n\n" + BEGIN + "\n/old/ @o/old\n" + END + "\n/docs/ @o/writers\n",
        "* @o/everyone\n\n" + BLOCK + "\n/docs/ @o/writers\n",
    ),
    ("already up to date", "# team\n" + BLOCK + "\n", "# team\n" + BLOCK + "\n"),
    ("CRLF kept", "* @o/all\r\n", "* @o/all\r\n\r\n" + BLOCK.replace("\n", "\r\n") + "\r\n"),
]


@pytest.mark.parametrize(
    ("case", "before", "after"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES]
)
def test_update(case: str, before: str | None, after: str) -> None:
    """update() writes or replaces only the block; a second run changes nothing."""
    assert update(before, CONFIG) == after
    assert update(after, CONFIG) == after


def test_update_removes_the_block_when_no_env_has_owners() -> None:
    """Without owners the block (and its separating blank line) goes away."""
    bare = Config((DEV,), APPS)
    assert update("* @o/all\n\n" + BLOCK + "\n", bare) == "* @o/all\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (BEGIN + "\n/x/ @o/x\n", 1, "without an END"),
        ("/x/ @o/x\n" + END + "\n", 2, "without a BEGIN"),
        (BLOCK + "\n" + BLOCK + "\n", 9, "second"),
    ],
)
def test_broken_markers(text: str, line: int, words: str) -> None:
    """Broken markers are refused with their line, never guessed at."""
    with pytest.raises(BlockError, match=words) as info:
        find_block(text)
    assert info.value.line == line


GATE_CASES = [
    ("up to date", "# rules\n" + BLOCK + "\n", True, "enforces the owners of staging"),
    ("missing file", None, False, ".github/CODEOWNERS does not exist"),
    (
        "no block",
        "* @o/all\n",
        False,
        "has no gitops-promote block, so the owners of staging (@o/seniors)",
    ),
    (
        "out of date",
        BLOCK.replace("production/ @o/oncall sre@example.com", "production/ @o/oncall") + "\n",
        False,
        "line 3 should read '/apps/*/overlays/production/ @o/oncall sre@example.com'",
    ),
    (
        "a catch-all after the block takes it back",
        BLOCK + "\n* @o/everyone\n",
        False,
        ".github/CODEOWNERS:9 '*' comes after the gitops-promote block",
    ),
    (
        "a parent directory after the block takes it back",
        BLOCK + "\n/apps/ @o/devs\n",
        False,
        "takes 'apps/api/overlays/staging/kustomization.yaml' (staging) from @o/seniors",
    ),
    ("unrelated rules after the block", BLOCK + "\n/docs/ @o/writers\n", True, "enforces"),
]


@pytest.mark.parametrize(
    ("case", "text", "passes", "words"), GATE_CASES, ids=[c[0] for c in GATE_CASES]
)
def test_ownership_gate(case: str, text: str | None, passes: bool, words: str) -> None:
    """The check fails when the block is missing, stale, or overridden by a later rule."""
    result = ownership_gate(CONFIG, text)
    assert result.passed is passes, result.message
    assert words in result.message
    if not passes:
        assert "gitops-promote codeowners" in result.message or "move the block" in result.message


def test_no_owners_anywhere_passes() -> None:
    """A config without owners needs no block."""
    assert ownership_gate(Config((DEV,), APPS), None).passed
