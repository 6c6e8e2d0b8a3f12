"""``gitops-promote set-image PATH IMAGE...``: edit one overlay offline, byte-minimally,
with the semantics of ``kustomize edit set image``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gitops_promote.errors import InputError, quote


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        help="kustomization directory or file, Helm values file, or manifest with setter markers",
    )
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="NAME[=NEWNAME][:TAG][@DIGEST]; '*' keeps an existing value (NAME=*@DIGEST)",
    )
    parser.add_argument(
        "--kind",
        choices=["auto", "kustomize", "helm", "setter"],
        default="auto",
        help="editor to use (default: detect from the file)",
    )
    parser.add_argument("--key", default="image", help="Helm values key path (default: image)")
    parser.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")


def run(args: argparse.Namespace) -> int:
    from gitops_promote import files, overlays, yamlsafe  # noqa: PLC0415 - lazy: fast start
    from gitops_promote.commands.common import path_argument  # noqa: PLC0415
    from gitops_promote.diffs import unified  # noqa: PLC0415
    from gitops_promote.images import SetImage  # noqa: PLC0415

    given = Path(path_argument("PATH", str(args.path)))
    path = given
    if given.is_dir():
        for name in files.KUSTOMIZATION_NAMES:
            if (given / name).is_file():
                path = given / name
                break
        else:
            raise InputError(
                f"{quote(args.path)} has no kustomization.yaml",
                hint="give a kustomization directory or a YAML file",
            )
    if not path.is_file():
        raise InputError(f"{quote(args.path)} does not exist", hint="check the path")
    data = files.read_bytes(path, what=str(path))
    original = yamlsafe.decode(data, str(path))
    text = original
    for raw in args.images:
        arg = SetImage.parse(raw)
        target = overlays.Target(
            image=arg.name, match=arg.name, kind=args.kind, key=args.key, setter=arg.name
        )
        text = overlays.set_pin(path.name, text, target, arg)
    if text == original:
        print(f"{path}: unchanged")
        return 0
    if args.dry_run:
        sys.stdout.write(unified(str(path), original, text))
        return 0
    files.write_atomic(path, text.encode("utf-8"))
    print(f"{path}: updated")
    return 0
