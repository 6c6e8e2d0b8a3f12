"""The committed trimmed OpenAPI description matches its regeneration script and the fake."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from support.github_fake import operations

OPENAPI = Path(__file__).resolve().parent.parent / "support" / "openapi"


def _regenerate_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regenerate", OPENAPI / "regenerate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            out += _refs(value)
        return out
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_trimmed_file_names_its_source_and_operations() -> None:
    """The file records the pinned package, version, sha256 and the operation list that the
    script trims by; the fake implements exactly those operations."""
    regen = _regenerate_module()
    spec = json.loads((OPENAPI / "api.github.com.trimmed.json").read_text(encoding="utf-8"))
    source = spec["info"]["x-trimmed-from"]
    assert source["package"] == "@octokit/openapi"
    assert source["version"] == regen.VERSION == "23.0.2"
    assert source["file"] == "generated/api.github.com.json"
    assert source["sha256"] == regen.SPEC_SHA256
    assert source["operations"] == sorted(regen.OPERATIONS)
    in_file = {
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert in_file == set(regen.OPERATIONS) == set(operations.HANDLERS)


def test_trimmed_file_is_self_contained() -> None:
    """Every $ref in the trimmed file resolves inside it (nothing was trimmed too far)."""
    spec = json.loads((OPENAPI / "api.github.com.trimmed.json").read_text(encoding="utf-8"))
    for ref in set(_refs(spec)):
        assert ref.startswith("#/")
        node: Any = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict), ref


def test_trimming_is_deterministic() -> None:
    """Trimming the (already trimmed) description again by the same list changes nothing
    in paths or components: the script keeps exactly what the operations reference."""
    regen = _regenerate_module()
    text = (OPENAPI / "api.github.com.trimmed.json").read_text(encoding="utf-8")
    spec = json.loads(text)
    again = regen.trim(spec, regen.OPERATIONS, regen.SPEC_SHA256)
    assert again["paths"] == spec["paths"]
    assert again["components"] == spec["components"]
    assert regen.render(again) == regen.render(json.loads(regen.render(again)))
