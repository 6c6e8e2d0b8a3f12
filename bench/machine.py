"""What the benchmark ran on: CPU, cores, memory, load, tool versions, the code's commit."""

from __future__ import annotations

import os
import platform
import sys
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
