"""Where `policy test` and `policy eval` find the policies and their options: the command
line, else promotion.yaml's `policies:` (read by name, so the command works before and
after the config model has the key), else `policy/` and Conftest's defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gitops_promote.commands.policy import EvalOptions, configured_dirs, eval_options
from gitops_promote.config.load import parse_config
from support.repos import EXAMPLE


@dataclass(frozen=True)
class Options:  # the shape of config.model.PolicyOptions
    dirs: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ("main",)
    all_namespaces: bool = False
    combine: bool = False
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class Part:
    name: str
    policies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    environments: tuple[Part, ...]
    apps: tuple[Part, ...]
    policies: Options = field(default_factory=Options)


def args(**given: Any) -> argparse.Namespace:
    defaults = {"namespace": None, "all_namespaces": False, "combine": False, "timeout": None}
    return argparse.Namespace(**{**defaults, **given})


def test_a_config_without_policies_gives_policy_dir() -> None:
    config = parse_config((EXAMPLE / "promotion.yaml").read_text(), "promotion.yaml")
    assert configured_dirs(config) == ["policy"]
    assert configured_dirs(config, config.apps[0], config.environments[0]) == ["policy"]
    assert eval_options(config, args()) == EvalOptions()


def test_global_env_and_app_directories_in_that_order_each_once() -> None:
    prod: Any = Part("production", ("policy/production/",))
    dev: Any = Part("dev")
    api: Any = Part("api", ("./policy", "teams/api"))
    web: Any = Part("web", ("teams/web",))
    config: Any = Config((dev, prod), (api, web), Options(dirs=("policy/",)))
    assert configured_dirs(config, api, prod) == ["policy", "policy/production", "teams/api"]
    assert configured_dirs(config, web, dev) == ["policy", "teams/web"]
    assert configured_dirs(config) == ["policy", "policy/production", "teams/api", "teams/web"]


def test_the_command_line_wins_over_the_configured_options() -> None:
    config: Any = Config(
        (),
        (),
        Options(namespaces=("team",), combine=True, timeout=timedelta(seconds=3)),
    )
    assert eval_options(config, args()) == EvalOptions(("team",), False, True, 3.0)
    assert eval_options(config, args(namespace=["main"], timeout=1.5)) == EvalOptions(
        ("main",), False, True, 1.5
    )
    assert eval_options(config, args(all_namespaces=True)).all_namespaces
