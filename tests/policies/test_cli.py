"""`gitops-promote policy test` and `policy eval` end to end, through the CLI run in
process, on a checkout of the example config repo with the policy library committed in
it: exit codes, the PASS/FAIL and FAIL/WARN lines, JSON, and hostile policy output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policies.conftest import LIBRARY
from support import gitutil
from support.inprocess import cli
from support.repos import EXAMPLE


def checkout(root: Path, extra: dict[str, str] | None = None, *, library: bool = True) -> Path:
    """The example config repo with (``library``) tests/policies/library/policy as policy/,
    committed, with an origin remote."""
    work = root / "config"
    shutil.copytree(EXAMPLE, work)
    if library:
        shutil.copytree(LIBRARY / "policy", work / "policy")
    gitutil.write_files(work, dict(extra or {}))
    gitutil.init_repo(work)
    remote = gitutil.init_bare(root / "remote.git")
    gitutil.git("remote", "add", "origin", str(remote), cwd=work)
    gitutil.commit_files(work, {}, message="config with policies")
    return work


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extra = {
        "failing/replicas_test.rego": (LIBRARY / "failing" / "replicas_test.rego").read_text(),
        "crashing/deny_test.rego": (LIBRARY / "crashing" / "deny_test.rego").read_text(),
        "broken/loop.rego": (LIBRARY / "broken" / "loop.rego").read_text(),
        "hostile/say.rego": (
            "package main\nimport rego.v1\n"
            'warn contains concat("", ["line one\\n::error::owned ", input.metadata.name, '
            '" \\u001b[31mred ##[warning]x"]) if true\n'
        ),
    }
    return checkout(tmp_path_factory.mktemp("policy-cli"), extra)


def test_policy_test_runs_the_configured_directory_and_passes(repo: Path) -> None:
    """Without arguments: policy/ (promotion.yaml names no policies: yet); every test of
    the library passes, each printed as `opa test` prints it; exit 0."""
    run = cli("policy", "test", "--repo", str(repo))
    assert run.returncode == 0, run.output
    assert "policy/latest_test.rego:\ndata.main.test_latest_is_denied: PASS\n" in run.stdout
    assert run.stdout.rstrip().endswith("-" * 80 + "\nPASS: 7/7")


def test_policy_test_fails_with_a_failing_or_crashing_test(repo: Path) -> None:
    run = cli("policy", "test", "--repo", str(repo), "policy", "failing", "crashing", check=1)
    assert "data.main.test_single_replica_is_fine: FAIL (undefined)" in run.stdout
    assert "data.main.test_deny_with_two_inputs: FAIL (the Rego engine crashed (signal SIG" in (
        run.stdout
    )
    assert run.stdout.rstrip().endswith("PASS: 7/9\nFAIL: 2/9")
    as_json = json.loads(
        cli("policy", "test", "--repo", str(repo), "policy", "failing", "--json", check=1).stdout
    )
    assert (as_json["passed"], as_json["failed"]) == (7, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "error: policy path nope does not exist"),
        (["../etc"], "error: policy path '../etc' contains '..'"),
        (["policy/lib"], "error: no *_test.rego file in policy/lib"),
    ],
)
def test_policy_test_bad_input_is_one_line_and_exit_2(
    repo: Path, args: list[str], message: str
) -> None:
    run = cli("policy", "test", "--repo", str(repo), *args, check=2)
    assert run.stderr.startswith(message)
    assert "Traceback" not in run.output


def test_policy_test_without_a_policy_directory_is_bad_input(tmp_path: Path) -> None:
    work = checkout(tmp_path, library=False)
    run = cli("policy", "test", "--repo", str(work), check=2)
    assert run.stderr.startswith("error: policy path policy does not exist")


def test_policy_eval_prints_what_the_policies_say_about_a_rendered_overlay(repo: Path) -> None:
    """The example's production overlay of api-service renders one Deployment: it has
    limits, a tag, two replicas and an allowed registry, but no `name` label; the hostile
    policy's warning is printed escaped (no workflow command, no escape sequence)."""
    run = cli(
        "policy", "eval", "--repo", str(repo), "--env", "production", "--app", "api-service",
        "--policy", "policy", "--policy", "hostile", check=1,
    )  # fmt: skip
    lines = run.stdout.splitlines()
    assert lines[0] == (
        "api-service in production: apps/api-service/overlays/production renders 1 "
        "document(s); 8 policy file(s)"
    )
    assert lines[1] == (
        "FAIL - Deployment/api-service (namespace api-production) - main - Deployment "
        "api-service has no label name (policy/labels.rego)"
    )
    assert lines[2] == (
        "WARN - Deployment/api-service (namespace api-production) - main - line one"
        "\\n::error::owned api-service \\x1b[31mred ##\\[warning]x (hostile/say.rego)"
    )
    assert lines[3] == "1 failure(s), 1 warning(s), 0 error(s)"
    assert "\x1b" not in run.output
    assert not any(line.lstrip().startswith("::") for line in run.output.splitlines())


def test_policy_eval_json_carries_the_raw_message_for_machines(repo: Path) -> None:
    run = cli(
        "policy", "eval", "--repo", str(repo), "--env", "dev", "--app", "worker",
        "--policy", "hostile", "--json",
    )  # fmt: skip
    data = json.loads(run.stdout)
    assert data["documents"] == [
        {"kind": "Deployment", "name": "worker", "namespace": "worker-dev"}
    ]
    (finding,) = data["findings"]
    assert finding["kind"] == "warn"
    assert finding["message"] == "line one\n::error::owned worker \x1b[31mred ##[warning]x"
    assert (finding["files"], finding["document"], data["failures"]) == (["hostile/say.rego"], 0, 0)
    assert not any(line.lstrip().startswith("::") for line in run.stdout.splitlines())


def test_policy_eval_a_policy_past_the_time_limit_fails_with_the_reason(repo: Path) -> None:
    run = cli(
        "policy", "eval", "--repo", str(repo), "--env", "dev", "--app", "worker",
        "--policy", "broken/loop.rego", "--policy", "policy", "--all-namespaces",
        "--timeout", "1.5", check=1,
    )  # fmt: skip
    assert "ERROR - package loops (broken/loop.rego) ran past the time limit of 1.5s" in run.stdout
    assert "Deployment worker has no label name (policy/labels.rego)" in run.stdout


def test_policy_eval_passes_when_nothing_fails(repo: Path) -> None:
    run = cli(
        "policy", "eval", "--repo", str(repo), "--env", "dev", "--app", "worker",
        "--policy", "policy", "--namespace", "lib.k8s",
    )  # fmt: skip
    assert run.stdout.splitlines()[-1] == "0 failure(s), 0 warning(s), 0 error(s)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "qa", "--app", "worker"], "error: environment 'qa' is not in promotion.yaml"),
        (["--env", "dev", "--app", "nope"], "error: app 'nope' is not in promotion.yaml"),
        (
            ["--env", "dev", "--app", "worker", "--policy", "failing"],
            "error: no policy (*.rego file, tests aside) in failing",
        ),
        (
            ["--env", "dev", "--app", "worker", "--policy", "/etc/passwd"],
            "error: policy path '/etc/passwd' is absolute",
        ),
    ],
)
def test_policy_eval_bad_input_is_one_line_and_exit_2(
    repo: Path, args: list[str], message: str
) -> None:
    run = cli("policy", "eval", "--repo", str(repo), *args, check=2)
    assert run.stderr.startswith(message), run.stderr
    assert "Traceback" not in run.output


def test_a_clone_reads_the_policies_from_its_commit(tmp_path: Path) -> None:
    """--remote: a partial, sparse clone; the policies are read from HEAD's tree (they are
    not checked out) and the overlay rendered from it, with the same verdicts."""
    work = checkout(tmp_path)
    gitutil.git("push", "-q", "origin", "main", cwd=work)
    remote = f"file://{tmp_path / 'remote.git'}"
    run = cli(
        "policy", "eval", "--remote", remote, "--env", "production", "--app", "api-service",
        check=1,
    )  # fmt: skip
    assert run.stdout.splitlines()[1:] == [
        "FAIL - Deployment/api-service (namespace api-production) - main - Deployment "
        "api-service has no label name (policy/labels.rego)",
        "1 failure(s), 0 warning(s), 0 error(s)",
    ]
    tested = cli("policy", "test", "--remote", remote)
    assert tested.stdout.rstrip().endswith("PASS: 7/7")
