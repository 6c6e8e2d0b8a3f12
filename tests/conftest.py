"""Shared pytest set-up: fixture plugins for the real components live in tests/support/."""

from __future__ import annotations

import importlib.util

# Each real component registers its fixtures in a module of tests/support/; list it here.
_PLUGINS = (
    "support.githttp",
    "support.github_fake",
    "support.oci_registry",
    "support.repos",
)
pytest_plugins = [name for name in _PLUGINS if importlib.util.find_spec(name) is not None]
