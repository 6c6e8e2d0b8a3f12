"""Run ``gitops-promote ARGS`` inside the test process, as a child process would see it.

:func:`cli` has the signature and result of :func:`support.repos.cli` (a child process) and
is what orchestration tests use: starting an interpreter and importing the package costs
about half a second a run, more than most runs take. The git server, the GitHub fake and
the registry stay real (they serve from threads or processes of their own).

What a fresh process has, each run gets, and the test's process gets back afterwards:

- the environment (``os.environ`` replaced as a whole, so the git and kustomize children
  the product starts inherit it), the working directory, ``HOME``, ``TMPDIR``
  (``tempfile``'s cached directory) and ``TZ`` (``time.tzset``);
- file descriptors 1 and 2 (a child the product starts writes where it would write in a
  process of its own), ``sys.stdout``/``sys.stderr`` over them (UTF-8; unbuffered when
  ``PYTHONUNBUFFERED`` is set, as the interpreter would be), ``sys.stdin`` from
  /dev/null;
- process-global state of the package (:func:`reset_state`): the secrets registry, every
  ``functools`` cache and the module-level memo dictionaries;
- the exit code as the interpreter gives it: ``main``'s return value, ``SystemExit``
  (argparse), 1 and a traceback for anything that escapes.

The SIGINT/SIGTERM handlers the CLI installs are put back by the CLI itself.

Only a real process shows signals, the entry point, the interpreter's own exit-code
handling and argv/environment secrecy as ``ps`` sees it: those tests keep
:func:`support.repos.cli`. ``GITOPS_PROMOTE_TEST_CLI=process`` sends every run of this
helper to a child process too (a full-fidelity run of the whole suite).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from support import gitutil, repos

# Module-level memo dictionaries of the package (module attribute names): a fresh process
# starts with them empty. Any module may hold one (modules move between packages).
MEMO_DICTS = frozenset({"_PINS", "_VIEWERS"})


def reset_state() -> None:
    """Forget what earlier runs in this process left in the package: registered secrets,
    ``functools`` caches, memo dictionaries (as a new process would have it)."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "gitops_promote" or name.startswith("gitops_promote.")):
            continue
        for attr, value in list(vars(module).items()):
            if attr in MEMO_DICTS and isinstance(value, dict):
                value.clear()
                continue
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()
    secrets = sys.modules.get("gitops_promote.adapters.secrets")
    if secrets is not None:
        secrets.clear()


def _secrets_registered() -> set[str]:
    """What the test itself registered in the secrets registry (kept across a run)."""
    module = sys.modules.get("gitops_promote.adapters.secrets")
    return set(getattr(module, "_secrets", ())) if module is not None else set()


def _register(kept: set[str]) -> None:
    module = sys.modules.get("gitops_promote.adapters.secrets")
    if module is not None and kept:
        with module._lock:
            module._secrets.update(kept)


@contextlib.contextmanager
def _environment(env: Mapping[str, str], cwd: Path | None) -> Iterator[None]:
    saved_env = dict(os.environ)
    saved_cwd = Path.cwd()
    saved_tempdir = tempfile.tempdir
    gitutil.HOST_ENV.append(saved_env)  # what the support servers' children keep seeing
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # recomputed from TMPDIR, as in a new process
    time.tzset()
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        tempfile.tempdir = saved_tempdir
        time.tzset()
        gitutil.HOST_ENV.pop()


@contextlib.contextmanager
def _captured(unbuffered: bool) -> Iterator[list[str]]:
    """fds 0, 1 and 2 and sys.stdin/stdout/stderr pointed at /dev/null and two temporary
    files for the block, whose text is in the yielded list (stdout, stderr) afterwards;
    everything as it was before."""
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    for stream in saved_streams:
        with contextlib.suppress(Exception):
            stream.flush()
    saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
    null = os.open(os.devnull, os.O_RDONLY)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            os.dup2(null, 0)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)

            def text(fd: int, mode: str, errors: str, line_buffering: bool) -> Any:
                raw = open(fd, mode + "b", buffering=0, closefd=False)  # noqa: SIM115
                stream: Any = raw
                buffered = io.BufferedReader(stream) if mode == "r" else io.BufferedWriter(stream)
                return io.TextIOWrapper(
                    buffered,
                    encoding="utf-8",
                    errors=errors,
                    line_buffering=line_buffering,
                    write_through=unbuffered,
                )

            sys.stdin = text(0, "r", "strict", False)
            sys.stdout = text(1, "w", "strict", False)
            sys.stderr = text(2, "w", "backslashreplace", True)
            texts: list[str] = []
            try:
                yield texts
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                for file in (out, err):
                    file.seek(0)
                    texts.append(_text(file.read()))
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            for fd, saved in zip((0, 1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            os.close(null)


def _text(data: bytes) -> str:
    """As ``subprocess.run(text=True)`` reads a pipe: UTF-8, universal newlines."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _main(args: tuple[str, ...]) -> int:
    """``python -m gitops_promote ARGS``'s exit status, the interpreter's rules included."""
    from gitops_promote import cli  # after the environment is set

    try:
        return cli.main(list(args))
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130
    except Exception:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        return 1


def cli(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: int | None = 0,
) -> repos.Run:
    """Run ``gitops-promote ARGS`` in this process with a child's environment, working
    directory and output; like :func:`support.repos.cli`."""
    if os.environ.get("GITOPS_PROMOTE_TEST_CLI", "") == "process":
        return repos.cli(*args, cwd=cwd, env=env, check=check)
    full_env = repos.child_env(cwd, env)
    kept = _secrets_registered()
    reset_state()
    try:
        with (
            _captured(bool(full_env.get("PYTHONUNBUFFERED"))) as texts,
            _environment(full_env, cwd),
        ):
            code = _main(args)
    finally:
        reset_state()
        _register(kept)
    stdout, stderr = texts
    run = repos.Run(code, stdout, stderr)
    if check is not None and code != check:
        raise AssertionError(
            f"gitops-promote {' '.join(args)} exited {code}, expected {check} (in process)\n"
            f"--- stdout\n{stdout}\n--- stderr\n{stderr}"
        )
    return run


__all__ = ["MEMO_DICTS", "cli", "reset_state"]
