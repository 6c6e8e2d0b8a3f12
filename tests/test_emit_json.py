"""``common.emit_json`` writes, a piece at a time, exactly what ``json.dumps(data,
indent=2, default=str)`` gives (then redacted and escaped as a whole would be): hostile
strings, empty and nested containers, non-str keys, generators standing for lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_promote.adapters import secrets
from gitops_promote.adapters.escape import json_output
from gitops_promote.commands import common

HOSTILE = [
    "line\nbreak\r\n",
    "::error::injected",
    "##[error]legacy",
    "ünïcödé ✓ \u2028 \U0001f600",
    "../../etc/passwd",
    "x" * 200_000,
    '"quoted" \\ back',
    "\x00\x1b[31m",
]


def _whole(data: Any) -> str:
    return json_output(secrets.redact(json.dumps(data, indent=2, default=str))) + "\n"


def _streamed(data: Any, capsys: pytest.CaptureFixture[str]) -> str:
    common.emit_json(data)
    return capsys.readouterr().out


def _soak_like(n: int) -> dict[str, Any]:
    return {
        "now": "2026-12-04T00:00:00+00:00",
        "dry-run": True,
        "targets": [
            {
                "app": HOSTILE[i % len(HOSTILE)],
                "env": f"env-{i}",
                "when": datetime(2026, 1, 1, tzinfo=UTC),
                "blocked-by": [],
                "gates": [{"name": s, "ok": None, "n": 10**30} for s in HOSTILE[:3]],
                "empty": {},
            }
            for i in range(n)
        ],
        "promoted": 0,
        "notes": list(HOSTILE),
        "shard": {"index": 1, "count": 2, "targets": [1.5, -0.0, float("inf")]},
    }


@pytest.mark.parametrize(
    "data",
    [
        _soak_like(30),
        _soak_like(0),
        [],
        {},
        [{"a": 1}, [], {}, [[1, [2]]], "s", None, 1e300],
        {1: "int key", None: "none", "s": [1]},
        {"outer": {2: "x", "k": {"deep": HOSTILE}}},
        HOSTILE,
        "just a string\n",
        42,
    ],
)
def test_streamed_equals_whole(data: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert _streamed(data, capsys) == _whole(data)


def test_generator_is_written_as_the_list_it_yields(capsys: pytest.CaptureFixture[str]) -> None:
    data = _soak_like(25)
    listed = _whole(data)
    targets = list(data["targets"])
    data["targets"] = (t for t in targets)
    assert _streamed(data, capsys) == listed
    data["targets"] = iter([])
    assert _streamed(data, capsys) == _whole({**data, "targets": []})
    assert _streamed((x for x in HOSTILE), capsys) == _whole(HOSTILE)


def test_secrets_are_redacted_in_every_piece(capsys: pytest.CaptureFixture[str]) -> None:
    token = "ghp_SECRETtoken1234567890"
    secrets.register(token)
    try:
        data = {
            "targets": [{"error": f"push failed: https://x-access-token:{token}@github.com/o/r"}]
            * 50,
            "notes": [token, f"{token}\n{token}"],
        }
        out = _streamed(data, capsys)
        assert token not in out
        assert out == _whole(data)
    finally:
        secrets.clear()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value(data: Any) -> None:
    import io
    import sys

    out, sys.stdout = sys.stdout, io.StringIO()
    try:
        common.emit_json(data)
        got = sys.stdout.getvalue()
    finally:
        sys.stdout = out
    assert got == _whole(data)
