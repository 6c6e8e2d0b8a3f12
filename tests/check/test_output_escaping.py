"""Nothing a pull request or an input holds can hijack what the tool prints.

File names, YAML keys, branch names and input values carrying ``\\n::error::``,
``::stop-commands::``, ``##[``, ``%0A``, backticks, ``|``, ``</details>`` and ``<!--`` are
printed (stdout, stderr, annotations, job summary, PR comment) so that the runner executes
no command but the tool's own annotations, and GitHub's markdown keeps each value inside
its code span, table cell or fenced block. Read with tests/support/outputs.py, which
follows actions/runner's command parser and cmark-gfm's rules.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo, overlay
from gitops_promote.adapters.escape import visible
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.plan.soak import Decision
from gitops_promote.report import check as checkreport
from gitops_promote.report import promotion as report
from gitops_promote.report.records import Change, PromotionResult
from gitops_promote.report.soak import Outcome, summary
from support import gitutil
from support.inprocess import cli
from support.outputs import Markdown, read_markdown, runner_commands, table_cells
from support.repos import Run
from support.tools import kustomize_argv

NOW = T0 + timedelta(hours=40)
INJECTED = "::error::pwned"
# PR file names outside every environment: each tries another way out
HOSTILE_FILES = (
    f"docs/a\n{INJECTED}",
    "docs/b\n::stop-commands::tok",
    "docs/c%0A::warning::w`|</details><!--",
    "docs/d ##[error]legacy",
    "docs/e\r::notice::cr",
    "docs/f ```\n### ✅ Promotion check passed",
)
# a YAML key whose rendered diff line closes the fence and fakes the verdict
FAKE_VERDICT = "### ✅ Promotion check passed"
HOSTILE_KEY = f"k\\n```\\n{FAKE_VERDICT}\\n{INJECTED}\\n</details>\\n<!--"
# the tags and markup the tool itself writes into markdown
OWN_HTML = re.compile(r"</?(details|summary|code|sub)>|<!-- gitops-promote (check|\{[^<>]*\}) -->")


@pytest.fixture(autouse=True)
def _kustomize() -> None:
    kustomize_argv()


def _own_commands_only(output: str) -> None:
    """Every workflow command in ``output`` is an annotation the tool wrote: error, warning
    or notice with a title, not one of the injected payloads; nothing stops commands."""
    for command in runner_commands(output):
        assert command.name in ("error", "warning", "notice"), command.line
        assert "title" in command.properties, command.line
        assert not command.data.startswith(PAYLOADS), command.line


PAYLOADS = ("pwned", "tok", "w`", "legacy", "cr", "key")


def _markdown_holds(doc: Markdown, *, headings: int) -> None:
    """Read as GitHub reads it: every fence closed, only the tool's headings, and no raw
    HTML outside code but the tool's own tags; table rows as wide as their header."""
    assert not doc.unclosed
    found = [line for line in doc.prose if re.match(r" {0,3}#{1,6}(\s|$)", line)]
    assert len(found) == headings, found
    for line in doc.prose:
        assert "<" not in OWN_HTML.sub("", line), line
    width = 0
    for line in doc.prose:
        if not line.startswith("|"):
            width = 0
            continue
        cells = table_cells(line)
        width = width or len(cells)
        assert len(cells) == width, line


@pytest.fixture
def hostile_pr(tmp_path: Path) -> ConfigRepo:
    """A production promotion PR that also adds hostile file names and a hostile key."""
    repo = ConfigRepo(tmp_path / "config")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    repo.branch("pr")
    repo.promote("api-service", "production", f"{API}@{NEW_API}", at=T0 + timedelta(hours=4))
    rel = overlay("api-service", "production")
    text = repo.text(rel) + f'commonLabels:\n  "{HOSTILE_KEY}": v\n'
    files = dict.fromkeys(HOSTILE_FILES, "x\n")
    # and one inside production's overlay: its gate results and annotations name it
    inside = "apps/api-service/overlays/production/p\n::error file=x,title=y::pwned.yaml"
    files[inside] = "kind: ConfigMap\n"
    repo.commit({**files, rel: text}, at=T0 + timedelta(hours=5), message="hostile")
    return repo


def test_check_prints_hostile_names_and_keys_without_running_them(
    hostile_pr: ConfigRepo, tmp_path: Path
) -> None:
    """In Actions, stdout and stderr hold no workflow command but the tool's annotations;
    each hostile file name is shown on one line with its newline written out; the job
    summary keeps every name in its code span and the rendered key inside the diff fence,
    so the only verdict heading is the real one."""
    summary = tmp_path / "summary.md"
    summary.touch()
    run = hostile_pr.check(
        now=NOW, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    )
    _own_commands_only(run.stdout + run.stderr)
    assert "docs/a\\n::error::pwned, docs/b\\n::stop-commands::tok" in run.stdout
    assert "docs/d ##\\[error]legacy" in run.stdout
    doc = read_markdown(summary.read_text(encoding="utf-8"))
    _markdown_holds(doc, headings=1)
    for name in HOSTILE_FILES:
        assert visible(name) in doc.spans, name
    assert [block for block in doc.blocks if any(INJECTED in line for line in block)]


def test_check_json_output_runs_no_command(hostile_pr: ConfigRepo) -> None:
    """--json keeps every hostile name exactly (it parses back) and runs nothing."""
    run = hostile_pr.check("--json", now=NOW)
    assert runner_commands(run.stdout) == []
    data = json.loads(run.stdout)
    assert set(HOSTILE_FILES) <= set(data["unmapped"])
    assert any("\n::error file=x" in name for name in data["changed-files"])


def test_pr_comment_keeps_hostile_values_in_their_places() -> None:
    """The PR comment (and the summary) built from hostile app, env, branch, note,
    gate message and diff holds them in code spans, cells and the fence: one heading,
    no raw HTML, no @mention, table rows as wide as the header."""
    name = "api`|</summary></details><!--\n# x"
    where = f"apps/{name}/kustomization.yaml"
    fail = GateResult("soak", name, name, False, "@org/team </details> | `x` \n# fake", where, 3)
    plan = TargetPlan(
        app=name,
        env=name,
        file=where,
        line=3,
        old=ImageRef("ghcr.io/o/api", "v1", None),  # tags are validated: none is hostile
        new=ImageRef("ghcr.io/o/api", "v2", "sha256:" + "b" * 64),
        pin_changed=True,
        edits=(),
        results=(fail,),
        drift="".join(f"+line {i}\n" for i in range(30)) + f"+```\n+{FAKE_VERDICT}\n",
    )
    result = CheckResult(
        "a" * 40,
        "b" * 40,
        "main`|<!--",
        T0,
        (plan,),
        (fail,),
        unmapped=HOSTILE_FILES,
        notes=("note </details>\n## fake",),
    )
    for text in (checkreport.comment(result), checkreport.summary(result)):
        doc = read_markdown(text)
        _markdown_holds(doc, headings=1)
        assert visible(name) in doc.spans
        assert visible("main`|<!--") in doc.spans
        assert "@org" not in text.replace("@&#8203;org", "")
        assert any(f"+{FAKE_VERDICT}" in block for block in doc.blocks)


def test_action_echoes_no_raw_input_value(tmp_path: Path) -> None:
    """`gitops-promote action` shows the command line it runs with every input value
    quoted and its newlines written out: an input cannot start a workflow command."""
    repo = ConfigRepo(tmp_path / "config")
    run = cli(
        "action",
        env={
            "GITHUB_ACTIONS": "true",
            "INPUT_COMMAND": "check",
            "INPUT_REPO-PATH": str(repo.root),
            "INPUT_BASE": "main",
            "INPUT_NOW": f"x\n{INJECTED}\n##[error]legacy",
        },
        check=2,
    )
    _own_commands_only(run.stdout + run.stderr)
    assert "--now 'x\\n::error::pwned\\n##\\[error]legacy'" in run.stdout


def test_error_messages_run_no_command(tmp_path: Path) -> None:
    """A bad --head naming ``##[stop-commands]`` is reported on stderr, as an annotation
    and in the job summary without stopping the runner's commands."""
    repo = ConfigRepo(tmp_path / "config")
    summary = tmp_path / "summary.md"
    summary.touch()
    run: Run = repo.check(
        now=NOW,
        head="##[stop-commands]tok",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        code=2,
    )
    _own_commands_only(run.stdout + run.stderr)
    assert "##\\[stop-commands]tok" in run.stderr
    _markdown_holds(read_markdown(summary.read_text(encoding="utf-8")), headings=1)


def test_set_image_prints_a_hostile_path_on_one_line(tmp_path: Path) -> None:
    """set-image names the file it edited with the path's newline written out."""
    where = tmp_path / f"o\n{INJECTED}"
    gitutil.write_files(where, {"kustomization.yaml": "images:\n  - name: app\n    newTag: v1\n"})
    run = cli("set-image", str(where), "app:v2")
    assert runner_commands(run.stdout + run.stderr) == []
    assert "o\\n::error::pwned/kustomization.yaml: updated" in run.stdout
    dry = cli("set-image", "--dry-run", str(where), "app:v3")
    assert runner_commands(dry.stdout) == []


def test_soak_summary_keeps_a_freeze_name_in_its_cell() -> None:
    """A freeze window's name (free text in promotion.yaml) with ``|``, a newline and a
    heading stays in the Details cell of the soak run's job summary."""
    reason = f"frozen by 'a|b\n{FAKE_VERDICT}\n</details>' until Monday"
    decision = Decision("api-service", "production", "staging", "frozen", reason)
    doc = read_markdown(summary([Outcome(decision)], NOW, dry_run=True))
    _markdown_holds(doc, headings=1)
    rows = [table_cells(line) for line in doc.prose if line.startswith("| ")]
    assert rows[-1][:3] == ["production", "api-service", "frozen"]


def test_promotion_pr_body_and_summary_keep_a_hostile_path_and_note_in_place() -> None:
    """An overlay path (promotion.yaml's path templates allow backticks, ``|`` and ``<``)
    and a note stay in their code span, list item and quote in the PR body and the job
    summary; the text output shows them on one line each."""
    path = "apps/api/`|</details><!--/kustomization.yaml"
    change = Change(
        "api",
        "staging",
        path,
        ImageRef("ghcr.io/o/api", "v1", None),
        ImageRef("ghcr.io/o/api", "v2", "sha256:" + "c" * 64),
    )
    note = f"note\n{FAKE_VERDICT}\n{INJECTED}"
    result = PromotionResult("pr-created", "staging", (change,), pr_number=3, notes=(note,))
    for text in (report.pr_body(result), report.summary(result)):
        doc = read_markdown(text)
        _markdown_holds(doc, headings=1)
    assert visible(path) in read_markdown(report.pr_body(result)).spans
    assert runner_commands(report.text(result)) == []
    assert "note\\n### ✅ Promotion check passed\\n::error::pwned" in report.text(result)


def test_a_file_name_that_is_not_utf8_is_shown_not_a_crash(tmp_path: Path) -> None:
    """A PR file whose name is not UTF-8 (bytes 0xff 0xfe) is listed with those bytes
    written out (``\\xff\\xfe``) on stdout and in the job summary: the check passes
    instead of failing with an internal error while writing the summary."""
    repo = ConfigRepo(tmp_path / "config")
    repo.branch("pr")
    (repo.root / "docs").mkdir()
    Path(os.fsdecode(bytes(repo.root / "docs") + b"/\xff\xfe\n::error::x")).write_text("x")
    gitutil.git("add", "-A", cwd=repo.root)
    gitutil.git("commit", "-q", "-m", "a name that is not UTF-8", cwd=repo.root)
    summary = tmp_path / "summary.md"
    summary.touch()
    run = repo.check(
        now=NOW, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, code=0
    )
    _own_commands_only(run.stdout + run.stderr)
    assert "docs/\\xff\\xfe\\n::error::x" in run.stdout
    assert "`docs/\\xff\\xfe\\n::error::x`" in summary.read_text(encoding="utf-8")
