"""Blob batches in a partial clone ask the remote only for what the clone lacks: a batch
whose blobs are all here makes no request, one with a few missing fetches those few
(:func:`gitops_promote.adapters.git.blobs.read_objects`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from git.gitrepo_helpers import ConfigRepo, clone, overlay
from gitops_promote.adapters.git import blobs
from support import gitutil


def _blob(repo_root: Path, path: str) -> str:
    return gitutil.git("rev-parse", f"HEAD:{path}", cwd=repo_root).strip()


def test_a_batch_of_present_blobs_makes_no_request(config_repo: ConfigRepo, tmp_path: Path) -> None:
    repo = clone(config_repo, tmp_path / "c")
    files = [f"{overlay(app, 'dev')}/kustomization.yaml" for app in ("web", "api")]
    oids = [_blob(repo.root, f) for f in files]
    assert blobs.absent(repo.git, oids) == oids  # a blob-less clone: none is here yet
    first = repo.read_objects(oids)
    assert set(first) == set(oids)
    assert blobs.absent(repo.git, oids) == []

    config_repo.server.clear_requests()
    assert repo.read_objects(oids) == first
    assert config_repo.server.requests == []


def test_a_batch_with_one_missing_blob_fetches_that_one(
    config_repo: ConfigRepo, tmp_path: Path
) -> None:
    repo = clone(config_repo, tmp_path / "c")
    here = _blob(repo.root, f"{overlay('web', 'dev')}/kustomization.yaml")
    repo.read_objects([here])
    config = _blob(repo.root, "promotion.yaml")  # checked out: here since the clone
    missing = _blob(repo.root, f"{overlay('api', 'dev')}/kustomization.yaml")
    assert missing != here
    assert blobs.absent(repo.git, [here, config, missing]) == [missing]

    config_repo.server.clear_requests()
    got = repo.read_objects([here, config, missing])
    assert set(got) == {here, config, missing}
    assert len([r for r in config_repo.server.requests if "upload-pack" in r.path]) == 1
    assert blobs.absent(repo.git, [missing]) == []


def test_an_unreadable_name_counts_as_missing(config_repo: ConfigRepo, tmp_path: Path) -> None:
    """When git cannot tell (a name that is no object id), the batch is fetched whole, as
    before, and the read reports what it found."""
    repo = clone(config_repo, tmp_path / "c")
    assert blobs.absent(repo.git, ["not-an-object-id"]) == ["not-an-object-id"]


def test_a_large_batch_is_fetched_without_asking_first(
    config_repo: ConfigRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ASK_PRESENT blobs the batch goes to the remote whole (no per-blob look-up):
    still one request, and every blob arrives."""
    repo = clone(config_repo, tmp_path / "c")
    files = [f"{overlay(app, 'dev')}/kustomization.yaml" for app in ("web", "api")]
    oids = [_blob(repo.root, f) for f in files]
    monkeypatch.setattr(blobs, "ASK_PRESENT", 1)
    config_repo.server.clear_requests()
    assert set(repo.read_objects(oids)) == set(oids)
    assert len([r for r in config_repo.server.requests if "upload-pack" in r.path]) == 1
