"""The one error handler masks registered secrets, though the masker now loads only when
an error is reported (start-up): a secret in a refused argument never reaches stderr."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_promote.adapters import secrets
from gitops_promote.cli import main

SECRET = "ghp_startupSecretValue1234"
DIGEST = "sha256:" + "cd" * 32


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    secrets.clear()


def test_a_secret_in_a_refused_path_is_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    secrets.register(SECRET)
    code = main(["set-image", f"{SECRET}/o", f"ghcr.io/acme/api@{DIGEST}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert "***" in err
    assert SECRET not in err
