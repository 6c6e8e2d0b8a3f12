"""A config repo with several apps and four environments, built commit by commit with
controlled committer dates on the platform fixture's git server (as a cron soak run sees
it): dev (push) -> perf (push, auto, soak 30m), dev -> staging (pull request, auto, soak
1h) -> production (pull request, auto, soak 24h, weekend freeze in Europe/Berlin)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from support import gitutil
from support.repos import Platform, digest_of

PROMOTION_YAML = """\
version: 1
settings:
  base-branch: main
environments:
  - name: dev
    path: apps/{app}/dev
    mode: push
  - name: perf
    path: apps/{app}/perf
    from: dev
    mode: push
    soak: 30m
    auto: true
  - name: staging
    path: apps/{app}/staging
    from: dev
    mode: pull-request
    soak: 1h
    auto: true
    pull-request: {labels: [promotion]}
  - name: production
    path: apps/{app}/production
    from: staging
    mode: pull-request
    soak: 24h
    auto: true
    require-digest: true
    freeze:
      - name: weekend
        schedule: "0 16 * * FRI"
        duration: 64h
        timezone: Europe/Berlin
        reason: no production changes over the weekend
    pull-request: {labels: [promotion, production]}
apps:
  api-service: {image: ghcr.io/myorg/api-service}
  worker: {image: ghcr.io/myorg/worker, depends-on: [api-service]}
  billing: {image: ghcr.io/myorg/billing}
  frontend: {image: ghcr.io/myorg/frontend, environments: [dev, staging, production]}
  search: {image: ghcr.io/myorg/search}
"""

APPS = ("api-service", "worker", "billing", "frontend", "search")
ENVS = ("dev", "perf", "staging", "production")


def envs_of(app: str) -> tuple[str, ...]:
    return tuple(e for e in ENVS if not (app == "frontend" and e == "perf"))


def build(app: str, n: int) -> str:
    """The digest of build ``n`` of ``app``."""
    return digest_of(f"{app}-build-{n}")


def path(app: str, env: str) -> str:
    return f"apps/{app}/{env}/kustomization.yaml"


def overlay(app: str, digest: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources: []\n"
        "images:\n"
        f"  - name: ghcr.io/myorg/{app}\n"
        f"    digest: {digest}  # set by gitops-promote\n"
    )


def seed(platform: Platform, when: datetime | str, extra_yaml: str = "") -> str:
    """Replace the repo's tree with the fleet, every app running build 1 everywhere."""
    tree: dict[str, gitutil.FileContent] = {"promotion.yaml": PROMOTION_YAML + extra_yaml}
    for app in APPS:
        for env in envs_of(app):
            tree[path(app, env)] = overlay(app, build(app, 1))
    return gitutil.commit_tree_to_bare(
        platform.bare, tree, message="Fleet", date=when, replace=True
    )


def pin(
    platform: Platform,
    pins: Mapping[tuple[str, str], int],
    when: datetime | str,
    message: str | None = None,
) -> str:
    """One commit on main (dated ``when``) pinning build N of each (app, env) given."""
    files: dict[str, gitutil.FileContent] = {
        path(app, env): overlay(app, build(app, n)) for (app, env), n in pins.items()
    }
    text = message or ", ".join(f"{a} {e} -> build {n}" for (a, e), n in pins.items())
    return gitutil.commit_tree_to_bare(platform.bare, files, message=text, date=when)


def pinned(platform: Platform, app: str, env: str, ref: str = "main") -> str:
    """The digest the overlay carries at ``ref``."""
    text = gitutil.read_file(platform.bare, ref, path(app, env)).decode()
    return text.split("digest: ", 1)[1].split()[0]
