"""``policies:`` in promotion.yaml: directories globally, per environment and per app, that
add up in order without repeats; the evaluation options; every bad value a one-line
problem with its file and line, hostile ones (``../``, absolute, URLs, newlines) too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gitops_promote.config.load import parse_config
from gitops_promote.config.model import PolicyOptions
from gitops_promote.errors import ConfigError
from gitops_promote.facts.policycheck import all_dirs, hidden_dirs
from support import gitutil
from support.inprocess import cli
from support.outputs import runner_commands

HEAD = """version: 1
environments:
  - name: staging
    path: apps/{app}/staging
    mode: pull-request
  - name: production
    path: apps/{app}/production
    from: staging
    mode: pull-request
    policies: [policy/production/, policy]
apps:
  api: {image: ghcr.io/o/api, policies: [policy/api/, ./policy/production]}
  worker: {image: ghcr.io/o/worker}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def test_directories_add_up_global_env_app_in_order_once() -> None:
    """global + env + app, each directory once however it is written."""
    config = parse_config(HEAD + "policies: [policy/, policy/common]\n")
    api, worker = config.app("api"), config.app("worker")
    production, staging = config.env("production"), config.env("staging")
    assert config.policy_dirs(api, production) == (
        "policy",
        "policy/common",
        "policy/production",
        "policy/api",
    )
    assert config.policy_dirs(worker, staging) == ("policy", "policy/common")
    assert config.policies == PolicyOptions(dirs=("policy/", "policy/common"))


def test_no_policies_by_default() -> None:
    config = parse_config(HEAD.replace("    policies: [policy/production/, policy]\n", ""))
    assert config.policies == PolicyOptions()
    assert config.policy_dirs(config.app("worker"), config.env("production")) == ()


def test_the_mapping_form_with_every_option() -> None:
    """dirs, namespaces, all-namespaces, combine and the time limit."""
    config = parse_config(
        HEAD + "policies:\n  dirs: [policy/]\n  namespaces: [main, k8s.admission]\n"
        "  combine: true\n  timeout: 30s\n"
    )
    assert config.policies == PolicyOptions(
        dirs=("policy/",),
        namespaces=("main", "k8s.admission"),
        combine=True,
        timeout=timedelta(seconds=30),
    )
    everything = parse_config(HEAD + "policies: {dirs: [p], all-namespaces: true}\n")
    assert everything.policies.all_namespaces


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "[../outside]",
            "promotion.yaml:14: promotion.yaml: policies[0] '../outside' contains '..'",
        ),
        ("[policy/../../x]", "policies[0] 'policy/../../x' contains '..'"),
        ("[/etc/opa]", "policies[0] '/etc/opa' is absolute"),
        ("[~/opa]", "policies[0] '~/opa' is absolute"),
        ("[https://evil.example/p]", "policies[0] 'https://evil.example/p' is a URL"),
        ("[git@github.com:o/p]", "is a URL"),
        ('["a\\n::error::x"]', "policies[0] 'a\\n::error::x' contains control characters"),
        ('["a\\\\b"]', "contains '\\'"),
        ("['']", "policies[0] must be non-empty text"),
        ("[1]", "policies[0] must be non-empty text"),
        ("policy/", "policies must be a list of directories or a mapping"),
        ("{dirs: [p], bogus: 1}", "policies: unknown key 'bogus'; allowed here: dirs"),
        ("{dirs: [p], combine: yes}", "policies: combine must be true or false"),
        ("{dirs: [p], namespaces: [bad-name]}", "namespaces[0] 'bad-name' is not a Rego package"),
        ("{dirs: [p], namespaces: []}", "policies"),
        ("{dirs: [p], timeout: 0s}", "timeout must be between 1s and 10m, not '0s'"),
        ("{dirs: [p], timeout: 1h}", "timeout must be between 1s and 10m"),
        ("{dirs: [p], timeout: 10}", "timeout"),
        (
            "{dirs: [p], namespaces: [main], all-namespaces: true}",
            "namespaces and all-namespaces: true together",
        ),
    ],
)
def test_bad_global_values_are_one_line_problems_with_their_line(value: str, expected: str) -> None:
    found = problems(HEAD + f"policies: {value}\n")
    assert len(found) == 1, found
    assert expected in found[0]
    assert found[0].startswith("promotion.yaml:14: ")
    assert "\n" not in found[0]


def test_bad_env_and_app_directories_name_their_owner_and_line() -> None:
    text = HEAD.replace("[policy/production/, policy]", "[policy, ../../etc]").replace(
        "[policy/api/, ./policy/production]", "[https://x.example/p]"
    )
    assert problems(text) == [
        "promotion.yaml:10: environment 'production': policies[1] '../../etc' contains '..'; "
        "paths must stay inside the config repo",
        "promotion.yaml:12: app 'api': policies[0] 'https://x.example/p' is a URL; policies are "
        "read from the config repo's base branch: give a directory in it, e.g. policy/",
    ]


def test_validate_reports_a_huge_hostile_value_on_one_line(tmp_path: Path) -> None:
    """``gitops-promote validate``: exit 2, one line per problem, no traceback, the value
    written out (no newline reaches the output)."""
    gitutil.init_repo(tmp_path)
    for value in ("x" * 5000 + "\\n::error::pwned", "x\\n::error::pwned"):
        (tmp_path / "promotion.yaml").write_text(
            HEAD + f'policies: ["{value}"]\n', encoding="utf-8"
        )
        run = cli("validate", "--repo", str(tmp_path), check=2)
        assert "Traceback" not in run.stderr
        lines = [line for line in (run.stdout + run.stderr).splitlines() if "policies[0]" in line]
        assert len(lines) == 1, run
        assert runner_commands(run.stdout + run.stderr) == []
        assert len(lines[0]) < 400


def test_a_global_directory_hides_what_promotion_yaml_gives_others() -> None:
    """policy/ with production's policy/production/ and api's policy/api/ inside it: each
    target sees the global directory without the others' parts."""
    config = parse_config(
        HEAD.replace("./policy/production", "policy/api") + "policies: [policy/]\n"
    )
    api, worker = config.app("api"), config.app("worker")
    production, staging = config.env("production"), config.env("staging")
    assert all_dirs(config) == ("policy", "policy/production", "policy/api")
    assert hidden_dirs(config, api, staging) == ("policy/production",)
    assert hidden_dirs(config, worker, staging) == ("policy/production", "policy/api")
    assert hidden_dirs(config, worker, production) == ("policy/api",)
    assert hidden_dirs(config, api, production) == ()
