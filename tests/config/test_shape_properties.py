"""Properties of the schema-to-problem mapping over arbitrary promotion.yaml documents: it never
crashes, every problem has a line inside the file and one line of text, and a document the
loader accepts is one the JSON Schema accepts."""

from __future__ import annotations

import io
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from config.fixtures import VALID
from gitops_promote.adapters.yamlsafe import load, plain
from gitops_promote.config.load import parse_config
from gitops_promote.config.shape import schema
from gitops_promote.errors import ConfigError

KEYS = sorted(
    {
        *schema()["properties"],
        *(k for d in schema()["$defs"].values() for k in d.get("properties", {})),
        "x-anchor",
        "requre_digest",
        "Name",
    }
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(
        [
            "",
            " ",
            "dev",
            "prod",
            "Prod",
            "push",
            "pull-request",
            "warn",
            "1h",
            "0s",
            "1.5h",
            "apps/{app}/{env}",
            "/abs/{app}",
            "{ap}",
            "ghcr.io/o/api",
            "ghcr.io/o/api:v1",
            "0 16 * * FRI",
            "0 25 * * *",
            "@reboot",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "Europe/Berlin",
            "Mars/Base",
            "@org/team",
            "promote/{env}/{app}",
        ]
    ),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)


def _yaml(document: Any) -> str:
    out = io.StringIO()
    dumper = YAML(typ="safe", pure=True)
    dumper.default_flow_style = False
    dumper.dump(document, out)
    return out.getvalue()


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid document with one value somewhere replaced by an arbitrary one."""

    def replace(path_value: tuple[list[int], Any]) -> dict[str, Any]:
        choices, value = path_value
        copy: Any = plain(base)
        node = copy
        for choice in choices:
            children = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not children:
                break
            step = children[choice % len(children)]
            if not isinstance(node[step], dict | list) or not node[step]:
                node[step] = value
                return dict(copy)
            node = node[step]
        return dict(copy)

    return st.tuples(st.lists(st.integers(0, 50), min_size=1, max_size=6), VALUES).map(replace)


BASE = plain(load(VALID[0].read_text("utf-8"), "base.yaml"))


def _check(text: str) -> None:
    lines = text.count("\n") + 1
    try:
        parse_config(text, "promotion.yaml")
    except ConfigError as err:
        problems = err.problems
    else:
        problems = ()
    for problem in problems:
        assert problem.line is not None, problem
        assert 1 <= problem.line <= lines, problem
        assert "\n" not in problem.message, problem
    if problems:
        return
    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(plain(load(text, "t"))))
    assert errors == [], "the loader accepted what the schema refuses"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_arbitrary_mappings_give_problems_with_lines(document: dict[str, Any]) -> None:
    """Any mapping of known and unknown keys to any values: problems with a line, no crash."""
    _check(_yaml(document))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations(BASE))
def test_a_valid_file_with_one_value_replaced(document: dict[str, Any]) -> None:
    """A valid file with any one value replaced by anything: problems with a line, or a
    model the schema agrees with."""
    _check(_yaml(document))
