"""The text views of `policy test` and `policy eval` (gitops_promote.report.policy): the
counts, the combined input, engine errors, and every policy string escaped."""

from __future__ import annotations

from gitops_promote.adapters.rego.model import (
    PolicyError,
    PolicyFinding,
    PolicyOutcome,
    PolicyTestResult,
)
from gitops_promote.report import policy as view


def test_unit_test_lines_count_passes_failures_and_errors() -> None:
    results = [
        PolicyTestResult("main.test_a", "p/a_test.rego", True),
        PolicyTestResult("main.test_b", "p/a_test.rego", False, "undefined"),
        PolicyTestResult("main.test_c", "p/c\n::error::x_test.rego", True),
    ]
    errors = [PolicyError("compile", "p/bad.rego:3: this is unclosed", ("p/bad.rego",))]
    assert view.unit_test_lines(results, errors) == [
        "p/a_test.rego:",
        "data.main.test_a: PASS",
        "data.main.test_b: FAIL (undefined)",
        "",
        "p/c\\n::error::x_test.rego:",
        "data.main.test_c: PASS",
        "ERROR: p/bad.rego:3: this is unclosed",
        "-" * 80,
        "PASS: 2/3",
        "FAIL: 1/3",
        "ERROR: 1 (policies that could not be evaluated)",
    ]


def test_eval_lines_name_the_document_or_all_documents_under_combine() -> None:
    outcome = PolicyOutcome(
        (
            PolicyFinding("deny", "main", "two\nlines", ("p/a.rego",), None),
            PolicyFinding("warn", "main", "w", ("p/b.rego", "p/c.rego"), 0),
            PolicyFinding("violation", "team", "v", ("p/d.rego",), 7),
        ),
        (PolicyError("timeout", "package loops (p/l.rego) ran past the time limit of 10s"),),
    )
    found = view.Evaluation(
        env="dev",
        app="api",
        overlay="apps/api/dev",
        documents=(view.Document("Deployment", "api", "ns"),),
        outcome=outcome,
        policy_files=("p/a.rego",),
        combine=True,
    )
    assert view.eval_lines(found) == [
        "api in dev: apps/api/dev renders 1 document(s); 1 policy file(s)",
        "FAIL - all documents - main - two\\nlines (p/a.rego)",
        "WARN - Deployment/api (namespace ns) - main - w (p/b.rego, p/c.rego)",
        "FAIL - document 7 - team - v (p/d.rego)",
        "ERROR - package loops (p/l.rego) ran past the time limit of 10s",
        "2 failure(s), 1 warning(s), 1 error(s)",
    ]
    assert found.failed
    data = view.eval_json(found)
    assert (data["failures"], data["warnings"], data["errors"][0]["kind"]) == (2, 1, "timeout")


def test_a_document_without_kind_or_name() -> None:
    assert view.document_of({"metadata": "not a mapping"}).label == "?/?"
