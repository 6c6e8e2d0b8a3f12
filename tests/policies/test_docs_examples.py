"""The Rego examples of docs/policies.md do what the page says: the first rule denies a
`:latest` image, and the tests (`with input as` and the function form) pass under
`policy test`."""

from __future__ import annotations

import re
from pathlib import Path

from gitops_promote.adapters.rego import PolicyModule, evaluate, run_tests

PAGE = Path(__file__).resolve().parents[2] / "docs" / "policies.md"


def blocks() -> list[str]:
    return re.findall(r"```rego\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_the_first_example_denies_a_latest_image() -> None:
    first = blocks()[0]
    deployment = {
        "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:latest"}]}}},
    }
    outcome = evaluate([PolicyModule("policy/latest.rego", first)], {}, [deployment])
    assert [(f.kind, f.message) for f in outcome.findings] == [
        ("deny", "container web uses nginx:latest; pin a version tag or a digest")
    ]


def test_the_with_input_test_passes() -> None:
    """The Conftest form, on the page's first rule (sprintf and endswith: regopy's own
    `with` would crash on it)."""
    first, with_input = blocks()[:2]
    results, errors = run_tests(
        [PolicyModule("policy/latest.rego", first), PolicyModule("policy/a_test.rego", with_input)],
        {},
    )
    assert errors == []
    assert [(r.name, r.passed) for r in results] == [("main.test_latest_is_denied", True)]


def test_the_function_form_test_passes() -> None:
    _, _, rule, test = blocks()
    rule = "package main\n\nimport rego.v1\n\n" + rule
    results, errors = run_tests(
        [PolicyModule("policy/latest.rego", rule), PolicyModule("policy/latest_test.rego", test)],
        {},
    )
    assert errors == []
    assert [(r.name, r.passed) for r in results] == [
        ("main.test_latest_is_denied", True),
        ("main.test_latest_is_denied_with_input", True),
    ]
