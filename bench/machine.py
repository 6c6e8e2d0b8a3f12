"""What the benchmark ran on: CPU, cores, memory, load, tool versions, the code's commit."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.procs import output


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    os: str
    git: str
    python: str
    kubectl: str
    commit: str
    date: str

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("date (UTC)", self.date),
            ("CPU", self.cpu),
            ("cores", str(self.cores)),
            ("RAM", f"{self.ram_gib:.1f} GiB"),
            ("OS", self.os),
            ("git", self.git),
            ("Python", self.python),
            ("kubectl", self.kubectl or "absent"),
            ("gitops-promote commit", self.commit),
        ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return 0.0


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


@dataclass(frozen=True)
class Busy:
    """What processes other than the benchmark's own used of the CPU over a short sample."""

    cores: float  # cores' worth of CPU time per second of the sample
    top: tuple[tuple[str, float], ...]  # (command name, cores), busiest first

    def describe(self) -> str:
        if not self.top:
            return f"{self.cores:.2f} cores"
        names = ", ".join(f"{name} {share:.0%}" for name, share in self.top)
        return f"{self.cores:.2f} cores ({names})"


def _stat(pid: str) -> tuple[str, int, int] | None:
    """(command name, parent pid, user+system clock ticks) of ``pid``, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, tail = raw.rpartition(")")
    name = head.split("(", 1)[1] if "(" in head else "?"
    fields = tail.split()
    try:
        return name, int(fields[1]), int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def _snapshot() -> dict[int, tuple[str, int, int]]:
    out: dict[int, tuple[str, int, int]] = {}
    try:
        pids = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return out
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            out[int(pid)] = stat
    return out


def others_busy(seconds: float = 1.0, top: int = 5) -> Busy | None:
    """CPU used by processes outside this one's tree over ``seconds`` (None where /proc
    is not readable): the benchmark's figures are ratios measured side by side, but a
    report must say when the machine was shared."""
    first = _snapshot()
    if not first:
        return None
    time.sleep(seconds)
    second = _snapshot()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    ours = {os.getpid()}
    changed = True
    while changed:  # our descendants: their parents are ours
        changed = False
        for pid, (_, parent, _) in second.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                changed = True
    used: dict[str, float] = {}
    for pid, (name, _, now) in second.items():
        if pid in ours or pid not in first:
            continue
        delta = (now - first[pid][2]) / ticks / seconds
        if delta > 0:
            used[name] = used.get(name, 0.0) + delta
    ranked = sorted(used.items(), key=lambda kv: -kv[1])
    shown = tuple((name, share) for name, share in ranked[:top] if share >= 0.05)
    return Busy(sum(used.values()), shown)


def describe(repo_root: Path) -> Machine:
    head = output(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo_root)
    dirty = output(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"], cwd=repo_root
    )
    kubectl = output(["kubectl", "version", "--client", "-o", "yaml"])
    kubectl_version = next(
        (
            line.split(":", 1)[1].strip()
            for line in kubectl.splitlines()
            if line.strip().startswith("gitVersion:")
        ),
        "",
    )
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        ram_gib=_ram_gib(),
        os=f"{platform.system()} {platform.release()}",
        git=output(["git", "--version"]).removeprefix("git version "),
        python=sys.version.split()[0],
        kubectl=kubectl_version,
        commit=(head or "unknown") + (" + uncommitted changes in src/" if dirty else ""),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    )
