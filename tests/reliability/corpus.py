"""The bad-input corpus: what every refusal must look like, and a repo to refuse it in.

A refusal is: exit 2, stderr made only of ``error: `` lines (exactly one, or for a config
file one per problem), no traceback, no "internal error", nothing on stdout that claims a
result, and nothing written: the checkout's files *and* its ``.git`` (refs, objects,
index) are byte-identical afterwards, and so are the refs of a remote.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reliability.fleet import fleet_files
from support import gitutil

CORPUS_APPS = ("app-00", "app-01", "app-02")
GOOD_DIGEST = "sha256:" + "ab" * 32
OVERLAY = "apps/app-00/overlays/dev/kustomization.yaml"


@dataclass(frozen=True)
class Outcome:
    """How one CLI run ended."""

    code: int
    stdout: str
    stderr: str


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` (``.git`` included) -> sha256 of its bytes, or its link
    target, or ``dir``: two equal snapshots mean nothing was written."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = f"link:{path.readlink()}"
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def changed(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def settle(root: Path) -> None:
    """Age every work-tree file and refresh the index once, so that no later read-only
    git command rewrites the index (git rewrites it for racily clean entries)."""
    old = time.time() - 3600
    for path in root.rglob("*"):
        if ".git" in path.relative_to(root).parts or path.is_symlink():
            continue
        os.utime(path, (old, old))
    gitutil.git("update-index", "-q", "--really-refresh", cwd=root, check=False)
    gitutil.git("status", "--porcelain", cwd=root)


def make_repo(root: Path, files: Mapping[str, gitutil.FileContent] | None = None) -> Path:
    """A local checkout (no remote) of a 3-app fleet, with ``files`` committed on top."""
    gitutil.init_repo(root)
    gitutil.commit_files(root, fleet_files(CORPUS_APPS), message="seed")
    if files:
        put(root, files)
    settle(root)
    return root


def put(root: Path, files: Mapping[str, gitutil.FileContent], message: str = "corpus") -> None:
    """Write (None: delete) ``files`` and commit them (the checkout stays clean)."""
    gitutil.write_files(root, files)
    gitutil.git("add", "-A", cwd=root)
    gitutil.git("commit", "-q", "--no-verify", "--allow-empty", "-m", message, cwd=root)


def assert_refused(
    out: Outcome,
    *,
    lines: int | None = 1,
    mentions: str | Sequence[str] = (),
    prefix: str = "error: ",
) -> list[str]:
    """A refusal: exit 2, only ``error:`` lines on stderr (``lines`` of them; None: at least
    one), none of them an internal error, each naming what it must (``mentions``)."""
    where = f"\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
    assert out.code == 2, f"exit {out.code}, expected 2{where}"
    assert "Traceback" not in out.stdout + out.stderr, where
    got = out.stderr.splitlines()
    assert got, f"no error line{where}"
    if lines is not None:
        assert len(got) == lines, f"{len(got)} stderr lines, expected {lines}{where}"
    for line in got:
        assert line.startswith(prefix), f"not an error line: {line!r}{where}"
        assert "internal error" not in line, where
        assert len(line) < 2000, f"an error line of {len(line)} characters{where}"
    assert len(set(got)) == len(got), f"a line repeats{where}"
    text = "\n".join(got)
    for needle in [mentions] if isinstance(mentions, str) else mentions:
        assert needle in text, f"the error does not name {needle!r}{where}"
    assert not out.stdout.strip() or "::error" in out.stdout, f"stdout claims a result{where}"
    return got


@contextlib.contextmanager
def plain_environ(extra: Mapping[str, str] | None = None) -> Iterator[None]:
    """os.environ as a user's shell has it: no Actions, token or input variables; then
    ``extra``."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "GITOPS_PROMOTE_", "INPUT_", "GIT_")):
            del os.environ[key]
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ.update(extra or {})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_in_process(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Outcome:
    """``gitops-promote ARGV`` through ``cli.main`` in this process (fast, for the
    generated part), stdout and stderr captured; ``env`` added to a plain environment."""
    from gitops_promote import cli
    from gitops_promote.adapters import secrets

    out, err = io.StringIO(), io.StringIO()
    with plain_environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        finally:
            secrets.clear()
    return Outcome(code, out.getvalue(), err.getvalue())


def refused_in_process(
    root: Path,
    argv: Sequence[str],
    *,
    lines: int | None = 1,
    mentions: str | Sequence[str] = (),
) -> list[str]:
    """Run in-process; assert a refusal that left ``root`` byte-identical."""
    before = snapshot(root)
    out = run_in_process(argv)
    got = assert_refused(out, lines=lines, mentions=mentions)
    assert not changed(before, snapshot(root)), f"written: {changed(before, snapshot(root))}"
    return got


def promote_argv(root: Path, *extra: str, app: str = "app-00", env: str = "dev") -> list[str]:
    """``promote`` of one app in a local checkout, offline, with a good digest unless
    ``extra`` says what to pin."""
    what = (
        ()
        if any(a.startswith(("--digest", "--image", "--tag")) for a in extra)
        else (f"--digest={GOOD_DIGEST}",)
    )
    return [
        "promote",
        f"--repo={root}",
        f"--app={app}",
        f"--env={env}",
        "--skip-registry-check",
        "--now=2026-11-25T10:00:00+00:00",
        *what,
        *extra,
    ]
