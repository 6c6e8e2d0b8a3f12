"""Samples of one measurement and their summary (median, min, max)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.procs import Timed


@dataclass
class Series:
    """Repeated runs of one command. A failed or timed-out run is kept as the reason."""

    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peaks_kb: list[int] = field(default_factory=list)  # ru_maxrss of each run (KiB)
    own_peaks_kb: list[int] = field(default_factory=list)  # our process alone (ownpeak.py)
    failure: str | None = None
    note: str | None = None

    def add(self, run: Timed) -> bool:
        """Record ``run``; False (and the reason kept) when it failed."""
        if not run.ok:
            self.failure = run.describe_failure()
            if run.timed_out:
                self.walls.append(run.wall)  # a lower bound: shown as "> N s"
            return False
        self.walls.append(run.wall)
        self.cpus.append(run.cpu)
        if run.peak_kb:
            self.peaks_kb.append(run.peak_kb)
        if run.own_peak_kb:
            self.own_peaks_kb.append(run.own_peak_kb)
        return True

    @property
    def timed_out(self) -> bool:
        return self.failure is not None and self.failure.startswith("timed out")

    @property
    def usable(self) -> bool:
        return bool(self.walls) and self.failure is None

    @property
    def median(self) -> float | None:
        if self.timed_out and self.walls:
            return max(self.walls)
        return statistics.median(self.walls) if self.usable else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    @property
    def peak_mb(self) -> float | None:
        """The largest peak resident set over the runs, in MB (10^6 bytes)."""
        return max(self.peaks_kb) * 1024 / 1e6 if self.peaks_kb else None

    @property
    def own_peak_mb(self) -> float | None:
        """The largest peak of the measured Python process alone (no git children), in MB;
        None when it was not recorded."""
        return max(self.own_peaks_kb) * 1024 / 1e6 if self.own_peaks_kb else None

    def peak_cell(self) -> str:
        """``412 MB`` (the tree's largest process), with ``(ours 180 MB)`` where the
        Python process's own peak was recorded."""
        peak, own = self.peak_mb, self.own_peak_mb
        if peak is None:
            return "-"
        return f"{peak:.0f} MB" + (f" (ours {own:.0f} MB)" if own is not None else "")

    def own_peak_cell(self) -> str:
        own = self.own_peak_mb if self.own_peak_mb is not None else self.peak_mb
        return f"{own:.0f} MB" if own is not None else "-"

    def cell(self) -> str:
        """``1.23 s (1.10-1.40)``, ``> 300 s (timed out)`` or the failure."""
        if self.timed_out:
            return f"> {max(self.walls):.0f} s (timed out)"
        if not self.usable:
            return f"failed: {self.failure}" if self.failure else "not run"
        lo, hi = min(self.walls), max(self.walls)
        return f"{fmt_s(statistics.median(self.walls))} ({fmt_s(lo, unit=False)}-{fmt_s(hi)})"

    def cpu_cell(self) -> str:
        med = self.cpu_median
        return fmt_s(med) if med is not None else "-"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "walls": [round(w, 4) for w in self.walls],
            "cpus": [round(c, 4) for c in self.cpus],
            "peaks_kb": list(self.peaks_kb),
            "own_peaks_kb": list(self.own_peaks_kb),
            "median": self.median,
            "failure": self.failure,
            "note": self.note,
        }


def fmt_s(seconds: float | None, *, unit: bool = True) -> str:
    """Seconds with a sensible precision."""
    if seconds is None:
        return "-"
    suffix = " s" if unit else ""
    if seconds >= 100:
        return f"{seconds:.0f}{suffix}"
    if seconds >= 10:
        return f"{seconds:.1f}{suffix}"
    if seconds >= 1:
        return f"{seconds:.2f}{suffix}"
    return f"{seconds:.3f}{suffix}"
