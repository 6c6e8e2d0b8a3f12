"""Reports of one check result: annotations, summary table, PR comment (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from gitops_promote.images import ImageRef
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.report import check as checkreport

NOW = datetime(2026, 11, 3, 10, tzinfo=UTC)
FILE = "apps/api/overlays/production/kustomization.yaml"


def target(drift: str = "", *results: GateResult) -> TargetPlan:
    return TargetPlan(
        app="api",
        env="production",
        file=FILE,
        line=9,
        old=ImageRef("ghcr.io/o/api", None, "sha256:" + "a" * 64),
        new=ImageRef("ghcr.io/o/api", "v2", "sha256:" + "b" * 64),
        pin_changed=True,
        edits=(),
        results=results,
        drift=drift,
    )


def check(*targets: TargetPlan, extra: tuple[GateResult, ...] = ()) -> CheckResult:
    results = tuple(r for t in targets for r in t.results) + extra
    return CheckResult("a" * 40, "b" * 40, "main", NOW, targets, results)


FAIL = GateResult("soak", "api", "production", False, "3h left", FILE, 9)
WARN = GateResult("drift", "api", "production", False, "differs", FILE, severity="warning")
PASS = GateResult("freeze", "api", "production", True, "open", FILE, 9)
GLASS = GateResult(
    "freeze", "api", "production", True, "BREAK-GLASS: frozen", FILE, 9, "warning", True
)


def test_annotations_only_for_what_needs_attention() -> None:
    """Failures are errors, warnings and break-glass passes are warnings; passes are silent."""
    notes = checkreport.annotations_of(check(target("", PASS, FAIL, WARN), extra=(GLASS,)))
    assert [(n.level, n.title, n.file, n.line) for n in notes] == [
        ("error", "soak: api in production", FILE, 9),
        ("warning", "drift: api in production", FILE, None),
        ("warning", "freeze: api in production", FILE, 9),
    ]


def test_summary_table_is_gates_by_targets() -> None:
    """One row per target, one column per gate that ran, in pipeline order."""
    text = checkreport.summary(check(target("", FAIL, PASS, WARN)))
    assert "| Target | freeze | soak | drift |" in text
    assert "| `api` → `production` | ✅ | ❌ | ⚠️ |" in text
    assert "- ❌ **soak** `api` → `production`: 3h left (`" + FILE + ":9`)" in text


def test_comment_collapses_long_diffs_and_keeps_short_ones_inline() -> None:
    """A diff over 25 lines goes in <details>; a short one is shown; the marker leads."""
    short = "".join(f"+line {i}\n" for i in range(5))
    long = "".join(f"+line {i}\n" for i in range(60))
    body = checkreport.comment(check(target(short, WARN)))
    assert body.startswith(checkreport.COMMENT_MARKER)
    assert "<details>" not in body
    assert "```diff\n+line 0" in body
    body = checkreport.comment(check(target(long, WARN)))
    summary = "<summary>Rendered differences: <code>api</code> in <code>production</code>"
    assert f"<details>\n{summary}" in body


def test_comment_stays_under_githubs_limit() -> None:
    """A huge diff is cut between two lines, the next one left out, each with a note
    pointing to the job summary, rather than breaking the comment."""
    huge = "".join(f"+{'x' * 200}\n" for i in range(5000))
    body = checkreport.comment(check(target(huge, WARN), target(huge, WARN)))
    assert len(body) <= checkreport.MAX_COMMENT
    assert "more diff line(s) not shown; see the job summary" in body
    assert "_… 1 rendered diff(s) not shown; see the job summary" in body


def test_json_has_every_result_with_its_line() -> None:
    """--json: gate, app, env, passed, message, file, line for every result."""
    data = checkreport.to_json(check(target("", FAIL)))
    assert data["passed"] is False
    assert data["results"][0] | {} == {
        "gate": "soak",
        "app": "api",
        "env": "production",
        "passed": False,
        "severity": "error",
        "overridden": False,
        "message": "3h left",
        "file": FILE,
        "line": 9,
    }
    assert data["targets"][0]["to"] == "ghcr.io/o/api:v2@sha256:" + "b" * 64
