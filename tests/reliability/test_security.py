"""Security: the token never leaks; gated environments never reach the base branch; the
check runs nothing from a pull request; no example workflow uses pull_request_target.

zizmor (offline audits of every workflow and action.yml) runs in tests/test_workflows.py
(``test_zizmor_offline_finds_nothing``); docs/reliability.md reports its result beside
this suite's, it is not run twice.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from reliability import children
from reliability.children import GitCall, GitShim
from reliability.conftest import Figure
from reliability.corpus import Outcome, run_in_process
from reliability.fleet import NOW, Fleet, assert_sound, digest_of
from support import gitutil
from support.repos import Run
from support.tools import kustomize_argv

ROOT = Path(__file__).resolve().parents[2]


def token_forms(token: str) -> set[str]:
    """The token, and every encoding of it an HTTP client or a log could carry."""
    forms = {token, f"Bearer {token}"}
    for prefix in ("", "x-access-token:", "x-token:", "git:", "oauth2:", "token:"):
        forms.add(base64.b64encode(f"{prefix}{token}".encode()).decode())
    return forms


def leaks(text: str, forms: Iterable[str]) -> list[str]:
    return [form[:6] + "…" for form in forms if form in text]


def header_only_via_git_config(call: GitCall, forms: set[str]) -> list[str]:
    """Environment entries of one git call that carry the token other than as the
    ``http.<url>.extraHeader`` value set through GIT_CONFIG_KEY_n/VALUE_n."""
    bad = []
    for key, value in call.env.items():
        if not leaks(value, forms):
            continue
        match = re.fullmatch(r"GIT_CONFIG_VALUE_(\d+)", key)
        config_key = call.env.get(f"GIT_CONFIG_KEY_{match.group(1)}", "") if match else ""
        ok = (
            match is not None
            and config_key.lower().endswith(".extraheader")
            and value.startswith("Authorization: Basic ")
        )
        if not ok:
            bad.append(key)
    return bad


# -- the token --------------------------------------------------------------------------------


def test_the_token_never_leaks_anywhere(
    fleet: Fleet, git_shim: GitShim, tmp_path: Path, figure: Figure
) -> None:
    """In Actions mode (GITHUB_ACTIONS=true, outputs and job summary files), through the
    action entry point and the CLI: a dev push, a production PR opened then updated,
    status, check, and failures (GitHub 403, a wrong token, a token pasted into the remote
    URL, GITOPS_PROMOTE_DEBUG on). The token is in none of: stdout (bar the runner's own
    ::add-mask:: command), stderr, GITHUB_OUTPUT, the job summary, the argv of any git
    process, any git environment variable but the extraHeader value, any .git/config,
    any URL the git server saw, any commit message, PR title or body."""
    assert fleet.api is not None
    token = fleet.token
    forms = token_forms(token)
    wrong = "ghs_" + "w" * 36
    output = tmp_path / "github-output"
    summary = tmp_path / "step-summary"
    actions = {
        **fleet.env,
        **git_shim.env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REPOSITORY": fleet.repo,
    }
    action = {k: v for k, v in actions.items() if k != "GITOPS_PROMOTE_TOKEN"}
    action |= {"INPUT_TOKEN": token, "INPUT_CONFIG-REPO": fleet.repo, "INPUT_NOW": NOW}
    action |= {"INPUT_SKIP-REGISTRY-CHECK": "true"}
    output.touch()  # the runner creates both files before a step starts
    summary.touch()
    runs: list[tuple[str, Run]] = []

    def run(name: str, *argv: str, env: Mapping[str, str], code: int | None = 0) -> Run:
        done = children.run(*argv, cwd=tmp_path / name, env=env, check=code)
        runs.append((name, done))
        return done

    run(
        "action-dev",
        "action",
        env={
            **action,
            "INPUT_APP": "app-00",
            "INPUT_ENVIRONMENT": "dev",
            "INPUT_DIGEST": digest_of("s1"),
        },
    )
    run(
        "action-pr",
        "action",
        env={
            **action,
            "INPUT_APP": "app-01",
            "INPUT_ENVIRONMENT": "production",
            "INPUT_DIGEST": digest_of("s2"),
            "INPUT_DEFER-GATES": "true",
        },
    )
    cli = ("--config-repo", fleet.repo, "--skip-registry-check", "--now", NOW)
    run(
        "cli-pr-update",
        "promote",
        *cli,
        "--app=app-01",
        "--env=production",
        f"--digest={digest_of('s3')}",
        "--defer-gates",
        env=actions,
    )
    run("action-status", "action", env={**action, "INPUT_COMMAND": "status"})
    run(
        "action-check",
        "action",
        env={
            **action,
            "INPUT_COMMAND": "check",
            "INPUT_BASE": "main",
            "INPUT_HEAD": "promote/production/app-01",
        },
        code=None,
    )
    fleet.api.fail_next(1, operation="pulls/create", status=403)
    run(
        "github-403",
        "promote",
        *cli,
        "--app=app-02",
        "--env=staging",
        f"--digest={digest_of('s4')}",
        "--defer-gates",
        env={**actions, "GITOPS_PROMOTE_DEBUG": "1"},
        code=2,
    )
    run(
        "wrong-token",
        "promote",
        *cli,
        "--app=app-00",
        "--env=dev",
        f"--digest={digest_of('s5')}",
        env={**actions, "GITOPS_PROMOTE_TOKEN": wrong, "GITOPS_PROMOTE_DEBUG": "1"},
        code=None,
    )
    host = fleet.git.base_url.removeprefix("http://")
    run(
        "token-in-url",
        "promote",
        f"--remote=http://x-access-token:{token}@{host}/{fleet.repo}.git",
        "--skip-registry-check",
        "--app=app-00",
        "--env=dev",
        f"--digest={digest_of('s6')}",
        env=actions,
        code=2,
    )

    found: dict[str, list[str]] = {}
    wrong_forms = token_forms(wrong)
    for name, done in runs:
        assert "Traceback" not in done.stderr or name in ("github-403", "wrong-token"), done.stderr
        stdout = "\n".join(
            line for line in done.stdout.splitlines() if not line.startswith("::add-mask::")
        )
        for where, text in ((f"{name} stdout", stdout), (f"{name} stderr", done.stderr)):
            found[where] = leaks(text, forms) + leaks(text, wrong_forms)
    for where, file in (("GITHUB_OUTPUT", output), ("job summary", summary)):
        assert file.exists(), f"{where} was not written: Actions mode did not happen"
        found[where] = leaks(file.read_text(), forms)
    calls = git_shim.calls()
    assert len(calls) > 20, "the shim saw the git processes"
    for i, call in enumerate(calls):
        found[f"git argv #{i} {call.argv[:2]}"] = leaks(" ".join(call.argv), forms | wrong_forms)
        found[f"git env #{i} {call.argv[:2]}"] = header_only_via_git_config(call, forms)
        if call.git_config is not None:
            found[f"git config #{i}"] = leaks(call.git_config, forms | wrong_forms)
    for request in fleet.git.requests:
        found[f"git url {request.path}"] = leaks(request.url_path, forms)
    log = gitutil.git("log", "--all", "--format=%B", cwd=fleet.bare)
    found["commit messages"] = leaks(log, forms)
    for pr in fleet.api.pulls(state="all"):
        found[f"PR #{pr.number}"] = leaks(f"{pr.title}\n{pr.body}\n{pr.comments}", forms)
    assert {k: v for k, v in found.items() if v} == {}
    assert all(r.auth_scheme != "basic" or r.basic_user != token for r in fleet.git.requests)
    figure("security.token.runs", len(runs))
    figure("security.token.git_processes", len(calls))
    figure("security.token.places_scanned", len(found))
    figure("security.token.leaks", 0)


# -- gated environments and the base branch ---------------------------------------------------


GATED_FLAGS = ("--no-push", "--base-branch=main", "--defer-gates", "--dry-run", "--all")


def test_no_flag_combination_pushes_a_gated_env_to_the_base_branch(
    fleet: Fleet, tmp_path: Path, figure: Figure
) -> None:
    """Every combination of --no-push, --base-branch main, --defer-gates, --dry-run and
    --all for production (each alone for staging): main never moves; whatever is pushed
    goes to a promote/* branch with a pull request; refusals are exit 1 or 2, no bug."""
    assert fleet.api is not None
    main = fleet.sha()
    outcomes: dict[int, int] = {}
    combos = 0
    for env, n in itertools.product(("staging", "production"), range(len(GATED_FLAGS) + 1)):
        for flags in itertools.combinations(GATED_FLAGS, n):
            if env == "staging" and n > 1:
                continue  # staging: every flag alone; production: every combination
            combos += 1
            digest = digest_of(f"gated-{env}-{flags}")
            which = () if "--all" in flags else ("--app=app-04",)
            out = in_process(
                fleet,
                "promote",
                f"--config-repo={fleet.repo}",
                "--skip-registry-check",
                f"--now={NOW}",
                f"--env={env}",
                f"--digest={digest}",
                *which,
                *flags,
            )
            outcomes[out.code] = outcomes.get(out.code, 0) + 1
            assert out.code in (0, 1, 2), (flags, out)
            if out.code:
                assert len(out.stderr.splitlines()) >= 1
                assert "internal error" not in out.stderr, (flags, out.stderr)
            assert fleet.sha() == main, f"{env} {flags} moved main"
    for branch in fleet.branches():
        assert branch == "main" or branch.startswith("promote/"), branch
    for pr in fleet.api.pulls(state="all"):
        assert pr.base == "main", pr
        assert pr.head.startswith("promote/"), pr
    assert_sound(fleet)
    figure("security.gated.combinations", combos)
    figure("security.gated.base_branch_pushes", 0)
    figure("security.gated.outcomes", json.dumps(dict(sorted(outcomes.items()))))


@pytest.mark.parametrize(
    "template", ["main", "{env}/../main", "refs/heads/main", "release"], ids=str
)
def test_a_branch_template_naming_the_base_branch_is_refused(
    fleet: Fleet, tmp_path: Path, template: str, figure: Figure
) -> None:
    """A promotion.yaml whose pull-request branch template renders to the base branch (or,
    with base-branch: release, to the repo's default branch main) never gets a gated
    change onto it: the run is refused in one line, exit 2."""
    main = fleet.sha()
    config = fleet.text("promotion.yaml")
    prs = "    pull-request:\n      labels: [promotion, production]"
    branch = f"    pull-request:\n      branch: {json.dumps(template)}"
    config = config.replace(prs, f"{branch}\n      labels: [promotion, production]")
    if template == "release":
        config = config.replace("base-branch: main", "base-branch: release")
        gitutil.git("branch", "release", "main", cwd=fleet.bare)
    fleet.git.seed(fleet.repo, {"promotion.yaml": config}, message="branch template")
    if template == "release":
        gitutil.git("branch", "-f", "release", "main", cwd=fleet.bare)
    main = fleet.sha()
    out = in_process(
        fleet,
        "promote",
        f"--config-repo={fleet.repo}",
        "--skip-registry-check",
        f"--now={NOW}",
        "--env=production",
        "--app=app-04",
        f"--digest={digest_of('template')}",
        "--defer-gates",
    )
    assert out.code == 2, out
    assert len(out.stderr.splitlines()) == 1, out.stderr
    assert fleet.sha() == main
    assert fleet.api is not None
    assert fleet.api.pulls(state="all") == []
    figure(f"security.branch-template.{template}.refused", 1)


def in_process(fleet: Fleet, *argv: str) -> Outcome:
    """``cli.main`` in this process with the fleet's token and URLs in the environment."""
    return run_in_process(argv, fleet.env)


# -- check runs nothing from the pull request -------------------------------------------------


def trap(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """An executable that leaves ``marker`` if anything runs it."""
    marker = tmp_path / f"RAN-{name}"
    script = tmp_path / "traps" / name
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho 'apiVersion: v1'\necho 'kind: ConfigMap'\n")
    script.chmod(0o755)
    return script, marker


EXEC_FUNCTION = """\
apiVersion: example.com/v1
kind: Injector
metadata:
  name: injector
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: {script}
"""


def pr_shapes(script: Path) -> dict[str, dict[str, str]]:
    """Pull requests that would run code if the check rendered them carelessly."""
    dev = "apps/app-05/overlays/production"
    base = "apps/app-05/base"
    original = f"{dev}/kustomization.yaml"
    return {
        "exec-function-file": {
            f"{dev}/fn.yaml": EXEC_FUNCTION.format(script=script),
            original: "+transformers:\n  - fn.yaml\n",
        },
        "exec-function-inline": {
            original: "+generators:\n  - |-\n"
            + "".join(f"    {line}\n" for line in EXEC_FUNCTION.format(script=script).splitlines()),
        },
        "exec-function-second-document": {
            f"{dev}/fn.yaml": "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\n"
            "labels: {a: b}\nfieldSpecs: [{path: metadata/labels, create: true}]\n---\n"
            + EXEC_FUNCTION.format(script=script),
            original: "+transformers:\n  - fn.yaml\n",
        },
        "exec-function-in-the-base": {
            f"{base}/fn.yaml": EXEC_FUNCTION.format(script=script),
            f"{base}/kustomization.yaml": "+generators:\n  - fn.yaml\n",
        },
        "helm-chart": {
            original: "+helmCharts:\n  - name: evil\n    repo: https://charts.example.invalid\n"
            "    version: 1.0.0\n",
        },
        "legacy-exec-plugin": {
            f"{dev}/plugin.yaml": "apiVersion: someteam.example.com/v1\nkind: Injector\n"
            "metadata: {name: p}\n",
            original: "+transformers:\n  - plugin.yaml\n",
        },
    }


@pytest.mark.parametrize(
    "shape",
    [
        "exec-function-file",
        "exec-function-inline",
        "exec-function-second-document",
        "exec-function-in-the-base",
        "helm-chart",
        "legacy-exec-plugin",
    ],
)
def test_check_runs_nothing_from_the_pull_request(
    fleet: Fleet, tmp_path: Path, shape: str, figure: Figure
) -> None:
    """A PR adds an exec KRM function (in a file, inline, behind a harmless first document,
    in the base), a helmCharts generator (a helm that would run is on PATH), or a legacy
    exec plugin (installed where kustomize would look): ``check`` runs none of them (no
    marker file appears) and says, in one line, that it did not render the overlay."""
    kustomize_argv()  # kustomize (or kubectl) must be installed: the check renders
    script, marker = trap(tmp_path, "function")
    helm, helm_marker = trap(tmp_path, "helm")
    (helm.parent / "bin").mkdir()
    (helm.parent / "bin" / "helm").symlink_to(helm)
    plugin, plugin_marker = trap(tmp_path, "plugin")
    plugins = tmp_path / "plugins" / "someteam.example.com" / "v1" / "injector"
    plugins.mkdir(parents=True)
    (plugins / "Injector").symlink_to(plugin)
    work = tmp_path / "checkout"
    gitutil.git("clone", "-q", str(fleet.bare), str(work))
    gitutil.git("checkout", "-q", "-b", "evil", cwd=work)
    files: dict[str, gitutil.FileContent] = {}
    for rel, text in pr_shapes(script)[shape].items():
        current = (work / rel).read_text() if (work / rel).exists() else ""
        files[rel] = current + text[1:] if text.startswith("+") else text
    gitutil.commit_files(work, files, message=f"evil: {shape}")
    gitutil.git("checkout", "-q", "main", cwd=work)
    env = {
        **fleet.env,
        "PATH": f"{helm.parent / 'bin'}:{children.child_env(tmp_path)['PATH']}",
        "KUSTOMIZE_PLUGIN_HOME": str(tmp_path / "plugins"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    done = children.run(
        "check",
        f"--repo={work}",
        "--base=main",
        "--head=evil",
        f"--now={NOW}",
        cwd=tmp_path / "cwd",
        env=env,
        check=None,
    )
    assert not marker.exists(), "the PR's exec function ran"
    assert not helm_marker.exists(), "helm ran"
    assert not plugin_marker.exists(), "a kustomize plugin ran"
    assert done.returncode in (0, 1), done.output  # refused renders are warned about
    assert "Traceback" not in done.output
    said = re.search(
        r"plugin or KRM function.*does not run code|uses helmCharts:.*never runs", done.output
    )
    assert said, done.output
    figure(f"security.check.{shape}.executed", 0)


# -- workflows ----------------------------------------------------------------------------------


def yaml_blocks() -> Iterable[tuple[str, str]]:
    """Every workflow-like YAML the project ships or shows: example and project workflow
    files, action.yml, and fenced yaml blocks in README.md and docs/*.md."""
    for path in sorted(
        [
            *ROOT.glob("examples/**/*.yml"),
            *ROOT.glob("examples/**/*.yaml"),
            *ROOT.glob(".github/**/*.yml"),
            ROOT / "action.yml",
        ]
    ):
        if path.is_file():
            yield str(path.relative_to(ROOT)), path.read_text()
    for doc in sorted([ROOT / "README.md", *ROOT.glob("docs/*.md")]):
        if not doc.is_file():
            continue
        for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", doc.read_text(), re.S)):
            yield f"{doc.relative_to(ROOT)} block {i + 1}", block


def test_no_shipped_or_documented_workflow_uses_pull_request_target(figure: Figure) -> None:
    """pull_request_target runs with secrets on code from forks: no workflow file, action
    or YAML snippet in the docs triggers on it (tests/test_workflows.py checks the example
    files with zizmor and its own rule; this covers the documentation's snippets too)."""
    scanned = 0
    for where, text in yaml_blocks():
        scanned += 1
        for line in text.splitlines():
            code = line.split("#", 1)[0]
            assert "pull_request_target" not in code, f"{where}: {line.strip()}"
    assert scanned >= 4
    figure("security.workflows.yaml_scanned", scanned)
    figure("security.workflows.pull_request_target", 0)
