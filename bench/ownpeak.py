"""Run a Python console script in this process and record this process's own peak memory.

    python bench/ownpeak.py PATH-TO-CONSOLE-SCRIPT ARGS...

The benchmark's peak-memory column (``/usr/bin/time -f %M``) is the largest process of a
command's tree, which for a history-reading command is often a git child (``git log``
over 100,000 commits alone peaks above 500 MB). The goal "peak memory <= 300 MB" is about
gitops-promote itself: this wrapper runs the console script with :func:`runpy.run_path`
(the same code the script runs, in this process: nothing extra is imported before it
but ``os``, ``sys``, ``pathlib`` and ``runpy``) and, at exit, writes the kernel's
high-water mark of this process's resident set (``VmHWM`` of ``/proc/self/status``, in
KiB; reset at ``exec``, so the benchmark's own size at fork does not count) to the file
named by ``BENCH_OWN_PEAK``.
The variable is removed before the script runs: its children never see it.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path


def high_water_kb() -> int:
    """``VmHWM`` of this process in KiB (0 where /proc has no such line)."""
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _write(path: str) -> None:
    Path(path).write_text(f"{high_water_kb()}\n", encoding="ascii")


def main() -> None:
    path = os.environ.pop("BENCH_OWN_PEAK", "")
    if path:
        atexit.register(_write, path)
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
