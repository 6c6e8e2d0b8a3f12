"""Running the CLI as child processes for the reliability suite: many at once (load), one
to be killed at the right moment (faults), or through a ``git`` on PATH that logs what
every git process was given (security).

The child environment is built as ``support.repos.cli`` builds it (nothing of the
developer's GITHUB_*/GIT_* leaks in), plus a private TMPDIR so that a killed run's
leftovers stay inside the test's directory.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.repos import Run


def child_env(cwd: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI child: no inherited GITHUB_/GITOPS_PROMOTE_/INPUT_/GIT_
    variables, HOME and TMPDIR inside ``cwd``, then ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "GITOPS_PROMOTE_", "INPUT_", "GIT_"))
    }
    tmp = cwd / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), "TMPDIR": str(tmp)})
    env.update(extra or {})
    return env


@dataclass
class Child:
    """One ``gitops-promote`` child process, started and not yet waited for."""

    args: tuple[str, ...]
    proc: subprocess.Popen[str]
    label: str = ""

    def wait(self, timeout: float = 300) -> Run:
        out, err = self.proc.communicate(timeout=timeout)
        return Run(self.proc.returncode, out, err)

    def kill(self) -> None:
        """SIGKILL the child and everything it started (its own process group)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=60)


def start(*args: str, cwd: Path, env: Mapping[str, str] | None = None, label: str = "") -> Child:
    """Start ``gitops-promote ARGS`` (a new session, so it can be killed as a group)."""
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitops_promote", *args],
        cwd=cwd,
        env=child_env(cwd, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return Child(tuple(args), proc, label)


def run(*args: str, cwd: Path, env: Mapping[str, str] | None = None, check: int | None = 0) -> Run:
    """Run ``gitops-promote ARGS`` to the end; with ``check``, assert the exit code."""
    result = start(*args, cwd=cwd, env=env).wait()
    if check is not None and result.returncode != check:
        raise AssertionError(
            f"gitops-promote {' '.join(args)} exited {result.returncode}, expected {check}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


# -- a git that tells what it was given ------------------------------------------------------


def real_git() -> str:
    """The git the tests' PATH finds."""
    return next(
        str(p)
        for p in (Path(d) / "git" for d in os.environ.get("PATH", "").split(os.pathsep) if d)
        if p.is_file() and os.access(p, os.X_OK)
    )


_SHIM = """#!{python} -I
import json, os, sys
entry = {{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}
config = os.path.join(os.getcwd(), ".git", "config")
if os.path.isfile(config):
    with open(config, encoding="utf-8", errors="replace") as f:
        entry["git_config"] = f.read()
with open({log!r}, "a", encoding="utf-8") as f:
    f.write(json.dumps(entry) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


@dataclass
class GitCall:
    """One git process the CLI started: its argv (after ``git``), working directory,
    whole environment, and the ``.git/config`` of that directory when it had one."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    git_config: str | None = None


@dataclass
class GitShim:
    """A ``git`` first on PATH that logs every call, then runs the real git.

    The log holds whole environments (the token among them, in a file under the test's
    tmp_path only the test reads); :meth:`forget` deletes it when the test is done.
    """

    bin_dir: Path
    log: Path
    real: str
    calls_seen: list[GitCall] = field(default_factory=list)

    @classmethod
    def install(cls, where: Path) -> GitShim:
        real = real_git()
        bin_dir = where / "shim-bin"
        bin_dir.mkdir(parents=True)
        log = where / "git-calls.jsonl"
        shim = bin_dir / "git"
        shim.write_text(_SHIM.format(python=sys.executable, log=str(log), real=real))
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return cls(bin_dir, log, real)

    @property
    def env(self) -> dict[str, str]:
        """Child environment entries that put the shim first on PATH."""
        return {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    def calls(self) -> list[GitCall]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            data: dict[str, Any] = json.loads(line)
            out.append(GitCall(data["argv"], data["cwd"], data["env"], data.get("git_config")))
        return out

    def forget(self) -> None:
        self.log.unlink(missing_ok=True)


_RACE_SHIM = """#!{python} -I
import os, sys
if "push" in sys.argv[1:] and not os.path.exists({marker!r}):
    open({marker!r}, "w").close()
    sys.path.insert(0, {tests!r})
    from support import gitutil
    gitutil.commit_tree_to_bare(
        __import__("pathlib").Path({bare!r}), {files!r}, message={message!r}
    )
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def install_race(where: Path, bare: Path, files: Mapping[str, str], message: str) -> dict[str, str]:
    """A ``git`` on PATH that, just before the first ``git push`` of the child, commits
    ``files`` straight into ``bare`` (someone else's push lands first); returns the child
    environment entries that put it first on PATH."""
    real = real_git()
    bin_dir = where / "race-bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "git"
    shim.write_text(
        _RACE_SHIM.format(
            python=sys.executable,
            marker=str(where / "race-fired"),
            tests=str(Path(__file__).resolve().parents[1]),
            bare=str(bare),
            files=dict(files),
            message=message,
            real=real,
        )
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def race_fired(where: Path) -> bool:
    return (where / "race-fired").exists()


def install_push_counter(where: Path) -> tuple[dict[str, str], Path]:
    """A cheap ``git`` shim (sh, no Python start-up) that logs ``<cwd> <subcommand>`` of
    every git call; returns the child environment entries and the log file."""
    bin_dir = where / "count-bin"
    bin_dir.mkdir(parents=True)
    log = where / "git-subcommands.log"
    shim = bin_dir / "git"
    shim.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do case "$a" in -*) ;; *) echo "$PWD $a" >> {log}; break;; esac; done\n'
        f'exec {real_git()} "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}, log


def pushes_per_checkout(log: Path) -> dict[str, int]:
    """How many ``git push`` each working directory ran (one clone per promotion)."""
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines() if log.exists() else ():
        cwd, _, sub = line.rpartition(" ")
        if sub == "push":
            counts[cwd] = counts.get(cwd, 0) + 1
    return counts
