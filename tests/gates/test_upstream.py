"""Upstream match: an env with from: X receives only what X runs, or an allowed rollback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gitops_promote.config.model import Environment
from gitops_promote.facts.events import PinEvent
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.upstream import is_rollback, upstream_gate

A, B, C = ("sha256:" + c * 64 for c in "abc")
IMAGE = "ghcr.io/o/api"


def ref(digest: str | None, tag: str | None = None) -> ImageRef | None:
    if digest is None and tag is None:
        return None
    return ImageRef(IMAGE, tag, digest)


def event(digest: str, day: int) -> PinEvent:
    return PinEvent(
        "api",
        "production",
        "f",
        f"{day:040d}",
        datetime(2026, 11, day, tzinfo=UTC),
        "a",
        "s",
        None,
        ref(digest),
        None,
    )


PROD = Environment(name="production", path="p", upstream="staging")
PROD_RB = Environment(name="production", path="p", upstream="staging", allow_rollback=True)
DEV = Environment(name="dev", path="d")
HISTORY = (event(A, 1), event(B, 5))  # production ran A, then B

CASES = [
    # (case, env, new, staging on base, staging once merged, passes, words)
    ("what staging runs", PROD, ref(C), ref(C), ref(C), True, "which staging runs"),
    (
        "tag differs, digest same",
        PROD,
        ref(C, "v2"),
        ref(C, "v1"),
        ref(C, "v1"),
        True,
        "staging runs",
    ),
    ("set in staging by this PR", PROD, ref(C), ref(B), ref(C), True, "also pins in staging"),
    (
        "staging runs something else",
        PROD,
        ref(C),
        ref(B),
        ref(B),
        False,
        "production would run sha256:cccccccccccc…, staging runs sha256:bbbbbbbbbbbb…",
    ),
    (
        "tag against digest",
        PROD,
        ref(None, "latest"),
        ref(B),
        ref(B),
        False,
        "production would run the tag 'latest', staging runs sha256:bbbb",
    ),
    ("staging not pinned", PROD, ref(C), None, None, False, "staging runs nothing (no pin)"),
    ("rollback not allowed", PROD, ref(A), ref(B), ref(B), False, "need allow-rollback: true"),
    ("rollback allowed", PROD_RB, ref(A), ref(B), ref(B), True, "rollback: production would run"),
    ("no upstream", DEV, ref(C), None, None, True, "has no upstream"),
    ("pin removed", PROD, None, ref(B), ref(B), True, "no longer pinned"),
]


@pytest.mark.parametrize(
    ("case", "env", "new", "base", "after", "passes", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_upstream(
    case: str,
    env: Environment,
    new: ImageRef | None,
    base: ImageRef | None,
    after: ImageRef | None,
    passes: bool,
    words: str,
) -> None:
    """Digests are compared (tags are labels); the upstream counts on the base branch or as
    this PR sets it; a digest the env ran before is a rollback, allowed only when configured."""
    result = upstream_gate(
        "api", env, new, upstream_base=base, upstream_after=after, history=HISTORY
    )
    assert result.passed is passes, result.message
    assert words in result.message


def test_rollback_message_names_the_commit_it_ran_in() -> None:
    """A refused rollback says when and where the env ran the digest before."""
    result = upstream_gate(
        "api", PROD, ref(A), upstream_base=ref(B), upstream_after=ref(B), history=HISTORY
    )
    assert f"commit {'1'.zfill(40)[:7]}, 2026-11-01 00:00 UTC" in result.message


def test_is_rollback() -> None:
    """Only a digest the upstream does not run and the env ran before is a rollback."""
    assert is_rollback(ref(A), ref(B), ref(B), HISTORY)
    assert not is_rollback(ref(B), ref(B), ref(B), HISTORY)
    assert not is_rollback(ref(C), ref(B), ref(B), HISTORY)
    assert not is_rollback(None, ref(B), ref(B), HISTORY)
