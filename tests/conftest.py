"""Shared pytest set-up: fixture plugins for the real components live in tests/support/."""

from __future__ import annotations

import importlib.util
import os

from hypothesis import HealthCheck, settings

# Property tests run on shared 2-core CI machines: no per-example deadline (a slow moment
# is not a bug), and under CI the same examples every run (a CI failure must be
# reproducible; developers' runs keep exploring new examples).
settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
    print_blob=True,
)
settings.load_profile(
    "ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "default"
)

# Each real component registers its fixtures in a module of tests/support/; list it here.
_PLUGINS = (
    "support.githttp",
    "support.github_fake",
    "support.oci_registry",
    "support.repos",
    "support.argocd_fake",
    "support.kube_fake",
)
pytest_plugins = [name for name in _PLUGINS if importlib.util.find_spec(name) is not None]
