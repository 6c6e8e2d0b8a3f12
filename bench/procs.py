"""Run one command and measure it: wall time and the CPU time of that process tree.

The CPU time comes from ``wait4`` on the child itself (its own and its waited-for
descendants' user + system time), so servers running in the benchmark's own process
(the git HTTP server and its ``http-backend`` children) are not counted in it.

The peak memory is GNU time's ``%M`` (``/usr/bin/time -f %M``, which runs the command):
the ``ru_maxrss`` of its ``wait4``, the largest resident set of any one process of the
tree (the command or a descendant it waited for), not their sum. Not our own ``wait4``'s
``ru_maxrss``: a child forked from this process starts with its resident set as its
high-water mark (some 60 MB of Python and servers), which would hide a small command's
peak. Where ``/usr/bin/time`` is missing, that ``ru_maxrss`` is what is reported
(:data:`PEAK_SOURCE` says which).
A timeout kills the child's whole process group (started as its own session), never
anything else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Variables that would change what a child does: the GitHub Actions context, our own
# inputs, git's repository and trace settings of the caller.
_DROPPED_PREFIXES = ("GITHUB_", "GITOPS_PROMOTE_", "INPUT_", "GIT_", "RUNNER_")
_GNU_TIME = "/usr/bin/time"
OWN_PEAK = Path(__file__).resolve().with_name("ownpeak.py")
PEAK_SOURCE = (
    "`/usr/bin/time -f %M`"
    if os.access(_GNU_TIME, os.X_OK)
    else "`ru_maxrss` of `os.wait4` (no /usr/bin/time: includes this process's size at fork)"
)


@dataclass(frozen=True)
class Timed:
    """One finished (or killed) run."""

    argv: tuple[str, ...]
    returncode: int
    wall: float  # seconds
    cpu: float  # seconds, user + system of the child's process tree
    stdout: str
    stderr: str
    timed_out: bool = False
    peak_kb: int = 0  # ru_maxrss of wait4: the tree's largest process, in KiB
    own_peak_kb: int = 0  # the measured Python process's own high-water mark (ownpeak.py)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe_failure(self) -> str:
        if self.timed_out:
            return f"timed out after {self.wall:.0f} s"
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
        return f"exit {self.returncode}: {' | '.join(tail)}"


def child_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment: no CI context, no caller git settings, an empty HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    # An installed package runs from compiled bytecode (pip compiles it at install): so do
    # the measured runs, whatever this shell says (bench/run.py compiles src/ first).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C.UTF-8",
        }
    )
    env.update(extra or {})
    return env


def run_timed(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdin: bytes | None = None,
    own_peak: bool = False,
) -> Timed:
    """Run ``argv`` to completion (or until ``timeout`` seconds), measuring it.
    ``own_peak``: ``argv[0]`` is a Python console script; run it through
    ``bench/ownpeak.py`` to also record that process's own peak memory."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as inp,
        tempfile.NamedTemporaryFile(prefix="peak-") as peak,
        tempfile.NamedTemporaryFile(prefix="own-peak-") as own,
    ):
        command = list(argv)
        if own_peak:
            command = [sys.executable, str(OWN_PEAK), *command]
            env = {**env, "BENCH_OWN_PEAK": own.name}
        if os.access(_GNU_TIME, os.X_OK):
            command = [_GNU_TIME, "-q", "-f", "%M", "-o", peak.name, *command]
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        started = time.perf_counter()
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=inp,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if killed.is_set():
            # the rest of the group (e.g. a git grandchild) may still be running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return Timed(
            argv=tuple(argv),
            returncode=proc.returncode,
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=killed.is_set(),
            peak_kb=_peak_kb(Path(peak.name)) or int(usage.ru_maxrss),
            own_peak_kb=_peak_kb(Path(own.name)) if own_peak else 0,
        )


def _peak_kb(path: Path) -> int:
    """GNU time's ``%M`` (KiB) from its output file; 0 when it wrote none (killed)."""
    try:
        lines = path.read_text().split()
    except OSError:
        return 0
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


def output(argv: Sequence[str], *, cwd: Path | None = None) -> str:
    """stdout of a quick helper command ("" when it cannot run)."""
    try:
        proc = subprocess.run(
            list(argv), cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""
