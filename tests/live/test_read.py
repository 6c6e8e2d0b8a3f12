"""facts/live/read.py against both fakes: one reading per (app, env), the credentials
registered as secrets, one endpoint's failure not another's, ``require`` by ``on-error``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo
from gitops_promote.adapters import secrets
from gitops_promote.adapters.git import Repo
from gitops_promote.config.load import parse_config
from gitops_promote.errors import LiveError
from gitops_promote.facts.live import read
from support import gitutil
from support.argocd_fake import TOKEN, ArgoCDFake
from support.argocd_fake import states as argo
from support.kube_fake import KubeFake
from support.kube_fake import states as flux


def config(argocd: str, *, on_error: str = "fail") -> str:
    return f"""version: 1
environments:
  - name: dev
    path: apps/{{app}}/overlays/dev
    mode: push
    live: {{flux: {{kubeconfig-env: KUBE}}}}
  - name: staging
    path: apps/{{app}}/overlays/staging
    from: dev
    live:
      argocd: {{server: '{argocd}', namespace: argocd, project: default, timeout: 1s}}
      on-error: {on_error}
  - name: production
    path: apps/{{app}}/overlays/production
    from: staging
apps:
  api-service: {{image: {API}}}
  worker: {{image: ghcr.io/myorg/worker}}
"""


@pytest.fixture
def repo(tmp_path: Path) -> ConfigRepo:
    made = ConfigRepo(tmp_path / "config")
    gitutil.git("remote", "add", "origin", str(made.root), cwd=made.root)
    return made


def test_every_pair_read_and_the_credentials_masked(
    repo: ConfigRepo, argocd: ArgoCDFake, kube_fake: KubeFake
) -> None:
    initial = repo.head()
    staged = repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    for app in ("api-service", "worker"):
        argocd.add(argo.application(f"{app}-staging", "argocd", revision=staged))
        kube_fake.add(flux.ks_ready(initial, name=f"{app}-dev"))
    cfg = parse_config(config(argocd.url))
    targets = [(a, e) for a in cfg.apps for e in cfg.environments]
    kubeconfig = kube_fake.kubeconfig()
    secrets.clear()
    states = read.read(
        Repo.open(repo.root), cfg, targets, environ={"ARGOCD_TOKEN": TOKEN, "KUBE": kubeconfig}
    )
    assert sorted(states) == [
        ("api-service", "dev"),
        ("api-service", "staging"),
        ("worker", "dev"),
        ("worker", "staging"),
    ]
    assert states[("api-service", "staging")].digest == NEW_API
    assert all(s.status == "synced" for s in states.values())
    assert secrets.redact(f"a {TOKEN} b") == "a *** b"
    assert kube_fake.token not in secrets.redact(kubeconfig)
    assert len(argocd.seen) == 2  # one request per Application
    secrets.clear()


def test_one_endpoint_failing_does_not_fail_another_and_require_follows_on_error(
    repo: ConfigRepo, argocd: ArgoCDFake, kube_fake: KubeFake
) -> None:
    cfg = parse_config(config("http://127.0.0.1:9/"))  # nothing listens on the discard port
    app = cfg.app("api-service")
    targets = [(app, cfg.env("dev")), (app, cfg.env("staging"))]
    kube_fake.add(flux.ks_ready(repo.head(), name="api-service-dev"))
    environ = {"ARGOCD_TOKEN": TOKEN, "KUBE": kube_fake.kubeconfig()}
    states = read.read(Repo.open(repo.root), cfg, targets, environ=environ)
    assert states[("api-service", "dev")].status == "synced"
    staging = states[("api-service", "staging")]
    assert staging.status == "unknown"
    assert staging.failure is not None
    assert staging.failure.kind == "unreachable"
    with pytest.raises(LiveError) as caught:
        read.require(cfg, states, [(app, cfg.env("staging"))])
    assert caught.value.exit_code == 3
    assert caught.value.kind == "unreachable"
    assert "set on-error: warn in staging's live: block" in str(caught.value)
    warn = parse_config(config("http://127.0.0.1:9/", on_error="warn"))
    read.require(warn, states, [(warn.app("api-service"), warn.env("staging"))])
    assert TOKEN not in staging.reason


def test_no_live_block_asks_nothing(repo: ConfigRepo) -> None:
    cfg = parse_config((repo.root / "promotion.yaml").read_text(encoding="utf-8"))
    targets = [(a, e) for a in cfg.apps for e in cfg.environments]
    assert read.read(None, cfg, targets) == {}
    assert read.gate_states(None, cfg, targets) is None


def test_gate_sources_are_the_upstreams_with_a_live_block(argocd: ArgoCDFake) -> None:
    cfg = parse_config(config(argocd.url))
    api = cfg.app("api-service")
    sources = read.gate_sources(cfg, [(api, cfg.env("production")), (api, cfg.env("staging"))])
    assert [(a.name, e.name) for a, e in sources] == [
        ("api-service", "staging"),
        ("api-service", "dev"),
    ]
    assert read.gate_sources(cfg, [(api, cfg.env("dev"))]) == []
