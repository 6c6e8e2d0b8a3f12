"""The job summary and the PR comment stay under GitHub's limits and never break markup.

GitHub keeps at most 1 MiB of a step's job summary (``$GITHUB_STEP_SUMMARY`` is appended
to, so what the step already wrote counts) and refuses a comment over 65,536 characters.
A check touching hundreds of targets is cut at a block boundary (between table rows, list
items or diff lines, with the fence and ``<details>`` closed) and says what was left out.
Markdown is read with tests/support/outputs.py (cmark-gfm's fence and code-span rules).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from check.scenario import API, NEW_API, T0, ConfigRepo, overlay
from gitops_promote.adapters import actions
from gitops_promote.facts import statefile as state
from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.report import check as checkreport
from gitops_promote.report import status as statusview
from gitops_promote.report.records import StatusReport, StatusRow
from support.outputs import read_markdown, table_cells
from support.tools import kustomize_argv

SUMMARY_LIMIT = 1024 * 1024
COMMENT_LIMIT = 65_536
NOW = datetime(2026, 11, 3, 10, tzinfo=UTC)
FAKE_VERDICT = "### ✅ Promotion check passed"


def assert_balanced(text: str, *, headings: int = 1) -> None:
    """Every fence closed, every <details> and <summary> closed, only the report's own
    headings, and every table row as wide as its header."""
    doc = read_markdown(text)
    assert not doc.unclosed, "a fence is left open"
    prose = "\n".join(doc.prose)
    assert prose.count("<details>") == prose.count("</details>")
    assert prose.count("<summary>") == prose.count("</summary>")
    found = [line for line in doc.prose if re.match(r" {0,3}#{1,6}(\s|$)", line)]
    assert len(found) == headings, found
    width = 0
    for line in doc.prose:
        if not line.startswith("|"):
            width = 0
            continue
        cells = table_cells(line)
        width = width or len(cells)
        assert len(cells) == width, line


def huge_check(
    targets: int = 800, diff_lines: int = 400, *, failing: bool = True, width: int = 0
) -> CheckResult:
    """A base-wide change: ``targets`` apps each failing soak in production (or passing
    it), each with a rendered diff whose lines try to close the fence and fake the
    verdict."""
    diff = "".join(f"+  label-{i}: ```{'x' * width}\n" for i in range(diff_lines - 2))
    diff += f"+</details>\n+{FAKE_VERDICT}\n"
    plans = []
    results = []
    for n in range(targets):
        app = f"app-{n:04d}"
        file = f"apps/{app}/overlays/production/kustomization.yaml"
        fail = GateResult("soak", app, "production", not failing, f"{n}h of soak", file, 9)
        results.append(fail)
        plans.append(
            TargetPlan(
                app=app,
                env="production",
                file=file,
                line=9,
                old=ImageRef("ghcr.io/o/api", "v1", "sha256:" + "a" * 64),
                new=ImageRef("ghcr.io/o/api", "v2", "sha256:" + "b" * 64),
                pin_changed=True,
                edits=(),
                results=(fail,),
                drift=diff,
            )
        )
    unmapped = tuple(f"docs/page-{n}.md" for n in range(500))
    return CheckResult(
        "a" * 40, "b" * 40, "main", NOW, tuple(plans), tuple(results), unmapped=unmapped
    )


def test_summary_of_a_huge_check_stays_under_one_mib() -> None:
    """800 failing targets with 400-line diffs (about 20 MB of markdown uncut): the
    summary is under 1 MiB in UTF-8 bytes, keeps the verdict and the first failures, is
    cut between blocks with every fence and <details> closed, and says what it left out."""
    text = checkreport.summary(huge_check())
    size = len(text.encode("utf-8"))
    assert size < SUMMARY_LIMIT
    assert size > SUMMARY_LIMIT * 0.9  # cut to the limit, not far below it
    assert text.startswith("### ❌ Promotion check failed")
    assert "- ❌ **soak** `app-0000` → `production`: 0h of soak" in text
    assert re.search(r"_… \d+ more [a-z ()]+ not shown; see the job log\._", text)
    assert_balanced(text)
    assert FAKE_VERDICT not in "\n".join(read_markdown(text).prose)


def test_comment_of_a_huge_check_stays_under_githubs_limit() -> None:
    """The same check as a PR comment: under 65,536 characters, marker first and footer
    last; what failed comes first and is cut between list items; the plan table, the
    changed files and the diffs that no longer fit are counted in notes; nothing left
    open."""
    text = checkreport.comment(huge_check())
    assert len(text) < COMMENT_LIMIT
    assert text.startswith(checkreport.COMMENT_MARKER)
    assert text.rstrip("\n").endswith("</sub>")
    assert "- ❌ **soak** `app-0000` → `production`: 0h of soak" in text
    assert re.search(r"_… \d+ more failure\(s\) not shown; see the job summary", text)
    assert "_… 800 target(s) not shown; see the job summary" in text
    assert "800 rendered diff(s)" in text
    assert_balanced(text)


def test_comment_cuts_the_plan_table_between_rows() -> None:
    """With nothing failed, the plan table gets the room: its header and first rows are
    kept, it is cut between two rows, and a note says how many targets are not shown."""
    text = checkreport.comment(huge_check(failing=False))
    assert len(text) < COMMENT_LIMIT
    assert "| App | Environment | From | To |" in text
    assert "| `app-0000` | `production` |" in text
    assert re.search(r"_… \d+ more target\(s\) not shown; see the job summary", text)
    assert_balanced(text)


def test_a_cut_diff_closes_its_fence_and_details() -> None:
    """When the room ends inside a rendered diff, the diff is cut between two lines and
    its fence and <details> still close; the note follows, outside the block."""
    text = checkreport.comment(huge_check(targets=3, width=200))
    assert len(text) < COMMENT_LIMIT
    assert "more diff line(s) not shown" in text
    doc = read_markdown(text)
    assert not doc.unclosed
    note = next(line for line in doc.prose if "more diff line(s) not shown" in line)
    assert doc.prose.index(note) > doc.prose.index("</details>")
    assert_balanced(text)


def test_summary_counts_what_the_step_already_wrote(tmp_path: Path) -> None:
    """``check`` in Actions appends to a summary file this step has nearly filled
    already: the file stays under 1 MiB, the check's verdict is there, and its diff is cut
    with a note (before, the report was appended whole, past the limit)."""
    kustomize_argv()
    repo = ConfigRepo(tmp_path / "config")
    repo.promote("api-service", "dev", f"{API}@{NEW_API}", at=T0 + timedelta(hours=1))
    repo.promote("api-service", "staging", f"{API}@{NEW_API}", at=T0 + timedelta(hours=3))
    repo.branch("pr")
    rel = overlay("api-service", "production")
    labels = "".join(f"  label-{i:03d}: value-{i:03d}\n" for i in range(300))
    repo.commit(
        {rel: repo.text(rel) + f"commonLabels:\n{labels}"},
        at=T0 + timedelta(hours=4),
        message="labels",
    )
    summary = tmp_path / "summary.md"
    line = "| earlier step output |\n"
    earlier = line * ((SUMMARY_LIMIT - 6000) // len(line))
    summary.write_text(earlier, encoding="utf-8")
    repo.check(
        now=T0 + timedelta(hours=40),
        code=None,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    data = summary.read_bytes()
    assert len(data) < SUMMARY_LIMIT
    added = data[len(earlier.encode()) :].decode("utf-8")
    assert "Promotion check" in added
    assert "not shown; see the job log" in added
    assert_balanced(added)


def test_append_summary_leaves_out_whole_what_does_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text that does not fit in what is left of the step's 1 MiB is not written at all
    (never cut inside a fence): a one-line note says how much was left out."""
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x\n" * ((SUMMARY_LIMIT - 1000) // 2))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    actions.append_summary("### error\n\n```\n" + "line\n" * 1000 + "```\n")
    data = summary.read_bytes()
    assert len(data) < SUMMARY_LIMIT
    tail = data.decode()[SUMMARY_LIMIT - 1000 - 2 :]
    assert "```" not in tail
    assert "_… 1 summary section(s) not shown; see the job log._" in tail
    assert actions.summary_room() < 1000


def test_status_table_keeps_each_value_in_its_cell() -> None:
    """The status table of the job summary escapes app, env and commit for their cells:
    a ``|``, a newline or raw HTML in a value neither adds a column nor a heading."""
    row = StatusRow(
        app="api\n# fake | x",
        env="prod</details>|",
        file=None,
        ref=ImageRef("ghcr.io/o/api", "v1", "sha256:" + "c" * 64),
        since_commit="abc|def\n## x",
        since=NOW,
    )
    text = statusview.markdown(StatusReport((row,)))
    lines = text.split("\n")
    assert len(lines) == 3
    assert len(table_cells(lines[2])) == 6
    assert "<" not in "\n".join(read_markdown(text).prose).replace("\\<", "")


def test_versions_md_keeps_each_name_on_its_line() -> None:
    """VERSIONS.md (rendered from names and pins on the base branch) writes a newline in
    an app or env name out as ``\\n`` (its backslash escaped): no value starts a heading
    or a list item of its own."""
    entry = state.Entry(
        app="api\n# fake",
        env="prod\n- **production**: `sha256:forged`",
        ref=ImageRef("ghcr.io/o/api", "v1", "sha256:" + "d" * 64),
        since=NOW,
        commit="e" * 40,
    )
    text = state.render_markdown([entry], "versions.json", ["prod"])
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("#")] == ["# Versions", "## api\\\\n# fake"]
    assert [line for line in lines if line.startswith("- ")] == [
        f"- **prod\\\\n- \\*\\*production\\*\\*: \\`sha256:forged\\`**: `v1` `sha256:{'d' * 64}` "
        f"since 2026-11-03 10:00 UTC (commit `{'e' * 12}`)"
    ]
