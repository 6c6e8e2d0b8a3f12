"""Where a run's time goes: the git processes it started (``GIT_TRACE_PERFORMANCE``)."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"performance: ([0-9.]+) s: git command: (.*)$")
_URL_USERINFO = re.compile(r"(https?://)[^/@\s]+@")


@dataclass(frozen=True)
class GitProcess:
    seconds: float
    subcommand: str
    argv: str
    top_level: bool  # started by the program itself (not a helper git started)


def _subcommand(words: list[str]) -> str:
    i = 1
    while i < len(words):
        word = words[i]
        if word in {"-c", "-C"}:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word
    return "?"


def parse(path: Path) -> list[GitProcess]:
    """Every git process in a ``GIT_TRACE_PERFORMANCE`` file, in the order they ended."""
    found: list[GitProcess] = []
    if not path.is_file():
        return found
    for line in path.read_text(errors="replace").splitlines():
        match = _LINE.search(line)
        if not match:
            continue
        command = _URL_USERINFO.sub(r"\1", match.group(2))
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        if not words:
            continue
        top = words[0] == "git"
        found.append(GitProcess(float(match.group(1)), _subcommand(words), command, top))
    return found


@dataclass(frozen=True)
class Breakdown:
    """The program's own git commands, grouped by subcommand, and what is left over."""

    wall: float
    groups: list[tuple[str, int, float]]  # (subcommand, count, seconds), slowest first
    helpers: list[tuple[str, float]]  # slowest helper processes (index-pack, remote-http...)
    git_total: float
    processes: list[GitProcess]

    @property
    def outside_git(self) -> float:
        return max(0.0, self.wall - self.git_total)

    def count(self, subcommand: str) -> int:
        return next((n for name, n, _ in self.groups if name == subcommand), 0)

    @property
    def history_passes(self) -> int:
        """Passes over the history: ``git log`` runs that list each commit's files, or
        that read the first-parent chain with each commit's tree, whose diffs ``git
        diff-tree --stdin`` then lists (the program's history reader: one chain read per
        pass, however many diff-tree processes share the work). A list of commit ids and
        dates alone (the state file's check) diffs nothing: not a pass."""
        return sum(
            1
            for p in self.processes
            if p.top_level
            and p.subcommand == "log"
            and ("--raw" in p.argv or "--name-" in p.argv or "%T" in p.argv)
        )


def breakdown(processes: list[GitProcess], wall: float) -> Breakdown:
    top = [p for p in processes if p.top_level]
    counts: Counter[str] = Counter()
    seconds: dict[str, float] = {}
    for p in top:
        counts[p.subcommand] += 1
        seconds[p.subcommand] = seconds.get(p.subcommand, 0.0) + p.seconds
    groups = sorted(((name, counts[name], seconds[name]) for name in counts), key=lambda g: -g[2])
    helpers = sorted(
        ((p.subcommand, p.seconds) for p in processes if not p.top_level), key=lambda h: -h[1]
    )
    return Breakdown(wall, groups, helpers[:4], sum(p.seconds for p in top), processes)
