"""The runner contract: action.yml executed the way a GitHub runner executes a composite
action (see support/runner.py), end to end against the test git server and GitHub fake.

Every run is checked for leaks: the token reaches the program only through the action's
``env:`` and is masked with ``::add-mask::`` before anything else is printed; it never
appears in stderr, the visible log, the job summary or the outputs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta
from itertools import takewhile
from pathlib import Path

from action.conftest import ACTION_DIR, ActionHarness
from check.scenario import API, NEW_API, T0, ConfigRepo, overlay
from support import gitutil
from support.repos import digest_of
from support.runner import ActionRun, CacheStore, CompositeRunner, load_action, runner_env
from support.tools import kustomize_argv

CONFIG = "org/config"
WEDNESDAY = "2026-11-25T10:00:00+00:00"  # no freeze window open
SATURDAY = "2026-11-28T10:00:00+00:00"  # inside production's weekend freeze
SEEDED = "sha256:f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a"
DEV = "apps/api-service/overlays/dev/kustomization.yaml"
PROD = "apps/api-service/overlays/production/kustomization.yaml"
OUTPUTS = {"operation", "commit", "pr-number", "pr-url", "digest", "previous-digest", "changes"}


def promote(action: ActionHarness, env: str, digest: str, **more: str) -> dict[str, str]:
    return {
        "command": "promote",
        "app": "api-service",
        "environment": env,
        "digest": digest,
        "config-repo": CONFIG,
        "token": action.token,
        "skip-registry-check": "true",
        "now": WEDNESDAY,
        **more,
    }


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def assert_no_leak(run: ActionRun, *secrets: str) -> None:
    """Each secret is masked before the program prints anything else, and appears nowhere
    but in its ``::add-mask::`` command."""
    out = run.step("run").stdout.splitlines()
    for secret in secrets:
        assert f"::add-mask::{secret}" in out, "secret not masked"
        first_other = next(i for i, line in enumerate(out) if not line.startswith("::add-mask::"))
        assert out.index(f"::add-mask::{secret}") < first_other
        for line in out:
            assert secret not in line or line == f"::add-mask::{secret}"
        assert secret not in run.stderr
        assert secret not in run.summary
        assert all(secret not in value for value in run.outputs.values())
        assert all(secret not in line for line in run.log.lines)


def test_dev_promotion_pushes_one_commit_and_reports_it(action: ActionHarness) -> None:
    """promote into dev (mode: push): outputs say pushed, `commit` is the remote's new main,
    digest/previous-digest/changes describe the pin, and the job summary shows the table
    with a link to the commit; no pull request is involved."""
    digest = digest_of("app build 101")
    run = action.run(promote(action, "dev", digest))
    assert run.exit_code == 0, run.stderr
    main = gitutil.rev_parse(action.platform.bare, "main")
    out = run.outputs
    assert set(out) == OUTPUTS | {"passed", "failed-gates", "promoted", "results"}
    assert out["operation"] == "pushed"
    assert out["commit"] == main
    assert out["digest"] == digest
    assert out["previous-digest"] == SEEDED
    assert out["pr-number"] == out["pr-url"] == out["passed"] == out["promoted"] == ""
    changes = json.loads(out["changes"])
    assert [(c["app"], c["env"], c["file"]) for c in changes] == [("api-service", "dev", DEV)]
    assert changes[0]["from-digest"] == SEEDED
    assert changes[0]["to-digest"] == digest
    assert f"digest: {digest}".encode() in gitutil.read_file(action.platform.bare, "main", DEV)
    summary = run.summary
    assert "### Promotion to `dev`: pushed" in summary
    server = action.platform.git.base_url
    assert f"[`{main[:7]}`]({server}/{CONFIG}/commit/{main})" in summary
    assert f"| api-service | dev | `{SEEDED[:19]}…` | `{digest[:19]}…` | digest |" in summary
    assert action.platform.api.pulls(state="all") == []
    assert run.annotations == []
    assert_no_leak(run, action.token)


def test_rerun_is_unchanged_and_reuses_the_cached_venv(action: ActionHarness) -> None:
    """The same promotion twice: the second run says unchanged and moves nothing; it finds
    the virtual environment in the cache (cache-hit true) and skips the install step."""
    digest = digest_of("app build 102")
    first = action.run(promote(action, "dev", digest))
    assert first.exit_code == 0, first.stderr
    main = gitutil.rev_parse(action.platform.bare, "main")
    second = action.run(promote(action, "dev", digest))
    assert second.exit_code == 0, second.stderr
    if second.step("key").outputs["key"] == first.step("key").outputs["key"]:
        # (the key moves only if someone edits src/ between the two runs)
        assert second.step("cache").outputs["cache-hit"] == "true"
        assert second.step("__step3").outcome == "skipped"  # the install step
    assert second.outputs["operation"] == "unchanged"
    assert second.outputs["commit"] == ""
    assert second.outputs["digest"] == second.outputs["previous-digest"] == digest
    assert "### Promotion to `dev`: unchanged" in second.summary
    assert gitutil.rev_parse(action.platform.bare, "main") == main
    assert_no_leak(second, action.token)


def land(action: ActionHarness, env: str, digest: str, date: str) -> str:
    """Commit on the config repo's main, dated ``date``, a new api-service digest in
    ``env`` (as a merged promotion would land it); the new main."""
    work = action.tmp_path / f"land-{env}-{digest[7:15]}"
    gitutil.git("clone", "-q", str(action.platform.bare), str(work))
    rel = f"apps/api-service/overlays/{env}/kustomization.yaml"
    text = (work / rel).read_text(encoding="utf-8")
    changed = re.sub(r"digest: sha256:[0-9a-f]{64}", f"digest: {digest}", text)
    assert changed != text
    gitutil.commit_files(work, {rel: changed}, message=f"promote to {env}", date=date)
    gitutil.git("push", "-q", "origin", "main", cwd=work)
    return gitutil.rev_parse(work, "HEAD")


def upstream(action: ActionHarness, env: str, **more: str) -> dict[str, str]:
    """promote without a digest: the environment takes what its upstream runs."""
    inputs = promote(action, env, "", **more)
    del inputs["digest"]
    return inputs


def test_production_opens_a_pull_request_then_updates_it(action: ActionHarness) -> None:
    """promote into production (mode: pull-request) takes what staging runs once it has
    soaked: pr-created with pr-number/pr-url of the PR now open in GitHub, main untouched;
    when staging moves on, the next run updates the same PR (pr-updated)."""
    first = digest_of("release 2.0.0")
    land(action, "staging", first, "2026-11-21T10:00:00+00:00")
    main = gitutil.rev_parse(action.platform.bare, "main")
    run = action.run(upstream(action, "production"))
    assert run.exit_code == 0, run.stdout + run.stderr
    pulls = action.platform.api.pulls(state="open")
    assert len(pulls) == 1
    pr = pulls[0]
    out = run.outputs
    assert out["operation"] == "pr-created"
    assert out["pr-number"] == str(pr.number)
    assert out["pr-url"] == f"{action.platform.api.web_url}/{CONFIG}/pull/{pr.number}"
    assert out["commit"] == pr.head_sha
    assert out["digest"] == first
    assert out["previous-digest"] == SEEDED
    [change] = json.loads(out["changes"])
    assert (change["source"], change["upstream"]) == ("upstream", "staging")
    assert pr.head == "promote/production/api-service"
    assert set(pr.labels) == {"promotion", "production"}
    assert f"digest: {first}".encode() in gitutil.read_file(
        action.platform.bare, "promote/production/api-service", PROD
    )
    assert gitutil.rev_parse(action.platform.bare, "main") == main
    assert "### Promotion to `production`: pr-created" in run.summary
    assert f"Pull request: [#{pr.number}]({out['pr-url']})" in run.summary
    assert "`staging` since 2026-11-21 10:00 UTC" in run.summary
    assert_no_leak(run, action.token)

    second = digest_of("release 2.0.1")
    main = land(action, "staging", second, "2026-11-22T10:00:00+00:00")
    again = action.run(upstream(action, "production"))
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.outputs["operation"] == "pr-updated"
    assert again.outputs["pr-number"] == str(pr.number)
    assert again.outputs["digest"] == second
    assert again.outputs["previous-digest"] == SEEDED
    assert len(action.platform.api.pulls(state="all")) == 1
    assert action.platform.api.pull(pr.number).title.endswith(second[:19])
    assert gitutil.rev_parse(action.platform.bare, "main") == main
    assert_no_leak(again, action.token)


def test_unsoaked_digest_is_refused_unless_gates_are_deferred(action: ActionHarness) -> None:
    """A digest staging does not run is refused for production (exit 1: upstream and
    soak, one annotation each, nothing opened); with defer-gates the PR is opened and the
    refusals become warnings, left for the PR's required check."""
    digest = digest_of("release 3.0.0")
    refused = action.run(promote(action, "production", digest))
    assert refused.exit_code == 1
    messages = [a.message for a in refused.annotations]
    assert {a.title for a in refused.annotations} >= {
        "gitops-promote: promotion refused (upstream)",
        "gitops-promote: promotion refused (soak)",
    }
    assert all(a.properties.get("file") == PROD for a in refused.annotations)
    assert any("staging runs" in m for m in messages)
    assert any("soak" in m for m in messages)
    assert action.platform.api.pulls(state="all") == []
    assert_no_leak(refused, action.token)

    deferred = action.run(promote(action, "production", digest, **{"defer-gates": "true"}))
    assert deferred.exit_code == 0, deferred.stdout + deferred.stderr
    assert deferred.outputs["operation"] == "pr-created"
    assert "deferred to the pull request's check" in deferred.stdout
    assert len(action.platform.api.pulls(state="open")) == 1
    assert_no_leak(deferred, action.token)


def test_dry_run_writes_nothing(action: ActionHarness) -> None:
    """dry-run: operation dry-run, the diff in the log; no commit, no branch, no PR."""
    main = gitutil.rev_parse(action.platform.bare, "main")
    digest = digest_of("x")
    run = action.run(promote(action, "dev", digest, **{"dry-run": "true"}))
    assert run.exit_code == 0, run.stderr
    assert run.outputs["operation"] == "dry-run"
    assert run.outputs["digest"] == digest
    assert run.outputs["commit"] == run.outputs["pr-number"] == ""
    assert f"+    digest: {digest}" in run.stdout
    assert gitutil.rev_parse(action.platform.bare, "main") == main
    assert action.platform.api.pulls(state="all") == []
    assert "### Promotion to `dev`: dry-run" in run.summary
    assert_no_leak(run, action.token)


def test_unknown_environment_fails_with_exit_2_and_explains(action: ActionHarness) -> None:
    """A bad input (an environment promotion.yaml does not declare): the step fails with
    exit code 2, one ::error:: annotation names the input and the known environments, the
    job summary says the same, nothing is written and every output is empty."""
    main = gitutil.rev_parse(action.platform.bare, "main")
    run = action.run(promote(action, "prod", digest_of("y")))
    assert run.exit_code == 2
    assert run.step("run").outcome == "failure"
    [error] = run.annotations
    assert error.level == "error"
    assert error.title == "gitops-promote: invalid input"
    assert "environment 'prod' is not in promotion.yaml" in error.message
    assert "known environments: dev, staging, production" in error.message
    assert "### gitops-promote: invalid input" in run.summary
    assert "known environments: dev, staging, production" in run.summary
    assert "Traceback" not in run.stderr
    assert set(run.outputs.values()) == {""}
    assert gitutil.rev_parse(action.platform.bare, "main") == main
    assert_no_leak(run, action.token)


def test_bad_boolean_input_is_refused_before_any_work(action: ActionHarness) -> None:
    """An input that is not a boolean (dry-run: maybe) fails with exit 2 and names the
    input; the config repo is not even cloned."""
    before = len(action.platform.git.requests)
    run = action.run(promote(action, "dev", digest_of("z"), **{"dry-run": "maybe"}))
    assert run.exit_code == 2
    [error] = run.annotations
    assert "input dry-run: 'maybe' is not a boolean (use true or false)" in error.message
    assert len(action.platform.git.requests) == before
    assert_no_leak(run, action.token)


def test_freeze_window_refuses_with_exit_1(action: ActionHarness) -> None:
    """A gate that says no (production's weekend freeze, everything else in order): exit 1,
    one annotation titled 'promotion refused' naming the window and when it ends, the same
    in the job summary; no PR."""
    land(action, "staging", digest_of("w"), "2026-11-21T10:00:00+00:00")
    run = action.run(upstream(action, "production", now=SATURDAY))
    assert run.exit_code == 1
    [error] = run.annotations
    assert error.title == "gitops-promote: promotion refused (freeze)"
    assert "production is frozen by window 'weekend'" in error.message
    assert "until Mon 2026-11-30 08:00 CET" in error.message
    assert "### gitops-promote: promotion refused" in run.summary
    assert "'weekend'" in run.summary
    assert action.platform.api.pulls(state="all") == []
    assert_no_leak(run, action.token)


def test_refused_token_fails_with_exit_2_and_never_shows_the_token(
    action: ActionHarness,
) -> None:
    """A token the git server refuses is the user's to fix (exit 2, as the same answer from
    the GitHub API); the token is masked first and appears in no output, annotation,
    summary or log line."""
    wrong = "ghp_" + digest_of("not the token")[7:43]
    run = action.run({**promote(action, "dev", digest_of("v")), "token": wrong})
    assert run.exit_code == 2
    [error] = run.annotations
    assert error.title == "gitops-promote: invalid input"
    assert all(wrong not in a.message for a in run.annotations)
    assert_no_leak(run, wrong)


def test_app_private_key_is_masked_line_by_line(action: ActionHarness, tmp_path: Path) -> None:
    """GitHub App credentials: the PEM key is masked whole and line by line before anything
    is printed (a runner masks per line), and never reaches argv or the outputs."""
    workspace = tmp_path / "checkout"
    gitutil.git("clone", "-q", str(action.platform.bare), str(workspace))
    key = action.platform.api.app_private_key
    run = action.run(
        {
            "command": "validate",
            "app-id": str(action.platform.api.app_id),
            "app-private-key": key,
        },
        workspace=workspace,
    )
    assert run.exit_code == 0, run.stderr
    out = run.step("run").stdout.splitlines()
    masked = run.log.masks
    body = [line for line in key.splitlines() if len(line) > 8 and "PRIVATE KEY" not in line]
    assert set(body) <= set(masked)
    assert key.strip() in {m.strip() for m in masked}
    leading = len(list(takewhile(lambda line: line.startswith("::add-mask::"), out)))
    assert leading == len(masked)
    printed = out[leading:]
    assert not any(b in line for b in body for line in printed)
    assert all(b not in run.stderr for b in body)
    assert re.match(r"gitops-promote validate --repo ", printed[0])


def test_install_step_builds_the_locked_environment(
    action: ActionHarness, composite_runner: CompositeRunner
) -> None:
    """The cached virtual environment holds exactly the locked versions (runtime
    dependencies and the build backend, hash-checked) plus gitops-promote itself, and its
    entry point is what the run step executes."""
    workspace = action.tmp_path / "checkout"
    gitutil.git("clone", "-q", str(action.platform.bare), str(workspace))
    run = action.run({"command": "validate"}, workspace=workspace)
    assert run.exit_code == 0, run.stderr
    venv = Path(run.step("key").outputs["venv"])
    assert run.step("run").env["GITOPS_PROMOTE"] == str(venv / "bin" / "gitops-promote")
    freeze = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "freeze",
            "--all",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {
        canonical(line.split("==")[0]): line.split("==")[1]
        for line in freeze.splitlines()
        if "==" in line
    }
    locks = ("requirements.lock", ".ci/build.lock")
    locked = {
        canonical(m.group(1)): m.group(2)
        for lock in locks
        for m in re.finditer(
            r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)",
            (ACTION_DIR / lock).read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    }
    for name, version in locked.items():
        assert installed.get(name) == version, name
    assert set(installed) - set(locked) <= {"gitops-promote", "pip", "setuptools", "wheel"}
    assert f"gitops-promote @ {ACTION_DIR.as_uri()}" in freeze.splitlines()


def test_inputs_reach_the_program_only_through_env() -> None:
    """No run: script interpolates an input (``${{ inputs.* }}`` would be script injection);
    the run step maps every input to INPUT_<NAME> in its env: (a composite runner does not
    export inputs by itself)."""
    action_yml = load_action(ACTION_DIR)
    steps = action_yml["runs"]["steps"]
    for step in steps:
        assert "inputs." not in str(step.get("run", ""))
    [run] = [s for s in steps if s.get("id") == "run"]
    for name in action_yml["inputs"]:
        if name == "python-version":
            continue
        env_name = "INPUT_" + name.upper().replace("-", "_")
        assert run["env"][env_name] == f"${{{{ inputs.{name} }}}}"


def test_cache_key_covers_the_lock_and_the_package_source(tmp_path: Path) -> None:
    """The venv cache key changes with the locks, pyproject.toml and any file of
    the package (a new action commit with the same lock must not reuse old code), and not
    with files the install does not read (README.md); it names the OS, arch and Python."""
    copy = tmp_path / "action"
    copy.mkdir()
    for name in (
        "action.yml",
        "requirements.lock",
        ".ci/build.lock",
        "pyproject.toml",
        "README.md",
    ):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ACTION_DIR / name, copy / name)
    shutil.copytree(ACTION_DIR / "src", copy / "src", ignore=shutil.ignore_patterns("*.pyc"))
    runner = CompositeRunner(
        copy,
        runner_temp=tmp_path / "temp",
        cache=CacheStore(tmp_path / "cache"),
        base_env=runner_env(tmp_path),
    )
    jobs = iter(range(100))

    def key() -> str:
        run = runner.run(
            {}, workspace=tmp_path, job_dir=tmp_path / f"job{next(jobs)}", event={}, until="key"
        )
        assert run.exit_code == 0, run.stderr
        return run.step("key").outputs["key"]

    first = key()
    assert re.fullmatch(r"gitops-promote-Linux-(X64|ARM64)-py3\.\d+\.\d+-[0-9a-f]{16}", first)
    assert key() == first
    (copy / "README.md").write_text("changed\n", encoding="utf-8")
    assert key() == first
    seen = {first}
    for changed in (
        "src/gitops_promote/cli.py",
        "requirements.lock",
        ".ci/build.lock",
        "pyproject.toml",
    ):
        with (copy / changed).open("a", encoding="utf-8") as handle:
            handle.write("\n")
        now = key()
        assert now not in seen, changed
        seen.add(now)


def test_check_on_a_pull_request_event_fails_then_passes(
    action: ActionHarness, tmp_path: Path
) -> None:
    """command: check in the config repo on a pull_request event (base and head from the
    payload): production asking for a digest staging got 1h ago fails soak (exit 1,
    passed=false, an error annotation on the overlay line, the gate table in the job
    summary); the same PR a day later passes (exit 0, passed=true)."""
    kustomize_argv()
    repo = ConfigRepo(tmp_path / "config")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    base = repo.head()
    repo.branch("promote/production/api-service")
    head = repo.promote("api-service", "production", f"{API}@{NEW_API}", at=T0 + timedelta(hours=4))
    gitutil.git(
        "push",
        "-q",
        "--force",
        str(action.platform.bare),
        "main",
        "promote/production/api-service",
        cwd=repo.root,
    )
    event = {
        "action": "opened",
        "number": 1,
        "pull_request": {
            "number": 1,
            "base": {"ref": "main", "sha": base},
            "head": {"ref": "promote/production/api-service", "sha": head},
            "labels": [{"name": "promotion"}],
        },
    }
    inputs = {"command": "check", "config-repo": CONFIG, "token": action.token}
    soon = (T0 + timedelta(hours=5)).isoformat()
    run = action.run(
        {**inputs, "now": soon}, event=event, event_name="pull_request", repository=CONFIG
    )
    assert run.exit_code == 1, run.stderr
    assert run.outputs["passed"] == "false"
    errors = [a for a in run.annotations if a.level == "error"]
    assert [a.title for a in errors] == ["soak: api-service in production"]
    assert errors[0].properties["file"] == overlay("api-service", "production")
    assert int(errors[0].properties["line"]) > 0
    assert "### ❌ Promotion check failed" in run.summary
    assert_no_leak(run, action.token)

    later = (T0 + timedelta(hours=28)).isoformat()
    ok = action.run(
        {**inputs, "now": later}, event=event, event_name="pull_request", repository=CONFIG
    )
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert ok.outputs["passed"] == "true"
    assert [a for a in ok.annotations if a.level == "error"] == []
    assert "### ✅ Promotion check passed" in ok.summary
    assert_no_leak(ok, action.token)
