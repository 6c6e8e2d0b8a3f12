"""promote's registry paths end to end, through the CLI against Debian's docker-registry:
``--tag`` pins the tag with the digest it has now; a ``require-digest`` env gets the digest
resolved before anything is written; a digest or tag the registry does not have is refused
before anything is committed; ``--latest`` picks the highest tag in the ``track`` range and
refuses a downgrade unless ``--allow-downgrade``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support import gitutil
from support.inprocess import cli
from support.oci_registry import Registry
from support.repos import Platform, Run, digest_of

DEV = "apps/api/dev/kustomization.yaml"
PROD = "apps/api/production/kustomization.yaml"
NOW = "2026-11-25T10:00:00+00:00"  # a Wednesday


def overlay(image: str, pin: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources: []\n"
        "images:\n"
        f"  - name: {image}\n"
        f"{pin}"
    )


@pytest.fixture
def image(oci_registry: Registry, registry_repo: str) -> str:
    """The app's image name in the test registry (a repository no other test uses)."""
    return oci_registry.image(registry_repo)


@pytest.fixture
def config(platform: Platform, image: str, oci_registry: Registry, registry_repo: str) -> str:
    """The config repo (on the platform's git server and GitHub fake), replaced by one app
    ``api`` whose image lives in the test registry; dev and production run build 0."""
    start = oci_registry.push_image(registry_repo, "v0.9.0")
    tree: dict[str, gitutil.FileContent] = {
        "promotion.yaml": (
            "version: 1\n"
            "environments:\n"
            "  - name: dev\n"
            "    path: apps/{app}/dev\n"
            "    mode: push\n"
            "    track: '>=1.0.0 <2.0.0'\n"
            "  - name: production\n"
            "    path: apps/{app}/production\n"
            "    mode: pull-request\n"
            "    require-digest: true\n"
            "apps:\n"
            f"  api: {{image: '{image}'}}\n"
        ),
        DEV: overlay(image, f"    newTag: v0.9.0\n    digest: {start}\n"),
        PROD: overlay(image, f"    newTag: v0.9.0\n    digest: {start}\n"),
    }
    gitutil.commit_tree_to_bare(
        platform.bare, tree, message="registry app", date="2026-11-20T10:00:00Z", replace=True
    )
    return start


def promote(platform: Platform, cwd: Path, *args: str, check: int | None = 0) -> Run:
    run = cli(
        "promote",
        "--config-repo",
        platform.repo,
        "--app",
        "api",
        "--now",
        NOW,
        *args,
        cwd=cwd,
        env=platform.env,
        check=check,
    )
    assert platform.api.token not in run.output
    assert "Traceback" not in run.output
    return run


def as_json(run: Run) -> dict[str, Any]:
    return dict(json.loads(run.stdout))


def image_entry(platform: Platform, path: str, ref: str = "main") -> list[str]:
    """The lines of the overlay's images: entry (after the name)."""
    text = gitutil.read_file(platform.bare, ref, path).decode()
    return text.split("images:\n", 1)[1].splitlines()[1:]


def test_tag_pins_tag_and_digest_together(
    platform: Platform, tmp_path: Path, config: str, oci_registry: Registry, registry_repo: str
) -> None:
    """--tag v1.2.3 in dev: one commit whose overlay carries newTag: v1.2.3 AND the digest
    the registry has for it now; moving the tag later does not move the pin."""
    digest = oci_registry.push_image(registry_repo, "v1.2.3")
    out = as_json(promote(platform, tmp_path, "--env", "dev", "--tag", "v1.2.3", "--json"))
    assert out["operation"] == "pushed"
    assert out["changes"][0]["to-digest"] == digest
    assert out["changes"][0]["source"] == "tag"
    assert image_entry(platform, DEV) == ["    newTag: v1.2.3", f"    digest: {digest}"]
    oci_registry.push_image(registry_repo, "v1.2.3")  # the tag now names another build
    assert image_entry(platform, DEV) == ["    newTag: v1.2.3", f"    digest: {digest}"]


def test_require_digest_env_resolves_the_tag_before_writing(
    platform: Platform, tmp_path: Path, config: str, oci_registry: Registry, registry_repo: str
) -> None:
    """production (require-digest, pull request): --tag is resolved to its digest before
    the PR branch is written; with --skip-registry-check the tag cannot be resolved, so it
    is refused (exit 2) and nothing reaches git or GitHub."""
    digest = oci_registry.push_image(
        registry_repo, "v1.2.3", platforms=["linux/amd64", "linux/arm64"]
    )
    before = gitutil.rev_parse(platform.bare, "main")
    refused = promote(
        platform,
        tmp_path,
        "--env",
        "production",
        "--tag",
        "v1.2.3",
        "--skip-registry-check",
        check=2,
    )
    assert refused.stderr.splitlines() == [
        "error: production requires a digest, and --skip-registry-check leaves the tag "
        "'v1.2.3' unresolved (pass --digest (or --image name:tag@digest), or let the registry "
        "be asked)"
    ]
    assert platform.api.pulls(state="all") == []
    out = as_json(promote(platform, tmp_path, "--env", "production", "--tag", "v1.2.3", "--json"))
    assert out["operation"] == "pr-created"
    assert out["changes"][0]["to-digest"] == digest
    assert image_entry(platform, PROD, out["branch"]) == [
        "    newTag: v1.2.3",
        f"    digest: {digest}",
    ]
    assert gitutil.rev_parse(platform.bare, "main") == before


@pytest.mark.parametrize("env", ["dev", "production"])
def test_a_digest_the_registry_does_not_have_is_refused_before_any_commit(
    platform: Platform, tmp_path: Path, config: str, env: str
) -> None:
    """--digest of a manifest the registry does not have: exit 2, one line naming it and
    how to check; no commit, no branch, no PR."""
    before = gitutil.rev_parse(platform.bare, "main")
    missing = digest_of("never-pushed")
    run = promote(platform, tmp_path, "--env", env, "--digest", missing, check=2)
    lines = run.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert missing in lines[0]
    assert "does not exist in the registry" in lines[0]
    assert gitutil.rev_parse(platform.bare, "main") == before
    assert gitutil.git("for-each-ref", "refs/heads", cwd=platform.bare).count("\n") == 0
    assert platform.api.pulls(state="all") == []


def test_a_tag_the_registry_does_not_have_is_refused(
    platform: Platform, tmp_path: Path, config: str
) -> None:
    """--tag that no image carries: exit 2 naming the tag; main does not move."""
    before = gitutil.rev_parse(platform.bare, "main")
    run = promote(platform, tmp_path, "--env", "dev", "--tag", "v9.9.9", check=2)
    assert "v9.9.9" in run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert gitutil.rev_parse(platform.bare, "main") == before


def test_latest_picks_the_highest_tag_in_the_track_range(
    platform: Platform, tmp_path: Path, config: str, oci_registry: Registry, registry_repo: str
) -> None:
    """track '>=1.0.0 <2.0.0': 1.3.0 (no v) beats v1.2.0; v2.0.0 is out of range, a
    pre-release is not eligible, latest/main/sha-... are not semver and ignored."""
    digests = {
        tag: oci_registry.push_image(registry_repo, tag)
        for tag in ("v1.0.0", "v1.2.0", "1.3.0", "v1.4.0-rc.1", "v2.0.0", "main", "sha-abc1234")
    }
    oci_registry.retag(registry_repo, "v2.0.0", "latest")
    out = as_json(promote(platform, tmp_path, "--env", "dev", "--latest", "--json"))
    assert out["operation"] == "pushed"
    assert out["changes"][0]["to"].endswith(f":1.3.0@{digests['1.3.0']}")
    assert out["changes"][0]["source"] == "latest"
    assert image_entry(platform, DEV) == ["    newTag: 1.3.0", f"    digest: {digests['1.3.0']}"]
    again = as_json(promote(platform, tmp_path, "--env", "dev", "--latest", "--json"))
    assert again["operation"] == "unchanged"


def test_latest_refuses_a_downgrade_unless_allowed(
    platform: Platform, tmp_path: Path, config: str, oci_registry: Registry, registry_repo: str
) -> None:
    """dev runs v1.5.0; the range now allows at most v1.4.x: --latest would go down to
    v1.4.0, refused (exit 2, the fix named) until --allow-downgrade."""
    high = oci_registry.push_image(registry_repo, "v1.5.0")
    low = oci_registry.push_image(registry_repo, "v1.4.0")
    promote(platform, tmp_path, "--env", "dev", "--tag", "v1.5.0")
    assert image_entry(platform, DEV) == ["    newTag: v1.5.0", f"    digest: {high}"]
    text = gitutil.read_file(platform.bare, "main", "promotion.yaml").decode()
    gitutil.commit_tree_to_bare(
        platform.bare,
        {"promotion.yaml": text.replace("'>=1.0.0 <2.0.0'", "'~1.4'")},
        message="hold dev at 1.4",
        date="2026-11-24T10:00:00Z",
    )
    before = gitutil.rev_parse(platform.bare, "main")
    run = promote(platform, tmp_path, "--env", "dev", "--latest", check=2)
    assert run.stderr.splitlines() == [
        "error: api in dev runs v1.5.0; the highest tag in '~1.4' is v1.4.0, a downgrade "
        "(pass --allow-downgrade to pin it anyway)"
    ]
    assert gitutil.rev_parse(platform.bare, "main") == before
    later = "2026-11-25T11:00:00+00:00"  # a newer request than the v1.5.0 promotion
    promote(platform, tmp_path, "--env", "dev", "--latest", "--allow-downgrade", "--now", later)
    assert image_entry(platform, DEV) == ["    newTag: v1.4.0", f"    digest: {low}"]


def test_latest_without_a_track_range_says_where_to_add_one(
    platform: Platform, tmp_path: Path, config: str
) -> None:
    """production has no track: --latest is refused with the YAML to add."""
    run = promote(platform, tmp_path, "--env", "production", "--latest", check=2)
    assert run.stderr.splitlines() == [
        "error: --latest needs a `track` semver range on app api or env production "
        '(add e.g. track: ">=1.0.0 <2.0.0" in promotion.yaml)'
    ]


def test_tag_refuses_a_downgrade_unless_allowed(
    platform: Platform, tmp_path: Path, config: str, oci_registry: Registry, registry_repo: str
) -> None:
    """dev runs v0.9.0; --tag v0.8.0 is a lower version: refused before the registry is
    even asked (exit 2, the fix named); with --allow-downgrade it is pinned with its digest."""
    low = oci_registry.push_image(registry_repo, "v0.8.0")
    before = gitutil.rev_parse(platform.bare, "main")
    run = promote(platform, tmp_path, "--env", "dev", "--tag", "v0.8.0", check=2)
    assert run.stderr.splitlines() == [
        "error: api in dev runs v0.9.0; --tag v0.8.0 is a downgrade (pass --allow-downgrade "
        "to pin it anyway, or --rollback to restore the previous pin)"
    ]
    assert gitutil.rev_parse(platform.bare, "main") == before
    promote(platform, tmp_path, "--env", "dev", "--tag", "v0.8.0", "--allow-downgrade")
    assert image_entry(platform, DEV) == ["    newTag: v0.8.0", f"    digest: {low}"]
