"""Regenerate api.github.com.trimmed.json from GitHub's official OpenAPI description.

Installs the pinned npm package ``@octokit/openapi`` into a temporary directory
(``npm install --prefix``), checks the file's sha256, keeps only the operations listed in
OPERATIONS plus every component they reference (transitively), and writes the result
deterministically next to this script. Run from anywhere:

    python tests/support/openapi/regenerate.py            # rewrite the trimmed file
    python tests/support/openapi/regenerate.py --check    # exit 1 if it is out of date
    python tests/support/openapi/regenerate.py --source FILE   # use a local copy instead

The GitHub fake (tests/support/github_fake/) loads the trimmed file; an operation it
serves must be listed here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
SPEC_FILE = "generated/api.github.com.json"
SPEC_SHA256 = "829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a"
OUTPUT = Path(__file__).with_name("api.github.com.trimmed.json")

# operationId -> what the fake uses it for; sorted, one per line, so diffs stay readable.
OPERATIONS: tuple[str, ...] = (
    "apps/create-installation-access-token",
    "apps/get-repo-installation",
    "checks/create",
    "checks/update",
    "issues/add-labels",
    "issues/create-comment",
    "issues/get",
    "issues/list-comments",
    "issues/list-events",
    "issues/list-labels-on-issue",
    "issues/remove-label",
    "issues/set-labels",
    "issues/update-comment",
    "pulls/create",
    "pulls/get",
    "pulls/list",
    "pulls/request-reviewers",
    "pulls/update",
    "repos/create-commit-status",
    "repos/get",
    "repos/list-pull-requests-associated-with-commit",
)

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def fetch_spec(workdir: Path) -> Path:
    """Install the pinned package into ``workdir`` and return the spec file's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not on PATH: install Node.js/npm (tests/run.sh does)")
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(workdir),
            "--no-save",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--silent",
            f"{PACKAGE}@{VERSION}",
        ],
        check=True,
    )
    return workdir / "node_modules" / PACKAGE / SPEC_FILE


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"external $ref not supported: {ref}")
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(spec: dict[str, Any], operations: tuple[str, ...], source_sha256: str) -> dict[str, Any]:
    """The spec reduced to ``operations`` and the components they reference."""
    wanted = set(operations)
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        kept = {
            method: op
            for method, op in item.items()
            if method in _METHODS and op.get("operationId") in wanted
        }
        if kept:
            shared = {k: v for k, v in item.items() if k not in _METHODS}
            paths[path] = {**shared, **kept}
            wanted -= {op["operationId"] for op in kept.values()}
    if wanted:
        raise SystemExit(f"operations not in the spec: {sorted(wanted)}")

    # Collect referenced components transitively.
    seen: set[str] = set()
    todo = list(_refs(paths))
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        todo.extend(_refs(_resolve(spec, ref)))
    components: dict[str, dict[str, Any]] = {}
    for ref in seen:
        _, _, section, name = ref.split("/", 3)
        components.setdefault(section, {})[name] = spec["components"][section][name]

    info = dict(spec["info"])
    info["x-trimmed-from"] = {
        "package": PACKAGE,
        "version": VERSION,
        "file": SPEC_FILE,
        "sha256": source_sha256,
        "operations": sorted(operations),
        "regenerate": "python tests/support/openapi/regenerate.py",
    }
    return {
        "openapi": spec["openapi"],
        "info": info,
        "servers": spec.get("servers", []),
        "paths": dict(sorted(paths.items())),
        "components": {
            section: dict(sorted(items.items())) for section, items in sorted(components.items())
        },
    }


def render(trimmed: dict[str, Any]) -> str:
    return json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="a local api.github.com.json to trim")
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="octokit-openapi-") as tmp:
        source = args.source or fetch_spec(Path(tmp))
        raw = source.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != SPEC_SHA256:
            print(
                f"{source}: sha256 {digest} is not the pinned {SPEC_SHA256} "
                f"({PACKAGE}@{VERSION}); update SPEC_SHA256 only when moving the pin",
                file=sys.stderr,
            )
            return 1
        text = render(trim(json.loads(raw), OPERATIONS, digest))

    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{OUTPUT.name} is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text)} bytes, {len(OPERATIONS)} operations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
