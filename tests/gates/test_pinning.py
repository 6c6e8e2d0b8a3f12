"""Pinning: a require-digest env accepts only references that carry a digest."""

from __future__ import annotations

import pytest

from gitops_promote.config.model import Environment
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates.pinning import pinning_gate

DIGEST = "sha256:" + "ab" * 32
PROD = Environment(name="production", path="apps/{app}/prod", require_digest=True)
DEV = Environment(name="dev", path="apps/{app}/dev")

CASES = [
    # (case, env, reference or None, passes, words in the message)
    ("digest only", PROD, f"ghcr.io/o/api@{DIGEST}", True, "pinned by digest"),
    ("tag and digest", PROD, f"ghcr.io/o/api:v1.2.3@{DIGEST}", True, "v1.2.3@sha256:abab"),
    ("semver tag", PROD, "ghcr.io/o/api:v1.2.3", False, "mutable tag 'v1.2.3'"),
    ("latest", PROD, "ghcr.io/o/api:latest", False, "mutable tag 'latest'"),
    ("sha-like tag", PROD, "ghcr.io/o/api:sha-abc1234", False, "mutable tag 'sha-abc1234'"),
    ("bare name", PROD, "ghcr.io/o/api", False, "no tag or digest (that is 'latest')"),
    ("pin removed", PROD, None, False, "has no image pin"),
    ("tag where digests are not required", DEV, "ghcr.io/o/api:latest", True, "does not require"),
]


@pytest.mark.parametrize(
    ("case", "env", "ref", "passes", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_pinning(case: str, env: Environment, ref: str | None, passes: bool, words: str) -> None:
    """Digests pass (a tag beside them is a label); tags, bare names and missing pins fail
    in require-digest envs; other envs accept anything."""
    image = ImageRef.parse(ref) if ref else None
    result = pinning_gate("api", env, image, file="apps/api/prod/kustomization.yaml", line=9)
    assert result.passed is passes
    assert words in result.message
    assert (result.gate, result.app, result.env) == ("pinning", "api", env.name)
    assert (result.file, result.line) == ("apps/api/prod/kustomization.yaml", 9)


def test_failure_says_how_to_fix() -> None:
    """The failure names the digest form to write and the command that resolves a tag."""
    result = pinning_gate("api", PROD, ImageRef.parse("ghcr.io/o/api:v2"))
    assert "pin ghcr.io/o/api@sha256:<digest>" in result.message
    assert "gitops-promote promote --env production --app api" in result.message
