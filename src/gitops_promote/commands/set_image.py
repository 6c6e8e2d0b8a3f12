"""``gitops-promote set-image PATH IMAGE...``: edit one overlay offline, byte-minimally,
with the semantics of ``kustomize edit set image``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gitops_promote.adapters import files, yamlsafe
from gitops_promote.adapters.escape import log, log_lines
from gitops_promote.apply import overlays
from gitops_promote.commands.argv import path_argument
from gitops_promote.errors import InputError, quote
from gitops_promote.images import SetImage


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

    path, shown = _file(path_argument("PATH", str(args.path)))
    data = files.read_bytes(path, what=shown)
    original = yamlsafe.decode(data, shown)
    text = original
    for raw in args.images:
        arg = SetImage.parse(raw)
        target = overlays.Target(
            image=arg.name, match=arg.name, kind=args.kind, key=args.key, setter=arg.name
        )
        text = overlays.set_pin(path.name, text, target, arg)
    if text == original:
        print(f"{log(shown)}: unchanged")
        return 0
    if args.dry_run:
        from gitops_promote.report.diffs import unified  # noqa: PLC0415 - lazy: start-up

        sys.stdout.write(log_lines(unified(shown, original, text)))
        return 0
    files.write_atomic(path, text.encode("utf-8"))
    print(f"{log(shown)}: updated")
    return 0


def _file(given: str) -> tuple[Path, str]:
    """The file ``given`` names (a kustomization directory's kustomization) and how to
    show it; refused when it is, or lies under, a symbolic link inside its repository
    (the enclosing git work tree; else the directory given or the file's own) or when it
    resolves outside that repository."""

    absolute = Path(os.path.abspath(given))  # noqa: PTH100 - lexical: links stay visible
    path, shown = absolute, given
    if absolute.is_dir():
        for name in files.KUSTOMIZATION_NAMES:
            if (absolute / name).is_file() or (absolute / name).is_symlink():
                path, shown = absolute / name, str(Path(given) / name)
                break
        else:
            raise InputError(
                f"{quote(given)} has no kustomization.yaml",
                hint="give a kustomization directory or a YAML file",
            )
    if not path.is_file() and not path.is_symlink():
        raise InputError(f"{quote(given)} does not exist", hint="check the path")
    top = next((d for d in absolute.parents if (d / ".git").exists()), absolute.parent)
    rel = path.relative_to(top).as_posix()
    files.refuse_links(top, rel, what="set-image")
    return files.resolve_in_repo(top, rel, what="set-image PATH"), shown
