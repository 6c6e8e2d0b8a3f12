"""Which apps one shard of a sharded run owns: a pure split of the config's apps.

``--shard K/N`` lets N runs (a GitHub Actions ``strategy.matrix``) share a fleet without
two of them touching the same overlay or pull request:

- every environment of an app belongs to the app's shard (one overlay, one stable PR
  branch per app and env: never written by two shards);
- apps that depend on each other (``depends-on``, either way, transitively) form one
  *group* and go to the same shard: the soak plan decides a dependency before its
  dependents and says, in a blocked target's reason, that the app it waits for is being
  promoted in this run; that holds only when both are in the run;
- a group's shard is ``sha256(smallest app name of the group) mod N``: the same on every
  runner, every Python (``hash()`` is salted per process) and every run, and it moves
  only the groups it must when an app is added, renamed or N changes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gitops_promote.config.model import Config
from gitops_promote.errors import InputError, quote

_SHARD = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")
MAX_SHARDS = 1000


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as a matrix lists them: ``1/4`` .. ``4/4``)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    """``K/N`` with 1 ≤ K ≤ N ≤ 1000 (else :class:`InputError`, exit 2)."""
    match = _SHARD.fullmatch(text.strip())
    if match is None:
        raise InputError(
            f"--shard {quote(text)} is not K/N", hint="e.g. --shard 2/4: the second of four"
        )
    index, count = int(match[1]), int(match[2])
    if not 1 <= count <= MAX_SHARDS:
        raise InputError(f"--shard {quote(text)}: N must be from 1 to {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise InputError(f"--shard {quote(text)}: K must be from 1 to N ({count})")
    return Shard(index, count)


def groups(names: Iterable[str], depends_on: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """App name -> its group's key (the smallest app name in its connected component of
    the dependency graph, edges taken both ways; names not in ``names`` are ignored)."""
    parent: dict[str, str] = {n: n for n in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for name in list(parent):
        for dep in depends_on.get(name, ()):
            if dep not in parent:
                continue
            a, b = root(name), root(dep)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the root is always the group's smallest
    return {name: root(name) for name in parent}


def bucket(key: str, count: int) -> int:
    """The 1-based shard of a group key among ``count``."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def split(
    names: Iterable[str], depends_on: Mapping[str, Iterable[str]], count: int
) -> dict[str, int]:
    """App name -> its 1-based shard among ``count``."""
    return {name: bucket(key, count) for name, key in groups(names, depends_on).items()}


def owned(config: Config, shard: Shard) -> frozenset[str]:
    """The names of the apps ``shard`` owns."""
    where = split(
        (a.name for a in config.apps), {a.name: a.depends_on for a in config.apps}, shard.count
    )
    return frozenset(name for name, k in where.items() if k == shard.index)


__all__ = ["MAX_SHARDS", "Shard", "bucket", "groups", "owned", "parse", "split"]
