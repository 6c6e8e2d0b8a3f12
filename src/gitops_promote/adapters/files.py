"""Files of the config repo: safe paths inside it, and atomic writes.

Every path that comes from promotion.yaml or the command line passes through
:func:`resolve_in_repo`, which refuses absolute paths, ``..`` and symlinks that leave the
repository. An overlay is read and written only as a regular file reached without any
symbolic link (:func:`refuse_links`, applied by
:func:`gitops_promote.facts.pins.work_file`): a link would make one environment's promotion
change the file another environment deploys. Writes go to a temporary file beside the
target and are renamed over it, so an interrupted run never leaves a half-written overlay.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from gitops_promote.errors import InputError, OverlayError, quote

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_FILE_BYTES = 5 * 1024 * 1024


def check_relative(rel: str, *, what: str) -> PurePosixPath:
    """A repo-relative POSIX path without ``..``; raise a one-line error otherwise."""
    if not rel or rel.strip() != rel:
        raise InputError(f"{what} {quote(rel)} is empty or has surrounding spaces")
    if "\\" in rel or "\0" in rel:
        raise InputError(
            f"{what} {quote(rel)} contains a backslash or NUL", hint="use / separators"
        )
    path = PurePosixPath(rel)
    if path.is_absolute():
        raise InputError(
            f"{what} {quote(rel)} is absolute", hint="paths are relative to the config repo root"
        )
    if ".." in path.parts:
        raise InputError(
            f"{what} {quote(rel)} contains '..'", hint="paths must stay inside the repo"
        )
    return path


def resolve_in_repo(root: Path, rel: str, *, what: str = "path") -> Path:
    """Resolve ``rel`` under ``root``; refuse anything (symlinks included) that leaves it."""
    clean = check_relative(rel, what=what)
    base = root.resolve()
    target = (base / clean).resolve()
    if target != base and base not in target.parents:
        raise InputError(
            f"{what} {quote(rel)} resolves outside the repository (through a symlink)",
            hint="replace the symlink with the file itself",
        )
    return target


def refuse_links(root: Path, rel: str, *, what: str) -> None:
    """Refuse ``rel`` when it, or a directory on its way down from ``root``, is a
    symbolic link (OverlayError naming the link and where it points)."""
    parts = check_relative(rel, what=what).parts
    current = root
    for depth, part in enumerate(parts, start=1):
        current = current / part
        if current.is_symlink():
            link = "/".join(parts[:depth])
            try:
                points = str(current.readlink())
            except OSError:
                points = "?"
            shown = repr(points if len(points) <= 80 else points[:77] + "...")
            raise OverlayError(
                f"{what}: {link} is a symlink (to {shown}); overlays are read and "
                "written only as regular files",
                hint="replace the link with a copy of the file: a link lets a promotion of "
                "one environment change what another deploys",
            )


def read_bytes(path: Path, *, what: str) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise OverlayError(
            f"{what} is {size // 1024 // 1024} MiB, over the {MAX_FILE_BYTES // 1024 // 1024} MiB "
            "limit for YAML files",
            hint="an overlay this large is almost certainly not one",
        )
    return path.read_bytes()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file + rename, keeping the file mode."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
