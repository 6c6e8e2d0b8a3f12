"""The live: blocks and soak-from of promotion.yaml: what a good block becomes, and every
bad value refused in one line with its file and line, all problems at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gitops_promote.config.live import ArgoCDLive, FluxLive, LiveConfig
from gitops_promote.config.load import parse_config
from gitops_promote.errors import ConfigError

HEAD = """version: 1
environments:
  - name: dev
    path: apps/{app}/dev
    mode: push
"""
STAGING = """  - name: staging
    path: apps/{app}/staging
    from: dev
"""
APPS = """apps:
  web:
    image: ghcr.io/o/web
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "promotion.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_full_configuration_becomes_the_model() -> None:
    text = (
        HEAD
        + """    live:
      flux: {kind: HelmRelease, name: "{app}", namespace: apps, kubeconfig-env: KUBE_DEV,
             context: dev, timeout: 20s}
"""
        + STAGING
        + """    soak: 1h
    soak-from: sync
    live:
      argocd:
        server: https://argocd.example.com/
        application: "{app}-{env}"
        namespace: argocd
        token-env: ARGOCD_STAGING_TOKEN
        ca-file: /etc/ssl/argocd.pem
      on-error: warn
      gate: false
  - name: production
    path: apps/{app}/production
    from: staging
"""
        + APPS
        + """    live:
      staging: {argocd: {server: "http://127.0.0.1:8080", insecure: true}}
      dev: false
  api:
    image: ghcr.io/o/api
"""
    )
    config = parse_config(text)
    dev, staging, production = config.environments
    web, api = config.app("web"), config.app("api")
    assert dev.live == LiveConfig(
        flux=FluxLive(
            kind="HelmRelease",
            name="{app}",
            namespace="apps",
            kubeconfig_env="KUBE_DEV",
            context="dev",
            timeout=timedelta(seconds=20),
        ),
        line=6,
    )
    assert staging.soak_from == "sync"
    assert staging.live is not None
    assert staging.live.argocd == ArgoCDLive(
        server="https://argocd.example.com",
        namespace="argocd",
        token_env="ARGOCD_STAGING_TOKEN",
        ca_file="/etc/ssl/argocd.pem",
    )
    assert (staging.live.on_error, staging.live.gate) == ("warn", False)
    assert production.live is None
    assert production.soak_from == "merge"
    # an app's own block replaces the env's; false turns it off
    web_staging = config.live_of(web, staging)
    assert web_staging is not None
    assert web_staging.argocd is not None
    assert web_staging.argocd.server == "http://127.0.0.1:8080"
    assert web_staging.argocd.insecure
    assert web_staging.on_error == "fail"
    assert config.live_of(web, dev) is None
    assert config.live_of(api, dev) == dev.live
    assert config.live_of(api, production) is None
    assert staging.live.object_name("web", "staging") == "web-staging"


def test_without_live_nothing_is_set() -> None:
    config = parse_config(HEAD + STAGING + APPS)
    assert all(e.live is None and e.soak_from == "merge" for e in config.environments)
    assert config.apps[0].live == ()


BAD = [
    ("live: []", "environment 'dev': live must be a mapping, not a list"),
    ("live: {}", "has neither argocd nor flux; give exactly one controller"),
    (
        "live: {argocd: {server: 'https://a.example.com'}, flux: {}}",
        "has both argocd and flux",
    ),
    ("live: {flux: {}, on-error: maybe}", "on-error 'maybe' is not valid; use one of: fail, warn"),
    ("live: {flux: {}, gate: 'yes'}", "live: gate must be true or false, not text"),
    ("live: {flux: {}, gates: true}", "unknown key 'gates' (did you mean 'gate'?)"),
    ("live: {argocd: {}}", "argocd: server is missing"),
    ("live: {argocd: []}", "argocd must be a mapping, not a list"),
    ("live: {argocd: {server: argocd.example.com}}", "is not an http(s) URL"),
    ("live: {argocd: {server: 'ftp://a.example.com'}}", "is not an http(s) URL"),
    ("live: {argocd: {server: 'http://argocd.example.com'}}", "is plain http; use https://"),
    (
        "live: {argocd: {server: 'https://me:pw@a.example.com'}}",
        "server must not carry credentials",
    ),
    ("live: {argocd: {server: 'https://a.example.com/?x=1'}}", "must not have a query"),
    (
        "live: {argocd: {server: 'https://a.example.com', insecure: true}}",
        "insecure: true skips TLS verification and is allowed only for a loopback server",
    ),
    ("live: {argocd: {server: 'https://a.example.com', insecure: 1}}", "insecure must be true"),
    (
        "live: {argocd: {server: 'https://a.example.com', application: '{App}'}}",
        "application '{App}' is not a name template",
    ),
    (
        "live: {argocd: {server: 'https://a.example.com', application: '../x'}}",
        "application '../x' is not a name template",
    ),
    (
        "live: {argocd: {server: 'https://a.example.com', namespace: Argo_CD}}",
        "namespace 'Argo_CD' is not a Kubernetes name",
    ),
    (
        "live: {argocd: {server: 'https://a.example.com', token-env: '$TOKEN'}}",
        "token-env '$TOKEN' is not an environment variable name",
    ),
    (
        "live: {argocd: {server: 'https://a.example.com', timeout: 10}}",
        "timeout: duration 10 must be text with a unit",
    ),
    (
        "live: {argocd: {server: 'https://a.example.com', timeout: 1h}}",
        "timeout '1h' must be more than 0s and at most 5m",
    ),
    (
        "live: {argocd: {server: 'https://a.example.com', timeout: 0s}}",
        "timeout '0s' must be more than 0s",
    ),
    ("live: {argocd: {server: 'https://a.example.com', ca-file: ''}}", "ca-file is empty"),
    ("live: {flux: {kind: Kustomisation}}", "kind 'Kustomisation' is not valid (did you mean"),
    ("live: {flux: {kind: 3}}", "kind a number is not valid"),
    ("live: {flux: {name: 'web staging'}}", "name 'web staging' is not a name template"),
    ("live: {flux: {kubeconfig: a, kubeconfig-env: B}}", "kubeconfig and kubeconfig-env both"),
    ("live: {flux: {kubeconfig-env: 'a b'}}", "kubeconfig-env 'a b' is not an environment"),
    (
        "live: {argocd: {server: 'https://a.example.com', project: 'My Project'}}",
        "project 'My Project' is not a Kubernetes name",
    ),
    ("live: {flux: {context: {}}}", "context must be text, not a mapping"),
    ("live: {flux: {namespace: -x}}", "namespace '-x' is not a Kubernetes name"),
    ("live: {flux: {kustomization: x}}", "unknown key 'kustomization'"),
]


@pytest.mark.parametrize(("block", "message"), BAD, ids=[b for b, _ in BAD])
def test_every_bad_value_is_one_line_with_its_line(block: str, message: str) -> None:
    found = problems(HEAD + f"    {block}\n" + APPS)
    assert len(found) == 1, found
    assert found[0].startswith("promotion.yaml:6: environment 'dev': live")
    assert message in found[0]
    assert "\n" not in found[0]


def test_a_token_written_into_the_config_is_refused_without_echoing_it() -> None:
    secret = "s3cr3t-t0ken-value"
    found = problems(
        HEAD
        + f"""    live:
      argocd: {{server: 'https://a.example.com', token: {secret}}}
      flux: {{password: {secret}}}
"""
        + APPS
    )
    assert any("'token': a credential never goes into promotion.yaml" in p for p in found)
    assert any("with token-env:" in p for p in found)
    assert any("'password': a credential never goes" in p for p in found)
    assert all(secret not in p for p in found)


def test_hostile_values_stay_one_short_line() -> None:
    huge = "x" * 5000
    found = problems(
        HEAD
        + f"""    live:
      argocd:
        server: "https://a.example.com\\n::error::pwned"
        application: "{huge}"
        namespace: "../../etc"
"""
        + APPS
    )
    assert len(found) == 3
    assert all("\n" not in p and len(p) < 400 for p in found)
    assert "contains control characters" in found[0]


def test_loopback_servers_may_be_plain_http_and_insecure() -> None:
    for server in ("http://127.0.0.1:8080", "http://localhost:1", "https://[::1]:8443"):
        text = HEAD + f"    live: {{argocd: {{server: '{server}', insecure: true}}}}\n" + APPS
        assert parse_config(text).environments[0].live is not None


def test_every_problem_at_once_across_envs_and_apps() -> None:
    found = problems(
        HEAD
        + "    live: {flux: {kind: Helm}}\n"
        + STAGING
        + "    live: {argocd: {server: 'http://a.example.com'}}\n"
        + APPS
        + """    live:
      stagin: {flux: {}}
      staging: {flux: {timeout: forever}}
      dev: true
"""
    )
    assert [p.split(":")[1] for p in found] == ["6", "10", "15", "16", "17"]
    assert "app 'web': live: 'stagin' is not an environment (did you mean 'staging'?)" in found[2]
    assert "app 'web': live: staging: flux: timeout" in found[3]
    assert "app 'web': live: dev must be a mapping, not true/false" in found[4]


def test_app_live_must_be_a_mapping_of_environments() -> None:
    found = problems(HEAD + APPS + "    live: {argocd: {server: 'https://a.example.com'}}\n")
    assert found == [
        "promotion.yaml:9: app 'web': live: 'argocd' is not an environment; use one of: dev"
    ]
    found = problems(HEAD + APPS + "    live: [dev]\n")
    assert found[0].startswith("promotion.yaml:9: app 'web': live must be a mapping of environment")


SOAK_FROM = [
    ("    soak-from: later\n", "soak-from 'later' is not valid; use one of: merge, sync"),
    ("    soak-from: sync\n", "soak-from: sync needs soak: and from:"),
    ("    soak: 1h\n    soak-from: sync\n", "soak-from: sync needs a live: block on its upstream"),
]


@pytest.mark.parametrize(("lines", "message"), SOAK_FROM, ids=[m for _, m in SOAK_FROM])
def test_soak_from(lines: str, message: str) -> None:
    found = problems(HEAD + STAGING + lines + APPS)
    assert len(found) == 1, found
    assert message in found[0]
    assert found[0].startswith("promotion.yaml:")


def test_soak_from_sync_with_a_live_upstream() -> None:
    text = HEAD + "    live: {flux: {}}\n" + STAGING + "    soak: 1h\n    soak-from: sync\n" + APPS
    assert parse_config(text).env("staging").soak_from == "sync"
