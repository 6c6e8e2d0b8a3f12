"""`with input as VALUE` in policy unit tests, run without the engine's own `with` (which
crashes regopy 1.5.2 whenever the rule reached calls a builtin): the Conftest test forms
pass or fail on what the policy says; the forms that cannot be run that way fall back to
the engine's `with` (a crash is a FAIL naming the test); and `policy test` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_promote.adapters.rego import PolicyModule, PolicyTestResult, run_tests
from gitops_promote.adapters.rego.child import HELPER, with_input
from policies.conftest import LIBRARY
from policies.test_cli import checkout
from support.inprocess import cli

STYLE = LIBRARY / "conftest_style"
RULES = PolicyModule("conftest_style/rules.rego", (STYLE / "rules.rego").read_text())
NO_LIMIT = '{"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}}'


def outcomes(text: str, *, timeout: float = 10.0) -> dict[str, PolicyTestResult]:
    """Runs the test module ``text`` (package main) beside the conftest-style rules."""
    results, errors = run_tests(
        [RULES, PolicyModule("t_test.rego", "package main\nimport rego.v1\n" + text)],
        {},
        timeout=timeout,
    )
    assert errors == []
    return {r.name.removeprefix("main."): r for r in results}


def test_the_conftest_forms_pass() -> None:
    """Every form of the library's test file: the `{ ... }` body, the one-line form, the
    old syntax, a multi-line literal with braces and `with input as` in its strings and
    comments, a rule as the value, a variable of the test, `count(deny) == 0`, warn and
    violation counts, several expressions with the same value, and a test without `with`."""
    results, errors = run_tests(
        [RULES, PolicyModule("t.rego", (STYLE / "rules_test.rego").read_text())], {}
    )
    assert errors == []
    assert [(r.name, r.passed, r.message) for r in results] == [
        (f"main.{name}", True, "")
        for name in (
            "test_limit_missing_is_denied",
            "test_one_line",
            "test_old_syntax",
            "test_multi_line_literal",
            "test_message_is_exact",
            "test_a_variable_of_the_test",
            "test_warn_counts",
            "test_violation_counts",
            "test_no_with_at_all",
        )
    ]


def test_a_wrong_expectation_fails_on_what_the_policy_says() -> None:
    """The same forms with the wrong count or message fail: the value is really the
    input (no vacuous pass), and an undefined value says so."""
    results = outcomes(
        f"test_limit_missing_is_denied if {{\n\tcount(deny) == 2 with input as {NO_LIMIT}\n}}\n"
        f"test_clean if count(deny) == 0 with input as {NO_LIMIT}\n"
        'test_message if {\n\tdeny == {"container y has no memory limit"} '
        f"with input as {NO_LIMIT}\n}}\n"
        "test_nowhere if count(deny) == 0 with input as data.nowhere\n"
        f"test_right if count(deny) == 1 with input as {NO_LIMIT}\n"
    )
    assert {n: (r.passed, r.message) for n, r in results.items()} == {
        "test_limit_missing_is_denied": (False, "undefined"),
        "test_clean": (False, "undefined"),
        "test_message": (False, "undefined"),
        "test_nowhere": (
            False,
            "with input as: the value after `with input as` is undefined (a variable of the "
            "test must be bound on a line before the one that uses it)",
        ),
        "test_right": (True, ""),
    }


def test_hostile_strings_raw_strings_and_a_with_inside_a_comprehension() -> None:
    """A value whose strings hold newlines, workflow commands, brackets and quotes, a raw
    string over two lines, and a `with` inside a comprehension (its value ends at the
    comprehension's `}`): each test gets exactly its value."""
    text = (
        "test_hostile if {\n"
        '\tinput.metadata.name == "a\\n::error::x }{ ] \\" with input as {" with input as {\n'
        '\t\t"kind": "Service", "metadata": {"name": "a\\n::error::x }{ ] \\" with input as {"},\n'
        '\t\t"raw": `two\nlines }`,\n'
        "\t}\n"
        '\tinput.raw == "two\\nlines }" with input as {\n'
        '\t\t"kind": "Service", "metadata": {"name": "a\\n::error::x }{ ] \\" with input as {"},\n'
        '\t\t"raw": `two\nlines }`,\n'
        "\t}\n"
        "}\n"
        f"test_inside if count({{m | some m in deny with input as {NO_LIMIT}}}) == 1\n"
    )
    rewritten, plan = with_input(text, ["test_hostile", "test_inside"])
    assert plan == {"test_hostile": {"input": f"{HELPER}1"}, "test_inside": {"input": f"{HELPER}2"}}
    assert "count({m | some m in deny" in rewritten
    assert "}) == 1" in rewritten
    results = outcomes(text)
    assert {n: (r.passed, r.message) for n, r in results.items()} == {
        "test_hostile": (True, ""),
        "test_inside": (True, ""),
    }


def test_the_value_may_read_data_and_other_rules() -> None:
    """The value is computed in the test's package: rules and `data` (the data files) work."""
    doc = '{"kind": "Service", "spec": {"type": "NodePort"}}'
    results, errors = run_tests(
        [
            RULES,
            PolicyModule(
                "t_test.rego",
                f"package main\nimport rego.v1\nsvc := {doc}\n"
                "test_rule if count(violation) == 1 with input as svc\n"
                "test_data if count(violation) == 1 with input as data.fixtures.svc\n"
                "test_built if count(violation) == 0 with input as "
                'object.union(svc, {"spec": {"type": "ClusterIP"}})\n',
            ),
        ],
        {"fixtures": {"svc": json.loads(doc)}},
    )
    assert errors == []
    assert [(r.name, r.passed) for r in results] == [
        ("main.test_rule", True),
        ("main.test_data", True),
        ("main.test_built", True),
    ]


def test_the_rewritten_text_keeps_every_line_of_the_users_file() -> None:
    """The `with` clauses are blanked in place (strings, raw strings and comments that say
    `with input as` are left alone), a test that cannot be rewritten is blanked, and the
    helpers come after the file's last line."""
    text = (STYLE / "rules_test.rego").read_text() + (
        "test_two_values if {\n\tdeny with input as {}\n\tdeny with input as web\n}\n"
    )
    names = ["test_multi_line_literal", "test_no_with_at_all", "test_two_values"]
    rewritten, plan = with_input(text, names)
    assert plan == {"test_multi_line_literal": {"input": f"{HELPER}1"}, "test_no_with_at_all": {}}
    old, new = text.splitlines(), rewritten.splitlines()
    assert [len(line) for line in new[: len(old)]] == [len(line) for line in old]
    assert new[: len(old)] != old
    heads = [i for i, line in enumerate(old) if line.startswith("test_multi_line_literal")]
    (head,) = heads
    assert new[head] == old[head]  # the test's head stays; its clause, value and all, goes
    body = [line.strip() for line in new[head + 1 : head + 9]]
    assert body == ["count(deny) == 1", *[""] * 6, "}"]
    helper = rewritten[rewritten.index(f"{HELPER}1 :=") :]
    assert '"} with input as {\\"x\\": 1} ["' in helper  # a string that says it, moved whole
    assert "# } ] with input as" in helper  # a comment that says it too
    assert "test_two_values" not in rewritten  # blanked: run the engine's own way
    assert "test_limit_missing_is_denied" not in rewritten  # not asked for: blanked
    assert "test_no_with_at_all if count(web.spec.template.spec.containers) == 1" in new
    assert new[len(old) + 1].startswith(f"{HELPER}1 := ({{")


@pytest.mark.parametrize(
    "test",
    [
        'test_x if {\n\tdeny with input as {}\n\tdeny with input as {"a": 1}\n}',  # two values
        'test_x if count(deny) == 0 with input.kind as "Service"',  # part of input
        "test_x if count(deny) == 0 with data.main.x as 1",  # a package's rules
        "test_x if {\n\tdeny with input as {}\n\tdeny with data.x as 1\n}",  # apart
        "test_x if deny with input as {}\ntest_x if warn with input as {}",  # two rules
        'test_x if count(deny) == 0 with data["x"] as 1',  # not a plain path
        "test_x if count(deny) == 0 with count as 1",  # a function
        "test_x if {\n\tdata.x == 1\n\tcount(deny) == 0 with data.x as 1\n}",  # reads data
        "test_x if {\n\tcount(deny) == 0 with input as {}\n\tcount(warn) == 0\n}",  # no input
        'test_x if {\n\tinput.kind == "A"\n\tcount(deny) == 0 with input as {}\n}',  # reads it
        "test_x if count(deny) == 0 with input as {}\nelse := false",  # else
    ],
)
def test_forms_that_are_not_rewritten(test: str) -> None:
    """Two different values, a `with` on something else than the whole input or a plain
    `data` path outside the packages, an expression without the `with` that reads what it
    replaces or a Conftest rule (it must not see the value), `else`: the test is left to
    the engine's own `with`."""
    _, plan = with_input(f"package main\n{test}\ntest_y if true\n", ["test_x", "test_y"])
    assert plan == {"test_y": {}}


def test_with_data_as_a_value_runs_with_that_data() -> None:
    """`with data.registry as X` (beside `with input as`): the test runs on the data
    files' data with that key replaced, and a rule calling builtins (which the engine's
    own `with` would crash on) gives its verdict."""
    rules = (
        "foreign contains msg if {\n"
        "\tsome c in input.spec.template.spec.containers\n"
        "\tnot startswith(c.image, data.registry.prefix)\n"
        '\tmsg := sprintf("container %s is from elsewhere", [c.name])\n'
        "}\n"
    )
    doc = '{"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "nginx"}]}}}}'
    results, errors = run_tests(
        [
            RULES,
            PolicyModule(
                "t_test.rego",
                "package main\nimport rego.v1\n"
                + rules
                + f"test_other if count(foreign) == 1 with input as {doc}"
                ' with data.registry.prefix as "ghcr.io/"\n'
                f"test_ours if count(foreign) == 0 with input as {doc}"
                ' with data.registry as {"prefix": "ngi"}\n'
                f"test_files if count(foreign) == 1 with input as {doc}\n",
            ),
        ],
        {"registry": {"prefix": "quay.io/"}},
    )
    assert errors == []
    assert [(r.name, r.passed, r.message) for r in results] == [
        ("main.test_other", True, ""),
        ("main.test_ours", True, ""),
        ("main.test_files", True, ""),
    ]


def test_a_rule_that_is_not_a_test_saying_with_leaves_the_file_alone() -> None:
    text = (
        "package main\nprobe := deny with input as {}\n"
        "test_x if count(deny) == 0 with input as {}\n"
    )
    assert with_input(text, ["test_x"]) == (text, {})


def test_a_fallback_test_that_crashes_fails_and_the_rewritten_ones_still_pass() -> None:
    """The engine's own `with` crashes on the builtins: that test FAILs with the reason,
    naming the test; the tests of the same file that were rewritten pass."""
    results = outcomes(
        f"test_first if count(deny) == 1 with input as {NO_LIMIT}\n"
        "test_two if {\n"
        f"\tcount(deny) == 1 with input as {NO_LIMIT}\n"
        '\tcount(deny) == 0 with input as {"kind": "Service"}\n'
        "}\n"
        'test_part if count(deny) == 0 with input.kind as "Service"\n'
        "test_last if count(warn) == 0 with input as {}\n"
    )
    assert {n: r.passed for n, r in results.items()} == {
        "test_first": True,
        "test_two": False,
        "test_part": False,
        "test_last": True,
    }
    for name in ("test_two", "test_part"):
        assert results[name].message.startswith("the Rego engine crashed (signal SIG")
        assert "known limit of regopy 1.5.2" in results[name].message


def test_a_test_without_with_is_not_lost_with_a_crashing_one() -> None:
    """A file with nothing to rewrite but a test the engine's `with` crashes on: the
    tests without `with` still run apart from it, and pass."""
    results = outcomes(
        "test_two if {\n"
        f"\tcount(deny) == 1 with input as {NO_LIMIT}\n"
        '\tcount(deny) == 0 with input as {"kind": "Service"}\n'
        "}\n"
        "test_plain if count(deny) == 0\n"
    )
    assert {n: r.passed for n, r in results.items()} == {"test_two": False, "test_plain": True}
    assert results["test_two"].message.startswith("the Rego engine crashed (signal SIG")


def test_a_rewritten_test_the_engine_dies_in_fails_naming_it_and_the_next_runs() -> None:
    """The engine dies (past its memory limit) in a rewritten test: that test FAILs with
    the reason; a new child runs the tests after it."""
    results = outcomes(
        'huge contains "x" if count(numbers.range(1, input.n)) > 0\n'
        'test_huge if count(huge) == 1 with input as {"n": 50000000}\n'
        f"test_after if count(deny) == 1 with input as {NO_LIMIT}\n"
    )
    assert {n: r.passed for n, r in results.items()} == {"test_huge": False, "test_after": True}
    assert results["test_huge"].message.startswith("the Rego engine crashed (out of memory")


def test_a_fallback_the_engine_runs_passes() -> None:
    """A fallback `with` the engine survives (no builtin reached) is run as before."""
    results = outcomes(
        "small if data.x.y == 1\ntest_data if small with data.x.y as 1\n"
        'test_twice if {\n\tinput.a == 1 with input as {"a": 1}\n'
        '\tinput.a == 2 with input as {"a": 2}\n}\n'
    )
    assert {n: (r.passed, r.message) for n, r in results.items()} == {
        "test_data": (True, ""),
        "test_twice": (True, ""),
    }


def test_errors_name_the_users_file_and_line() -> None:
    """A syntax error inside the value or in the body: the file and line of the test
    file, not of the rewritten text."""
    cases = [
        (
            'test_a if {\n\tcount(deny) == 1 with input as {"kind": "Deployment",\n\t\t"a": }\n}\n',
            4,
        ),
        ('test_a if {\n\tcount(deny) == 1 with input as {"kind": "Deployment"}\n\tx := \n}\n', 5),
    ]
    for text, line in cases:
        results, errors = run_tests(
            [RULES, PolicyModule("t_test.rego", "package main\nimport rego.v1\n" + text)], {}
        )
        assert results == []
        assert [e.kind for e in errors] == ["compile"]
        assert errors[0].message.startswith(f"t_test.rego:{line}: "), errors[0].message


def test_policy_test_runs_conftest_tests_end_to_end(tmp_path: Path) -> None:
    """`gitops-promote policy test` on a directory of Conftest rules and their tests:
    every `with input as` test passes (exit 0); a wrong expectation is a FAIL (exit 1)."""
    rules_test = (STYLE / "rules_test.rego").read_text()
    work = checkout(
        tmp_path,
        {
            "conftest/rules.rego": RULES.text,
            "conftest/rules_test.rego": rules_test,
            "wrong/rules.rego": RULES.text,
            "wrong/rules_test.rego": rules_test.replace(
                "count(deny) == 0 with input as web", "count(deny) == 1 with input as web"
            ),
        },
        library=False,
    )
    run = cli("policy", "test", "--repo", str(work), "conftest")
    assert "conftest/rules_test.rego:\ndata.main.test_limit_missing_is_denied: PASS\n" in run.stdout
    assert run.stdout.rstrip().endswith("PASS: 9/9")
    wrong = cli("policy", "test", "--repo", str(work), "wrong", "--json", check=1)
    verdicts = json.loads(wrong.stdout)
    assert (verdicts["passed"], verdicts["failed"]) == (8, 1)
    failed = cli("policy", "test", "--repo", str(work), "wrong", check=1).stdout
    assert "data.main.test_old_syntax: FAIL (undefined)" in failed
