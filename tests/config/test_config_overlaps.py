"""One overlay per environment: promotion.yaml is refused (file:line) when two
environments resolve to the same overlay, or one environment's overlay lies inside
another's; apps of one environment may still share a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_promote.config.load import parse_config
from gitops_promote.errors import ConfigError
from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE, digest_of

ENVS = """\
version: 1
environments:
  - name: dev
    path: {dev}
    mode: push
  - name: staging
    path: {staging}
    from: dev
    mode: pull-request
apps:
  api:
    image: ghcr.io/o/api
{api_extra}  web:
    image: ghcr.io/o/web
{web_extra}"""


def _config(
    dev: str = "apps/{app}/dev",
    staging: str = "apps/{app}/staging",
    api_extra: str = "",
    web_extra: str = "",
) -> str:
    return ENVS.format(dev=dev, staging=staging, api_extra=api_extra, web_extra=web_extra)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        pytest.param(
            _config(api_extra="    path: deploy/api.yaml\n"),
            13,
            "app 'api': path 'deploy/api.yaml' gives api in staging the overlay deploy/api.yaml, "
            "which is also the overlay of api in dev",
            id="app-path-without-env",
        ),
        pytest.param(
            _config(staging="apps/{app}/dev"),
            7,
            "environment 'staging': path 'apps/{app}/dev' gives api in staging the overlay "
            "apps/api/dev, which is also the overlay of api in dev",
            id="staging-path-equal-to-dev",
        ),
        pytest.param(
            _config(dev="apps/{app}/staging/dev"),
            4,
            "environment 'dev': path 'apps/{app}/staging/dev' gives api in dev the overlay "
            "apps/api/staging/dev, which lies inside apps/api/staging, the overlay of api in "
            "staging",
            id="dev-inside-staging",
        ),
        pytest.param(
            _config(staging="apps/{app}"),
            4,
            "lies inside apps/api, the overlay of api in staging",
            id="staging-around-dev",
        ),
        pytest.param(
            _config(web_extra="    path: apps/api/./staging/\n"),
            15,
            "app 'web': path 'apps/api/./staging/' gives web in dev the overlay "
            "apps/api/staging, which is also the overlay of api in staging",
            id="another-app-on-another-env-overlay",
        ),
    ],
)
def test_overlays_shared_between_environments_are_refused(
    text: str, line: int, needle: str
) -> None:
    """Two environments on one overlay (an app path without {env}, copied env paths, one
    overlay inside another, even through ./ and a trailing /) are a problem on the line of
    the path that makes them meet."""
    problems = _problems(text)
    hits = [p for p in problems if needle in p]
    assert hits, problems
    assert hits[0].startswith(f"promotion.yaml:{line}: ")
    assert "a change to one changes what the other deploys" in hits[0]


def test_only_environments_that_meet_are_refused_once_per_pair() -> None:
    """A copied environment path is reported once, not once for every app; apps of one
    environment sharing a file ({env} in the path) and an app of a single environment
    without {env} stay valid."""
    problems = _problems(_config(staging="apps/{app}/dev"))
    assert len([p for p in problems if "which is also" in p]) == 1
    shared = parse_config(
        _config(
            api_extra="    path: clusters/{env}/apps.yaml\n",
            web_extra="    path: clusters/{env}/apps.yaml\n",
        )
    )
    assert [a.path for a in shared.apps] == ["clusters/{env}/apps.yaml"] * 2
    parse_config(_config(api_extra="    path: deploy/api.yaml\n    environments: [dev]\n"))


def _repo(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "config"
    shutil.copytree(EXAMPLE, root)
    (root / "promotion.yaml").write_text(config)
    gitutil.init_repo(root)
    gitutil.git("add", "-A", cwd=root)
    gitutil.git("commit", "-q", "-m", "config", cwd=root)
    return root


def test_validate_and_promote_refuse_an_app_path_without_env(tmp_path: Path) -> None:
    """validate and promote (every command that loads promotion.yaml) refuse a config whose
    app path has no {env}: exit 2, the file and line named, nothing written."""
    text = (EXAMPLE / "promotion.yaml").read_text()
    old = "  api-service:\n    image: ghcr.io/myorg/api-service\n"
    config = text.replace(old, f"{old}    path: apps/api-service/overlays/dev\n")
    root = _repo(tmp_path, config)
    line = config.splitlines().index("    path: apps/api-service/overlays/dev") + 1
    run = cli("validate", "--repo", str(root), cwd=tmp_path, check=2)
    assert f"promotion.yaml:{line}: app 'api-service'" in run.stderr
    assert "put {env} in the path" in run.stderr
    head = gitutil.rev_parse(root, "HEAD")
    promote = cli(
        "promote", "--repo", str(root), "--app", "api-service", "--env", "dev",
        "--digest", digest_of("shared"), "--skip-registry-check", "--no-push",
        cwd=tmp_path, check=2,
    )  # fmt: skip
    assert f"promotion.yaml:{line}:" in promote.stderr
    assert gitutil.rev_parse(root, "HEAD") == head
    assert gitutil.git("status", "--porcelain", cwd=root) == ""
