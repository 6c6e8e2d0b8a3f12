"""A stateful GitHub REST API fake held to GitHub's OpenAPI description (pytest plugin).

Fixtures:
- ``github``: a running ``GitHubFake``; at teardown it fails the test if any request broke
  GitHub's OpenAPI description (or any response did), unless the test took them with
  ``github.take_validation_errors()``.

See ``server.GitHubFake`` for the API (``api_url``, ``token``, ``add_repo``, ``calls``,
``count``, ``pulls``, ``merge``, ``fail_next``, ``validation_errors``...).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.github_fake.server import (
    ApiCall,
    GitHubFake,
    PullView,
    ValidationFailure,
    iter_fakes,
)


@pytest.fixture
def github() -> Iterator[GitHubFake]:
    """A GitHub API fake on 127.0.0.1 for this test (validation errors fail the test)."""
    yield from iter_fakes(GitHubFake())


__all__ = ["ApiCall", "GitHubFake", "PullView", "ValidationFailure", "github"]
