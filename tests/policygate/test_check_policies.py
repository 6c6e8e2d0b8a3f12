"""``gitops-promote check`` with the team's Rego policies, end to end: a real config repo
(examples/config-repo) whose base branch holds promotion.yaml's ``policies:`` and the
``.rego`` files, pull-request branches, kustomize rendering each touched overlay, and the
embedded engine in its child process.

A pull request that breaks a team rule fails the required check with the rule's message
on the overlay line that produced the document; the same pull request passes once fixed;
one that deletes the policy is still judged by it (and says so); a policy that does not
compile or runs past the time limit fails the gate naming the policy; ``warn`` rules are
warning annotations; a hostile message runs no workflow command."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import T0, ConfigRepo, failed, overlay
from support.outputs import runner_commands
from support.tools import kustomize_argv

NOW = T0 + timedelta(hours=2)  # a Monday, no freeze
STAGING = overlay("api-service", "staging")
PATCH = "apps/api-service/overlays/staging/resources.yaml"

LIMITS = """package main

deny contains msg if {
  input.kind == "Deployment"
  some c in input.spec.template.spec.containers
  not c.resources.limits.memory
  msg := sprintf("container %s has no memory limit: set resources.limits.memory", [c.name])
}
"""
LATEST = """package main

deny[msg] {
  c := input.spec.template.spec.containers[_]
  endswith(c.image, ":latest")
  msg := sprintf("container %s runs %s: pin a version", [c.name, c.image])
}
"""
TEAM = """package main

warn contains msg if {
  input.kind == "Deployment"
  not input.metadata.labels.team
  msg := "Deployments should carry a team label"
}
"""


def config(extra: str = "") -> str:
    text = (Path(__file__).parents[2] / "examples/config-repo/promotion.yaml").read_text()
    return text + "\npolicies:\n  dirs: [policy/]\n" + extra


def patch(limits: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-service
spec:
  template:
    spec:
      containers:
        - name: api-service
          resources:
            limits: {limits}
"""


def with_patch(repo: ConfigRepo) -> dict[str, str]:
    text = repo.text(STAGING) + "patches:\n  - path: resources.yaml\n"
    return {STAGING: text}


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()


def make(tmp_path: Path, files: Mapping[str, str | None]) -> ConfigRepo:
    return ConfigRepo(tmp_path / "config", files={"promotion.yaml": config(), **files})


def policy_lines(data: dict[str, object]) -> list[dict[str, object]]:
    results = data["results"]
    assert isinstance(results, list)
    return [r for r in results if r["gate"] == "policy"]


def test_a_pr_that_breaks_a_team_rule_fails_on_the_overlay_line_then_passes_fixed(
    tmp_path: Path,
) -> None:
    """Removing the memory limit in staging's overlay fails the check with the rule's
    message, the document and the patch line; restoring it in the same PR passes."""
    repo = make(tmp_path, {"policy/limits.rego": LIMITS, "policy/latest.rego": LATEST})
    repo.branch("pr")
    repo.commit(
        {**with_patch(repo), PATCH: patch("null")}, at=NOW - timedelta(minutes=30), message="x"
    )
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("policy", "api-service", "staging")]
    (line,) = policy_lines(data)
    assert line["message"] == (
        "policy/limits.rego: container api-service has no memory limit: set "
        "resources.limits.memory (Deployment/api-service)"
    )
    assert (line["file"], line["line"]) == (PATCH, 4)  # the new patch's name: line

    text = repo.check(now=NOW, code=1).stdout
    assert "FAIL     policy" in text
    assert "container api-service has no memory limit" in text
    run = repo.check(now=NOW, env={"GITHUB_ACTIONS": "true"}, code=1)
    (error,) = [c for c in runner_commands(run.stdout + run.stderr) if c.name == "error"]
    assert error.properties["file"] == PATCH
    assert error.properties["line"] == str(line["line"])
    assert error.properties["title"] == "policy: api-service in staging"
    assert error.data.startswith("policy/limits.rego: container api-service has no memory")

    repo.commit({PATCH: patch("{memory: 128Mi}")}, at=NOW - timedelta(minutes=10), message="fix")
    fixed = repo.check_json(now=NOW, code=0)
    assert failed(fixed) == []
    (ok,) = policy_lines(fixed)
    assert ok["passed"]
    assert ok["message"] == "1 rendered document(s) pass the policies of policy"


def test_old_syntax_rule_fails_on_the_line_that_wrote_the_image(tmp_path: Path) -> None:
    """A ``deny[msg] {...}`` rule about an image points at the line of the overlay that
    wrote that image (the rendered-images tracing)."""
    repo = make(tmp_path, {"policy/latest.rego": LATEST})
    repo.branch("pr")
    text = repo.text(overlay("api-service", "dev"))
    sidecar = patch("{memory: 1Mi}").replace(
        "        - name: api-service\n",
        "        - name: api-service\n        - name: tool\n          image: busybox:latest\n",
    )
    dev_patch = "apps/api-service/overlays/dev/sidecar.yaml"
    repo.commit(
        {
            overlay("api-service", "dev"): text + "patches:\n  - path: sidecar.yaml\n",
            dev_patch: sidecar,
        },
        at=NOW - timedelta(minutes=5),
        message="sidecar",
    )
    data = repo.check_json(now=NOW, code=1)
    (line,) = [r for r in policy_lines(data) if not r["passed"]]
    assert line["message"] == (
        "policy/latest.rego: container tool runs busybox:latest: pin a version "
        "(Deployment/api-service)"
    )
    assert line["file"] in {dev_patch, overlay("api-service", "dev")}
    assert isinstance(line["line"], int)


def test_a_pr_that_deletes_the_policy_is_still_judged_by_it(tmp_path: Path) -> None:
    repo = make(tmp_path, {"policy/limits.rego": LIMITS})
    repo.branch("pr")
    repo.commit(
        {**with_patch(repo), PATCH: patch("null"), "policy/limits.rego": None},
        at=NOW - timedelta(minutes=30),
        message="no more limits",
    )
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("policy", "api-service", "staging")]
    assert any(
        "changes policy files (policy/limits.rego); the check used the base branch's policies"
        in note
        for note in data["notes"]
    )
    text = repo.check(now=NOW, code=1).stdout
    assert "note: this pull request changes policy files (policy/limits.rego)" in text


LOOP = """package main

# catastrophic backtracking: never returns
deny contains msg if {
  input.kind == "Deployment"
  regex.match(`^(a+)+$`, concat("", ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "b"]))
  msg := "unreachable"
}
"""
BROKEN = "package main\n\ndeny contains msg if {\n  input.kind ==\n}\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"policy/broken.rego": BROKEN, "policy/limits.rego": LIMITS},
            "policy/broken.rego does not compile, so the policies give no verdict: "
            "policy/broken.rego:4",
        ),
        (
            {"policy/loop.rego": LOOP},
            "policy/loop.rego ran past the time limit, so the policies give no verdict",
        ),
    ],
    ids=["compile", "timeout"],
)
def test_a_policy_that_does_not_compile_or_loops_fails_naming_it(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    """The check does not die: the gate fails, naming the policy and the reason."""
    repo = ConfigRepo(
        tmp_path / "config",
        files={
            "promotion.yaml": config().replace("[policy/]", "[policy/]\n  timeout: 1s"),
            **files,
        },
    )
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("{memory: 1Mi}")}, at=NOW, message="x")
    data = repo.check_json(now=NOW, code=1)
    assert failed(data) == [("policy", "api-service", "staging")]
    (line,) = [r for r in policy_lines(data) if not r["passed"]]
    assert str(line["message"]).startswith(expected), line
    assert line["file"] == next(iter(files))


def test_warn_rules_are_warning_annotations(tmp_path: Path) -> None:
    repo = make(tmp_path, {"policy/team.rego": TEAM, "policy/limits.rego": LIMITS})
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("{memory: 1Mi}")}, at=NOW, message="x")
    run = repo.check(now=NOW, env={"GITHUB_ACTIONS": "true"}, code=0)
    warnings = [c for c in runner_commands(run.stdout + run.stderr) if c.name == "warning"]
    assert any(
        c.properties.get("title") == "policy: api-service in staging"
        and c.data.startswith("policy/team.rego: Deployments should carry a team label")
        for c in warnings
    ), warnings


def test_hostile_policy_messages_run_no_command(tmp_path: Path) -> None:
    hostile = (
        'package main\n\ndeny contains msg if {\n  input.kind == "Deployment"\n'
        '  msg := "bad\\n::error::pwned\\u001b[31m ##[error]x `|</details><!-- '
        '@org/team\\n# fake"\n}\n'
    )
    repo = make(tmp_path, {"policy/hostile.rego": hostile})
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("{memory: 1Mi}")}, at=NOW, message="x")
    summary = tmp_path / "summary.md"
    summary.touch()
    run = repo.check(
        now=NOW, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, code=1
    )
    for command in runner_commands(run.stdout + run.stderr):
        assert command.name in ("error", "warning", "notice"), command.line
        assert not command.data.startswith("pwned")
    assert "bad\\n::error::pwned\\x1b[31m" in run.stdout
    markdown = summary.read_text(encoding="utf-8")
    assert "\n# fake" not in markdown
    data = json.loads(repo.check("--json", now=NOW, code=1).stdout)
    (line,) = [r for r in policy_lines(data) if not r["passed"]]
    assert "bad\n::error::pwned\x1b[31m" in str(line["message"])


def test_no_render_says_the_policies_were_not_evaluated(tmp_path: Path) -> None:
    repo = make(tmp_path, {"policy/limits.rego": LIMITS})
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("null")}, at=NOW, message="x")
    data = repo.check_json("--no-render", now=NOW, code=0)
    assert policy_lines(data) == []
    assert (
        "the policies were not evaluated: the overlays were not rendered (--no-render)"
        in (data["notes"])
    )


def test_combine_gives_the_policies_every_document_of_a_target_at_once(tmp_path: Path) -> None:
    """``combine: true``: one input per target, the list of its documents (a rule about
    the set: every app needs a Service); the failure is on the target's own line."""
    needs_service = """package main

deny contains msg if {
  count([d | some d in input; d.kind == "Service"]) == 0
  msg := sprintf("%d document(s) and no Service: every app needs one", [count(input)])
}
"""
    repo = ConfigRepo(
        tmp_path / "config",
        files={
            "promotion.yaml": config().replace("[policy/]", "[policy/]\n  combine: true"),
            "policy/service.rego": needs_service,
        },
    )
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("{memory: 1Mi}")}, at=NOW, message="x")
    data = repo.check_json(now=NOW, code=1)
    (line,) = policy_lines(data)
    assert line["message"] == (
        "policy/service.rego: 1 document(s) and no Service: every app needs one"
    )
    assert line["file"] == PATCH


def test_the_engine_sees_no_token(tmp_path: Path) -> None:
    """A policy that prints the engine's runtime environment shows no token of the
    check's environment (the child process sees none)."""
    spy = """package main

deny contains msg if {
  input.kind == "Deployment"
  msg := sprintf("runtime: %v", [opa.runtime()])
}
"""
    secret = "ghp_" + "S3cr3tT0k3n" * 3
    repo = make(tmp_path, {"policy/spy.rego": spy})
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("{memory: 1Mi}")}, at=NOW, message="x")
    run = repo.check(
        "--json", now=NOW, env={"GITOPS_PROMOTE_TOKEN": secret, "GITHUB_TOKEN": secret}, code=1
    )
    assert secret not in run.stdout + run.stderr
    (line,) = [r for r in policy_lines(json.loads(run.stdout)) if not r["passed"]]
    assert "runtime" in str(line["message"])


def test_a_policy_directory_the_base_branch_lacks_fails_closed(tmp_path: Path) -> None:
    """promotion.yaml names policy/ but the base branch has no such directory (a pull
    request that adds it is still judged by the base): the gate fails, naming it."""
    repo = make(tmp_path, {})
    repo.branch("pr")
    repo.commit(
        {**with_patch(repo), PATCH: patch("{memory: 1Mi}"), "policy/limits.rego": LIMITS},
        at=NOW,
        message="x",
    )
    data = repo.check_json(now=NOW, code=1)
    (line,) = [r for r in policy_lines(data) if not r["passed"]]
    assert "policy" in str(line["message"])
    assert "(in the base branch)" in str(line["message"])
    assert any("changes policy files (policy/limits.rego)" in n for n in data["notes"])


LIBRARY = Path(__file__).parents[1] / "policies" / "library" / "policy"


def test_the_policy_library_judges_the_example_overlay(tmp_path: Path) -> None:
    """The test policy library (its data files, its lib package and its _test.rego files
    included) as the config repo's policy/: removing limits fails the limits rule; the
    label rule fails already on the base's rendering (the rules judge what would be
    deployed, not only what changed); fixing the limits leaves only that one."""
    files = {
        f"policy/{p.relative_to(LIBRARY).as_posix()}": p.read_text(encoding="utf-8")
        for p in sorted(LIBRARY.rglob("*"))
        if p.is_file()
    }
    assert "policy/registries.yaml" in files
    repo = make(tmp_path, files)
    repo.branch("pr")
    repo.commit({**with_patch(repo), PATCH: patch("null")}, at=NOW, message="no limits")
    broken = sorted(str(r["message"]) for r in policy_lines(repo.check_json(now=NOW, code=1)))
    assert broken == [
        "policy/labels.rego: Deployment api-service has no label name (Deployment/api-service)",
        "policy/limits.rego: Deployment api-service: container api-service has no "
        "resources.limits (Deployment/api-service)",
    ]
    repo.commit({PATCH: patch("{memory: 64Mi}")}, at=NOW, message="limits")
    fixed = [str(r["message"]) for r in policy_lines(repo.check_json(now=NOW, code=1))]
    assert fixed == [broken[0]]


def test_environment_and_app_directories_add_to_the_global_ones(tmp_path: Path) -> None:
    """The global policy/, staging's policy/staging/ and the app's policy/api/ inside it
    (the issue's own shape: policies: [policy/], production: [policy/production/]): the
    global directory does not carry the rules promotion.yaml gives to one env only; a
    pull request touching dev and staging: each env is judged by its own set (two sets:
    two evaluations)."""
    strict = """package main

deny contains msg if {
  input.kind == "Deployment"
  input.spec.replicas < 3
  n := input.spec.replicas
  msg := sprintf("%s runs %d replica(s); staging needs 3", [input.metadata.name, n])
}
"""
    app_rule = """package main

deny contains msg if {
  input.kind == "Deployment"
  not input.metadata.annotations.owner
  msg := "api-service Deployments need an owner annotation"
}
"""
    text = config()
    text = text.replace(
        "    from: dev                  # promote what dev runs\n",
        "    from: dev                  # promote what dev runs\n    policies: [policy/staging/]\n",
    ).replace(
        "    image: ghcr.io/myorg/api-service\n",
        "    image: ghcr.io/myorg/api-service\n    environments: [dev, staging, production]\n"
        "    policies: [policy/api]\n",
    )
    repo = ConfigRepo(
        tmp_path / "config",
        files={
            "promotion.yaml": text,
            "policy/limits.rego": LIMITS,
            "policy/staging/replicas.rego": strict,
            "policy/api/owner.rego": app_rule,
        },
    )
    repo.branch("pr")
    dev_patch = "apps/api-service/overlays/dev/resources.yaml"
    dev = overlay("api-service", "dev")
    repo.commit(
        {
            **with_patch(repo),
            PATCH: patch("{memory: 1Mi}"),
            dev: repo.text(dev) + "patches:\n  - path: resources.yaml\n",
            dev_patch: patch("{memory: 1Mi}"),
        },
        at=NOW,
        message="both",
    )
    data = repo.check_json(now=NOW, code=1)
    by_env = {
        env: sorted(str(r["message"]) for r in policy_lines(data) if r["env"] == env)
        for env in ("dev", "staging")
    }
    assert by_env["dev"] == [
        "policy/api/owner.rego: api-service Deployments need an owner annotation "
        "(Deployment/api-service)"
    ]
    assert by_env["staging"] == [
        "policy/api/owner.rego: api-service Deployments need an owner annotation "
        "(Deployment/api-service)",
        "policy/staging/replicas.rego: api-service runs 2 replica(s); staging needs 3 "
        "(Deployment/api-service)",
    ]
