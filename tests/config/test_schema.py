"""The JSON Schema of promotion.yaml agrees with the loader: same keys, same verdicts where
JSON Schema can express the rule, a description for every field, shipped in the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock; tests only
import pytest

from config.fixtures import EXAMPLE, INVALID, VALID, expected
from gitops_promote.adapters.yamlsafe import load, plain
from gitops_promote.config.fields import FIELDS
from gitops_promote.config.load import parse_config, schema
from gitops_promote.errors import ConfigError

ROOT = Path(__file__).parents[2]


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def schema_errors(text: str) -> list[str]:
    return [e.message for e in validator().iter_errors(plain(load(text, "t.yaml")))]


def test_schema_is_valid_draft_2020_12() -> None:
    """The shipped schema is itself a valid draft 2020-12 schema."""
    document = schema()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("path", [*VALID, EXAMPLE], ids=lambda p: p.name)
def test_schema_accepts_valid_files(path: Path) -> None:
    """Every file the loader accepts (DESIGN.md's example included) passes the schema."""
    assert schema_errors(path.read_text("utf-8")) == []


@pytest.mark.parametrize(
    "path",
    [p for p in INVALID if expected(p).schema != "unparsable"],
    ids=lambda p: p.stem,
)
def test_schema_verdict_on_invalid_files(path: Path) -> None:
    """Invalid fixtures marked 'reject' fail the schema too; those marked 'accept' break only
    rules JSON Schema cannot express (references, cycles, duplicates, time zones)."""
    errors = schema_errors(path.read_text("utf-8"))
    if expected(path).schema == "reject":
        assert errors, "schema accepted a file the loader rejects"
    else:
        assert errors == []


BASE = """\
version: 1
settings: {SETTINGS}
environments:
  - name: dev
    path: "apps/{app}/dev"
    mode: push
  - name: prod
    path: "apps/{app}/prod"
    from: dev
    ENV
apps:
  api: {image: ghcr.io/o/api, APP}
"""


def doc(env: str = "soak: 1h", app: str = "editor: auto", settings: str = "{}") -> str:
    return BASE.replace("ENV", env).replace("APP", app).replace("{SETTINGS}", settings)


ONE_PROBLEM = [
    ("unknown env key", doc(env="sok: 1h")),
    ("unknown app key", doc(app="imgae: x")),
    ("unknown settings key", doc(settings="{base_branch: main}")),
    ("bool as text", doc(env="auto: 'yes'")),
    ("duration without unit", doc(env="soak: 3600")),
    ("fractional duration", doc(env="soak: 1.5h")),
    ("units out of order", doc(env="soak: 30m1h")),
    ("bad mode", doc(env="mode: manual")),
    ("bad editor", doc(app="editor: kustomise")),
    ("bad drift severity", doc(env="drift: {severity: error}")),
    ("bad auto-merge", doc(env="pull-request: {auto-merge: fast}")),
    ("labels not a list", doc(env="pull-request: {labels: promotion}")),
    ("bad owner", doc(env="owners: [oncall]")),
    ("image with tag", doc(app="track: '1.x'").replace("ghcr.io/o/api", "ghcr.io/o/api:v1")),
    ("uppercase name", doc().replace("name: prod", "name: Prod").replace("from: dev", "")),
    ("absolute path", doc().replace('"apps/{app}/prod"', '"/apps/{app}/prod"')),
    ("dotdot path", doc().replace('"apps/{app}/prod"', '"apps/{app}/../prod"')),
    ("unknown path placeholder", doc().replace('"apps/{app}/prod"', '"apps/{app}/{stage}"')),
    ("unknown template placeholder", doc(settings="{commit-message: 'promote {ap}'}")),
    ("format spec in template", doc(settings="{pr-title: '{app:>9}'}")),
    ("digest in branch", doc(settings="{branch: 'promote/{env}/{app}/{short}'}")),
    ("branch without env", doc(settings="{branch: 'promote/{app}'}")),
    ("version 2", doc().replace("version: 1", "version: 2")),
    ("version missing", doc().replace("version: 1\n", "")),
    (
        "freeze both shapes",
        doc(
            env="freeze: [{schedule: '0 1 * * *', duration: 1h, "
            "start: '2026-01-01', end: '2026-01-02'}]"
        ),
    ),
    ("freeze neither shape", doc(env="freeze: [{name: x}]")),
    ("freeze schedule only", doc(env="freeze: [{schedule: '0 1 * * *'}]")),
    ("freeze mixed kinds", doc(env="freeze: [{start: '0 23 * * FRI', end: '2026-01-02'}]")),
    ("cron with 4 fields", doc(env="freeze: [{schedule: '0 1 * *', duration: 1h}]")),
    ("not a timestamp", doc(env="freeze: [{start: tomorrow, end: '2026-01-02'}]")),
    (
        "no environments",
        doc().split("environments:")[0] + "environments: []\napps: {a: {image: x/a}}\n",
    ),
]


@pytest.mark.parametrize(("case", "text"), ONE_PROBLEM, ids=[c for c, _ in ONE_PROBLEM])
def test_schema_and_loader_both_reject_expressible_problems(case: str, text: str) -> None:
    """Each problem JSON Schema can express is refused by the schema and by the loader."""
    assert schema_errors(doc()) == []
    parse_config(doc())  # the unmodified base is valid
    assert schema_errors(text), f"schema accepted: {case}"
    with pytest.raises(ConfigError):
        parse_config(text)


def _properties(node: dict[str, Any]) -> set[str]:
    return set(node.get("properties", {}))


def test_every_schema_field_has_an_explainer() -> None:
    """Each key the schema allows in a mapping is a field the loader explains (or a mapping
    of its own), and the loader knows no field the schema lacks."""
    document = schema()
    defs = document["$defs"]
    nested = {"settings": {"author"}, "environment": {"freeze", "pull-request", "drift"}}
    levels = {
        "settings": defs["settings"],
        "author": defs["settings"]["properties"]["author"],
        "environment": defs["environment"],
        "freeze": defs["freezeWindow"],
        "pull-request": defs["pullRequest"],
        "drift": defs["drift"],
        "app": defs["app"],
        "top": {"properties": {"policies": {}}},  # the one top-level key with an explainer
        "policies": document["properties"]["policies"],
    }
    assert _properties(document) == {"version", "settings", "environments", "apps", "policies"}
    assert set(FIELDS) == set(levels)
    for level, node in levels.items():
        assert _properties(node) - nested.get(level, set()) == set(FIELDS[level]), level


def _walk(node: Any, path: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if not isinstance(sub, dict) or not sub.get("description"):
                out.append(f"{path}.{name}")
        for key, sub in node.items():
            if key not in {"oneOf", "anyOf", "allOf", "not"}:  # constraints, not fields
                _walk(sub, f"{path}.{key}", out)
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            _walk(sub, f"{path}[{index}]", out)


def test_every_field_has_a_description() -> None:
    """Every property and definition carries a description (the README reference is
    generated from them)."""
    document = schema()
    missing: list[str] = []
    _walk(document, "$", missing)
    missing += [f"$defs.{n}" for n, d in document["$defs"].items() if not d.get("description")]
    assert document.get("description")
    assert missing == []


def test_schema_resource_is_in_the_wheel(tmp_path: Path) -> None:
    """The schema file ships as package data in the built wheel."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = json.loads(archive.read("gitops_promote/config/schema.json"))
    assert shipped == schema()
