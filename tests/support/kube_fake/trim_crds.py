"""Regenerate the trimmed Flux CRD schemas the Kubernetes API fake validates against.

Takes Flux's own published CustomResourceDefinitions at pinned commits (kustomize-controller
and helm-controller, ``config/crd/bases/``), checks each file's sha256, keeps only the
served version's ``openAPIV3Schema`` (Kustomization v1, HelmRelease v2) and writes it as
JSON next to this script, with where it came from. Run from anywhere:

    python tests/support/kube_fake/trim_crds.py                  # download, rewrite
    python tests/support/kube_fake/trim_crds.py --check          # exit 1 if stale
    python tests/support/kube_fake/trim_crds.py --source-dir DIR # local copies of the CRDs

``--source-dir`` holds the two files under their upstream names, e.g. from bare mirrors:
``git --git-dir=<kustomize-controller> show <commit>:config/crd/bases/<file> > DIR/<file>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Crd:
    repo: str
    commit: str
    path: str
    sha256: str
    version: str
    output: str

    @property
    def filename(self) -> str:
        return Path(self.path).name

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"


CRDS: tuple[Crd, ...] = (
    Crd(
        repo="fluxcd/kustomize-controller",
        commit="186fb3b29138ce82ff61ba1a9370b96a3dd598fe",
        path="config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
        sha256="da23ca0e6b4c80d3d26a91583137491e147ef4ef1e2208aece0d0af4ef851974",
        version="v1",
        output="kustomizations.v1.schema.json",
    ),
    Crd(
        repo="fluxcd/helm-controller",
        commit="0f61a8607a62be64638f2f912d9487e653960a6e",
        path="config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml",
        sha256="aa8638ac68465ceac1f93a617baf5be833c589c51fd78a7384a4a274c252becc",
        version="v2",
        output="helmreleases.v2.schema.json",
    ),
)


def trim(crd: Crd, raw: bytes) -> dict[str, Any]:
    """The served version's schema of ``raw`` (a CRD's YAML), with its provenance."""
    doc = YAML(typ="safe", pure=True).load(raw.decode("utf-8"))
    spec = doc["spec"]
    versions = [v for v in spec["versions"] if v["name"] == crd.version]
    if len(versions) != 1 or not versions[0].get("served"):
        raise SystemExit(f"{crd.filename}: no served version {crd.version}")
    return {
        "x-trimmed-from": {
            "repository": crd.repo,
            "commit": crd.commit,
            "path": crd.path,
            "sha256": crd.sha256,
            "regenerate": "python tests/support/kube_fake/trim_crds.py",
        },
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "plural": spec["names"]["plural"],
        "scope": spec["scope"],
        "version": crd.version,
        "openAPIV3Schema": versions[0]["schema"]["openAPIV3Schema"],
    }


def render(trimmed: dict[str, Any]) -> str:
    return json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n"


def source_bytes(crd: Crd, source_dir: Path | None) -> bytes:
    if source_dir is not None:
        return (source_dir / crd.filename).read_bytes()
    with urllib.request.urlopen(crd.url, timeout=60) as answer:
        data: bytes = answer.read()
        return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source-dir", type=Path, help="local copies of the CRD files")
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)

    stale = 0
    for crd in CRDS:
        raw = source_bytes(crd, args.source_dir)
        digest = hashlib.sha256(raw).hexdigest()
        if digest != crd.sha256:
            print(
                f"{crd.filename}: sha256 {digest} is not the pinned {crd.sha256} "
                f"({crd.repo}@{crd.commit}); update the pin only when moving the commit",
                file=sys.stderr,
            )
            return 1
        text = render(trim(crd, raw))
        output = HERE / crd.output
        if args.check:
            current = output.read_text(encoding="utf-8") if output.exists() else ""
            if current != text:
                print(f"{output} is out of date: run {Path(__file__).name}", file=sys.stderr)
                stale += 1
            else:
                print(f"{crd.output} is up to date")
            continue
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output} ({len(text)} bytes)")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
