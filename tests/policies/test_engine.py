"""The engine in its child process: Conftest's reading of the rules, and every way a policy
can fail (compile error, runtime error, time limit, crash) as a PolicyError naming the
policy, never an exception, with the other packages' verdicts kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitops_promote.adapters.rego import (
    PolicyError,
    PolicyModule,
    PolicyOutcome,
    engine,
    evaluate,
    run_tests,
)
from gitops_promote.adapters.rego.child import (
    attribute,
    functions_defined,
    package,
    rule_names,
    unknown_calls,
    upgrade,
)
from policies.conftest import LIBRARY

POD = {"kind": "Pod", "metadata": {"name": "web"}}
SERVICE = {"kind": "Service", "metadata": {"name": "web"}}


def module(path: str, text: str) -> PolicyModule:
    return PolicyModule(path, text)


def broken(name: str) -> PolicyModule:
    path = LIBRARY / "broken" / name
    return PolicyModule(f"broken/{name}", path.read_text(encoding="utf-8"))


def messages(outcome: PolicyOutcome) -> list[tuple[str, str, int | None]]:
    return [(f.kind, f.message, f.document) for f in outcome.findings]


NEW = module(
    "policy/new.rego",
    "package main\nimport rego.v1\n"
    'deny contains msg if { input.kind == "Pod"; msg := "no pods" }\n',
)
OLD = module(
    "policy/old.rego",
    'package main\ndeny[msg] { input.kind == "Pod"; msg := "old form" }\n'
    'warn[msg] { msg := "always" }\n',
)


def test_old_and_new_syntax_share_a_package() -> None:
    """`deny[msg] { ... }` and `deny contains msg if { ... }` in one package: regopy
    1.5.2 refuses to compile them together as written ("Invalid rule body for object
    rule"); the old head is read as the v1 one, so both rules give their messages, each
    naming its file."""
    outcome = evaluate([NEW, OLD], {}, [POD, SERVICE])
    assert outcome.errors == ()
    assert messages(outcome) == [
        ("deny", "no pods", 0),
        ("deny", "old form", 0),
        ("warn", "always", 0),
        ("warn", "always", 1),
    ]
    assert [f.files for f in outcome.findings[:2]] == [("policy/new.rego",), ("policy/old.rego",)]


def test_the_old_head_is_rewritten_on_its_own_line_only() -> None:
    """Line numbers stay (the engine's messages point at the file's lines); a body that
    does not open on the head's line, and other rules, are left as written."""
    text = (
        "package main\n\ndeny[msg] {\n  msg := 1\n}\nis_pod { true }\nwarn_x[m] { m := 2 }\n"
        'violation[{"msg": m}] if { m := 3 }\n'
    )
    assert upgrade(text) == (
        "package main\n\ndeny contains msg if {\n  msg := 1\n}\nis_pod { true }\n"
        'warn_x contains m if { m := 2 }\nviolation contains {"msg": m} if { m := 3 }\n'
    )
    assert rule_names(text) == ["deny", "warn_x", "violation"]
    assert rule_names("package main\nx if {\n  deny == set()\n}\n") == []
    assert package("# comment\npackage  a.b\n") == "a.b"


def test_prefixed_rules_violation_objects_and_other_values() -> None:
    """deny_*, violation_*, warn_* count; a violation's object gives its `msg`; any other
    value is shown as JSON; a boolean `deny` that holds is one empty message; a rule
    named e.g. `denied` is not a Conftest rule."""
    text = """package main
import rego.v1
deny_tags contains "a tag" if true
violation_obj contains {"msg": "an object", "details": {"x": 1}} if true
violation contains {"no": "msg"} if true
warn_numbers contains 42 if true
denied contains "not a rule" if true
"""
    outcome = evaluate([module("p.rego", text)], {}, [SERVICE])
    assert outcome.errors == ()
    assert sorted(messages(outcome)) == [
        ("deny", "a tag", 0),
        ("violation", "an object", 0),
        ("violation", '{"no": "msg"}', 0),
        ("warn", "42", 0),
    ]
    boolean = module("b.rego", 'package main\nimport rego.v1\ndeny if input.kind == "Pod"\n')
    assert messages(evaluate([boolean], {}, [POD, SERVICE])) == [("deny", "", 0)]


def test_namespaces_choose_the_packages() -> None:
    """`main` by default; `namespaces` names others; all_namespaces takes every package;
    a namespace no module declares is nothing (as Conftest)."""
    other = module("o.rego", 'package team.rules\nimport rego.v1\ndeny contains "team" if true\n')
    assert messages(evaluate([NEW, other], {}, [POD])) == [("deny", "no pods", 0)]
    only = evaluate([NEW, other], {}, [POD], namespaces=["team.rules", "absent"])
    assert messages(only) == [("deny", "team", 0)]
    assert [f.namespace for f in only.findings] == ["team.rules"]
    every = evaluate([NEW, other], {}, [POD], all_namespaces=True)
    assert sorted(messages(every)) == [("deny", "no pods", 0), ("deny", "team", 0)]


def test_data_is_what_the_caller_gives_and_libraries_are_imported() -> None:
    """`data` holds the data documents (merged at its root) and the other packages."""
    lib = module("lib/names.rego", 'package lib.names\nimport rego.v1\nprefix := "team-"\n')
    rule = module(
        "policy/names.rego",
        """package main
import rego.v1
import data.lib.names
deny contains msg if {
	not startswith(input.metadata.name, names.prefix)
	input.kind in data.kinds
	msg := concat("", [input.metadata.name, " does not start with ", names.prefix])
}
""",
    )
    outcome = evaluate([lib, rule], {"kinds": ["Pod"]}, [POD, SERVICE])
    assert outcome.errors == ()
    assert messages(outcome) == [("deny", "web does not start with team-", 0)]


def test_no_environment_and_no_network_builtins() -> None:
    """The child sees no environment: opa.runtime() has an empty `env` whatever the
    parent holds (a token), and http.send / net lookups do not exist in the engine."""
    os.environ["GITOPS_PROMOTE_TOKEN"] = "ghp_policy_must_not_see_this"
    try:
        peek = module(
            "peek.rego",
            "package main\nimport rego.v1\ndeny contains json.marshal(opa.runtime().env) if true\n",
        )
        outcome = evaluate([peek], {}, [POD])
    finally:
        del os.environ["GITOPS_PROMOTE_TOKEN"]
    assert messages(outcome) == [("deny", "{}", 0)]
    fetch = module(
        "fetch.rego",
        'package main\nimport rego.v1\ndeny contains "x" if http.send({"method": "GET", '
        '"url": "http://169.254.169.254/"}).status_code == 200\n',
    )
    failed = evaluate([fetch], {}, [POD])
    assert failed.findings == ()
    assert [(e.kind, e.files) for e in failed.errors] == [("compile", ("fetch.rego",))]


def test_a_call_of_a_function_the_engine_lacks_is_refused_not_silently_undefined() -> None:
    """regopy 1.5.2 reads a call of an unknown function as undefined and says nothing: a
    rule on net.cidr_contains (which it lacks) would never fire. Such a file is a compile
    error naming the line; the package's other files still answer."""
    lacking = module(
        "policy/cidr.rego",
        'package main\nimport rego.v1\n\n# net.cidr_contains("a", "b") in a comment is fine\n'
        'deny contains "in 10/8" if {\n\tmsg := "net.lookup_ip_addr(x)"\n'
        '\tnet.cidr_contains("10.0.0.0/8", input.ip)\n}\n',
    )
    outcome = evaluate([NEW, lacking], {}, [POD])
    assert messages(outcome) == [("deny", "no pods", 0)]
    assert outcome.errors == (
        PolicyError(
            "compile",
            "policy/cidr.rego:7: unknown function net.cidr_contains: not a builtin of the "
            "engine (regopy 1.5.2; no network or file builtins) nor a function of the policies",
            ("policy/cidr.rego",),
        ),
    )
    defined = functions_defined("package x\nf(a) := a\ng(b) if b\n")
    assert defined == {"f", "g"}
    code = (
        "package x\nimport data.lib.k8s\nimport data.other as o\n"
        "y := k8s.c(1)\nz := o.d(f(2), data.q.r(3))\n"
    )
    assert unknown_calls(code, {"f"}, lambda _name: False) == []
    builtins = {"count"}.__contains__
    assert unknown_calls("package x\ny := count(z) + nope(1)\n", set(), builtins) == [(2, "nope")]


def test_a_compile_error_names_the_file_and_line_and_hides_no_other_package() -> None:
    outcome = evaluate([NEW, broken("syntax.rego")], {}, [POD], namespaces=["main", "syntax"])
    assert messages(outcome) == [("deny", "no pods", 0)]
    (error,) = outcome.errors
    assert error.kind == "compile"
    assert error.files == ("broken/syntax.rego",)
    assert error.message.startswith("broken/syntax.rego:")


def test_a_module_without_a_package_is_a_compile_error() -> None:
    outcome = evaluate([NEW, module("bare.rego", "deny contains 1 if true\n")], {}, [POD])
    assert messages(outcome) == [("deny", "no pods", 0)]
    assert outcome.errors == (
        PolicyError(
            "compile",
            "bare.rego: no `package` line (a policy starts with e.g. `package main`)",
            ("bare.rego",),
        ),
    )


def test_a_runtime_error_names_the_rule_and_the_file() -> None:
    outcome = evaluate([NEW, broken("runtime.rego")], {}, [POD], namespaces=["main", "errors"])
    assert messages(outcome) == [("deny", "no pods", 0)]
    assert outcome.errors == (
        PolicyError(
            "runtime",
            "errors.deny: complete rules must not produce multiple outputs",
            ("broken/runtime.rego",),
        ),
    )


def test_a_regex_that_never_returns_is_a_timeout_and_the_others_still_answer() -> None:
    """The child is killed at the time limit; a new child evaluates what is left."""
    started = time.monotonic()
    outcome = evaluate(
        [broken("loop.rego"), NEW],
        {},
        [POD],
        namespaces=["loops", "main"],
        timeout=1.5,
    )
    assert time.monotonic() - started < 6
    assert messages(outcome) == [("deny", "no pods", 0)]
    assert outcome.errors == (
        PolicyError(
            "timeout",
            "package loops (broken/loop.rego) ran past the time limit of 1.5s",
            ("broken/loop.rego",),
        ),
    )


def test_a_policy_that_crashes_the_engine_is_an_error_and_the_others_still_answer() -> None:
    """crash.rego kills regopy while it compiles (a signal): each package is then compiled
    apart, so main still answers and the crash names crash.rego only."""
    outcome = evaluate([broken("crash.rego"), NEW], {}, [POD], namespaces=["crash", "main"])
    assert messages(outcome) == [("deny", "no pods", 0)]
    (error,) = outcome.errors
    assert error.kind == "crash"
    assert error.files == ("broken/crash.rego",)
    assert error.message.startswith("the Rego engine crashed (signal SIG")
    assert "evaluating package crash (broken/crash.rego)" in error.message


def test_a_policy_that_takes_gigabytes_is_stopped_and_the_others_still_answer() -> None:
    """numbers.range of fifty million numbers grows by gigabytes in seconds: the engine may
    allocate 1 GiB past its start-up, then aborts; that package is a crash naming the
    memory limit, the other package answers."""
    started = time.monotonic()
    outcome = evaluate(
        [broken("memory.rego"), NEW], {}, [POD], namespaces=["memory", "main"], timeout=30
    )
    assert time.monotonic() - started < 20
    assert messages(outcome) == [("deny", "no pods", 0)]
    assert outcome.errors == (
        PolicyError(
            "crash",
            "the Rego engine crashed (out of memory: the policies may allocate 1024 MiB) "
            "evaluating package memory (broken/memory.rego)",
            ("broken/memory.rego",),
        ),
    )


def test_one_evaluation_of_many_documents_is_one_child() -> None:
    """All inputs go to one child: 200 documents cost little more than one."""
    documents = [{"kind": "Pod", "metadata": {"name": f"p{i}"}} for i in range(200)]
    evaluate([NEW, OLD], {}, [POD])  # warm the file cache
    started = time.monotonic()
    one = evaluate([NEW, OLD], {}, [POD])
    single = time.monotonic() - started
    started = time.monotonic()
    many = evaluate([NEW, OLD], {}, documents)
    batch = time.monotonic() - started
    assert len(one.findings) == 3
    assert len(many.findings) == 600
    assert batch < single + 1.0


def test_no_input_no_package_no_child() -> None:
    assert evaluate([NEW], {}, []) == PolicyOutcome()
    assert evaluate([], {}, [POD]) == PolicyOutcome()


def test_a_hostile_message_comes_back_unescaped_for_the_caller_to_escape() -> None:
    """The engine's values are data: a message with a newline, `::error::` and an ANSI
    sequence is returned as the rule wrote it (the report escapes it)."""
    hostile = module(
        "h.rego",
        'package main\nimport rego.v1\ndeny contains concat("", ["a\\n::error::b", '
        'input.metadata.name, "\\u001b[31m"]) if true\n',
    )
    outcome = evaluate([hostile], {}, [POD])
    assert messages(outcome) == [("deny", "a\n::error::bweb\x1b[31m", 0)]


def test_huge_messages_are_clipped_and_floods_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message is kept to 2,000 characters; one evaluation to 10,000 messages (100
    here), then an error says how many there were."""
    long = module(
        "long.rego",
        'package main\nimport rego.v1\ndeny contains concat("", [x | numbers.range(1, 5000)[_]; '
        "x := input.c]) if true\n",
    )
    (finding,) = evaluate([long], {}, [{"c": "é"}]).findings
    assert finding.message == "é" * 2000 + "… (3000 more characters)"
    flood = module(
        "flood.rego",
        "package main\nimport rego.v1\ndeny contains x if some x in numbers.range(1, 300)\n",
    )
    monkeypatch.setattr(engine, "MAX_FINDINGS", 100)
    outcome = evaluate([flood], {}, [POD, SERVICE])
    assert len(outcome.findings) == 100
    assert outcome.errors == (
        PolicyError(
            "runtime", "the policies gave 600 messages; the first 100 are kept", ("flood.rego",)
        ),
    )


def test_a_rule_others_name_is_not_split_by_file() -> None:
    """`deny` in two files is queried file by file (each message names its file), unless
    another rule names it (`count(deny)`): then it is one rule naming both files."""
    a = ("a.rego", 'package main\nimport rego.v1\ndeny contains "a" if true\n')
    b = ("b.rego", 'package main\nimport rego.v1\ndeny contains "b" if true\n')
    _, rules = attribute([a, b], ["main"])
    assert rules == {"main": {"deny__gp1": ("deny", ["a.rego"]), "deny__gp2": ("deny", ["b.rego"])}}
    c = ("c.rego", 'package main\nimport rego.v1\nwarn contains "many" if count(deny) > 1\n')
    d = ("d.rego", "package main\nimport rego.v1\nnone if {\n  deny == set()\n}\n")
    _, rules = attribute([a, b, d], ["main"])
    assert rules["main"]["deny"] == ("deny", ["a.rego", "b.rego"])  # compared in a body
    _, rules = attribute([a, b, c], ["main"])
    assert rules == {"main": {"deny": ("deny", ["a.rego", "b.rego"]), "warn": ("warn", ["c.rego"])}}
    outcome = evaluate([PolicyModule(*a), PolicyModule(*b), PolicyModule(*c)], {}, [POD])
    assert messages(outcome) == [("deny", "a", 0), ("deny", "b", 0), ("warn", "many", 0)]
    assert outcome.findings[0].files == ("a.rego", "b.rego")


# -- policy unit tests --------------------------------------------------------------------------


def library_modules(*dirs: str) -> list[PolicyModule]:
    out = []
    for directory in dirs:
        for path in sorted((LIBRARY / directory).rglob("*.rego")):
            rel = path.relative_to(LIBRARY).as_posix()
            out.append(PolicyModule(rel, path.read_text(encoding="utf-8")))
    return out


def test_unit_tests_pass_fail_and_a_crashing_test_file_hides_no_other() -> None:
    """The library's tests pass; a failing test says FAIL (undefined); a test giving two
    different inputs with `with input as` is run by the engine's own `with`, which crashes
    regopy 1.5.2 (measured here): that file's test fails with the reason, the other files'
    tests still run."""
    data = {"allowed_registries": ["ghcr.io/myorg/"], "required_labels": ["name"]}
    results, errors = run_tests(library_modules("policy", "failing", "crashing"), data)
    assert errors == []
    verdicts = {r.name: (r.file, r.passed) for r in results}
    assert verdicts == {
        "main.test_latest_is_denied": ("policy/latest_test.rego", True),
        "main.test_untagged_is_denied": ("policy/latest_test.rego", True),
        "main.test_version_tag_passes": ("policy/latest_test.rego", True),
        "main.test_digest_passes": ("policy/latest_test.rego", True),
        "main.test_message_names_the_container": ("policy/latest_test.rego", True),
        "main.test_privileged_and_host_path": ("policy/security_test.rego", True),
        "main.test_registry_allow_list_from_data": ("policy/security_test.rego", True),
        "main.test_single_replica_is_fine": ("failing/replicas_test.rego", False),
        "main.test_deny_with_two_inputs": ("crashing/deny_test.rego", False),
    }
    by_name = {r.name: r for r in results}
    assert by_name["main.test_single_replica_is_fine"].message == "undefined"
    crashed = by_name["main.test_deny_with_two_inputs"].message
    assert crashed.startswith("the Rego engine crashed (signal SIG")
    assert "known limit of regopy 1.5.2" in crashed


def test_a_test_that_hangs_fails_with_the_time_limit_and_the_next_runs() -> None:
    tests = module(
        "t_test.rego",
        """package main
import rego.v1
test_hangs if regex.match(`^(a+)+$`, concat("", [x, "b"]))
x := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
test_after if true
""",
    )
    results, errors = run_tests([tests], {}, timeout=1.5)
    assert errors == []
    assert [(r.name, r.passed, r.message) for r in results] == [
        ("main.test_hangs", False, "ran past the time limit of 1.5s"),
        ("main.test_after", True, ""),
    ]


def test_two_test_files_may_name_a_test_alike() -> None:
    """Each test file runs with the policies alone: `test_ok` in two files is two tests."""
    a = module("a_test.rego", "package main\nimport rego.v1\ntest_ok if true\n")
    b = module("b_test.rego", "package main\nimport rego.v1\ntest_ok if false\n")
    results, errors = run_tests([a, b], {})
    assert errors == []
    assert [(r.file, r.name, r.passed) for r in results] == [
        ("a_test.rego", "main.test_ok", True),
        ("b_test.rego", "main.test_ok", False),
    ]


def test_a_test_file_that_does_not_compile_is_an_error() -> None:
    bad = module("bad_test.rego", "package main\ntest_x if {\n")
    results, errors = run_tests([bad], {})
    assert results == []
    assert [(e.kind, e.files) for e in errors] == [("compile", ("bad_test.rego",))]
    assert errors[0].message.startswith("bad_test.rego:")


@pytest.mark.parametrize(
    "name", ["crash.rego", "loop.rego", "memory.rego", "runtime.rego", "syntax.rego"]
)
def test_every_broken_library_policy_is_an_error_never_an_exception(name: str) -> None:
    outcome = evaluate([broken(name)], {}, [POD], all_namespaces=True, timeout=1.5)
    assert outcome.findings == ()
    assert len(outcome.errors) == 1
    assert outcome.errors[0].files == (f"broken/{name}",)
    assert Path(LIBRARY / "broken" / name).is_file()


def test_the_values_load_without_the_engine() -> None:
    """The pure layers import .model (through the package): neither the engine's process
    machinery nor regopy is loaded until evaluate or run_tests is called."""
    import subprocess
    import sys

    code = (
        "import sys, gitops_promote.adapters.rego.model, gitops_promote.adapters.rego\n"
        "loaded = [m for m in ('subprocess', 'regopy', 'gitops_promote.adapters.rego.engine')"
        " if m in sys.modules]\n"
        "print(loaded)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
