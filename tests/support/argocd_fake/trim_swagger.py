"""Regenerate argocd.swagger.trimmed.json from Argo CD's own OpenAPI (swagger 2.0) description.

Argo CD publishes its API description as ``assets/swagger.json`` in argoproj/argo-cd. This
script reads that file at the pinned commit (from a bare clone, ``--git-dir``, default the
mirror below, or a local copy, ``--source``), checks its sha256, keeps only the GET
application operation plus every definition it references (transitively), and writes the
result deterministically next to this script:

    python tests/support/argocd_fake/trim_swagger.py                 # rewrite the trimmed file
    python tests/support/argocd_fake/trim_swagger.py --check         # exit 1 if out of date
    python tests/support/argocd_fake/trim_swagger.py --source FILE   # trim a local copy

The Argo CD fake (tests/support/argocd_fake/) validates every body it serves against it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPOSITORY = "https://github.com/argoproj/argo-cd"
COMMIT = "37ee0097cf851bc2dd7665fc081bbce61a7e836e"
SPEC_FILE = "assets/swagger.json"
SPEC_SHA256 = "41178730cf4301d80247df3189c98f3798f1b350c8829a95f06540810a3221db"
DEFAULT_GIT_DIR = Path("/work/.mirror/argoproj+argo-cd/repo")
OUTPUT = Path(__file__).with_name("argocd.swagger.trimmed.json")

# (path, method): the operations the fake serves.
OPERATIONS: tuple[tuple[str, str], ...] = (("/api/v1/applications/{name}", "get"),)


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


def _definition(ref: str) -> str:
    prefix = "#/definitions/"
    if not ref.startswith(prefix):
        raise SystemExit(f"unsupported $ref (only {prefix}...): {ref}")
    return ref[len(prefix) :]


def trim(spec: dict[str, Any], source_sha256: str) -> dict[str, Any]:
    """The spec reduced to OPERATIONS and the definitions they reference."""
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        try:
            operation = spec["paths"][path][method]
        except KeyError:
            raise SystemExit(f"operation not in the spec: {method.upper()} {path}") from None
        paths.setdefault(path, {})[method] = operation

    seen: set[str] = set()
    todo = [_definition(ref) for ref in _refs(paths)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_definition(ref) for ref in _refs(spec["definitions"][name]))

    info = dict(spec["info"])
    info["x-trimmed-from"] = {
        "repository": REPOSITORY,
        "commit": COMMIT,
        "file": SPEC_FILE,
        "sha256": source_sha256,
        "operations": [f"{method.upper()} {path}" for path, method in OPERATIONS],
        "regenerate": "python tests/support/argocd_fake/trim_swagger.py",
    }
    return {
        "swagger": spec["swagger"],
        "info": info,
        "consumes": spec.get("consumes", []),
        "produces": spec.get("produces", []),
        "paths": dict(sorted(paths.items())),
        "definitions": {name: spec["definitions"][name] for name in sorted(seen)},
    }


def render(trimmed: dict[str, Any]) -> str:
    return json.dumps(trimmed, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def read_source(source: Path | None, git_dir: Path) -> bytes:
    if source is not None:
        return source.read_bytes()
    if not git_dir.is_dir():
        raise SystemExit(
            f"{git_dir} is not a git directory: clone {REPOSITORY} (bare is enough) and pass "
            f"--git-dir, or pass --source with {SPEC_FILE} at commit {COMMIT}"
        )
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{COMMIT}:{SPEC_FILE}"],
        check=True,
        capture_output=True,
    )
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", type=Path, help=f"a local copy of {SPEC_FILE} to trim")
    parser.add_argument("--git-dir", type=Path, default=DEFAULT_GIT_DIR, help="a clone of argo-cd")
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)

    raw = read_source(args.source, args.git_dir)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SPEC_SHA256:
        print(
            f"{args.source or SPEC_FILE}: sha256 {digest} is not the pinned {SPEC_SHA256} "
            f"(argo-cd {COMMIT}); update COMMIT and SPEC_SHA256 together when moving the pin",
            file=sys.stderr,
        )
        return 1
    text = render(trim(json.loads(raw), digest))

    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{OUTPUT.name} is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text)} bytes, {len(OPERATIONS)} operation(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
